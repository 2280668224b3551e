//! `cotlens necessity`: is the CoT load-bearing? (docs/protocols.md §2, Lanham et al. 2023)
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

use crate::args::{EngineArgs, ItemArgs, ModelArgs, PromptArgs, RunDirArgs};
use crate::error::bad_input;
use crate::printer::Printer;
use crate::protocol::Protocol;
use crate::session::{Manifest, RunStart};
use crate::store::write_atomic;
use cotlens_core::datasets::subset;
use cotlens_core::necessity::STEP_SPLITTER_VERSION;
use cotlens_core::stats::BootstrapSpec;
use cotlens_core::types::Item;
use cotlens_core::{Backend, Capability};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, Clone, clap::Args)]
#[command(
    mut_arg("limit", |a| a.help("Items to use, picked by --seed (default: 10 with the embedded model, all otherwise)")),
    mut_arg("seed", |a| a.help("Seed for the item subset and the bootstrap")),
    mut_arg("max_tokens", |a| a.help("Maximum CoT tokens (default: 128 for local models, 2048 for servers)")),
)]
pub struct NecessityArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub items: ItemArgs,
    #[command(flatten)]
    pub prompt: PromptArgs,
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
    #[command(flatten)]
    pub run: RunDirArgs,
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

/// How a CoT's tokens were counted, for the filler of the same length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// The server's `usage.completion_tokens`.
    Usage,
    /// The backend's tokenizer (the local vocabulary, or a server's `/tokenize`).
    Tokenizer,
    /// Characters / 4: nothing could count them.
    Estimate,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub key: String,
    pub item_id: String,
    pub dataset: String,
    pub gold: usize,
    pub n_options: usize,
    pub status: crate::engine::RequestStatus,
    pub error: Option<String>,
    pub method: Option<AnswerMethod>,
    pub cot: Option<String>,
    pub cot_tokens: Option<u32>,
    /// Where `cot_tokens` came from (the filler has that many " ..." tokens).
    #[serde(default)]
    pub cot_tokens_source: Option<TokenSource>,
    /// True when `cot_tokens` is [`cotlens_core::necessity::estimate_tokens`]'s estimate.
    #[serde(default)]
    pub cot_tokens_estimated: bool,
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
    backend.require(
        Capability::PrefixContinuation,
        "necessity tests continue the model's turn from a given CoT prefix",
    )?;
    Ok(())
}

mod summary;
mod unit;

use summary::render_table;
pub use summary::{curves_svg, summarize, DatasetSummary, EarlySummary, Point};
use unit::{run_item, Ctx};

fn resolve_settings(args: &NecessityArgs, local: bool) -> anyhow::Result<Settings> {
    let datasets = crate::bundled::datasets_or_default(&args.items.dataset)?;
    for i in &args.interventions {
        if i != "mistakes" && i != "paraphrase" {
            return Err(bad_input(format!(
                "--interventions: unknown {i:?}; use mistakes, paraphrase"
            )));
        }
    }
    Ok(Settings {
        model: args.model.model.clone(),
        datasets,
        limit: args.items.limit.or(local.then_some(10)),
        seed: args.items.seed,
        max_tokens: args.prompt.max_tokens(local, 128, 2048),
        reasoning_prefix: args.prompt.reasoning_prefix(local),
        bootstrap: BootstrapSpec {
            resamples: args.bootstrap.max(1),
            seed: args.items.seed,
        },
        interventions: args.interventions.clone(),
        helper: args.helper.clone(),
    })
}

pub async fn run(args: NecessityArgs, printer: Printer) -> anyhow::Result<()> {
    let start = RunStart::new(Protocol::Necessity, &args.run, printer)?;
    let (settings, model) = start.settings_and_model(
        &args.model,
        &args.engine,
        |s: &Settings| &s.model,
        |m| resolve_settings(&args, m.is_local()),
    )?;
    let items = crate::bundled::load_items(&settings.datasets)?;
    let items =
        crate::bundled::nonempty(subset(items, settings.limit, settings.seed), "--dataset")?;
    let inputs = RunStart::inputs_identity(&items, |i| i.id.as_str());
    start.check_inputs(&inputs)?;
    let backend = model.open_backend().await?;
    require_prefix_continuation(backend.as_ref())?;
    let method = if backend.supports(Capability::CandidateLogprobs) {
        AnswerMethod::Logprobs
    } else {
        AnswerMethod::Sampled
    };
    let engine = model.engine_for(backend.clone())?;
    let session = start.begin(|| {
        Manifest::new(Protocol::Necessity)
            .with("items", &inputs)
            .settings(&settings)
            .with("model", backend.info())
            .with("answer_method", method)
            .with("templates", serde_json::json!({
                "elicitation": {"version": cotlens_core::prompts::ELICITATION_VERSION, "hash": cotlens_core::prompts::template_hash(cotlens_core::prompts::ELICITATION_TEMPLATE)},
                "step_splitter": STEP_SPLITTER_VERSION,
                "helper": {"version": cotlens_core::necessity::HELPER_TEMPLATES_VERSION,
                    "mistake_hash": cotlens_core::prompts::template_hash(cotlens_core::necessity::MISTAKE_TEMPLATE),
                    "paraphrase_hash": cotlens_core::prompts::template_hash(cotlens_core::necessity::PARAPHRASE_TEMPLATE)},
                "answer_extraction": cotlens_core::extract::EXTRACTOR_VERSION,
            }))
            .with("engine", &model.engine)
            .with("items", items.len())
    })?;
    let pending = session.pending(items.iter().cloned(), |i| &i.id);
    printer.note(format!(
        "{} items ({} already done), answers from {:?} → {}",
        items.len(),
        items.len() - pending.len(),
        method,
        session.dir().display()
    ));
    let helper = match &settings.helper {
        _ if settings.interventions.is_empty() => None,
        Some(h) if *h != settings.model => Some(model.secondary(h)?.open_engine().await?),
        _ => Some(engine.clone()),
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
    session
        .run(pending, model.engine.concurrency, &engine.counters, work)
        .await?;
    let records: Vec<Record> = session.records("necessity")?;
    let summaries = summarize(&records, settings.bootstrap);
    let summary = serde_json::json!({"protocol": "necessity", "model": settings.model, "answer_method": method, "bootstrap": settings.bootstrap, "datasets": summaries});
    session.write_summary(&summary)?;
    write_atomic(
        &session.dir().join("early-answering.svg"),
        curves_svg(&summaries).as_bytes(),
    )?;
    session.write_report(crate::report::sections::necessity);
    printer.result(args.run.json, &summary, || {
        format!(
            "{}run directory: {} (curves: early-answering.svg)\n",
            render_table(&summaries),
            session.dir().display()
        )
    })
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
            capability_check: None,
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
