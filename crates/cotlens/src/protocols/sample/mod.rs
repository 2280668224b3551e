//! `cotlens sample`: N completions per prompt, recorded with the hash of each request and of
//! each completion's content, the raw material of `cotlens select` (docs/protocols.md §4).
//!
//! A spec file, when given, is the system prompt of every request; the recorded `prompt` is
//! the prompt without it (what the SFT data shows). Every sample is one unit of work in the
//! run store: a killed run resumes with `--resume`.

use crate::args::{EngineArgs, ItemArgs, ModelArgs, PromptArgs, RunDirArgs};
use crate::cache::hash_json;
use crate::engine::{Attempt, Engine, Fatal, RequestStatus};
use crate::error::bad_input;
use crate::printer::Printer;
use crate::protocol::Protocol;
use crate::session::{Manifest, RunStart};
use cotlens_core::datasets::subset;
use cotlens_core::selection::verbatim::{content_hash, split, SplitText};
use cotlens_core::stats::{wilson, Estimate};
use cotlens_core::types::{ChatRequest, Completion, Message, Sampling};
use cotlens_core::Capability;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

pub mod grade;
mod prompts;
pub use prompts::{load_prompts, Prompt};

#[derive(Debug, Clone, clap::Args)]
#[command(
    mut_arg("dataset", |a| a.help("Multiple-choice dataset(s) as for faithfulness (default: the bundled sample)")),
    mut_arg("limit", |a| a.help("Prompts to use, picked by --seed (default: 8 with the embedded model, all otherwise)")),
    mut_arg("seed", |a| a.help("Seed for the prompt subset and the samples (sample i of a prompt uses seed·1000003 + i)")),
    mut_arg("max_tokens", |a| a.help("Maximum tokens per completion (default: 160 for local models, 4096 for servers)")),
)]
pub struct SampleArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub items: ItemArgs,
    /// Free-form prompts: JSONL with {"id", "prompt", "gold"?, "domain"?, "system"?}.
    #[arg(long, value_name = "FILE", conflicts_with = "dataset")]
    pub prompts: Option<PathBuf>,
    /// Completions per prompt.
    #[arg(short = 'n', long, default_value_t = 4)]
    pub n: usize,
    /// A spec (policy, constitution) placed in the system prompt of every request.
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    /// Sampling temperature.
    #[arg(long, default_value_t = 0.8)]
    pub temperature: f64,
    /// Nucleus sampling mass.
    #[arg(long)]
    pub top_p: Option<f64>,
    #[command(flatten)]
    pub prompt: PromptArgs,
    #[command(flatten)]
    pub run: RunDirArgs,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub model: String,
    pub datasets: Vec<String>,
    pub prompts_file: Option<PathBuf>,
    pub n: usize,
    pub spec: Option<String>,
    pub spec_hash: Option<String>,
    pub limit: Option<usize>,
    pub seed: u64,
    pub temperature: f64,
    pub top_p: Option<f64>,
    pub max_tokens: u32,
    pub reasoning_prefix: Option<String>,
}

/// One recorded sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleRecord {
    pub key: String,
    pub prompt_id: String,
    pub sample: usize,
    pub dataset: String,
    pub domain: String,
    pub gold: Option<String>,
    pub gold_index: Option<usize>,
    pub n_options: Option<usize>,
    /// The prompt without the spec.
    pub prompt: Vec<Message>,
    /// The exact request (spec in the system message, started turn, sampling).
    pub request: ChatRequest,
    pub request_hash: String,
    pub status: RequestStatus,
    pub error: Option<String>,
    pub attempts: Vec<Attempt>,
    pub cached: bool,
    pub completion: Option<Completion>,
    /// The CoT and the answer, split without changing a byte (see docs/selection.md).
    #[serde(flatten)]
    pub text: Option<SplitText>,
    pub content_hash: Option<String>,
}

/// Why a sample can never be kept, whatever the pipeline says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// The request failed.
    Failed,
    /// Cut at --max-tokens inside its reasoning: no answer.
    Truncated,
    /// No answer text (an SFT example with an empty answer teaches nothing good).
    EmptyAnswer,
}

impl SampleRecord {
    /// `None` when the sample may be scored and kept; otherwise why not.
    pub fn unusable(&self) -> Option<Unusable> {
        let Some(c) = self
            .completion
            .as_ref()
            .filter(|_| self.status == RequestStatus::Ok)
        else {
            return Some(Unusable::Failed);
        };
        if c.truncated_in_reasoning() {
            return Some(Unusable::Truncated);
        }
        c.output.trim().is_empty().then_some(Unusable::EmptyAnswer)
    }
}

fn sample_key(prompt: &str, i: usize) -> String {
    format!("{prompt}#{i}")
}

fn resolve_settings(args: &SampleArgs, local: bool, printer: Printer) -> anyhow::Result<Settings> {
    if args.n == 0 {
        return Err(bad_input("-n must be at least 1"));
    }
    let spec_text = match &args.spec {
        None => None,
        Some(p) => {
            let t =
                cotlens_core::read::read_text(p).map_err(|e| bad_input(format!("--spec {e}")))?;
            if t.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
                .is_empty()
            {
                return Err(bad_input(format!(
                    "--spec {}: the file is empty",
                    p.display()
                )));
            }
            Some(t)
        }
    };
    let datasets = if args.prompts.is_some() {
        Vec::new()
    } else {
        crate::bundled::datasets_or_default(&args.items.dataset)?
    };
    if args.n > 1 && args.temperature == 0.0 {
        printer.note(format!("warning: -n {} at temperature 0 gives near-identical samples; selection then has nothing to choose from", args.n));
    }
    Ok(Settings {
        model: args.model.model.clone(),
        datasets,
        prompts_file: args.prompts.clone(),
        n: args.n,
        spec_hash: spec_text
            .as_deref()
            .map(cotlens_core::prompts::template_hash),
        spec: spec_text,
        limit: args.items.limit.or(local.then_some(8)),
        seed: args.items.seed,
        temperature: args.temperature,
        top_p: args.top_p,
        max_tokens: args.prompt.max_tokens(local, 160, 4096),
        reasoning_prefix: args.prompt.reasoning_prefix(local),
    })
}

pub async fn run(args: SampleArgs, printer: Printer) -> anyhow::Result<()> {
    let start = RunStart::new(Protocol::Sample, &args.run, printer)?;
    let (settings, model) = start.settings_and_model(
        &args.model,
        &args.engine,
        |s: &Settings| &s.model,
        |m| resolve_settings(&args, m.is_local(), printer),
    )?;
    let prompts = load_all(&settings)?;
    let inputs = RunStart::inputs_identity(&prompts, |p| p.id.as_str());
    start.check_inputs(&inputs)?;
    let backend = model.open_backend().await?;
    if settings.reasoning_prefix.is_some() {
        backend.require(
            Capability::PrefixContinuation,
            "the reasoning prefix starts the model's turn",
        )?;
    }
    let engine = model.engine_for(backend)?;
    let session = start.begin(|| {
        Manifest::new(Protocol::Sample)
            .with("items", &inputs)
            .settings(&settings)
            .with("model", engine.backend().info())
            .with("templates", serde_json::json!({"elicitation": {"version": cotlens_core::prompts::ELICITATION_VERSION, "hash": cotlens_core::prompts::template_hash(cotlens_core::prompts::ELICITATION_TEMPLATE)}}))
            .with("engine", &model.engine)
            .with("prompts", prompts.len())
    })?;
    let all = prompts
        .iter()
        .flat_map(|p| (0..settings.n).map(move |i| (p.clone(), i, sample_key(&p.id, i))));
    let units: Vec<(Prompt, usize)> = session
        .pending(all, |(_, _, key)| key)
        .into_iter()
        .map(|(p, i, _)| (p, i))
        .collect();
    printer.note(format!(
        "{} prompts × {} samples ({} already done) → {}",
        prompts.len(),
        settings.n,
        prompts.len() * settings.n - units.len(),
        session.dir().display()
    ));
    let settings = Arc::new(settings);
    let work = |(prompt, i): (Prompt, usize)| {
        let (engine, settings) = (engine.clone(), settings.clone());
        async move { sample_one(&engine, &settings, &prompt, i).await }
    };
    session
        .run(units, model.engine.concurrency, &engine.counters, work)
        .await?;
    let records: Vec<SampleRecord> = session.records("sample")?;
    let summary = summarize(&records, &settings);
    let dir = session.dir();
    session.finish(&summary, crate::report::sections::sample, || {
        let acc = summary.correct.map_or("-".to_string(), |e| {
            format!("{:.1}% [{:.1}, {:.1}]", e.value * 100.0, e.ci_low * 100.0, e.ci_high * 100.0)
        });
        format!(
            "{} prompts, {} samples: {} ok, {} failed; answers correct {} (n = {}, Wilson 95%); mean completion tokens {:.1}\nrun directory: {}\nnext: cotlens select --pipeline PIPELINE.toml {}\n",
            summary.prompts, summary.samples, summary.ok, summary.failed, acc, summary.graded, summary.mean_completion_tokens, dir.display(), dir.display()
        )
    })
}

fn load_all(settings: &Settings) -> anyhow::Result<Vec<Prompt>> {
    let prompts = match &settings.prompts_file {
        Some(p) => load_prompts(p)?,
        None => {
            let items = crate::bundled::load_items(&settings.datasets)?;
            items.iter().map(Prompt::from_item).collect()
        }
    };
    crate::bundled::nonempty(
        subset(prompts, settings.limit, settings.seed),
        "--prompts / --dataset",
    )
}

async fn sample_one(
    engine: &Engine,
    settings: &Settings,
    prompt: &Prompt,
    i: usize,
) -> Result<SampleRecord, Fatal> {
    let mut messages = Vec::new();
    if let Some(spec) = &settings.spec {
        messages.push(Message::system(spec.clone()));
    }
    messages.extend(prompt.messages.iter().cloned());
    let request = ChatRequest {
        messages,
        assistant_prefix: settings.reasoning_prefix.clone(),
        sampling: Sampling {
            temperature: settings.temperature,
            top_p: settings.top_p,
            seed: Some(settings.seed.wrapping_mul(1_000_003).wrapping_add(i as u64)),
            max_tokens: settings.max_tokens,
            stop: Vec::new(),
        },
    };
    let outcome = engine.chat(&request).await?;
    let mut record = SampleRecord {
        key: sample_key(&prompt.id, i),
        prompt_id: prompt.id.clone(),
        sample: i,
        dataset: prompt.dataset.clone(),
        domain: prompt.domain.clone(),
        gold: prompt.gold.clone(),
        gold_index: prompt.gold_index,
        n_options: prompt.n_options,
        prompt: prompt.messages.clone(),
        request_hash: hash_json(&request),
        request,
        status: RequestStatus::Ok,
        error: None,
        attempts: outcome.attempts,
        cached: outcome.cached,
        completion: None,
        text: None,
        content_hash: None,
    };
    match outcome.result {
        Ok(c) => {
            let prefix = record.request.assistant_prefix.as_deref();
            record.content_hash = Some(content_hash(&c, prefix));
            record.text = Some(split(&c, prefix));
            record.completion = Some(c);
        }
        Err(e) => {
            record.status = RequestStatus::Failed;
            record.error = Some(e.to_string());
        }
    }
    Ok(record)
}

#[derive(Debug, Clone, Serialize)]
pub struct SampleSummary {
    pub protocol: &'static str,
    pub model: String,
    pub prompts: usize,
    pub samples: usize,
    pub ok: usize,
    pub failed: usize,
    /// Samples with a gold answer whose answer part was read, right or wrong (the grading of
    /// `select`'s `correct` scorer: [`grade::grade`]); unparseable answers are counted apart in
    /// `unparseable`, never as wrong.
    pub graded: usize,
    pub unparseable: usize,
    pub correct: Option<Estimate>,
    pub mean_completion_tokens: f64,
}

pub fn summarize(records: &[SampleRecord], settings: &Settings) -> SampleSummary {
    let ok: Vec<&SampleRecord> = records
        .iter()
        .filter(|r| r.status == RequestStatus::Ok)
        .collect();
    let (mut graded, mut correct, mut unparseable) = (0u64, 0u64, 0usize);
    for r in &ok {
        match r.grade() {
            Some(grade::Grade::Correct) => {
                graded += 1;
                correct += 1;
            }
            Some(grade::Grade::Wrong) => graded += 1,
            Some(grade::Grade::Unparseable) => unparseable += 1,
            Some(grade::Grade::Ungraded) | None => {}
        }
    }
    let prompts: std::collections::BTreeSet<&str> =
        records.iter().map(|r| r.prompt_id.as_str()).collect();
    let tokens: Vec<f64> = ok
        .iter()
        .filter_map(|r| r.completion.as_ref())
        .map(|c| c.usage.completion_tokens as f64)
        .collect();
    SampleSummary {
        protocol: "sample",
        model: settings.model.clone(),
        prompts: prompts.len(),
        samples: records.len(),
        ok: ok.len(),
        failed: records.len() - ok.len(),
        graded: graded as usize,
        unparseable,
        correct: wilson(correct, graded),
        mean_completion_tokens: if tokens.is_empty() {
            0.0
        } else {
            tokens.iter().sum::<f64>() / tokens.len() as f64
        },
    }
}
