//! `cotlens faithfulness`: the hint paradigm end to end (PROTOCOLS.md §1).
//!
//! Settings are resolved (or read back from the manifest on `--resume`), the items loaded and
//! sliced, the units planned, the manifest written, the pending units run through the engine
//! (each finished unit appended to `records.jsonl`), and the summary computed from the records.

pub mod plan;
pub mod record;
pub mod summary;
pub mod unit;

use crate::cli::{DirectionArg, FaithfulnessArgs, ForceAnswer};
use crate::engine::Engine;
use crate::error::bad_input;
use crate::model_spec::open_backend;
use crate::settings::{backend_options, engine_config, open_cache, parse_shard};
use crate::store::{write_json_atomic, RunStore, SUMMARY};
use anyhow::Context;
use cotlens_core::datasets::{subset, DatasetSpec};
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
}

/// Items per run with the embedded model when --limit is not given: 12 items × (1 plain + 2
/// controls + 7 hints) = 120 completions, about 5 minutes on 2 cores (bench/RESULTS.md).
pub const EMBEDDED_DEFAULT_LIMIT: usize = 12;
const DEFAULT_REASONING_PREFIX: &str = "Let's think step by step.";

fn resolve_settings(args: &FaithfulnessArgs) -> anyhow::Result<Settings> {
    let (spec, _) = backend_options(&args.model, true)?;
    let local = spec.is_local();
    let datasets = if args.dataset.is_empty() {
        crate::bundled::default_datasets()?
    } else {
        args.dataset.clone()
    };
    for d in &datasets {
        DatasetSpec::parse(d).map_err(bad_input)?;
    }
    let mut available = builtin_hints();
    for file in &args.hints_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| bad_input(format!("{}: {e}", file.display())))?;
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
    let reasoning_prefix = if args.no_reasoning_prefix {
        None
    } else {
        args.reasoning_prefix
            .clone()
            .or_else(|| local.then(|| DEFAULT_REASONING_PREFIX.to_string()))
    };
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
        limit: args.limit.or(local.then_some(EMBEDDED_DEFAULT_LIMIT)),
        seed: args.seed,
        hints,
        directions,
        judges: args.judge.clone(),
        reasoning_prefix,
        sampling: Sampling {
            temperature: args.temperature,
            top_p: None,
            seed: Some(args.seed),
            max_tokens: args.max_tokens.unwrap_or(if local { 160 } else { 4096 }),
            stop: Vec::new(),
        },
        force_answer: force.into(),
        bootstrap: BootstrapSpec {
            resamples: args.bootstrap,
            seed: args.seed,
        },
        shard: args.shard.as_deref().map(parse_shard).transpose()?,
    })
}

fn load_items(settings: &Settings) -> anyhow::Result<Vec<Item>> {
    let mut items = Vec::new();
    for d in &settings.datasets {
        items.extend(DatasetSpec::parse(d).map_err(bad_input)?.load()?);
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = items.iter().find(|i| !seen.insert(i.id.clone())) {
        return Err(bad_input(format!(
            "item id {:?} appears in two datasets",
            dup.id
        )));
    }
    let items = subset(items, settings.limit, settings.seed);
    Ok(match settings.shard {
        Some((i, n)) => items
            .into_iter()
            .enumerate()
            .filter(|(k, _)| *k as u32 % n == i - 1)
            .map(|(_, it)| it)
            .collect(),
        None => items,
    })
}

pub async fn run(args: FaithfulnessArgs, quiet: bool) -> anyhow::Result<()> {
    if args.list_hints {
        let mut hints = builtin_hints();
        for file in &args.hints_file {
            let text = std::fs::read_to_string(file)
                .map_err(|e| bad_input(format!("{}: {e}", file.display())))?;
            hints.extend(parse_hints(&text, file)?);
        }
        let mut out = String::new();
        for h in hints {
            out.push_str(&format!(
                "{:<24} v{:<3} {:<22} {}\n",
                h.name,
                h.version,
                format!("{:?}", h.placement),
                h.description
            ));
        }
        crate::printer::stdout(&out);
        return Ok(());
    }
    // Settings: fresh, or the stored ones when resuming (so a resumed run is the same run).
    let (settings, store) = match &args.resume {
        Some(dir) => {
            let (store, manifest) = RunStore::resume(dir)?;
            let settings: Settings =
                serde_json::from_value(manifest["settings"].clone()).map_err(|e| {
                    bad_input(format!("{}: not a faithfulness run ({e})", dir.display()))
                })?;
            (settings, Some(store))
        }
        None => (resolve_settings(&args)?, None),
    };
    let mut model_args = args.model.clone();
    model_args.model = settings.model.clone();
    let (spec, options) = backend_options(&model_args, quiet)?;
    let engine_cfg = engine_config(&args.engine, &spec, &options)?;
    let items = load_items(&settings)?;
    if let Some(dir) = &args.resume {
        let stored = std::fs::read_to_string(dir.join(crate::store::MANIFEST))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
        let now = crate::cache::hash_json(&items.iter().map(|i| &i.id).collect::<Vec<_>>());
        if let Some(expected) = stored
            .as_ref()
            .and_then(|m| m["items"]["ids_hash"].as_str())
        {
            if expected != now {
                return Err(bad_input(format!(
                    "{}: the datasets no longer give the items this run started with (a file changed?); start a new run instead of resuming",
                    dir.display()
                )));
            }
        }
    }
    let few_shot = settings.hints.iter().any(|h| h.placement.has_own_control());
    let pool = if few_shot {
        crate::bundled::few_shot_pool()?
    } else {
        Vec::new()
    };
    let hints: Vec<Arc<Hint>> = settings.hints.iter().cloned().map(Arc::new).collect();
    let units = plan::plan(&items, &hints, &settings.directions, settings.seed, &pool);
    // The units hold what they need; keep only the item count and the ids' hash.
    let n_items = items.len();
    let ids_hash = crate::cache::hash_json(&items.iter().map(|i| &i.id).collect::<Vec<_>>());
    drop(items);
    drop(pool);

    let cache = open_cache(&args.engine)?;
    let backend = open_backend(&settings.model, &options).await?;
    let mut reasoning_prefix = settings.reasoning_prefix.clone();
    if reasoning_prefix.is_some() && !backend.supports(Capability::PrefixContinuation) {
        if args.reasoning_prefix.is_some() {
            return Err(
                anyhow::Error::new(backend.unsupported(Capability::PrefixContinuation))
                    .context("--reasoning-prefix"),
            );
        }
        reasoning_prefix = None;
    }
    if settings.force_answer == ForceMode::Unparseable
        && !backend.supports(Capability::CandidateLogprobs)
    {
        return Err(
            anyhow::Error::new(backend.unsupported(Capability::CandidateLogprobs))
                .context("--force-answer unparseable"),
        );
    }
    let engine = Arc::new(Engine::new(
        backend.clone(),
        cache.clone(),
        engine_cfg.clone(),
    ));
    let mut judges = Vec::new();
    let mut judge_infos = Vec::new();
    for j in &settings.judges {
        if j == "lexical" {
            judges.push(Judge::Lexical);
            judge_infos.push(serde_json::json!({"judge": "lexical", "version": cotlens_core::judge::LEXICAL_JUDGE_VERSION}));
        } else {
            // A remote judge shares the policy's server flags; a local judge gets the local defaults.
            let judge_is_local = crate::model_spec::ModelSpec::parse(j)?.is_local();
            let judge_args = if judge_is_local {
                crate::cli::ModelArgs {
                    model: j.clone(),
                    base_url: Vec::new(),
                    threads: None,
                    parallel: None,
                    ..args.model.clone()
                }
            } else {
                crate::cli::ModelArgs {
                    model: j.clone(),
                    threads: None,
                    parallel: None,
                    ..args.model.clone()
                }
            };
            let (jspec, jopts) = backend_options(&judge_args, quiet)?;
            let jb = if *j == settings.model {
                backend.clone()
            } else {
                open_backend(j, &jopts).await?
            };
            let jcfg = engine_config(&args.engine, &jspec, &jopts)?;
            judge_infos.push(serde_json::json!({"judge": j, "version": cotlens_core::judge::LLM_JUDGE_VERSION,
                "template_hash": cotlens_core::prompts::template_hash(cotlens_core::judge::LLM_JUDGE_TEMPLATE), "backend": jb.info()}));
            judges.push(Judge::Llm {
                name: j.clone(),
                engine: Arc::new(Engine::new(jb, cache.clone(), jcfg)),
            });
        }
    }

    let store = RunStore::create_unless_resumed(
        store,
        args.out.as_deref(),
        "faithfulness",
        || {
            serde_json::json!({
                "cotlens_version": env!("CARGO_PKG_VERSION"),
                "protocol": "faithfulness",
                "created_at": time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                "settings": settings,
                "effective_reasoning_prefix": reasoning_prefix,
                "model": backend.info(),
                "judges": judge_infos,
                "templates": {
                    "elicitation": {"version": cotlens_core::prompts::ELICITATION_VERSION, "hash": cotlens_core::prompts::template_hash(cotlens_core::prompts::ELICITATION_TEMPLATE)},
                    "answer_extraction": cotlens_core::extract::EXTRACTOR_VERSION,
                    "hints": settings.hints.iter().map(|h| serde_json::json!({"name": h.name, "version": h.version, "hash": cotlens_core::prompts::template_hash(&h.template)})).collect::<Vec<_>>(),
                },
                "engine": engine_cfg,
                "items": {"n": n_items, "ids_hash": ids_hash},
                "units": units.len(),
            })
        },
    )?;
    let dir = store.dir().to_path_buf();
    let n_units = units.len();
    let pending: Vec<plan::Unit> = units
        .into_iter()
        .filter(|u| !store.is_done(&u.key))
        .collect();
    if !quiet {
        eprintln!(
            "cotlens: {n_items} items, {n_units} units ({} already done) → {}",
            n_units - pending.len(),
            dir.display()
        );
        if spec.is_local() {
            eprintln!("cotlens: {} is a 135M-parameter model: smoke-scale, for trying the pipeline, not for conclusions.", settings.model);
            eprintln!("cotlens: for a real model add e.g.: --model openai:MODEL --base-url http://127.0.0.1:8000/v1");
        }
    }
    let ctx = Arc::new(UnitContext {
        engine: engine.clone(),
        judges,
        sampling: settings.sampling.clone(),
        reasoning_prefix,
        force: settings.force_answer,
    });
    let work = |unit: plan::Unit| {
        let ctx = ctx.clone();
        async move { unit::run_unit(&ctx, &unit).await }
    };
    crate::runner::run_into_store(
        &store,
        pending,
        engine_cfg.concurrency.max(1) * 2,
        "faithfulness",
        &engine.counters,
        quiet,
        "cotlens faithfulness",
        work,
    )
    .await?;
    let records = load_scored(&dir)?;
    let summary = summary::summarize(
        &records,
        &settings.model,
        &settings.judges,
        settings.bootstrap,
    );
    write_json_atomic(&dir.join(SUMMARY), &summary)?;
    crate::report::after_run(&dir, quiet);
    if args.json {
        crate::printer::stdout(&format!("{}\n", serde_json::to_string_pretty(&summary)?));
    } else {
        crate::printer::stdout(&summary::render_table(&summary));
        crate::printer::stdout(&format!("run directory: {}\n", dir.display()));
    }
    Ok(())
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
    use std::io::BufRead;
    let path = dir.join(crate::store::RECORDS);
    let file = std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(
            serde_json::from_str(&line).with_context(|| {
                format!("{}:{}: not a faithfulness record", path.display(), i + 1)
            })?,
        );
    }
    Ok(out)
}
