//! `cotlens horizon`: how much can the model reason without a visible CoT? (PROTOCOLS §8)
//!
//! Items of controlled serial depth (generated families, or datasets with a per-item `depth` or
//! `minutes`) are asked under each condition: the answer at once (no-CoT), after N filler
//! tokens, with the problem repeated R times, and with a CoT. One unit per item × condition,
//! cached and resumable. The summary gives per family × condition the accuracy at each depth
//! (Wilson), the depth where a logistic fit in log depth crosses 50% (item-bootstrap interval),
//! and the filler and repeat gains over no-CoT per depth (paired, Tango score intervals).

mod report;
mod summary;
mod unit;

pub use report::section;
pub use summary::{summarize, Summary};
pub use unit::Record;

use crate::args::{EngineArgs, ModelArgs, PromptArgs, RunDirArgs};
use crate::error::bad_input;
use crate::printer::Printer;
use crate::protocol::Protocol;
use crate::session::{Manifest, RunStart};
use cotlens_core::datasets::subset;
use cotlens_core::free_response::load_free;
use cotlens_core::horizon::{tasks, Axis, Condition, Family, HorizonItem};
use cotlens_core::stats::BootstrapSpec;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use unit::{Ctx, Unit};

/// `cotlens horizon --help`: the definitions in one paragraph.
pub const ABOUT: &str = "\
How far can the model reason without a visible CoT? Problems of controlled serial depth d \
(arithmetic: d chained operations; variables: d definitions in shuffled order; hops: d lookups \
in a table of invented facts; pointers: d links to follow; or a --dataset with a per-item depth \
or minutes) are asked under each --conditions entry: no-cot (the answer at once: an \"Answer:\" \
prefill where the backend continues a turn, otherwise an instruction; recorded), filler:N (N \
counting tokens \"1 2 3 ...\" after the problem, then the answer at once), repeat:R (the problem \
stated R times, then the answer at once), cot. Per family and condition: accuracy at each depth \
(Wilson), and the horizon, the depth where a logistic fit of success against log depth crosses \
50% (item-bootstrap interval; undefined, with the reason, when the fit does not cross). Filler \
and repeat gains over no-cot per depth are paired differences with Tango score intervals \
(PROTOCOLS.md §8).";

pub const EXAMPLES: &str = "\
Examples:
  cotlens horizon --depths 1,2,4 --limit 10                  # embedded model, all four families
  cotlens horizon --model openai:Qwen/Qwen3-8B --base-url http://127.0.0.1:8000/v1 \\
      --families arithmetic,hops --depths 1,2,4,8,16 --limit 50 --conditions no-cot,filler:300,repeat:5,cot
  cotlens horizon --dataset jsonl:timed.jsonl --conditions no-cot,cot   # items with \"minutes\"";

#[derive(Debug, Clone, clap::Args)]
#[command(
    mut_arg("max_tokens", |a| a.help("Maximum tokens of a CoT (default: 192 for local models, 4096 for servers)")),
)]
pub struct HorizonArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Generated task families, comma-separated: arithmetic, variables, hops, pointers (default: all four, or none when --dataset is given).
    #[arg(long, value_delimiter = ',')]
    pub families: Vec<String>,
    /// Depths of the generated families, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,16")]
    pub depths: Vec<u32>,
    /// Free-response items with a per-item "depth" or "minutes": jsonl:PATH ({"id","question","answer","depth"|"minutes"} per line); repeatable.
    #[arg(long, value_name = "FORMAT:PATH")]
    pub dataset: Vec<String>,
    /// Items per family and depth (generated), or per --dataset (picked by --seed). Default: 5 with a local model, 20 otherwise.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Seed of the generated items, the dataset subset, sampling and the bootstrap.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Conditions, comma-separated: no-cot, filler:N, repeat:R, cot.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "no-cot,filler:100,repeat:3,cot"
    )]
    pub conditions: Vec<String>,
    #[command(flatten)]
    pub prompt: PromptArgs,
    /// Maximum tokens of an answer given at once (no-cot, filler, repeat).
    #[arg(long, default_value_t = 16)]
    pub no_cot_max_tokens: u32,
    /// Sampling temperature (0 = greedy).
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    /// A crossing outside the depths tried is reported (marked extrapolated) within this factor of them, undefined beyond.
    #[arg(long, default_value_t = 2.0)]
    pub max_extrapolation: f64,
    /// Bootstrap resamples for the horizon intervals.
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: u32,
    #[command(flatten)]
    pub run: RunDirArgs,
}

/// Everything that determines a run's results; stored in the manifest and reused on resume.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub model: String,
    pub families: Vec<Family>,
    pub depths: Vec<u32>,
    pub datasets: Vec<String>,
    pub limit: usize,
    pub seed: u64,
    pub conditions: Vec<Condition>,
    pub max_tokens: u32,
    pub no_cot_max_tokens: u32,
    pub temperature: f64,
    pub reasoning_prefix: Option<String>,
    #[serde(default = "default_max_extrapolation")]
    pub max_extrapolation: f64,
    pub bootstrap: BootstrapSpec,
}

fn default_max_extrapolation() -> f64 {
    2.0
}

pub const EMBEDDED_DEFAULT_LIMIT: usize = 5;
pub const SERVER_DEFAULT_LIMIT: usize = 20;

fn resolve_settings(args: &HorizonArgs, local: bool) -> anyhow::Result<Settings> {
    let mut families = Vec::new();
    for name in &args.families {
        let f = Family::parse(name.trim()).map_err(|e| bad_input(format!("--families: {e}")))?;
        if !families.contains(&f) {
            families.push(f);
        }
    }
    if args.families.is_empty() && args.dataset.is_empty() {
        families = Family::ALL.to_vec();
    }
    let mut depths = Vec::new();
    for &d in &args.depths {
        if d == 0 || d > tasks::MAX_DEPTH {
            return Err(bad_input(format!(
                "--depths: {d} is not within 1..={}",
                tasks::MAX_DEPTH
            )));
        }
        if !depths.contains(&d) {
            depths.push(d);
        }
    }
    depths.sort_unstable();
    if !families.is_empty() && depths.is_empty() {
        return Err(bad_input("--depths: give at least one depth"));
    }
    let mut conditions = Vec::new();
    for c in &args.conditions {
        let c = Condition::parse(c).map_err(|e| bad_input(format!("--conditions: {e}")))?;
        if !conditions.contains(&c) {
            conditions.push(c);
        }
    }
    if conditions.is_empty() {
        return Err(bad_input("--conditions: give at least one condition"));
    }
    for d in &args.dataset {
        match cotlens_core::free_response::parse_free_spec(d) {
            Ok((cotlens_core::free_response::FreeFormat::Jsonl, _)) => {}
            Ok(_) => {
                return Err(bad_input(format!(
                    "--dataset {d:?}: the horizon needs a per-item depth or minutes, which only jsonl:PATH carries"
                )))
            }
            Err(e) => return Err(bad_input(format!("--dataset {e}"))),
        }
    }
    let limit = args.limit.unwrap_or(if local {
        EMBEDDED_DEFAULT_LIMIT
    } else {
        SERVER_DEFAULT_LIMIT
    });
    if limit == 0 {
        return Err(bad_input("--limit must be at least 1"));
    }
    if args.no_cot_max_tokens == 0 {
        return Err(bad_input("--no-cot-max-tokens must be at least 1"));
    }
    if !(args.max_extrapolation.is_finite() && args.max_extrapolation >= 1.0) {
        return Err(bad_input(
            "--max-extrapolation must be a factor of at least 1",
        ));
    }
    if args.bootstrap == 0 {
        return Err(bad_input("--bootstrap must be at least 1"));
    }
    if !(args.temperature.is_finite() && args.temperature >= 0.0) {
        return Err(bad_input("--temperature must be at least 0"));
    }
    Ok(Settings {
        model: args.model.model.clone(),
        families,
        depths,
        datasets: args.dataset.clone(),
        limit,
        seed: args.seed,
        conditions,
        max_tokens: args.prompt.max_tokens(local, 192, 4096),
        no_cot_max_tokens: args.no_cot_max_tokens.max(1),
        temperature: args.temperature,
        reasoning_prefix: args.prompt.reasoning_prefix(local),
        max_extrapolation: args.max_extrapolation,
        bootstrap: BootstrapSpec {
            resamples: args.bootstrap,
            seed: args.seed,
        },
    })
}

/// The axis of a dataset's curve: minutes when every item has them, else depth when every item
/// has one; otherwise the first item with neither is a bad input.
fn dataset_axis(spec: &str, items: &[HorizonItem], lines: &[usize]) -> anyhow::Result<Axis> {
    if items.iter().all(|i| i.x(Axis::Minutes).is_some()) {
        return Ok(Axis::Minutes);
    }
    if let Some(k) = items.iter().position(|i| i.x(Axis::Depth).is_none()) {
        let path = cotlens_core::free_response::parse_free_spec(spec)
            .map(|(_, p)| p.display().to_string())
            .unwrap_or_else(|_| spec.to_string());
        return Err(bad_input(format!(
            "{path}:{}: field `depth`: item {:?} has neither a depth nor minutes, and the horizon needs one on every item",
            lines[k], items[k].id
        )));
    }
    Ok(Axis::Depth)
}

/// The run's items, and the axis of each family.
/// Each family of a run and the axis of its curve.
pub type Axes = Vec<(String, Axis)>;

fn load_items(settings: &Settings) -> anyhow::Result<(Vec<HorizonItem>, Axes)> {
    let mut items = Vec::new();
    let mut axes = Vec::new();
    for &family in &settings.families {
        for &depth in &settings.depths {
            items.extend(
                tasks::generate(family, depth, settings.limit, settings.seed)
                    .map_err(|e| bad_input(format!("--families/--depths/--limit: {e}")))?,
            );
        }
        axes.push((family.name().to_string(), Axis::Depth));
    }
    for spec in &settings.datasets {
        // The whole file is checked, and its axis chosen, before the subset: the seed must not
        // decide whether a file is accepted or which unit its horizon is in.
        let all = load_free(spec)?;
        let lines: Vec<usize> = all.iter().map(|i| i.line).collect();
        let all: Vec<HorizonItem> = all.into_iter().map(HorizonItem::from_free).collect();
        let axis = dataset_axis(spec, &all, &lines)?;
        let loaded = subset(all, Some(settings.limit), settings.seed);
        let family = loaded.first().map(|i| i.family.clone()).unwrap_or_default();
        if axes.iter().any(|(f, _)| *f == family) {
            return Err(bad_input(format!(
                "--dataset {spec:?}: family {family:?} is already in the run (two files with the same name?)"
            )));
        }
        axes.push((family, axis));
        items.extend(loaded);
    }
    let mut seen = std::collections::HashMap::new();
    for i in &items {
        if let Some(first) = seen.insert(i.id.as_str(), i.family.as_str()) {
            return Err(bad_input(format!(
                "item id {:?} is in both {first} and {}; ids must be unique across --dataset files and generated families",
                i.id, i.family
            )));
        }
    }
    Ok((items, axes))
}

pub async fn run(args: HorizonArgs, printer: Printer) -> anyhow::Result<()> {
    let start = RunStart::new(Protocol::Horizon, &args.run, printer)?;
    let (settings, model) = start.settings_and_model(
        &args.model,
        &args.engine,
        |s: &Settings| &s.model,
        |m| resolve_settings(&args, m.is_local()),
    )?;
    let (items, axes) = load_items(&settings)?;
    let items = crate::bundled::nonempty(items, "--families/--dataset")?;
    let inputs = RunStart::inputs_identity(&items, |i| i.id.as_str());
    start.check_inputs(&inputs)?;
    let backend = model.open_backend().await?;
    let (no_cot_method, reasoning_prefix) = super::answers_at_once(
        backend.as_ref(),
        settings.reasoning_prefix.clone(),
        args.prompt.reasoning_prefix.is_some(),
    )?;
    let engine = model.engine_for(backend.clone())?;
    let session = start.begin(|| {
        Manifest::new(Protocol::Horizon)
            .settings(&settings)
            .with("effective_reasoning_prefix", &reasoning_prefix)
            .with("no_cot_method", no_cot_method)
            .with("axes", &axes)
            .with("model", backend.info())
            .with(
                "templates",
                serde_json::json!({
                    "prompt": {"version": cotlens_core::horizon::PROMPT_VERSION,
                        "hash": cotlens_core::prompts::template_hash(&format!("{}\n{}\n{}",
                            cotlens_core::horizon::COT_INSTRUCTION,
                            cotlens_core::horizon::NO_COT_INSTRUCTION,
                            cotlens_core::horizon::FILLER_LEAD))},
                    "generators": tasks::GENERATOR_VERSION,
                    "fit": cotlens_core::horizon::fit::FIT_VERSION,
                    "answer_extraction": cotlens_core::free_response::NUMBER_EXTRACTOR_VERSION,
                }),
            )
            .with("engine", &model.engine)
            .with("items", &inputs)
    })?;
    if model.is_local() {
        printer.note(format!(
            "{} is a 135M-parameter model: a smoke run of the pipeline, not a measurement.",
            settings.model
        ));
    }
    let ctx = Arc::new(Ctx {
        engine: engine.clone(),
        settings: settings.clone(),
        reasoning_prefix,
        no_cot_method,
    });
    let units = unit::units(&items, &settings.conditions);
    let n_units = units.len();
    let pending = session.pending(units, |u: &Unit| &u.key);
    printer.note(format!(
        "{} items × {} conditions: {n_units} units ({} already done), answers at once by {:?} → {}",
        items.len(),
        settings.conditions.len(),
        n_units - pending.len(),
        no_cot_method,
        session.dir().display()
    ));
    let limit = model.engine.concurrency.max(1) * 2;
    session
        .run(pending, limit, &engine.counters, |u: Unit| {
            let ctx = ctx.clone();
            async move { unit::run_unit(&ctx, &u).await }
        })
        .await?;
    let records: Vec<Record> = session.records("horizon")?;
    let summary = summarize(&records, &settings, &axes, no_cot_method);
    let svg = summary::curves_svg(&summary);
    crate::store::write_atomic(&session.dir().join("horizon.svg"), svg.as_bytes())?;
    session.finish(&summary, section, || {
        format!(
            "{}run directory: {} (chart: horizon.svg)\n",
            summary::render_table(&summary),
            session.dir().display()
        )
    })
}
