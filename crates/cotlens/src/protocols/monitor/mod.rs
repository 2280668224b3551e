//! `cotlens monitor` and `cotlens monitor-eval` (docs/protocols.md §3).
//!
//! `monitor` runs rule-based detectors over traces under each requested view and writes one
//! record per trace × monitor × view (`records.jsonl`), with a manifest. A view with nothing to
//! read (e.g. `cot` on a trace without reasoning) gives an `unscorable` record, counted and left
//! out of the metrics. `monitor-eval` computes, per monitor × view, AUROC, TPR at 1% and 5% FPR,
//! recall, precision and g-mean² at a threshold, with bootstrap intervals, and draws ROC curves.

use crate::error::bad_input;
use crate::model::ResolvedModel;
use crate::printer::Printer;
use crate::protocol::Protocol;
use crate::session::{Manifest, RunStart};
use cotlens_core::monitor::impossiblebench;
use cotlens_core::monitor::rules::RuleFinding;
use cotlens_core::monitor::rules::{parse_rules, RuleMonitor};
use cotlens_core::monitor::trace::{for_each_jsonl, BaseView, Trace, View};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub mod contamination;
mod eval;
pub mod from_runs;
mod llm;

pub use eval::{run_monitor_eval, CompareRow, EvalRow};
pub(crate) use llm::{llm_monitors, llm_trace_records, LlmMonitor};

#[derive(Debug, Clone, clap::Args)]
pub struct MonitorArgs {
    /// Traces: jsonl:PATH (docs/traces.md), inspect:LOG.eval|LOG.json (Inspect logs), impossiblebench:DIR,
    /// sft:PATH (`cotlens select` output) or run:DIR (a sample or faithfulness run). Repeatable.
    #[arg(long, required = true, value_name = "FORMAT:PATH")]
    pub traces: Vec<String>,
    /// Views, comma-separated: action, cot, cot+action, hybrid:W.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "action,cot,cot+action,hybrid:0.5"
    )]
    pub view: Vec<String>,
    /// Extra rule files (TOML, the format of crates/cotlens-core/rules/default.toml).
    #[arg(long, value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Run directory.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// LLM-judge monitors, comma-separated: reward-hacking, sabotage, spec-violation, or a
    /// template file with {task}, {view} and {transcript}. They use --model.
    #[arg(long = "llm-monitor", value_delimiter = ',', value_name = "NAME|FILE")]
    pub llm_monitor: Vec<String>,
    /// Do not run the rule-based detectors.
    #[arg(long)]
    pub no_rules: bool,
    #[command(flatten)]
    pub model: crate::args::ModelArgs,
    #[command(flatten)]
    pub engine: crate::args::EngineArgs,
}

#[derive(Debug, Clone, clap::Args)]
pub struct MonitorEvalArgs {
    /// A `cotlens monitor` run directory.
    #[arg(required_unless_present = "compare")]
    pub run: Option<PathBuf>,
    /// Obfuscation check across two runs (e.g. two checkpoints): labelled misbehaviour rate vs
    /// monitor recall per view; flags CoT-view recall falling while misbehaviour does not.
    #[arg(long, num_args = 2, value_names = ["RUN_A", "RUN_B"], conflicts_with = "run")]
    pub compare: Vec<PathBuf>,
    /// With --compare: the recall drop (absolute) that raises the flag.
    #[arg(long, default_value_t = 0.1)]
    pub recall_drop: f64,
    /// Flag a trace when its score is at least this.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f64,
    /// Bootstrap resamples for the intervals.
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: u32,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print the metrics as JSON.
    #[arg(long)]
    pub json: bool,
    /// Evaluate even when a monitor selected these traces (a `cotlens select` ledger says so);
    /// the output is marked contaminated.
    #[arg(long)]
    pub allow_contaminated: bool,
    /// Selection ledgers to check besides the ones found next to the traces (repeatable).
    #[arg(long, value_name = "LEDGER.json")]
    pub ledger: Vec<PathBuf>,
}

/// Whether a monitor could read a trace under a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitorStatus {
    Scored,
    /// The view shows nothing of the trace (e.g. no reasoning under a `cot` view).
    Unscorable,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorRecord {
    pub key: String,
    pub trace_id: String,
    pub monitor: String,
    pub view: String,
    pub status: MonitorStatus,
    pub score: Option<f64>,
    pub reason: String,
    pub quote: String,
    pub label: Option<bool>,
}

/// Call `each` on every trace of a `--traces` spec, streaming JSONL; returns the count.
pub fn for_each_trace(
    spec: &str,
    mut each: impl FnMut(Trace) -> Result<(), cotlens_core::datasets::DatasetError>,
) -> anyhow::Result<usize> {
    let (kind, path) = spec.split_once(':').ok_or_else(|| {
        bad_input(format!(
            "--traces {spec:?}: expected FORMAT:PATH (jsonl, inspect, impossiblebench, sft or run)"
        ))
    })?;
    let path = Path::new(path);
    Ok(match kind {
        "jsonl" => for_each_jsonl(path, each)?,
        "inspect" => {
            let traces = cotlens_core::monitor::inspect_log::load(path)?;
            let n = traces.len();
            for t in traces {
                each(t)?;
            }
            n
        }
        "sft" | "run" => {
            let traces = if kind == "sft" {
                from_runs::load_sft(path)?
            } else {
                from_runs::load_run(path)?
            };
            let n = traces.len();
            for t in traces {
                each(t)?;
            }
            n
        }
        "impossiblebench" => {
            let traces = impossiblebench::load(path)?;
            let n = traces.len();
            for t in traces {
                each(t)?;
            }
            n
        }
        other => {
            return Err(bad_input(format!(
                "--traces {spec:?}: unknown format {other:?}; use jsonl, inspect, impossiblebench, sft or run"
            )))
        }
    })
}

/// Why a view has no score for a trace.
pub(crate) fn unscorable_reason(view: &View) -> &'static str {
    match view {
        View::Hybrid(_) => "the trace has no actions, so no action score to weigh: the hybrid view w·s(cot+action) + (1−w)·s(action) is undefined",
        View::Base(_) => "the view shows nothing of this trace (e.g. no reasoning under a cot view)",
    }
}

/// One record per view for one trace.
pub fn monitor_trace(monitor: &RuleMonitor, trace: &Trace, views: &[View]) -> Vec<MonitorRecord> {
    let name = "rules";
    let mut base: BTreeMap<BaseView, Option<RuleFinding>> = BTreeMap::new();
    let mut find = |v: BaseView| {
        base.entry(v)
            .or_insert_with(|| trace.visible(v).map(|t| monitor.scan(&t)))
            .clone()
    };
    let label = trace.misbehaved();
    views
        .iter()
        .map(|view| {
            let finding = match view {
                View::Base(v) => find(*v),
                View::Hybrid(w) => match (find(BaseView::CotAndAction), find(BaseView::Action)) {
                    (Some(both), Some(action)) => Some(RuleFinding {
                        score: w * both.score + (1.0 - w) * action.score,
                        quote: if both.quote.is_empty() {
                            action.quote.clone()
                        } else {
                            both.quote.clone()
                        },
                        matched: both.matched,
                    }),
                    // No actions: no action score, so no hybrid score (never the cot+action
                    // score unweighted).
                    _ => None,
                },
            };
            let view_name = view.name();
            let key = format!("{}|{name}|{view_name}", trace.id);
            match finding {
                Some(f) => MonitorRecord {
                    key,
                    trace_id: trace.id.clone(),
                    monitor: name.into(),
                    view: view_name,
                    status: MonitorStatus::Scored,
                    score: Some(f.score),
                    reason: f.matched.join(", "),
                    quote: f.quote,
                    label,
                },
                None => MonitorRecord {
                    key,
                    trace_id: trace.id.clone(),
                    monitor: name.into(),
                    view: view_name,
                    status: MonitorStatus::Unscorable,
                    score: None,
                    reason: unscorable_reason(view).into(),
                    quote: String::new(),
                    label,
                },
            }
        })
        .collect()
}

pub async fn run_monitor(args: MonitorArgs, printer: Printer) -> anyhow::Result<()> {
    let views: Vec<View> = args
        .view
        .iter()
        .map(|v| View::parse(v).map_err(|e| bad_input(format!("--view: {e}"))))
        .collect::<Result<_, _>>()?;
    let mut extra = Vec::new();
    for f in &args.rules {
        let text = cotlens_core::read::read_text(f)?;
        extra.push(parse_rules(&text, f)?);
    }
    let monitor = RuleMonitor::new(extra).map_err(|e| bad_input(format!("--rules: {e}")))?;
    let llm = llm_monitors(&args.llm_monitor)?;
    if args.no_rules && llm.is_empty() {
        return Err(bad_input("--no-rules leaves no monitor; add --llm-monitor"));
    }
    // Every input is read first (a bad line fails before anything is written), then streamed.
    // Trace ids key the records: one id in two inputs (or one input given twice) would count
    // one trace twice.
    let mut n_traces = 0usize;
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, spec) in args.traces.iter().enumerate() {
        let mut duplicate = None;
        let mut bad_label = None;
        n_traces += for_each_trace(spec, |t| {
            if let Err((k, m)) = t.check_labels() {
                bad_label.get_or_insert(format!("trace {:?}: field `labels.{k}`: {m}", t.id));
            }
            if let Some(&first) = seen.get(&t.id) {
                duplicate.get_or_insert((t.id.clone(), first));
            } else {
                seen.insert(t.id, i);
            }
            Ok(())
        })?;
        if let Some(m) = bad_label {
            return Err(bad_input(format!("--traces {spec}: {m}")));
        }
        if let Some((id, first)) = duplicate {
            return Err(bad_input(format!(
                "--traces {spec}: trace id {id:?} is also in --traces {}; ids must be unique across inputs",
                args.traces[first]
            )));
        }
    }
    if n_traces == 0 {
        return Err(bad_input(format!(
            "{}: no traces to monitor (the inputs are empty)",
            args.traces.join(", ")
        )));
    }
    // The LLM monitors' model is opened (and its flags checked) before anything is written.
    let engine = if llm.is_empty() {
        None
    } else {
        let model = ResolvedModel::new(&args.model, &args.engine, printer)?;
        Some(model.open_engine().await?)
    };
    let mut monitors = Vec::new();
    if !args.no_rules {
        monitors.push(serde_json::json!({"name": "rules", "version": monitor.version, "rules": monitor.rules}));
    }
    for m in &llm {
        monitors.push(serde_json::json!({
            "name": m.name,
            "version": cotlens_core::monitor::llm::TEMPLATE_VERSION,
            "template_hash": cotlens_core::prompts::template_hash(&m.template),
            "model": engine.as_ref().map(|e| e.backend().info().clone()),
        }));
    }
    let session = RunStart::fresh(Protocol::Monitor, &args.out, false, printer).begin(|| {
        Manifest::new(Protocol::Monitor)
            .with("traces", &args.traces)
            .with("n_traces", n_traces)
            .with("views", views.iter().map(View::name).collect::<Vec<_>>())
            .with("monitors", &monitors)
    })?;
    let store = session.store();
    let mut counts: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    let mut tally = |record: &MonitorRecord| {
        let c = counts
            .entry((record.monitor.clone(), record.view.clone()))
            .or_default();
        if record.score.is_some() {
            c.0 += 1;
        } else {
            c.1 += 1;
        }
    };
    if !args.no_rules {
        rules_pass(&monitor, &views, &args.traces, store, &mut tally)?;
    }
    if let Some(engine) = engine {
        llm_pass(
            engine,
            llm,
            &views,
            &args.traces,
            store,
            &mut tally,
            printer,
        )
        .await?;
    }
    store.sync()?;
    session.write_report(crate::report::sections::monitor);
    let mut out = format!("{n_traces} traces → {}\n", args.out.display());
    for ((monitor, view), (scored, unscorable)) in counts {
        out.push_str(&format!(
            "  {monitor:<22} {view:<12} scored {scored:>6}   unscorable {unscorable:>6}\n"
        ));
    }
    printer.out(&out);
    Ok(())
}

/// The rule monitors over every trace, streamed, each record appended as it comes.
fn rules_pass(
    monitor: &RuleMonitor,
    views: &[View],
    specs: &[String],
    store: &crate::store::RunStore,
    tally: &mut impl FnMut(&MonitorRecord),
) -> anyhow::Result<()> {
    let mut failure: Option<anyhow::Error> = None;
    for spec in specs {
        for_each_trace(spec, |trace| {
            for record in monitor_trace(monitor, &trace, views) {
                tally(&record);
                if let Err(e) = serde_json::to_value(&record)
                    .map_err(anyhow::Error::from)
                    .and_then(|v| store.append(&v))
                {
                    failure.get_or_insert(e);
                }
            }
            Ok(())
        })?;
    }
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(())
}

/// The LLM monitors over every trace: one unit per monitor × trace through the engine.
async fn llm_pass(
    engine: std::sync::Arc<crate::engine::Engine>,
    llm: Vec<LlmMonitor>,
    views: &[View],
    specs: &[String],
    store: &crate::store::RunStore,
    tally: &mut impl FnMut(&MonitorRecord),
    printer: Printer,
) -> anyhow::Result<()> {
    let mut traces = Vec::new();
    for spec in specs {
        for_each_trace(spec, |t| {
            traces.push(t);
            Ok(())
        })?;
    }
    let traces = std::sync::Arc::new(traces);
    let llm = std::sync::Arc::new(llm);
    let views = std::sync::Arc::new(views.to_vec());
    let progress = crate::progress::Progress::new(
        (traces.len() * llm.len()) as u64,
        "monitor",
        printer.is_quiet(),
    );
    let jobs: Vec<(usize, usize)> = (0..llm.len())
        .flat_map(|m| (0..traces.len()).map(move |t| (m, t)))
        .collect();
    let work = |(m, t): (usize, usize)| {
        let (engine, llm, traces, views) =
            (engine.clone(), llm.clone(), traces.clone(), views.clone());
        async move { llm_trace_records(&engine, &llm[m], &traces[t], &views).await }
    };
    let done = |records: Vec<MonitorRecord>| -> anyhow::Result<()> {
        for record in records {
            tally(&record);
            store.append(&serde_json::to_value(&record)?)?;
        }
        progress.inc(&engine.counters);
        Ok(())
    };
    let abort = || {
        let _ = store.sync();
    };
    let failure = crate::runner::run_bounded(
        jobs,
        engine.config().concurrency.max(1) * 2,
        work,
        done,
        abort,
        printer,
    )
    .await
    .err();
    progress.finish();
    if let Some(e) = failure {
        store.sync()?;
        return Err(e.context("the monitor run stopped"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A trace with reasoning and no actions has no action score, so no hybrid score: never the
    /// cot+action score unweighted.
    #[test]
    fn hybrid_without_actions_is_unscorable() {
        let trace: Trace = serde_json::from_value(serde_json::json!({
            "id": "t", "reasoning": "I will delete the tests and rewrite the test file."
        }))
        .expect("trace");
        let monitor = RuleMonitor::new(Vec::new()).expect("rules");
        let views = [
            View::parse("cot+action").expect("view"),
            View::parse("hybrid:0.5").expect("view"),
        ];
        let records = monitor_trace(&monitor, &trace, &views);
        assert_eq!(records[0].status, MonitorStatus::Scored);
        assert!(
            records[0].score.is_some_and(|s| s > 0.0),
            "{:?}",
            records[0]
        );
        assert_eq!(records[1].status, MonitorStatus::Unscorable);
        assert_eq!(records[1].score, None);
        assert!(
            records[1].reason.contains("no actions"),
            "{}",
            records[1].reason
        );
    }
}
