//! Flag groups that several commands share, flattened into each command's own Args (clap
//! derive). A leaf module: it imports nothing of the crate, so every layer may use it.

use clap::Args;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
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
    /// openai: models: take the server's capabilities (continuation, logprobs) on your word
    /// instead of probing them; recorded in the manifest.
    #[arg(long)]
    pub trust_capabilities: bool,
    /// openai: models: reasoning effort, sent as `reasoning_effort` (OpenAI, Ollama, vLLM for
    /// gpt-oss); refused when the probe found the server refuses it. Recorded.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub reasoning_effort: Option<ReasoningEffort>,
    /// openai: models on vLLM/SGLang: `chat_template_kwargs` as a JSON object, e.g.
    /// '{"enable_thinking": false}' for Qwen3. Recorded.
    #[arg(long, value_name = "JSON")]
    pub chat_template_kwargs: Option<String>,
    /// openai: models: a JSON object merged into every request body last (the escape hatch for
    /// provider fields cotlens has no flag for). Recorded with secret-looking keys redacted.
    #[arg(long, value_name = "JSON")]
    pub extra_body: Option<String>,
    /// anthropic: models: think with this many tokens (`thinking.budget_tokens`, at least
    /// 1024); max_tokens grows by it, temperature stays 1, no prefill. Recorded.
    #[arg(long, value_name = "TOKENS")]
    pub thinking_budget: Option<u32>,
}

/// `--reasoning-effort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReasoningEffort {
    Minimal,
    Low,
    Medium,
    High,
}

impl ReasoningEffort {
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningEffort::Minimal => "minimal",
            ReasoningEffort::Low => "low",
            ReasoningEffort::Medium => "medium",
            ReasoningEffort::High => "high",
        }
    }
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
    /// On --resume, leave units recorded as failed as they are (by default they are retried).
    #[arg(long, requires = "resume")]
    pub no_retry_failed: bool,
    /// The command's flags as given (set by the binary from clap's matches), recorded in the
    /// manifest and compared on `--resume`.
    #[arg(skip)]
    pub command_line: CommandLine,
}

/// A command's flags as clap read them: every flag's raw values (given or default), by clap id
/// (the field name, e.g. `max_tokens`), and which of them were given (on the command line or
/// through the environment). Recorded in the manifest as `command_line`; on `--resume`, a given
/// flag must have the value the run was started with unless it cannot change the results.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandLine {
    pub values: BTreeMap<String, Vec<String>>,
    pub given: BTreeSet<String>,
}

/// Flags that may differ on `--resume` because they cannot change a result: how requests are
/// scheduled, retried, cached and reported, where the key lives, and how the local model uses
/// the machine. `base_url` is checked separately, as the backend's identity.
pub const FREE_ON_RESUME: &[&str] = &[
    "resume",
    "out",
    "json",
    "no_retry_failed",
    "concurrency",
    "rpm",
    "tpm",
    "timeout",
    "max_attempts",
    "retry_budget",
    "retry_base_ms",
    "no_cache",
    "cache",
    "api_key_env",
    "threads",
    "parallel",
    "no_prefix_cache",
    "verbose",
    "quiet",
    "max_line_mb",
    "max_file_mb",
    "base_url",
];

impl CommandLine {
    /// The flags of one (sub)command's matches (`command`: its definition, so that only its
    /// arguments are read, not the groups clap derives from flattened structs).
    pub fn from_matches(command: &clap::Command, matches: &clap::ArgMatches) -> Self {
        let mut out = Self::default();
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            let Ok(Some(raw)) = matches.try_get_raw(id) else {
                continue;
            };
            let values: Vec<String> = raw.map(|v| v.to_string_lossy().into_owned()).collect();
            let source = matches.value_source(id);
            if matches!(
                source,
                Some(
                    clap::parser::ValueSource::CommandLine | clap::parser::ValueSource::EnvVariable
                )
            ) {
                out.given.insert(id.to_string());
            }
            out.values.insert(id.to_string(), values);
        }
        out
    }

    /// The flag `id` as a user writes it (`--max-tokens`, `-n`).
    pub fn flag_name(id: &str) -> String {
        if id.len() == 1 {
            format!("-{id}")
        } else {
            format!("--{}", id.replace('_', "-"))
        }
    }

    /// Compared with the flags a run was started with (`before`): the given flags that differ,
    /// as (flag, now, before) with `before` `None` where the run had no value for it. Free flags
    /// ([`FREE_ON_RESUME`]) are returned apart: they may differ.
    pub fn differences(&self, before: &CommandLine) -> (Vec<FlagChange>, Vec<FlagChange>) {
        let (mut refused, mut free) = (Vec::new(), Vec::new());
        for id in &self.given {
            let now = self.values.get(id);
            let then = before.values.get(id);
            if now == then {
                continue;
            }
            let change = FlagChange {
                flag: Self::flag_name(id),
                now: now.map(|v| v.join(" ")).unwrap_or_default(),
                before: then.map(|v| v.join(" ")),
            };
            if FREE_ON_RESUME.contains(&id.as_str()) {
                free.push(change);
            } else {
                refused.push(change);
            }
        }
        (refused, free)
    }
}

/// One flag given on `--resume` with another value than the run's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagChange {
    pub flag: String,
    pub now: String,
    pub before: Option<String>,
}

impl std::fmt::Display for FlagChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.before {
            Some(b) => write!(f, "{} {:?} (the run has {:?})", self.flag, self.now, b),
            None => write!(
                f,
                "{} {:?} (the run was started without it)",
                self.flag, self.now
            ),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn line(values: &[(&str, &str)], given: &[&str]) -> CommandLine {
        CommandLine {
            values: values
                .iter()
                .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
                .collect(),
            given: given.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn only_given_flags_that_change_results_are_refused() {
        let before = line(
            &[("temperature", "0"), ("concurrency", "4"), ("seed", "0")],
            &[],
        );
        let now = line(
            &[
                ("temperature", "0.7"),
                ("concurrency", "8"),
                ("seed", "1"),
                ("limit", "3"),
            ],
            &["temperature", "concurrency", "limit"],
        );
        let (refused, free) = now.differences(&before);
        let names: Vec<&str> = refused.iter().map(|c| c.flag.as_str()).collect();
        assert_eq!(
            names,
            ["--limit", "--temperature"],
            "seed was not given: not compared"
        );
        assert_eq!(refused[0].before, None);
        assert_eq!(free.len(), 1);
        assert_eq!(
            free[0].to_string(),
            "--concurrency \"8\" (the run has \"4\")"
        );
        assert!(now.differences(&now).0.is_empty());
        assert_eq!(CommandLine::flag_name("n"), "-n");
        assert_eq!(CommandLine::flag_name("max_tokens"), "--max-tokens");
    }
}
