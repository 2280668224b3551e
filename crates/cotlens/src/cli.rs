//! The command line: the global flags and the list of commands. Each command owns its flags
//! (its `Args`, next to its code); the groups they share are in [`crate::args`]. No I/O here.

use crate::commands::{
    generate::GenerateArgs, merge::MergeArgs, models::ModelsCommand, probe::ProbeArgs,
    report::ReportArgs,
};
use crate::protocols::{
    clues::CluesArgs,
    faithfulness::FaithfulnessArgs,
    horizon::HorizonArgs,
    legibility::LegibilityArgs,
    monitor::{MonitorArgs, MonitorEvalArgs},
    necessity::NecessityArgs,
    sample::SampleArgs,
    select::SelectArgs,
};
use crate::view::ViewArgs;
use clap::{Parser, Subcommand};

const AFTER_HELP: &str = "\
Examples:
  cotlens faithfulness                                   # bundled sample, embedded model, lexical judge
  cotlens faithfulness --model openai:Qwen/QwQ-32B --base-url http://127.0.0.1:8000/v1
  cotlens faithfulness --dataset mmlu:data/mmlu/test --hints sycophancy,metadata --limit 100
  cotlens generate \"What is 2 + 2?\"
  cotlens models pull smollm2-135m

Environment:
  COTLENS_HOME      cache directory for models, bundled data and the response cache
                    (default: $XDG_CACHE_HOME/cotlens or ~/.cache/cotlens)
  OPENAI_API_KEY    key for openai: models (or name another variable with --api-key-env)
  ANTHROPIC_API_KEY key for anthropic: models
  RUST_LOG          log filter for -v output (e.g. cotlens=debug)";

#[derive(Debug, Parser)]
#[command(name = "cotlens", version, about = "Chain-of-thought oversight: measure whether reasoning models' CoTs can be trusted.", after_help = AFTER_HELP)]
pub struct Cli {
    /// More logging on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No progress bar or progress messages.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Longest line accepted in a line-based input (JSONL, CSV records, traces), in MiB.
    #[arg(long, global = true, default_value_t = cotlens_core::read::DEFAULT_MAX_LINE_MB, value_name = "MIB")]
    pub max_line_mb: u64,
    /// Largest whole-file input (JSON, TOML, a member of an .eval archive as it decompresses), in MiB.
    #[arg(long, global = true, default_value_t = cotlens_core::read::DEFAULT_MAX_FILE_MB, value_name = "MIB")]
    pub max_file_mb: u64,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Hint faithfulness: does the CoT admit the hint that changed the answer? (Chen et al. 2025)
    #[command(
        after_help = "Example:\n  cotlens faithfulness --limit 20 --hints sycophancy,metadata --out runs/smoke"
    )]
    Faithfulness(Box<FaithfulnessArgs>),
    /// Is the CoT load-bearing? Early answering (AOC), filler tokens and the no-CoT baseline (Lanham et al. 2023).
    #[command(after_help = "Example:\n  cotlens necessity --limit 5 --out runs/necessity")]
    Necessity(Box<NecessityArgs>),
    /// Is the CoT faithful when it is necessary? Clues that need computation to use (METR 2025).
    #[command(long_about = crate::protocols::clues::ABOUT, after_help = crate::protocols::clues::EXAMPLES)]
    Clues(Box<CluesArgs>),
    /// How far can the model reason without a visible CoT? The no-CoT horizon, with filler and repeats (PROTOCOLS §8).
    #[command(long_about = crate::protocols::horizon::ABOUT, after_help = crate::protocols::horizon::EXAMPLES)]
    Horizon(Box<HorizonArgs>),
    /// Send one prompt to a model and print the completion.
    #[command(
        after_help = "Example:\n  cotlens generate --max-tokens 64 --seed 1 \"Name three primary colours.\""
    )]
    Generate(Box<GenerateArgs>),
    /// Ask a server what it honours (turn continuation, logprobs, reasoning field, reasoning controls); JSON.
    #[command(
        after_help = "Example:\n  cotlens probe --model openai:Qwen/Qwen3-8B --base-url http://localhost:8000/v1"
    )]
    Probe(Box<ProbeArgs>),
    /// Fetch and inspect models (the embedded default comes from a PyPI wheel).
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Run rule-based CoT/action monitors over traces, one record per trace × monitor × view.
    #[command(
        after_help = "Example:\n  cotlens monitor --traces impossiblebench:data/impossiblebench --out runs/monitor"
    )]
    Monitor(Box<MonitorArgs>),
    /// How good is a monitor? AUROC, TPR at 1%/5% FPR, g-mean², ROC curves, per view.
    #[command(
        name = "monitor-eval",
        after_help = "Example:\n  cotlens monitor-eval runs/monitor --threshold 0.5"
    )]
    MonitorEval(MonitorEvalArgs),
    /// Sample N completions per prompt (optionally with a spec in the system prompt) for selection.
    #[command(
        after_help = "Example:\n  cotlens sample -n 4 --limit 8 --spec spec.md --out runs/sample"
    )]
    Sample(Box<SampleArgs>),
    /// Score sampled traces with a pipeline, select (never rewrite) them, write SFT data and a pressure ledger.
    #[command(
        after_help = "Example:\n  cotlens select --pipeline pipelines/correct-then-legible.toml runs/sample --out runs/select"
    )]
    Select(Box<SelectArgs>),
    /// Legibility and drift of reasoning language: odd words, script mixing, repetition, compression.
    #[command(
        after_help = "Examples:\n  cotlens legibility traces.jsonl --baseline before.jsonl\n  cotlens legibility run:runs/sample --out runs/legibility --perplexity"
    )]
    Legibility(Box<LegibilityArgs>),
    /// Write a run's self-contained HTML report (charts, examples, manifest; no network).
    #[command(after_help = "Example:\n  cotlens report runs/20261125T190000Z-faithfulness")]
    Report(ReportArgs),
    /// Browse runs in a local web UI on 127.0.0.1: filter records, open items side by side, compare runs.
    #[command(
        after_help = "Example:\n  cotlens view runs/a runs/b          # prints http://127.0.0.1:PORT/"
    )]
    View(ViewArgs),
    /// Combine the run directories of shards (--shard i/n) into one run.
    #[command(after_help = "Example:\n  cotlens merge --out runs/all runs/shard1 runs/shard2")]
    Merge(MergeArgs),
}

impl Command {
    /// The run-directory flags of a command that writes a resumable run.
    pub fn run_dir_mut(&mut self) -> Option<&mut crate::args::RunDirArgs> {
        match self {
            Command::Faithfulness(a) => Some(&mut a.run),
            Command::Necessity(a) => Some(&mut a.run),
            Command::Clues(a) => Some(&mut a.run),
            Command::Horizon(a) => Some(&mut a.run),
            Command::Sample(a) => Some(&mut a.run),
            Command::Select(a) => Some(&mut a.run),
            _ => None,
        }
    }
}

impl Cli {
    /// Parse the process's arguments (exits with clap's message on a bad flag), keeping what
    /// was given for the run's manifest ([`crate::args::CommandLine`]).
    pub fn parse_recorded() -> Self {
        use clap::{CommandFactory, FromArgMatches};
        let matches = Self::command().get_matches();
        let mut cli = Self::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        if let (Some(run), Some((name, sub))) = (cli.command.run_dir_mut(), matches.subcommand()) {
            if let Some(command) = Self::command().find_subcommand(name) {
                run.command_line = crate::args::CommandLine::from_matches(command, sub);
            }
        }
        cli
    }
}
