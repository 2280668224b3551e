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

pub fn run(args: ReportArgs, printer: Printer) -> anyhow::Result<()> {
    let (protocol, _) = crate::report::read_manifest(&args.run)?;
    let section = crate::protocols::report_section(protocol);
    let path = crate::report::write(&args.run, args.out.as_deref(), section)?;
    printer.out(&format!("{}\n", path.display()));
    Ok(())
}
