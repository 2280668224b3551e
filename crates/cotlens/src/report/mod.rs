//! `cotlens report RUN_DIR`: one self-contained offline HTML file per run (no scripts, no
//! network: inline CSS, inline SVG charts, SVG files embedded as data-URI images, a
//! Content-Security-Policy that allows nothing else). All model text is escaped. Written as
//! `report.html` in the run directory at the end of every run, and on demand.

pub mod html;
pub mod sections;

use crate::error::bad_input;
use html::{esc, page};
use std::path::{Path, PathBuf};

pub const REPORT: &str = "report.html";

/// The protocols a report knows.
pub const PROTOCOLS: &[&str] = &[
    "faithfulness",
    "necessity",
    "monitor",
    "select",
    "sample",
    "legibility",
];

/// A run directory's manifest, or a clear error (exit 2) for a missing or foreign directory.
pub fn read_manifest(dir: &Path) -> anyhow::Result<serde_json::Value> {
    if !dir.is_dir() {
        return Err(bad_input(format!(
            "{}: no such run directory",
            dir.display()
        )));
    }
    let path = dir.join(crate::store::MANIFEST);
    let manifest: serde_json::Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| {
            bad_input(format!(
                "{}: not a cotlens run directory (no readable {})",
                dir.display(),
                crate::store::MANIFEST
            ))
        })?;
    let protocol = manifest["protocol"].as_str().unwrap_or("");
    if !PROTOCOLS.contains(&protocol) {
        return Err(bad_input(format!(
            "{}: a run of unknown kind {:?}; reports cover {}",
            dir.display(),
            protocol,
            PROTOCOLS.join(", ")
        )));
    }
    Ok(manifest)
}

/// The report's HTML body (without the page around it), for the report and the viewer.
pub fn body(dir: &Path, manifest: &serde_json::Value) -> String {
    let summary: serde_json::Value = std::fs::read_to_string(dir.join(crate::store::SUMMARY))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    let protocol = manifest["protocol"].as_str().unwrap_or("");
    let mut s = match protocol {
        "faithfulness" => sections::faithfulness(dir, &summary),
        "necessity" => sections::necessity(dir, &summary),
        "monitor" => sections::monitor(dir),
        "select" => sections::select(dir),
        "sample" => sections::sample(dir, &summary),
        _ => sections::legibility(&summary),
    };
    s.push_str(&format!(
        "<h2>Manifest</h2><details><summary>parameters, seeds, model, judges, template versions</summary><pre>{}</pre></details>",
        esc(&serde_json::to_string_pretty(manifest).unwrap_or_default())
    ));
    s
}

pub fn render(dir: &Path) -> anyhow::Result<String> {
    let manifest = read_manifest(dir)?;
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
    Ok(page(&title, &nav, &body(dir, &manifest)))
}

/// Write `report.html` (atomically) and return its path.
pub fn write(dir: &Path, out: Option<&Path>) -> anyhow::Result<PathBuf> {
    let html = render(dir)?;
    let path = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.join(REPORT));
    crate::store::write_atomic(&path, html.as_bytes())?;
    Ok(path)
}

/// At the end of a run: write the report, and only warn if that fails.
pub fn after_run(dir: &Path, quiet: bool) {
    match write(dir, None) {
        Ok(p) if !quiet => eprintln!("cotlens: report: {}", p.display()),
        Ok(_) => {}
        Err(e) => eprintln!("cotlens: warning: could not write the report: {e:#}"),
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// A run directory (faithfulness, necessity, monitor, select, sample, legibility).
    pub run: PathBuf,
    /// Where to write the HTML (default: RUN/report.html).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    let path = write(&args.run, args.out.as_deref())?;
    crate::printer::stdout(&format!("{}\n", path.display()));
    Ok(())
}
