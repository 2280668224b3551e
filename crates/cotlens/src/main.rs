//! The `cotlens` binary: parse flags, set up logging, dispatch, and turn errors into one line
//! on stderr and an exit code (2 for input the user can fix, 3 over a pressure budget, 1
//! otherwise).
#![deny(clippy::print_stdout, clippy::print_stderr)]

use cotlens::cli::{Cli, Command};
use cotlens::printer::Printer;
use cotlens::{commands, error, protocols, view};

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse_recorded();
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{level},llama_cpp_2=error"))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let printer = Printer::new(cli.quiet);
    cotlens_core::read::set_limits(cli.max_line_mb, cli.max_file_mb);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            printer.say(format!("cannot start the async runtime: {e}"));
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Faithfulness(args) => protocols::faithfulness::run(*args, printer).await,
            Command::Necessity(args) => protocols::necessity::run(*args, printer).await,
            Command::Generate(args) => commands::generate::run(*args, printer).await,
            Command::Models(cmd) => commands::models::run(cmd, printer).await,
            Command::Probe(args) => commands::probe::run(*args, printer).await,
            Command::Merge(args) => commands::merge::run(args, printer).await,
            Command::Monitor(args) => protocols::monitor::run_monitor(*args, printer).await,
            Command::MonitorEval(args) => protocols::monitor::run_monitor_eval(args, printer),
            Command::Sample(args) => protocols::sample::run(*args, printer).await,
            Command::Select(args) => protocols::select::run(*args, printer).await,
            Command::Report(args) => commands::report::run(args, printer),
            Command::View(args) => view::run(args, printer).await,
            Command::Legibility(args) => protocols::legibility::run(*args, printer).await,
            Command::Clues(args) => protocols::clues::run(*args, printer).await,
            Command::Horizon(args) => protocols::horizon::run(*args, printer).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the outermost context, then the causes.
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            // One line, whatever a cause printed (a regex error spans several).
            let mut line = chain
                .join(": ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            line.truncate(line.floor_char_boundary(2000));
            printer.say(format!("error: {line}"));
            ExitCode::from(error::exit_code(&e) as u8)
        }
    }
}
