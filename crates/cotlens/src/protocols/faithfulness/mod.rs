//! `cotlens faithfulness`: the hint paradigm end to end (docs/protocols.md §1).
//!
//! Settings are resolved (or read back from the manifest on `--resume`), the items loaded and
//! sliced, the units planned, the manifest written, the pending units run through the engine
//! (each finished unit appended to `records.jsonl`), and the summary computed from the records.

pub mod args;
pub mod plan;
pub mod record;
pub mod summary;
mod table;
pub mod unit;

pub use args::FaithfulnessArgs;

use crate::error::bad_input;
use crate::model::ResolvedModel;
use crate::printer::Printer;
use crate::protocol::Protocol;
use crate::session::{Manifest, RunStart};
use args::{parse_shard, DirectionArg, ForceAnswer};
use cotlens_core::datasets::subset;
use cotlens_core::hints::{builtin_hints, parse_hints, Hint};
use cotlens_core::stats::BootstrapSpec;
use cotlens_core::types::{Item, Sampling};
use cotlens_core::Capability;
use record::{Direction, Record};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use unit::{ForceMode, Judge, UnitContext};

/// Everything that determines a run's results; stored in the manifest and reused on resume.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub model: String,
    pub datasets: Vec<String>,
    pub limit: Option<usize>,
    pub seed: u64,
    pub hints: Vec<Hint>,
    pub directions: Vec<Direction>,
    pub judges: Vec<String>,
    pub reasoning_prefix: Option<String>,
    pub sampling: Sampling,
    pub force_answer: ForceMode,
    pub bootstrap: BootstrapSpec,
    pub shard: Option<(u32, u32)>,
    /// LLM judges also judge the unhinted baselines of switched pairs (the lexical judge always
    /// does).
    #[serde(default)]
    pub judge_calibration: bool,
    /// Compute cells without pairs whose answer was forced from log-probabilities.
    #[serde(default)]
    pub exclude_forced: bool,
}

impl Settings {
    pub fn summary_options(&self) -> summary::SummaryOptions {
        summary::SummaryOptions {
            exclude_forced: self.exclude_forced,
            own_control: self
                .hints
                .iter()
                .filter(|h| h.placement.has_own_control())
                .map(|h| h.name.clone())
                .collect(),
        }
    }
}

/// Items per run with a local model when --limit is not given: 30 items × (1 plain + 4 hints) =
/// 150 completions, within 10 minutes on 2 cores (bench/RESULTS.md, "Main job").
pub const EMBEDDED_DEFAULT_LIMIT: usize = 30;

/// Hint types with a local model when --hints is not given: the four that SmolLM2-135M follows
/// (p ≈ 0.5–0.8 on the bundled sample), so that each pooled score is defined and the headline
/// has its interval within the time budget. It barely follows metadata (p 0.20, q 0.44: α ≈ 0,
/// and with it in the mean only 495 of 1,000 headline resamples were defined), nor the two
/// few-shot hints (α < 0 on 40 items), which also cost a long control prompt each. `--hints`
/// chooses others; servers default to every hint.
pub const EMBEDDED_DEFAULT_HINTS: &[&str] = &[
    "sycophancy",
    "consistency",
    "grader-hacking",
    "unethical-information",
];

fn resolve_settings(args: &FaithfulnessArgs, local: bool) -> anyhow::Result<Settings> {
    let datasets = crate::bundled::datasets_or_default(&args.items.dataset)?;
    let mut available = builtin_hints();
    for file in &args.hints_file {
        let text = cotlens_core::read::read_text(file)?;
        for hint in parse_hints(&text, file)? {
            if available.iter().any(|h| h.name == hint.name) {
                return Err(bad_input(format!(
                    "{}: hint {:?} is already defined (built-in or another file)",
                    file.display(),
                    hint.name
                )));
            }
            available.push(hint);
        }
    }
    let hints: Vec<Hint> = if args.hints.iter().any(|h| h == "none") {
        // Only the plain prompts: a plain multiple-choice accuracy run.
        if args.hints.len() > 1 {
            return Err(bad_input(
                "--hints none cannot be combined with other hints",
            ));
        }
        Vec::new()
    } else if args.hints.is_empty() && local && args.hints_file.is_empty() {
        available
            .into_iter()
            .filter(|h| EMBEDDED_DEFAULT_HINTS.contains(&h.name.as_str()))
            .collect()
    } else if args.hints.is_empty() {
        // Default: every built-in hint, plus every hint of the given files.
        available
    } else {
        let mut chosen = Vec::new();
        for name in &args.hints {
            let name = name.trim();
            let hint = available.iter().find(|h| h.name == name).ok_or_else(|| {
                bad_input(format!(
                    "--hints: unknown hint {name:?}; available: {}",
                    available
                        .iter()
                        .map(|h| h.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            chosen.push(hint.clone());
        }
        chosen
    };
    let directions = match args.direction {
        DirectionArg::Incorrect => vec![Direction::Incorrect],
        DirectionArg::Correct => vec![Direction::Correct],
        DirectionArg::Both => vec![Direction::Incorrect, Direction::Correct],
    };
    if args.judge.is_empty() {
        return Err(bad_input(
            "--judge: give at least one judge (lexical or a model spec)",
        ));
    }
    for j in &args.judge {
        if j != "lexical" {
            crate::model_spec::ModelSpec::parse(j)
                .map_err(|e| bad_input(format!("--judge {j:?}: {e}")))?;
        }
    }
    let reasoning_prefix = args.prompt.reasoning_prefix(local);
    let force = args.force_answer.unwrap_or(if local {
        ForceAnswer::Unparseable
    } else {
        ForceAnswer::Never
    });
    if args.bootstrap == 0 {
        return Err(bad_input("--bootstrap must be at least 1"));
    }
    Ok(Settings {
        model: args.model.model.clone(),
        datasets,
        limit: args.items.limit.or(local.then_some(EMBEDDED_DEFAULT_LIMIT)),
        seed: args.items.seed,
        hints,
        directions,
        judges: args.judge.clone(),
        reasoning_prefix,
        sampling: Sampling {
            temperature: args.temperature,
            top_p: None,
            seed: Some(args.items.seed),
            max_tokens: args.prompt.max_tokens(local, 160, 4096),
            stop: Vec::new(),
        },
        force_answer: force.into(),
        bootstrap: BootstrapSpec {
            resamples: args.bootstrap,
            seed: args.items.seed,
        },
        shard: args.shard.as_deref().map(parse_shard).transpose()?,
        judge_calibration: args.judge_calibration,
        exclude_forced: args.exclude_forced,
    })
}

fn load_items(settings: &Settings) -> anyhow::Result<Vec<Item>> {
    let items = crate::bundled::load_items(&settings.datasets)?;
    let items = subset(items, settings.limit, settings.seed);
    let items = match settings.shard {
        Some((i, n)) => items
            .into_iter()
            .enumerate()
            .filter(|(k, _)| *k as u32 % n == i - 1)
            .map(|(_, it)| it)
            .collect(),
        None => items,
    };
    crate::bundled::nonempty(items, "--dataset (with --limit and --shard)")
}

/// `--list-hints`: name, version, placement (as hint files write it) and description.
fn list_hints(args: &FaithfulnessArgs, printer: Printer) -> anyhow::Result<()> {
    let mut hints = builtin_hints();
    for file in &args.hints_file {
        let text = cotlens_core::read::read_text(file)?;
        hints.extend(parse_hints(&text, file)?);
    }
    let mut out = String::new();
    for h in hints {
        out.push_str(&format!(
            "{:<24} v{:<3} {:<22} {}\n",
            h.name,
            h.version,
            h.placement.name(),
            h.description
        ));
    }
    printer.out(&out);
    Ok(())
}

pub async fn run(args: FaithfulnessArgs, printer: Printer) -> anyhow::Result<()> {
    if args.list_hints {
        return list_hints(&args, printer);
    }
    // Settings: fresh, or the stored ones when resuming (so a resumed run is the same run).
    let start = RunStart::new(Protocol::Faithfulness, &args.run, printer)?;
    let (settings, model) = start.settings_and_model(
        &args.model,
        &args.engine,
        |s: &Settings| &s.model,
        |m| resolve_settings(&args, m.is_local()),
    )?;
    if let Some(stored) = start.stored_manifest() {
        check_resumable(stored, &args)?;
    }
    let items = load_items(&settings)?;
    let inputs = RunStart::inputs_identity(&items, |i| i.id.as_str());
    start.check_inputs(&inputs)?;
    let few_shot = settings.hints.iter().any(|h| h.placement.has_own_control());
    let pool = if few_shot {
        crate::bundled::few_shot_pool()?
    } else {
        Vec::new()
    };
    let hints: Vec<Arc<Hint>> = settings.hints.iter().cloned().map(Arc::new).collect();
    let units = plan::plan(&items, &hints, &settings.directions, settings.seed, &pool);
    let n_items = items.len();
    drop(pool);

    let backend = model.open_backend().await?;
    let mut reasoning_prefix = settings.reasoning_prefix.clone();
    if reasoning_prefix.is_some() && !backend.supports(Capability::PrefixContinuation) {
        if args.prompt.reasoning_prefix.is_some() {
            backend.require(Capability::PrefixContinuation, "--reasoning-prefix")?;
        }
        reasoning_prefix = None;
    }
    if settings.force_answer == ForceMode::Unparseable {
        // The forced answer is read after "Answer:" appended to the model's own turn.
        backend.require(Capability::CandidateLogprobs, "--force-answer unparseable")?;
        backend.require(Capability::PrefixContinuation, "--force-answer unparseable")?;
    }
    let engine = model.engine_for(backend.clone())?;
    let (judges, judge_infos) = open_judges(&settings, &model, &engine).await?;
    let session = start.begin(|| {
        Manifest::new(Protocol::Faithfulness)
            .settings(&settings)
            .with("effective_reasoning_prefix", &reasoning_prefix)
            .with("model", backend.info())
            .with("judges", &judge_infos)
            .with("templates", serde_json::json!({
                "elicitation": {"version": cotlens_core::prompts::ELICITATION_VERSION, "hash": cotlens_core::prompts::template_hash(cotlens_core::prompts::ELICITATION_TEMPLATE)},
                "answer_extraction": cotlens_core::extract::EXTRACTOR_VERSION,
                "hints": settings.hints.iter().map(|h| serde_json::json!({"name": h.name, "version": h.version, "hash": cotlens_core::prompts::template_hash(&h.template)})).collect::<Vec<_>>(),
            }))
            .with("engine", &model.engine)
            .with("items", &inputs)
            .with("units", units.len())
    })?;
    let n_units = units.len();
    let pending = session.pending(units, |u| &u.key);
    printer.note(format!(
        "{n_items} items, {n_units} units ({} already done) → {}",
        n_units - pending.len(),
        session.dir().display()
    ));
    if model.is_local() {
        printer.note(format!("{} is a 135M-parameter model: smoke-scale, for trying the pipeline, not for conclusions.", settings.model));
        printer.note(
            "for a real model add e.g.: --model openai:MODEL --base-url http://127.0.0.1:8000/v1",
        );
        if args.hints.is_empty() && args.hints_file.is_empty() && args.run.resume.is_none() {
            printer.note(format!(
                "hints: {} (the local default; the other built-ins are not run: choose with --hints)",
                EMBEDDED_DEFAULT_HINTS.join(", ")
            ));
        }
    }
    let ctx = Arc::new(UnitContext {
        engine: engine.clone(),
        judges,
        llm_calibration: settings.judge_calibration,
        sampling: settings.sampling.clone(),
        reasoning_prefix,
        force: settings.force_answer,
    });
    let work = |unit: plan::Unit| {
        let ctx = ctx.clone();
        async move { unit::run_unit(&ctx, &unit).await }
    };
    let limit = model.engine.concurrency.max(1) * 2;
    session.run(pending, limit, &engine.counters, work).await?;
    // Judge calibration: the baselines of the switched pairs, judged as if hinted.
    let calibration = calibration_units(&load_records(session.dir())?, &items, &hints, &settings);
    let pending = session.pending(calibration, |u| &u.key);
    if !pending.is_empty() {
        printer.note(format!(
            "judge calibration: {} baseline CoTs of switched pairs",
            pending.len()
        ));
        let work = |unit: unit::CalibrationUnit| {
            let ctx = ctx.clone();
            async move { unit::run_calibration(&ctx, unit).await }
        };
        session.run(pending, limit, &engine.counters, work).await?;
    }
    let records = load_scored(session.dir())?;
    let summary = summary::summarize(
        &records,
        &settings.model,
        &settings.judges,
        settings.bootstrap,
        &settings.summary_options(),
    )?;
    session.finish(&summary, crate::report::sections::faithfulness, || {
        format!(
            "{}run directory: {}\n",
            summary::render_table(&summary),
            session.dir().display()
        )
    })
}

/// A run made by an older judge or answer reader cannot be continued: its verdicts and answers
/// would mix two versions under one manifest. Flags that change the results and differ from the
/// run's are refused, never silently ignored.
fn check_resumable(stored: &serde_json::Value, args: &FaithfulnessArgs) -> anyhow::Result<()> {
    let dir = args
        .run
        .resume
        .as_deref()
        .unwrap_or(std::path::Path::new(""));
    let extraction = stored["templates"]["answer_extraction"]
        .as_str()
        .unwrap_or("");
    let mut old: Vec<String> = Vec::new();
    if extraction != cotlens_core::extract::EXTRACTOR_VERSION {
        old.push(format!("answer extraction {extraction:?}"));
    }
    for j in stored["judges"].as_array().into_iter().flatten() {
        if j["judge"] == "lexical" && j["version"] != cotlens_core::judge::LEXICAL_JUDGE_VERSION {
            old.push(format!("lexical judge {}", j["version"]));
        }
    }
    if !old.is_empty() {
        return Err(bad_input(format!(
            "{}: made with {} (this cotlens has {} and {}); start a new run instead of resuming (the response cache makes re-asking cheap)",
            dir.display(),
            old.join(" and "),
            cotlens_core::extract::EXTRACTOR_VERSION,
            cotlens_core::judge::LEXICAL_JUDGE_VERSION
        )));
    }
    Ok(())
}

/// The calibration units of a run: for every switched pair (the unhinted answer parses and is not
/// the hint, the hinted answer is the hint), its baseline CoT, to be judged as if hinted. With
/// only LLM judges and no `--judge-calibration` there is nothing to calibrate.
fn calibration_units(
    records: &[Record],
    items: &[Item],
    hints: &[Arc<Hint>],
    settings: &Settings,
) -> Vec<unit::CalibrationUnit> {
    if !settings.judge_calibration && !settings.judges.iter().any(|j| j == "lexical") {
        return Vec::new();
    }
    let baselines: std::collections::HashMap<(&str, Option<&str>), &Record> = records
        .iter()
        .filter(|r| {
            matches!(
                r.condition,
                record::Condition::Plain | record::Condition::Control
            )
        })
        .map(|r| {
            let hint = (r.condition == record::Condition::Control)
                .then_some(r.hint.as_deref())
                .flatten();
            ((r.item_id.as_str(), hint), r)
        })
        .collect();
    let items: std::collections::HashMap<&str, &Item> =
        items.iter().map(|i| (i.id.as_str(), i)).collect();
    let mut units = Vec::new();
    for r in records
        .iter()
        .filter(|r| r.condition == record::Condition::Hinted)
    {
        let (Some(name), Some(h), Some(item)) = (
            r.hint.as_deref(),
            r.hint_index,
            items.get(r.item_id.as_str()),
        ) else {
            continue;
        };
        let Some(hint) = hints.iter().find(|x| x.name == name) else {
            continue;
        };
        let own = hint.placement.has_own_control().then_some(name);
        let Some(base) = baselines.get(&(r.item_id.as_str(), own)) else {
            continue;
        };
        let switched = r.status == record::Status::Ok
            && r.answer == Some(h)
            && base.status == record::Status::Ok
            && base.answer.is_some_and(|a| a != h)
            // A hidden CoT is no evidence about the judge's false positives.
            && !base.completion.as_ref().is_some_and(|c| c.reasoning_hidden());
        let (true, Some(cot)) = (switched, base.cot.clone()) else {
            continue;
        };
        units.push(unit::CalibrationUnit {
            key: format!("{}|calibration", r.key),
            hinted: Record {
                completion: None,
                messages: Vec::new(),
                cot: None,
                ..r.clone()
            },
            baseline_cot: cot,
            hint: hint.clone(),
            option: item.choices.get(h).cloned().unwrap_or_default(),
        });
    }
    units
}

/// The judges of the run and what the manifest records of each. An LLM judge that is the
/// policy model shares its engine.
async fn open_judges(
    settings: &Settings,
    model: &ResolvedModel,
    policy: &Arc<crate::engine::Engine>,
) -> anyhow::Result<(Vec<Judge>, Vec<serde_json::Value>)> {
    let mut judges = Vec::new();
    let mut infos = Vec::new();
    for j in &settings.judges {
        if j == "lexical" {
            judges.push(Judge::Lexical);
            infos.push(serde_json::json!({"judge": "lexical", "version": cotlens_core::judge::LEXICAL_JUDGE_VERSION}));
            continue;
        }
        let judge_model = model.secondary(j)?;
        let engine = if *j == settings.model {
            judge_model.engine_for(policy.backend().clone())?
        } else {
            judge_model.open_engine().await?
        };
        infos.push(serde_json::json!({"judge": j, "version": cotlens_core::judge::LLM_JUDGE_VERSION,
            "template_hash": cotlens_core::prompts::template_hash(cotlens_core::judge::LLM_JUDGE_TEMPLATE), "backend": engine.backend().info()}));
        judges.push(Judge::Llm {
            name: j.clone(),
            engine,
        });
    }
    Ok((judges, infos))
}

/// Read a run's records (complete ones; the run store repairs a cut-off last line on resume).
pub fn load_records(dir: &std::path::Path) -> anyhow::Result<Vec<Record>> {
    read_lines(dir)
}

/// Read only what the summary needs from each record, streaming.
pub fn load_scored(dir: &std::path::Path) -> anyhow::Result<Vec<record::Scored>> {
    read_lines(dir)
}

fn read_lines<T: serde::de::DeserializeOwned>(dir: &std::path::Path) -> anyhow::Result<Vec<T>> {
    crate::store::read_typed(dir, "faithfulness")
}
