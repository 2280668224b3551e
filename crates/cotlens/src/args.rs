//! Flag groups that several commands share, flattened into each command's own Args (clap
//! derive). A leaf module: it imports nothing of the crate, so every layer may use it.

use clap::Args;
use std::path::PathBuf;

/// The model a command talks to (`--model` and how to reach or load it).
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// Model: smollm2-135m (embedded, default), local:PATH.gguf, hf:OWNER/REPO/FILE.gguf, openai:NAME, anthropic:NAME.
    #[arg(long, default_value = DEFAULT_MODEL)]
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

/// How requests are sent: concurrency, rate limits, retries and the response cache.
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
    /// Which answers may serve a request from the cache: `endpoint` (default) only those of the
    /// same backend kind, model and server (base URLs; the local model file), `model` those of
    /// the same backend kind and model on any server (replicas of one deployment, on purpose).
    #[arg(long, value_enum, default_value_t = CacheScope::Endpoint)]
    pub cache_scope: CacheScope,
}

/// What a cached answer must share with a request to serve it (recorded in the manifest).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum CacheScope {
    /// Backend kind, model and endpoint.
    #[default]
    Endpoint,
    /// Backend kind and model, whatever the endpoint.
    Model,
}

/// The embedded model, used when `--model` is not given.
pub const DEFAULT_MODEL: &str = "smollm2-135m";

impl EngineArgs {
    /// The flags' defaults, for a command without engine flags (`generate`).
    pub fn defaults() -> Result<Self, clap::Error> {
        #[derive(clap::Parser)]
        struct Only {
            #[command(flatten)]
            engine: EngineArgs,
        }
        <Only as clap::Parser>::try_parse_from(["cotlens"]).map(|o| o.engine)
    }
}

/// Where a resumable run lives (`--out` or `--resume`) and how its summary is printed.
#[derive(Debug, Clone, Args)]
pub struct RunDirArgs {
    /// Run directory (default: runs/<UTC timestamp>-<command>).
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Continue an interrupted run: skip stored units, run the rest, rewrite the summary.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// Print the summary as JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Which items of which datasets a run uses.
#[derive(Debug, Clone, Args)]
pub struct ItemArgs {
    /// Dataset(s): mmlu:PATH, bbh:PATH, turpin-bbh:PATH, jsonl:PATH, csv:PATH (repeatable). Default: the bundled sample.
    #[arg(long, value_name = "FORMAT:PATH")]
    pub dataset: Vec<String>,
    /// Items to use, picked deterministically by --seed (default: a few with the embedded model, all otherwise).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Seed for the item subset, sampling and bootstrap.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// How the model's turn is started and how long it may be.
#[derive(Debug, Clone, Args)]
pub struct PromptArgs {
    /// Maximum tokens per completion (default: a few hundred for local models, thousands for servers).
    #[arg(long)]
    pub max_tokens: Option<u32>,
    /// Start the model's turn with this text (needs prefix continuation). Default: "Let's think step by step." for local models, none for servers.
    #[arg(long)]
    pub reasoning_prefix: Option<String>,
    /// Do not start the model's turn with a reasoning prefix.
    #[arg(long, conflicts_with = "reasoning_prefix")]
    pub no_reasoning_prefix: bool,
}

/// The reasoning prefix used by default with local models.
pub const DEFAULT_REASONING_PREFIX: &str = "Let's think step by step.";

impl PromptArgs {
    /// The prefix a run uses: none with `--no-reasoning-prefix`, the given one, or the local
    /// default.
    pub fn reasoning_prefix(&self, local: bool) -> Option<String> {
        if self.no_reasoning_prefix {
            None
        } else {
            self.reasoning_prefix
                .clone()
                .or_else(|| local.then(|| DEFAULT_REASONING_PREFIX.to_string()))
        }
    }

    /// `--max-tokens`, or the default for local models or servers.
    pub fn max_tokens(&self, local: bool, local_default: u32, server_default: u32) -> u32 {
        self.max_tokens
            .unwrap_or(if local { local_default } else { server_default })
    }
}
