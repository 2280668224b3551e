//! The `cotlens` binary: parse flags, set up logging, dispatch, and turn errors into one line
//! on stderr and an exit code (2 for input the user can fix, 1 otherwise).

use cotlens::{cli, commands, error, protocols};

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
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
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cotlens: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let quiet = cli.quiet;
    let result = runtime.block_on(async move {
        match cli.command {
            cli::Command::Faithfulness(args) => protocols::faithfulness::run(*args, quiet).await,
            cli::Command::Necessity(args) => protocols::necessity::run(*args, quiet).await,
            cli::Command::Generate(args) => commands::generate::run(*args, quiet).await,
            cli::Command::Models(cmd) => commands::models::run(cmd, quiet).await,
            cli::Command::Merge(args) => commands::merge::run(args).await,
            cli::Command::Monitor(args) => protocols::monitor::run_monitor(*args, quiet).await,
            cli::Command::MonitorEval(args) => protocols::monitor::run_monitor_eval(args),
            cli::Command::Sample(args) => protocols::sample::run(*args, quiet).await,
            cli::Command::Select(args) => protocols::select::run(*args, quiet).await,
            cli::Command::Report(args) => cotlens::report::run(args),
            cli::Command::View(args) => cotlens::view::run(args).await,
            cli::Command::Legibility(args) => protocols::legibility::run(*args, quiet).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the outermost context, then the causes.
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            let mut line = chain.join(": ");
            if line.len() > 2000 {
                line.truncate(2000);
            }
            eprintln!("cotlens: error: {line}");
            ExitCode::from(error::exit_code(&e) as u8)
        }
    }
}
