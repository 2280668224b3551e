//! `cotlens report RUN_DIR`: one self-contained offline HTML file per run (no scripts, no
//! network: inline CSS, inline SVG charts, SVG files embedded as data-URI images, a
//! Content-Security-Policy that allows nothing else). All model text is escaped. Written as
//! `report.html` in the run directory at the end of every run, and on demand.

pub mod html;
pub mod sections;
pub mod svg;

use crate::error::bad_input;
use crate::printer::Printer;
use crate::protocol::Protocol;
use html::{esc, page};
use std::path::{Path, PathBuf};

pub const REPORT: &str = "report.html";

/// A protocol's part of the report: its HTML from the run directory and its summary.
pub type Section = fn(&Path, &serde_json::Value) -> String;

/// Whether `path` is a regular file itself, not a symbolic link (a run directory may come from
/// someone else: `ledger.json -> /etc/passwd` must not be read into a page).
pub fn is_regular_file(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
}

/// The text of a run's file when it is a regular file ([`is_regular_file`]).
pub fn read_regular(path: &Path) -> Option<String> {
    is_regular_file(path)
        .then(|| std::fs::read_to_string(path).ok())
        .flatten()
}

/// A run directory's manifest, or a clear error (exit 2) for a missing or foreign directory.
pub fn read_manifest(dir: &Path) -> anyhow::Result<(Protocol, serde_json::Value)> {
    if !dir.is_dir() {
        return Err(bad_input(format!(
            "{}: no such run directory",
            dir.display()
        )));
    }
    let path = dir.join(crate::store::MANIFEST);
    let manifest: serde_json::Value = read_regular(&path)
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| {
            bad_input(format!(
                "{}: not a cotlens run directory (no readable {})",
                dir.display(),
                crate::store::MANIFEST
            ))
        })?;
    let name = manifest["protocol"].as_str().unwrap_or("");
    let protocol = Protocol::from_name(name).ok_or_else(|| {
        bad_input(format!(
            "{}: a run of unknown kind {:?}; reports cover {}",
            dir.display(),
            name,
            Protocol::names()
        ))
    })?;
    Ok((protocol, manifest))
}

/// The report's HTML body (without the page around it), for the report and the viewer.
pub fn body(dir: &Path, manifest: &serde_json::Value, section: Section) -> String {
    let summary: serde_json::Value = read_regular(&dir.join(crate::store::SUMMARY))
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    let mut s = section(dir, &summary);
    s.push_str(&format!(
        "<h2>Manifest</h2><details><summary>parameters, seeds, model, judges, template versions</summary><pre>{}</pre></details>",
        esc(&serde_json::to_string_pretty(manifest).unwrap_or_default())
    ));
    s
}

pub fn render(dir: &Path, section: Section) -> anyhow::Result<String> {
    let (_, manifest) = read_manifest(dir)?;
    let title = format!(
        "cotlens {} — {}",
        manifest["protocol"].as_str().unwrap_or(""),
        dir.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let model = manifest["model"]["spec"]
        .as_str()
        .or(manifest["settings"]["model"].as_str())
        .unwrap_or("");
    let nav = format!(
        "<div class=\"muted\" style=\"color:#cde\">{} · cotlens {}</div>",
        esc(model),
        esc(manifest["cotlens_version"].as_str().unwrap_or(""))
    );
    Ok(page(&title, &nav, &body(dir, &manifest, section)))
}

/// Write `report.html` (atomically) and return its path.
pub fn write(dir: &Path, out: Option<&Path>, section: Section) -> anyhow::Result<PathBuf> {
    let html = render(dir, section)?;
    let path = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.join(REPORT));
    crate::store::write_atomic(&path, html.as_bytes())?;
    Ok(path)
}

/// At the end of a run: write the report, and only warn if that fails.
pub fn after_run(dir: &Path, section: Section, printer: Printer) {
    match write(dir, None, section) {
        Ok(p) => printer.note(format!("report: {}", p.display())),
        Err(e) => printer.warn(format!("could not write the report: {e:#}")),
    }
}
