//! A workspace rule, held against the code: no string is cut at a byte offset that might fall
//! inside a character (a panic, exit 101, on non-ASCII text). Every `.truncate(…)` and every
//! slice with a literal or computed end (`&s[..16]`, `&s[at + 7..]`) in non-test code must be
//! cut with `floor_char_boundary`/`ceil_char_boundary`, or say on its line (or the line above)
//! why the offset is a boundary, in a comment that starts `boundary:`.

use regex::Regex;
use std::path::{Path, PathBuf};

/// Lines of `text` (non-test code: up to the first `#[cfg(test)]`) that cut at an offset
/// without saying why it is a character boundary.
fn unchecked_cuts(text: &str) -> Vec<(usize, String)> {
    let end = r"(\d+|[^\]\[]*[+\-][^\]\[]*)";
    let slice = Regex::new(&format!(
        r"\[\s*[\w.()]*\s*\.\.\s*{end}\s*\]|\[\s*{end}\s*\.\.[^\]]*\]"
    ))
    .expect("regex");
    let truncate = Regex::new(r"\.truncate\(").expect("regex");
    let mut out = Vec::new();
    let mut previous = "";
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let code = line.split("//").next().unwrap_or("");
        let risky = slice.is_match(code) || truncate.is_match(code);
        let checked = code.contains("floor_char_boundary")
            || code.contains("ceil_char_boundary")
            || line.contains("boundary:")
            || previous.trim_start().starts_with("// boundary:");
        if risky && !checked {
            out.push((n + 1, line.trim().to_string()));
        }
        previous = line;
    }
    out
}

/// Every `.rs` file under the workspace's `crates/*/src` and `crates/*/examples`, tests apart.
fn sources() -> Vec<PathBuf> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crates/")
        .to_path_buf();
    let mut out = Vec::new();
    let mut stack = vec![crates];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read").flatten() {
            let path = entry.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if !matches!(name, "tests" | "benches" | "target") {
                    stack.push(path);
                }
            } else if name.ends_with(".rs")
                && !name.ends_with("_tests.rs")
                && !matches!(name, "tests.rs" | "text_slicing.rs")
            {
                out.push(path);
            }
        }
    }
    out
}

#[test]
fn no_text_is_cut_inside_a_character() {
    let files = sources();
    assert!(
        files.len() > 60,
        "found the sources ({} files)",
        files.len()
    );
    let mut violations = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("read");
        for (line, code) in unchecked_cuts(&text) {
            violations.push(format!("{}:{line}: {code}", path.display()));
        }
    }
    assert!(
        violations.is_empty(),
        "cut at a char boundary (floor_char_boundary) or say why the offset is one (`// boundary: …`):\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_rule_sees_cuts() {
    let text =
        "let a = &s[..16];\nlet b = &s[at + 7..];\ns.truncate(n);\nlet ok = &s[start..end];\n\
        s.truncate(s.floor_char_boundary(9));\n// boundary: ASCII hex\nlet h = &hex[..12];\n\
        #[cfg(test)]\nlet t = &s[..3];";
    let lines: Vec<usize> = unchecked_cuts(text).into_iter().map(|(n, _)| n).collect();
    assert_eq!(lines, [1, 2, 3]);
}
