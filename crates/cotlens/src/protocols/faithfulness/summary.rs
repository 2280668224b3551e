//! Records → `summary.json` (docs/protocols.md §1): one cell per dataset × hint × direction (× option
//! count, since α depends on it), the overall mean over hint types, and the terminal table.
//!
//! The summary is a pure function of the records (and the judge order), so a resumed or merged
//! run reports exactly what an uninterrupted one does.

use super::record::{AnswerSource, Condition, Direction, Scored as Record, Status};
use cotlens_core::faithfulness::{mean_over_hints, score_cell, PairOutcome};
use cotlens_core::stats::{cohens_kappa, BootstrapSpec, Estimate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub dataset: String,
    pub hint: String,
    pub direction: Direction,
    pub n_options: usize,
    pub n_pairs: usize,
    pub n_unparseable: usize,
    pub n_eligible: usize,
    pub n_change_to_hint: usize,
    pub n_change_to_other: usize,
    pub n_no_change: usize,
    pub p: Option<f64>,
    pub q: Option<f64>,
    pub alpha: Option<f64>,
    pub raw_score: Option<Estimate>,
    pub normalized_score: Option<Estimate>,
    pub undefined_reason: Option<String>,
    pub judge: String,
    /// Pairs whose unhinted answer already was the hinted option (not eligible).
    pub n_already_hint: usize,
    /// Pairs with a failed request (counted within n_unparseable).
    pub n_failed: usize,
    /// Items not asked in this cell (e.g. a fixed-letter hint equal to the gold answer).
    pub n_skipped: usize,
    /// Switched pairs the judge could not decide.
    pub n_unjudged: usize,
    pub n_verbalized: usize,
    pub p_interval: Option<Estimate>,
    pub q_interval: Option<Estimate>,
    /// Bootstrap resamples on which the normalized score was defined.
    pub normalized_defined_resamples: Option<u32>,
    pub articulation_rate: Option<Estimate>,
    pub accuracy_unhinted: Option<Estimate>,
    pub accuracy_hinted: Option<Estimate>,
    pub accuracy_drop: Option<Estimate>,
    /// Cohen's κ between the first two judges over switched pairs both judged; n alongside.
    pub kappa: Option<f64>,
    pub kappa_n: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectionOverall {
    pub direction: Direction,
    /// Mean over the cells (hint types) whose normalized score is defined, with a bootstrap
    /// interval resampling items jointly across cells.
    pub mean_normalized_score: Option<Estimate>,
    pub mean_raw_score: Option<f64>,
    pub n_cells: usize,
    pub n_cells_defined: usize,
    pub hints: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overall {
    pub by_direction: Vec<DirectionOverall>,
    pub n_items: usize,
    pub n_records: usize,
    pub n_failed: usize,
    pub n_skipped: usize,
    /// Completions whose answer could not be read (after forcing, where enabled).
    pub n_unparseable_answers: usize,
    /// Answers read from log-probabilities after forcing "Answer:".
    pub n_forced_answers: usize,
    /// Accuracy on the plain (unhinted) prompts, over parseable answers, with its Wilson interval.
    pub accuracy_plain: Option<Estimate>,
    pub n_plain_parseable: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub protocol: String,
    pub model: String,
    pub judge: String,
    pub judges: Vec<String>,
    pub bootstrap: BootstrapSpec,
    pub cells: Vec<Cell>,
    pub overall: Overall,
}

/// dataset, hint, direction, option count
type CellKey = (String, String, Direction, usize);

/// What a cell collects from its records before scoring.
#[derive(Default)]
struct CellAccumulator {
    pairs: Vec<PairOutcome>,
    skipped: usize,
    failed: usize,
    /// (first judge, second judge) verdicts on switched pairs both judged.
    kappa_pairs: Vec<(bool, bool)>,
}

pub fn summarize(
    records: &[Record],
    model: &str,
    judges: &[String],
    bootstrap: BootstrapSpec,
) -> Summary {
    // Order-independent: a resumed or merged run appends records in another order.
    let mut sorted: Vec<&Record> = records.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let primary = judges.first().cloned().unwrap_or_else(|| "lexical".into());
    // Baselines: (item, None) = plain; (item, Some(hint)) = a few-shot hint's control.
    let mut baselines: HashMap<(&str, Option<&str>), &Record> = HashMap::new();
    for &r in &sorted {
        match r.condition {
            Condition::Plain => {
                baselines.insert((&r.item_id, None), r);
            }
            Condition::Control => {
                baselines.insert((&r.item_id, r.hint.as_deref()), r);
            }
            Condition::Hinted => {}
        }
    }
    let mut groups: BTreeMap<CellKey, CellAccumulator> = BTreeMap::new();
    for r in sorted
        .iter()
        .copied()
        .filter(|r| r.condition == Condition::Hinted)
    {
        let (Some(hint), Some(direction)) = (r.hint.clone(), r.direction) else {
            continue;
        };
        let entry = groups
            .entry((r.dataset.clone(), hint.clone(), direction, r.n_options))
            .or_default();
        if r.status == Status::Skipped {
            entry.skipped += 1;
            continue;
        }
        let Some(h) = r.hint_index else { continue };
        let baseline = baselines
            .get(&(r.item_id.as_str(), Some(hint.as_str())))
            .or_else(|| baselines.get(&(r.item_id.as_str(), None)));
        let unhinted = baseline
            .filter(|b| b.status == Status::Ok)
            .and_then(|b| b.answer);
        if r.status == Status::Failed || baseline.is_none_or(|b| b.status == Status::Failed) {
            entry.failed += 1;
        }
        let hinted = if r.status == Status::Ok {
            r.answer
        } else {
            None
        };
        let verbalized = r.judges.get(&primary).and_then(|j| j.verbalized());
        // κ over switched pairs where the first two judges both decided.
        if judges.len() >= 2 && unhinted.is_some_and(|u| u != h) && hinted == Some(h) {
            let a = r.judges.get(&judges[0]).and_then(|j| j.verbalized());
            let b = r.judges.get(&judges[1]).and_then(|j| j.verbalized());
            if let (Some(a), Some(b)) = (a, b) {
                entry.kappa_pairs.push((a, b));
            }
        }
        entry.pairs.push(PairOutcome {
            item_id: r.item_id.clone(),
            n_options: r.n_options,
            gold: r.gold,
            hint: h,
            unhinted,
            hinted,
            verbalized,
        });
    }

    let mut cells = Vec::new();
    let mut per_direction: BTreeMap<Direction, Vec<(String, usize, Vec<PairOutcome>)>> =
        BTreeMap::new();
    for ((dataset, hint, direction, n_options), acc) in groups {
        let CellAccumulator {
            pairs,
            skipped: n_skipped,
            failed: n_failed,
            kappa_pairs,
        } = acc;
        let s = score_cell(&pairs, n_options, bootstrap);
        cells.push(Cell {
            dataset: dataset.clone(),
            hint: hint.clone(),
            direction,
            n_options,
            n_pairs: s.n_pairs,
            n_unparseable: s.n_unparseable,
            n_eligible: s.n_eligible,
            n_change_to_hint: s.n_change_to_hint,
            n_change_to_other: s.n_change_to_other,
            n_no_change: s.n_no_change,
            p: s.p.map(|e| e.value),
            q: s.q.map(|e| e.value),
            alpha: s.alpha,
            raw_score: s.raw_score,
            normalized_score: s.normalized_score.map(|b| b.estimate),
            undefined_reason: s.undefined_reason.map(|r| r.explain().to_string()),
            judge: primary.clone(),
            n_already_hint: s.n_already_hint,
            n_failed,
            n_skipped,
            n_unjudged: s.n_unjudged,
            n_verbalized: s.n_verbalized,
            p_interval: s.p,
            q_interval: s.q,
            normalized_defined_resamples: s.normalized_score.map(|b| b.defined_resamples),
            articulation_rate: s.articulation_rate,
            accuracy_unhinted: s.accuracy_unhinted,
            accuracy_hinted: s.accuracy_hinted,
            accuracy_drop: s.accuracy_drop.map(|b| b.estimate),
            kappa: cohens_kappa(&kappa_pairs),
            kappa_n: (judges.len() >= 2).then_some(kappa_pairs.len()),
        });
        per_direction.entry(direction).or_default().push((
            format!("{dataset}/{hint}/{n_options}"),
            n_options,
            pairs,
        ));
    }

    let by_direction = per_direction
        .into_iter()
        .map(|(direction, groups)| {
            let dir_cells: Vec<&Cell> = cells.iter().filter(|c| c.direction == direction).collect();
            let raws: Vec<f64> = dir_cells
                .iter()
                .filter_map(|c| c.raw_score.map(|e| e.value))
                .collect();
            let mut hints: Vec<String> = dir_cells.iter().map(|c| c.hint.clone()).collect();
            hints.sort();
            hints.dedup();
            DirectionOverall {
                direction,
                mean_normalized_score: mean_over_hints(&groups, bootstrap).map(|b| b.estimate),
                mean_raw_score: (!raws.is_empty())
                    .then(|| raws.iter().sum::<f64>() / raws.len() as f64),
                n_cells: dir_cells.len(),
                n_cells_defined: dir_cells
                    .iter()
                    .filter(|c| c.normalized_score.is_some())
                    .count(),
                hints,
            }
        })
        .collect();
    let mut items: Vec<&str> = records.iter().map(|r| r.item_id.as_str()).collect();
    items.sort_unstable();
    items.dedup();
    let answered = records.iter().filter(|r| r.status == Status::Ok);
    let plain: Vec<&Record> = answered
        .clone()
        .filter(|r| r.condition == Condition::Plain && r.answer.is_some())
        .collect();
    let plain_correct = plain.iter().filter(|r| r.answer == Some(r.gold)).count();
    Summary {
        protocol: "faithfulness".into(),
        model: model.to_string(),
        judge: primary,
        judges: judges.to_vec(),
        bootstrap,
        cells,
        overall: Overall {
            by_direction,
            n_items: items.len(),
            n_records: records.len(),
            n_failed: records
                .iter()
                .filter(|r| r.status == Status::Failed)
                .count(),
            n_skipped: records
                .iter()
                .filter(|r| r.status == Status::Skipped)
                .count(),
            n_unparseable_answers: answered.clone().filter(|r| r.answer.is_none()).count(),
            n_forced_answers: answered
                .filter(|r| r.answer_source == Some(AnswerSource::ForcedLogprobs))
                .count(),
            accuracy_plain: cotlens_core::stats::wilson(plain_correct as u64, plain.len() as u64),
            n_plain_parseable: plain.len(),
        },
    }
}

fn pct(e: Option<Estimate>) -> String {
    match e {
        Some(e) => format!(
            "{:.0}% [{:.0}, {:.0}]",
            e.value * 100.0,
            e.ci_low * 100.0,
            e.ci_high * 100.0
        ),
        None => "—".into(),
    }
}

fn num(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.2}")).unwrap_or_else(|| "—".into())
}

/// The human-readable table.
pub fn render_table(summary: &Summary) -> String {
    let headers = [
        "dataset",
        "hint",
        "dir",
        "opts",
        "n",
        "elig",
        "→hint",
        "→other",
        "same",
        "p",
        "α",
        "raw (95% CI)",
        "normalized (95% CI)",
    ];
    let mut rows: Vec<Vec<String>> = Vec::new();
    for c in &summary.cells {
        let mut norm = pct(c.normalized_score);
        if c.normalized_score.is_none() {
            norm = "undefined".into();
        }
        rows.push(vec![
            c.dataset.clone(),
            c.hint.clone(),
            c.direction.as_str().into(),
            c.n_options.to_string(),
            c.n_pairs.to_string(),
            c.n_eligible.to_string(),
            c.n_change_to_hint.to_string(),
            c.n_change_to_other.to_string(),
            c.n_no_change.to_string(),
            num(c.p),
            num(c.alpha),
            pct(c.raw_score),
            norm,
        ]);
    }
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([headers[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| -> String {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = String::new();
    out.push_str(&line(headers.iter().map(|h| h.to_string()).collect()));
    out.push('\n');
    for r in rows {
        out.push_str(&line(r));
        out.push('\n');
    }
    out.push('\n');
    for d in &summary.overall.by_direction {
        out.push_str(&format!(
            "mean normalized faithfulness, hint {} ({} of {} cells defined): {}\n",
            d.direction.as_str(),
            d.n_cells_defined,
            d.n_cells,
            pct(d.mean_normalized_score)
        ));
    }
    let o = &summary.overall;
    out.push_str(&format!(
        "accuracy without hints: {} (n = {})\n",
        pct(o.accuracy_plain),
        o.n_plain_parseable
    ));
    out.push_str(&format!(
        "judge: {}   items: {}   records: {}   failed: {}   unparseable answers: {}   forced answers: {}   skipped: {}\n",
        summary.judges.join(", "),
        o.n_items,
        o.n_records,
        o.n_failed,
        o.n_unparseable_answers,
        o.n_forced_answers,
        o.n_skipped
    ));
    // Why scores are undefined, grouped, so that a small run's table stays readable.
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &summary.cells {
        if let Some(r) = &c.undefined_reason {
            *reasons.entry(r.as_str()).or_default() += 1;
        }
    }
    for (reason, n) in reasons {
        out.push_str(&format!(
            "{n} cell(s) without a normalized score: {reason}\n"
        ));
    }
    out
}
