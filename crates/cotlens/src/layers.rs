//! The crate's layer order, held against the code: a module may name (`crate::X`) only modules
//! of layers below its own, so no import circle can form. A new module goes into a layer here.

/// Top to bottom. Modules of one layer do not import each other.
const LAYERS: &[&[&str]] = &[
    &["cli"],
    &["commands", "view"],
    &["protocols"],
    &["session"],
    &["runner", "model"],
    &["progress", "report"],
    &["engine", "bundled", "model_spec"],
    &["hub", "cache", "probe_cache"],
    &["store"],
    &["error", "printer", "args", "protocol"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// `crate::NAME` occurrences in code (comments skipped).
fn crate_refs(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let before = rest[..i].chars().next_back();
            // boundary: after the ASCII `crate::` found here
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `crate::` alone, not `cotlens_crate::` or `$crate::`.
            if !matches!(before, Some(c) if c.is_ascii_alphanumeric() || c == '_' || c == '$') {
                out.push((n + 1, name));
            }
            rest = after;
        }
    }
    out
}

/// Every source file of the crate with its top-level module (lib.rs and main.rs excluded).
fn files() -> Vec<(String, std::path::PathBuf)> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).expect("under src");
            let first = rel
                .components()
                .next()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .unwrap_or_default();
            let module = first.trim_end_matches(".rs").to_string();
            if !matches!(module.as_str(), "lib" | "main" | "layers" | "text_slicing") {
                out.push((module, path));
            }
        }
    }
    out
}

#[test]
fn every_module_imports_only_lower_layers() {
    let mut violations = Vec::new();
    let files = files();
    assert!(
        files.len() > 30,
        "found the sources ({} files)",
        files.len()
    );
    for (module, path) in &files {
        let own = layer_of(module)
            .unwrap_or_else(|| panic!("{}: module {module} is in no layer", path.display()));
        let text = std::fs::read_to_string(path).expect("read");
        for (line, name) in crate_refs(&text) {
            if name == *module {
                continue;
            }
            match layer_of(&name) {
                Some(l) if l > own => {}
                Some(_) => violations.push(format!(
                    "{}:{line}: {module} (layer {own}) uses crate::{name} (layer {})",
                    path.display(),
                    layer_of(&name).unwrap_or(0)
                )),
                None => violations.push(format!(
                    "{}:{line}: crate::{name} is in no layer",
                    path.display()
                )),
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_checker_sees_references() {
    let refs =
        crate_refs("use crate::engine::X; // crate::cli\nlet x = crate::store::f(); $crate::no");
    let names: Vec<&str> = refs.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["engine", "store"]);
}
