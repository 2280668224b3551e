//! `cotlens select`: score the samples of a `cotlens sample` run with a pipeline's scorers,
//! select among them (best-of-N, thresholds, top-k, in stages), and write SFT data with the
//! reasoning verbatim, a kept/dropped manifest and the pressure ledger (docs/protocols.md §4;
//! docs/selection.md).
//!
//! Outputs in the run directory: `records.jsonl` (one score record per sample, resumable),
//! `selection.jsonl` (every sample, kept or dropped, with the stage and reason), `ledger.json`,
//! `sft.jsonl`, `summary.json`. Over budget (without `--allow-over-budget`), the ledger and the
//! selection are written, `sft.jsonl` is not, and the exit code is 3.

use crate::args::{EngineArgs, ModelArgs, RunDirArgs};
use crate::engine::{Engine, RequestStatus};
use crate::error::{bad_input, OverBudget};
use crate::model::ResolvedModel;
use crate::printer::Printer;
use crate::protocol::Protocol;
use crate::protocols::sample::SampleRecord;
use crate::session::{Manifest, RunStart};
use crate::store::{write_atomic, write_json_atomic};
use anyhow::Context;
use cotlens_core::datasets::DatasetError;
use cotlens_core::selection::pipeline::ScorerKind;
use cotlens_core::selection::{apply_stages, build_ledger, parse_pipeline, Candidate, Fate};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub mod emit;
pub mod report;
pub mod score;

pub use emit::{read_samples, SftFormat};
pub use score::ScoreRecord;

#[derive(Debug, Clone, clap::Args)]
#[command(
    mut_arg("resume", |a| a.help("Continue an interrupted run (scoring resumes; selection is redone)")),
    mut_arg("json", |a| a.help("Print the ledger as JSON instead of the table")),
)]
pub struct SelectArgs {
    /// A `cotlens sample` run directory (with --resume: taken from the run).
    #[arg(value_name = "SAMPLES_DIR", required_unless_present = "resume")]
    pub samples: Option<PathBuf>,
    /// The pipeline file (TOML: scorers, stages, budgets; docs/selection.md); with --resume:
    /// the run's own copy.
    #[arg(long, value_name = "FILE", required_unless_present = "resume")]
    pub pipeline: Option<PathBuf>,
    /// SFT form of the reasoning: inline `<think>…</think>` before the answer, or a separate field.
    #[arg(long, value_enum, default_value_t = SftFormat::Inline)]
    pub format: SftFormat,
    /// With --format field: the name of the assistant message's reasoning field
    /// (`reasoning_content`, the field Qwen3's and DeepSeek-R1-distill's chat templates read).
    #[arg(long, default_value = "reasoning_content")]
    pub reasoning_field: String,
    /// Write the SFT data even when a pressure budget is exceeded (the ledger records it).
    #[arg(long)]
    pub allow_over_budget: bool,
    /// `--resume` continues the scoring and redoes the selection; `--json` prints the ledger.
    #[command(flatten)]
    pub run: RunDirArgs,
    /// The judge model of spec-judge and LLM-monitor scorers without their own `model`.
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Run-level settings, stored in the manifest.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    pub samples: PathBuf,
    pub pipeline: PathBuf,
    pub pipeline_text: String,
    pub judge_model: String,
}

fn resolve_settings(args: &SelectArgs) -> anyhow::Result<Settings> {
    let (Some(samples), Some(pipeline)) = (&args.samples, &args.pipeline) else {
        return Err(bad_input(
            "give SAMPLES_DIR and --pipeline FILE (or --resume DIR)",
        ));
    };
    let text = cotlens_core::read::read_text(pipeline)?;
    Ok(Settings {
        samples: samples.clone(),
        pipeline: pipeline.clone(),
        pipeline_text: text,
        judge_model: args.model.model.clone(),
    })
}

/// Engines for the LLM scorers (by model spec) and the LLM monitors (by scorer name), opened
/// before anything is written. Every judge model gets the command's model flags; they share
/// one cache handle.
async fn open_scorers(
    pipeline: &cotlens_core::selection::Pipeline,
    settings: &Settings,
    args: &SelectArgs,
    printer: Printer,
) -> anyhow::Result<(
    HashMap<String, Arc<Engine>>,
    HashMap<String, crate::protocols::monitor::LlmMonitor>,
)> {
    let mut first: Option<ResolvedModel> = None;
    let mut engines = HashMap::new();
    let mut llm_monitors = HashMap::new();
    for s in &pipeline.scorers {
        let needs_model = s.kind == ScorerKind::SpecJudge
            || (s.kind == ScorerKind::Monitor && s.monitor.as_deref() != Some("rules"));
        if !needs_model {
            continue;
        }
        if s.kind == ScorerKind::Monitor {
            let m =
                crate::protocols::monitor::llm_monitors(&[s.monitor.clone().unwrap_or_default()])?;
            llm_monitors.insert(s.name.clone(), m.into_iter().next().context("monitor")?);
        }
        let spec_name = s
            .model
            .clone()
            .unwrap_or_else(|| settings.judge_model.clone());
        if let std::collections::hash_map::Entry::Vacant(slot) = engines.entry(spec_name.clone()) {
            let model = match &first {
                Some(m) => m.with_model(&spec_name)?,
                None => ResolvedModel::with_spec(&spec_name, &args.model, &args.engine, printer)?,
            };
            slot.insert(model.open_engine().await?);
            first.get_or_insert(model);
        }
    }
    Ok((engines, llm_monitors))
}

/// What selection wrote, for the summary and the printed result.
struct Selected {
    ledger: cotlens_core::selection::Ledger,
    ledger_json: serde_json::Value,
    summary: serde_json::Value,
    table: String,
}

/// Select among the scored samples, then write ledger.json, selection.jsonl and (within budget)
/// sft.jsonl, every kept sample checked against its recorded content first.
fn select_and_write(
    session: &crate::session::RunSession,
    settings: &Settings,
    args: &SelectArgs,
    pipeline: &cotlens_core::selection::Pipeline,
    sample_manifest: &serde_json::Value,
    samples: &[(usize, SampleRecord)],
) -> anyhow::Result<Selected> {
    let dir = session.dir().to_path_buf();
    let scores: HashMap<String, ScoreRecord> = session
        .records::<ScoreRecord>("score")?
        .into_iter()
        .map(|r| (r.key.clone(), r))
        .collect();
    // Candidates in a fixed order: by prompt, then sample index.
    let mut ok: Vec<&(usize, SampleRecord)> = samples
        .iter()
        .filter(|(_, r)| r.unusable().is_none())
        .collect();
    ok.sort_by(|a, b| (&a.1.prompt_id, a.1.sample).cmp(&(&b.1.prompt_id, b.1.sample)));
    let candidates: Vec<Candidate> = ok
        .iter()
        .map(|(_, r)| Candidate {
            key: r.key.clone(),
            prompt_id: r.prompt_id.clone(),
            domain: r.domain.clone(),
            scores: scores
                .get(&r.key)
                .map(|s| s.scores.clone())
                .unwrap_or_default(),
        })
        .collect();
    let (fates, outcomes) = apply_stages(&pipeline.stages, &candidates);
    let ledger = build_ledger(pipeline, &outcomes, args.allow_over_budget);
    let kept: Vec<&Fate> = fates.iter().filter(|f| f.kept).collect();
    let by_key: HashMap<&str, &(usize, SampleRecord)> =
        samples.iter().map(|s| (s.1.key.as_str(), s)).collect();
    let mut ledger_json = serde_json::to_value(&ledger)?;
    ledger_json["base_policy"] = serde_json::json!({
        "samples_run": settings.samples,
        "model": sample_manifest["model"]["spec"],
        "n": sample_manifest["settings"]["n"],
        "temperature": sample_manifest["settings"]["temperature"],
        "spec_hash": sample_manifest["settings"]["spec_hash"],
        "failed_samples": samples.iter().filter(|(_, r)| r.status != RequestStatus::Ok).count(),
        // Never candidates: cut inside their reasoning, or with no answer text.
        "truncated_samples": samples.iter().filter(|(_, r)| r.unusable() == Some(crate::protocols::sample::Unusable::Truncated)).count(),
        "empty_answer_samples": samples.iter().filter(|(_, r)| r.unusable() == Some(crate::protocols::sample::Unusable::EmptyAnswer)).count(),
    });
    ledger_json["selected"] = kept
        .iter()
        .map(|f| serde_json::json!({"key": f.key, "content_hash": by_key.get(f.key.as_str()).and_then(|s| s.1.content_hash.clone())}))
        .collect();
    write_json_atomic(&dir.join("ledger.json"), &ledger_json)?;
    emit::write_selection(&dir, samples, &fates, &scores)?;
    let summary = serde_json::json!({
        "protocol": "select",
        "samples": samples.len(),
        "candidates": candidates.len(),
        "kept": kept.len(),
        // Candidates some scorer could not score (never kept by a stage that weighs it), and
        // of those, samples whose answer could not be read (unscored, not wrong: §0).
        "unscored": candidates.iter().filter(|c| c.scores.values().any(Option::is_none)).count(),
        "unparseable_answers": candidates
            .iter()
            .filter(|c| scores.get(&c.key).is_some_and(|s| s.details.values().any(|d| d["unparseable"] == true)))
            .count(),
        "totals": ledger.totals,
        "budget_violations": ledger.budget.violations,
        "warnings": ledger.warnings,
        "sft": if ledger.over_budget() { serde_json::Value::Null } else { "sft.jsonl".into() },
    });
    let table = report::render(&ledger, candidates.len(), kept.len(), &dir);
    if !ledger.over_budget() {
        // Every kept sample is checked against its recorded content before anything is written.
        let sft = emit::build_sft(
            &settings.samples,
            &kept,
            &by_key,
            &scores,
            args.format,
            &args.reasoning_field,
        )?;
        write_atomic(&dir.join("sft.jsonl"), &sft)?;
        record_selection(&settings.samples, &dir, &ledger)?;
    }
    Ok(Selected {
        ledger,
        ledger_json,
        summary,
        table,
    })
}

pub async fn run(mut args: SelectArgs, printer: Printer) -> anyhow::Result<()> {
    let start = RunStart::new(Protocol::Select, &args.run, printer)?;
    // A resumed run's judges talk to the servers it was started with unless told otherwise
    // (and `begin` checks that they are the same).
    if let Some(m) = start.stored_manifest() {
        if args.model.base_url.is_empty() {
            args.model.base_url = crate::session::judges_base_urls(m);
        }
    }
    let settings = match start.stored_settings::<Settings>()? {
        Some(settings) => settings,
        None => resolve_settings(&args)?,
    };
    let pipeline = parse_pipeline(&settings.pipeline_text, &settings.pipeline)?;
    let sample_manifest = read_sample_manifest(&settings.samples)?;
    let samples = read_samples(&settings.samples)?;
    // The sample run must be the one this run started from: the same samples, unchanged.
    let sample_ids: Vec<(&str, Option<&str>)> = samples
        .iter()
        .map(|(_, r)| (r.key.as_str(), r.content_hash.as_deref()))
        .collect();
    let inputs = RunStart::inputs_identity(&sample_ids, |s| s.0);
    start.check_inputs(&inputs)?;
    let spec = sample_manifest["settings"]["spec"]
        .as_str()
        .map(str::to_string);
    if spec.is_none()
        && pipeline
            .scorers
            .iter()
            .any(|s| s.kind == ScorerKind::SpecJudge)
    {
        return Err(bad_input(format!(
            "{}: a spec-judge scorer needs a sample run made with --spec (this one has none)",
            settings.pipeline.display()
        )));
    }
    let (engines, llm_monitors) = open_scorers(&pipeline, &settings, &args, printer).await?;
    let rules = cotlens_core::monitor::rules::RuleMonitor::new(Vec::new())
        .map_err(|e| anyhow::anyhow!(e))?;
    let mut session = start.begin(|| {
        Manifest::new(Protocol::Select)
            .settings(&settings)
            .with("pipeline", &pipeline)
            .with("pipeline_hash", cotlens_core::prompts::template_hash(&settings.pipeline_text))
            .with("items", &inputs)
            .with("sample_run", serde_json::json!({"dir": settings.samples, "model": sample_manifest["model"], "settings": sample_manifest["settings"]}))
            .with("judges", engines.iter().map(|(k, e)| (k.clone(), serde_json::to_value(e.backend().info()).unwrap_or_default())).collect::<BTreeMap<_, _>>())
            .with("templates", serde_json::json!({
                "spec_judge": {"version": cotlens_core::selection::SPEC_JUDGE_VERSION, "hash": cotlens_core::prompts::template_hash(cotlens_core::selection::SPEC_JUDGE_TEMPLATE)},
                "monitor": cotlens_core::monitor::llm::TEMPLATE_VERSION,
                "rules": rules.version,
                "legibility": cotlens_core::legibility::LEGIBILITY_VERSION,
                "ledger": cotlens_core::selection::ledger::LEDGER_VERSION,
            }))
    })?;
    session.label = "score";
    let dir = session.dir().to_path_buf();
    let scoring = Arc::new(score::Scoring {
        scorers: pipeline.scorers.clone(),
        spec,
        rules,
        engines,
        default_judge: Some(settings.judge_model.clone()),
        llm_monitors,
    });
    let ok_samples = samples
        .iter()
        .filter(|(_, r)| r.unusable().is_none())
        .map(|(_, r)| r.clone());
    let pending: Vec<SampleRecord> = session.pending(ok_samples, |r| &r.key);
    let counters = crate::engine::Counters::default();
    let concurrency = scoring
        .engines
        .values()
        .map(|e| e.config().concurrency)
        .max()
        .unwrap_or(4);
    let work = |r: SampleRecord| {
        let scoring = scoring.clone();
        async move { score::score_sample(&scoring, &r).await }
    };
    session.run(pending, concurrency, &counters, work).await?;
    let done = select_and_write(
        &session,
        &settings,
        &args,
        &pipeline,
        &sample_manifest,
        &samples,
    )?;
    let (ledger, ledger_json, over) = (&done.ledger, &done.ledger_json, done.ledger.over_budget());
    // The summary goes to summary.json; what is printed is the ledger (with --json) or its table.
    session.write_summary(&done.summary)?;
    session.write_report(crate::report::sections::select);
    printer.result(args.run.json, ledger_json, || done.table.clone())?;
    if over {
        return Err(anyhow::Error::new(OverBudget(format!(
            "over the pressure budget ({}); no sft.jsonl written (ledger: {}); rerun with --allow-over-budget to write it anyway",
            ledger.budget.violations.join("; "),
            dir.join("ledger.json").display()
        ))));
    }
    Ok(())
}

fn read_sample_manifest(dir: &Path) -> anyhow::Result<serde_json::Value> {
    let path = dir.join(crate::store::MANIFEST);
    let v = crate::session::read_manifest_value(dir)?;
    if v["protocol"] != Protocol::Sample.name() {
        return Err(anyhow::Error::new(DatasetError::new(
            &path,
            None,
            Some("protocol"),
            format!(
                "{} is a {} run, not a `cotlens sample` run",
                dir.display(),
                v["protocol"]
            ),
        )));
    }
    Ok(v)
}

/// Tell the sample run which ledger selected from it (for monitor-eval's contamination guard):
/// one line appended to `selected-by.jsonl` in the sample run directory.
fn record_selection(
    samples: &Path,
    dir: &Path,
    ledger: &cotlens_core::selection::Ledger,
) -> anyhow::Result<()> {
    use std::io::Write;
    let ledger_path =
        std::fs::canonicalize(dir.join("ledger.json")).unwrap_or_else(|_| dir.join("ledger.json"));
    let line =
        serde_json::json!({"ledger": ledger_path, "selector_monitors": ledger.selector_monitors});
    let path = samples.join("selected-by.jsonl");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    f.write_all(format!("{line}\n").as_bytes())?;
    Ok(())
}
