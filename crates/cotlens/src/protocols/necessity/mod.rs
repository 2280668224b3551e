//! `cotlens necessity`: is the CoT load-bearing? (PROTOCOLS.md §2, Lanham et al. 2023)
//!
//! Per item (one unit of work, resumable): sample a CoT; split it into steps (`steps/1`); read
//! the answer after the first k steps for every k = 0..L (k = 0 is the no-CoT baseline, k = L
//! the full-CoT answer), from candidate log-probabilities where the backend has them, otherwise
//! sampled after a forced `Answer: (` prefix (recorded per item); and the answer after filler
//! (" ..." repeated as many times as the CoT had tokens). The summary gives, per dataset,
//! accuracies with Wilson intervals, the CoT and filler gains over no-CoT with paired bootstrap
//! intervals, the same-answer curve with Wilson intervals, and the AOC with a bootstrap interval;
//! `early-answering.svg` draws the curves.
//!
//! With `--interventions mistakes,paraphrase`, a helper model corrupts or rewords the CoT and the
//! policy regenerates the rest (see docs/necessity.md).

use crate::cli::{EngineArgs, ModelArgs};
use crate::engine::Engine;
use crate::error::bad_input;
use crate::store::{write_atomic, write_json_atomic, RunStore, SUMMARY};
use cotlens_core::datasets::{subset, DatasetSpec};
use cotlens_core::necessity::STEP_SPLITTER_VERSION;
use cotlens_core::stats::BootstrapSpec;
use cotlens_core::types::Item;
use cotlens_core::{Backend, Capability};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Clone, clap::Args)]
pub struct NecessityArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Dataset(s) as for faithfulness (default: the bundled sample).
    #[arg(long, value_name = "FORMAT:PATH")]
    pub dataset: Vec<String>,
    /// Items to use, picked by --seed (default: 10 with the embedded model, all otherwise).
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Maximum CoT tokens (default: 128 for local models, 2048 for servers).
    #[arg(long)]
    pub max_tokens: Option<u32>,
    /// Start the model's turn with this text (default for local models: "Let's think step by step.").
    #[arg(long)]
    pub reasoning_prefix: Option<String>,
    #[arg(long, conflicts_with = "reasoning_prefix")]
    pub no_reasoning_prefix: bool,
    /// Helper-model interventions, comma-separated: mistakes (a mistake written into step k, the
    /// policy regenerates the rest), paraphrase (the first k steps reworded by a helper that never
    /// sees the question, the policy continues). Each costs one helper and one policy request per step.
    #[arg(long, value_delimiter = ',', value_name = "mistakes,paraphrase")]
    pub interventions: Vec<String>,
    /// Helper model for the interventions (default: the policy model).
    #[arg(long, value_name = "SPEC")]
    pub helper: Option<String>,
    /// Bootstrap resamples for the AOC and gain intervals.
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: u32,
    /// Run directory (default: runs/<UTC timestamp>-necessity).
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Continue an interrupted run.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub model: String,
    pub datasets: Vec<String>,
    pub limit: Option<usize>,
    pub seed: u64,
    pub max_tokens: u32,
    pub reasoning_prefix: Option<String>,
    pub bootstrap: BootstrapSpec,
    #[serde(default)]
    pub interventions: Vec<String>,
    #[serde(default)]
    pub helper: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerMethod {
    /// The most likely option letter after "\nAnswer:".
    Logprobs,
    /// A short sample after "\nAnswer: (", read by the answer extractor.
    Sampled,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub key: String,
    pub item_id: String,
    pub dataset: String,
    pub gold: usize,
    pub n_options: usize,
    pub status: String,
    pub error: Option<String>,
    pub method: Option<AnswerMethod>,
    pub cot: Option<String>,
    pub cot_tokens: Option<u32>,
    /// End offsets of the steps in `cot`.
    pub step_ends: Vec<usize>,
    /// The answer after the first k steps, k = 0..=L (None: unreadable).
    pub early_answers: Vec<Option<usize>>,
    pub filler_answer: Option<usize>,
    /// With `mistakes`: the answer after a mistake in step k and a regenerated rest, k = 1..=L.
    #[serde(default)]
    pub mistake_answers: Vec<Option<usize>>,
    /// With `paraphrase`: the answer after the first k steps paraphrased, k = 1..=L.
    #[serde(default)]
    pub paraphrase_answers: Vec<Option<usize>>,
}

/// The visible answer line ends the CoT: the CoT is the text before it.
pub(crate) fn strip_answer_line(text: &str) -> &str {
    static ANSWER_LINE: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r"(?im)^\s*\**\s*(?:final\s+)?answer\s*\**\s*[:=]").expect("valid regex")
    });
    match ANSWER_LINE.find_iter(text).last() {
        Some(m) => &text[..m.start()],
        None => text,
    }
}

/// Fail early, naming the capability, when the backend cannot continue a started turn.
pub fn require_prefix_continuation(backend: &dyn Backend) -> anyhow::Result<()> {
    if backend.supports(Capability::PrefixContinuation) {
        Ok(())
    } else {
        Err(
            anyhow::Error::new(backend.unsupported(Capability::PrefixContinuation))
                .context("necessity tests continue the model's turn from a given CoT prefix"),
        )
    }
}

mod summary;
mod unit;

use summary::render_table;
pub use summary::{curves_svg, summarize, DatasetSummary, EarlySummary, Point};
use unit::{run_item, Ctx};

pub async fn run(args: NecessityArgs, quiet: bool) -> anyhow::Result<()> {
    let (store, settings) = match &args.resume {
        Some(dir) => {
            let (store, manifest) = RunStore::resume(dir)?;
            let settings: Settings = serde_json::from_value(manifest["settings"].clone())
                .map_err(|e| bad_input(format!("{}: not a necessity run ({e})", dir.display())))?;
            (Some(store), settings)
        }
        None => {
            let (spec, _) = crate::settings::backend_options(&args.model, true)?;
            let local = spec.is_local();
            let datasets = if args.dataset.is_empty() {
                crate::bundled::default_datasets()?
            } else {
                args.dataset.clone()
            };
            for d in &datasets {
                DatasetSpec::parse(d).map_err(bad_input)?;
            }
            let reasoning_prefix = if args.no_reasoning_prefix {
                None
            } else {
                args.reasoning_prefix
                    .clone()
                    .or_else(|| local.then(|| "Let's think step by step.".to_string()))
            };
            let settings = Settings {
                model: args.model.model.clone(),
                datasets,
                limit: args.limit.or(local.then_some(10)),
                seed: args.seed,
                max_tokens: args.max_tokens.unwrap_or(if local { 128 } else { 2048 }),
                reasoning_prefix,
                bootstrap: BootstrapSpec {
                    resamples: args.bootstrap.max(1),
                    seed: args.seed,
                },
                interventions: args.interventions.clone(),
                helper: args.helper.clone(),
            };
            for i in &settings.interventions {
                if i != "mistakes" && i != "paraphrase" {
                    return Err(bad_input(format!(
                        "--interventions: unknown {i:?}; use mistakes, paraphrase"
                    )));
                }
            }
            (None, settings)
        }
    };
    let mut model_args = args.model.clone();
    model_args.model = settings.model.clone();
    let (spec, options) = crate::settings::backend_options(&model_args, quiet)?;
    let config = crate::settings::engine_config(&args.engine, &spec, &options)?;
    let mut items = Vec::new();
    for d in &settings.datasets {
        items.extend(DatasetSpec::parse(d).map_err(bad_input)?.load()?);
    }
    let items = subset(items, settings.limit, settings.seed);
    let backend = crate::model_spec::open_backend(&settings.model, &options).await?;
    require_prefix_continuation(backend.as_ref())?;
    let method = if backend.supports(Capability::CandidateLogprobs) {
        AnswerMethod::Logprobs
    } else {
        AnswerMethod::Sampled
    };
    let engine = Arc::new(Engine::new(
        backend.clone(),
        crate::settings::open_cache(&args.engine)?,
        config.clone(),
    ));
    let store = RunStore::create_unless_resumed(store, args.out.as_deref(), "necessity", || {
        serde_json::json!({
            "cotlens_version": env!("CARGO_PKG_VERSION"),
            "protocol": "necessity",
            "settings": settings,
            "model": backend.info(),
            "answer_method": method,
            "templates": {
                "elicitation": {"version": cotlens_core::prompts::ELICITATION_VERSION, "hash": cotlens_core::prompts::template_hash(cotlens_core::prompts::ELICITATION_TEMPLATE)},
                "step_splitter": STEP_SPLITTER_VERSION,
                "helper": {"version": cotlens_core::necessity::HELPER_TEMPLATES_VERSION,
                    "mistake_hash": cotlens_core::prompts::template_hash(cotlens_core::necessity::MISTAKE_TEMPLATE),
                    "paraphrase_hash": cotlens_core::prompts::template_hash(cotlens_core::necessity::PARAPHRASE_TEMPLATE)},
                "answer_extraction": cotlens_core::extract::EXTRACTOR_VERSION,
            },
            "engine": config,
            "items": items.len(),
        })
    })?;
    let dir = store.dir().to_path_buf();
    let pending: Vec<Item> = items
        .iter()
        .filter(|i| !store.is_done(&i.id))
        .cloned()
        .collect();
    if !quiet {
        eprintln!(
            "cotlens: {} items ({} already done), answers from {:?} → {}",
            items.len(),
            items.len() - pending.len(),
            method,
            dir.display()
        );
    }
    let helper = if settings.interventions.is_empty() {
        None
    } else {
        match &settings.helper {
            None => Some(engine.clone()),
            Some(h) if *h == settings.model => Some(engine.clone()),
            Some(h) => {
                let helper_args = if crate::model_spec::ModelSpec::parse(h)?.is_local() {
                    ModelArgs {
                        model: h.clone(),
                        base_url: Vec::new(),
                        threads: None,
                        parallel: None,
                        ..args.model.clone()
                    }
                } else {
                    ModelArgs {
                        model: h.clone(),
                        threads: None,
                        parallel: None,
                        ..args.model.clone()
                    }
                };
                let (hspec, hopts) = crate::settings::backend_options(&helper_args, quiet)?;
                let hconfig = crate::settings::engine_config(&args.engine, &hspec, &hopts)?;
                let hb = crate::model_spec::open_backend(h, &hopts).await?;
                Some(Arc::new(Engine::new(
                    hb,
                    crate::settings::open_cache(&args.engine)?,
                    hconfig,
                )))
            }
        }
    };
    let ctx = Arc::new(Ctx {
        engine: engine.clone(),
        helper,
        settings: settings.clone(),
        method,
    });
    // One item per request slot: an item's early answers then extend the prefix its own CoT left
    // in the local backend's KV cache, instead of interleaving with the next item's.
    let work = |item: Item| {
        let ctx = ctx.clone();
        async move { run_item(&ctx, &item).await }
    };
    crate::runner::run_into_store(
        &store,
        pending,
        config.concurrency,
        "necessity",
        &engine.counters,
        quiet,
        "cotlens necessity",
        work,
    )
    .await?;
    let records: Vec<Record> = crate::store::read_typed(&dir, "necessity")?;
    let summaries = summarize(&records, settings.bootstrap);
    let summary = serde_json::json!({"protocol": "necessity", "model": settings.model, "answer_method": method, "bootstrap": settings.bootstrap, "datasets": summaries});
    write_json_atomic(&dir.join(SUMMARY), &summary)?;
    write_atomic(
        &dir.join("early-answering.svg"),
        curves_svg(&summaries).as_bytes(),
    )?;
    crate::report::after_run(&dir, quiet);
    if args.json {
        crate::printer::stdout(&format!("{}\n", serde_json::to_string_pretty(&summary)?));
    } else {
        crate::printer::stdout(&render_table(&summaries));
        crate::printer::stdout(&format!(
            "run directory: {} (curves: early-answering.svg)\n",
            dir.display()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A backend that only chats (like a base-model GGUF without a chat template would not even
    /// do that): enough to check that the capability check names what is missing.
    struct ChatOnly(cotlens_core::BackendInfo);

    #[async_trait::async_trait]
    impl Backend for ChatOnly {
        fn info(&self) -> &cotlens_core::BackendInfo {
            &self.0
        }
        async fn chat(
            &self,
            _: &cotlens_core::types::ChatRequest,
        ) -> Result<cotlens_core::types::Completion, cotlens_core::BackendError> {
            Err(self.unsupported(Capability::Chat))
        }
    }

    #[test]
    fn missing_prefix_continuation_is_named() {
        let b = ChatOnly(cotlens_core::BackendInfo {
            spec: "chat-only".into(),
            model_id: "m".into(),
            capabilities: vec![Capability::Chat],
            details: Default::default(),
        });
        let err = require_prefix_continuation(&b).expect_err("unsupported");
        let text = format!("{err:#}");
        assert!(
            text.contains("chat-only does not support prefix continuation"),
            "{text}"
        );
        assert_eq!(crate::error::exit_code(&err), 2);
    }

    #[test]
    fn answer_lines_are_cut_from_the_cot() {
        assert_eq!(
            strip_answer_line("Step one. Step two.\nAnswer: B"),
            "Step one. Step two.\n"
        );
        assert_eq!(
            strip_answer_line("No answer line here."),
            "No answer line here."
        );
        assert_eq!(
            strip_answer_line("I think. **Final answer:** C"),
            "I think. **Final answer:** C",
            "only at the start of a line"
        );
        assert_eq!(strip_answer_line("A.\n**Final Answer:** C"), "A.\n");
    }
}
