//! `cotlens report RUN_DIR`: write a run's report on demand (the report is also written at the
//! end of every run).

use crate::printer::Printer;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// A run directory (faithfulness, necessity, monitor, select, sample, legibility).
    pub run: PathBuf,
    /// Where to write the HTML (default: RUN/report.html).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// A report shows what the run's files hold; a damaged file (a record that is not JSON, a
/// summary or ledger that does not parse) is refused rather than drawn around.
fn check_run_files(dir: &std::path::Path) -> anyhow::Result<()> {
    if crate::report::is_regular_file(&dir.join(crate::store::RECORDS)) {
        crate::store::read_records(dir)?;
    }
    for name in [crate::store::SUMMARY, "ledger.json", "monitor-eval.json"] {
        let path = dir.join(name);
        if !crate::report::is_regular_file(&path) {
            continue;
        }
        let text = cotlens_core::read::read_text(&path)?;
        if let Err(e) = serde_json::from_str::<serde_json::Value>(&text) {
            return Err(crate::error::bad_input(format!(
                "{}:{}: not valid JSON ({e}); the run directory is damaged",
                path.display(),
                e.line()
            )));
        }
    }
    Ok(())
}

pub fn run(args: ReportArgs, printer: Printer) -> anyhow::Result<()> {
    let (protocol, _) = crate::report::read_manifest(&args.run)?;
    check_run_files(&args.run)?;
    let section = crate::protocols::report_section(protocol);
    let path = crate::report::write(&args.run, args.out.as_deref(), section)?;
    printer.out(&format!("{}\n", path.display()));
    Ok(())
}
