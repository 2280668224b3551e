//! Embeds the bundled default sample (data/mmlu, data/bbh, data/gsm8k) into the binary, so that
//! `cotlens faithfulness` works from any directory with no download.

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let data = manifest
        .join("../../data")
        .canonicalize()
        .expect("the repository's data/ folder");
    println!("cargo:rerun-if-changed={}", data.display());
    let mut files = Vec::new();
    for sub in ["mmlu", "bbh", "gsm8k"] {
        collect(&data.join(sub), &mut files);
    }
    let mut code = String::from("pub(crate) static BUNDLED_FILES: &[(&str, &[u8])] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let rel = f
            .strip_prefix(&data)
            .expect("under data/")
            .to_string_lossy()
            .replace('\\', "/");
        writeln!(
            code,
            "    ({rel:?}, include_bytes!({:?})),",
            f.display().to_string()
        )
        .expect("write to string");
    }
    code.push_str("];\n");
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("bundled.rs");
    std::fs::write(out, code).expect("write bundled.rs");
}
