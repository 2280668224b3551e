//! Necessity records → per-dataset summary, the same-answer curves SVG and the terminal table.

use super::Record;
use cotlens_core::necessity::{aoc_with_interval, n_in_aoc, EarlyCurve};
use cotlens_core::stats::{bootstrap, wilson, BootstrapSpec, Estimate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub n: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatasetSummary {
    pub dataset: String,
    pub n: usize,
    pub n_failed: usize,
    /// CoTs whose token count (the filler's length) is an estimate (characters / 4).
    pub n_cot_tokens_estimated: usize,
    pub accuracy_no_cot: Option<Estimate>,
    pub accuracy_cot: Option<Estimate>,
    pub accuracy_filler: Option<Estimate>,
    /// accuracy(CoT) − accuracy(no CoT), paired bootstrap over items.
    pub cot_gain: Option<Estimate>,
    /// accuracy(filler) − accuracy(no CoT).
    pub filler_gain: Option<Estimate>,
    pub early_answering: EarlySummary,
    /// Mistake written into step k (k = 1..L), the rest regenerated; absent when not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adding_mistakes: Option<InterventionSummary>,
    /// First k steps paraphrased (k = 1..L), the rest regenerated; absent when not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paraphrasing: Option<InterventionSummary>,
}

/// Same-answer (vs the original full-CoT answer) after an intervention at step k = 1..L. The
/// points pool x = k/L into bins of 0.1; the AOC treats positions 1..L as evenly spaced over
/// [0, 1] (CoTs of one step carry no curve), weighted by length as for early answering.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InterventionSummary {
    /// CoTs with every answer readable after the intervention.
    pub n: usize,
    /// Of those, the CoTs the AOC uses (more than one step: a one-step CoT has no curve).
    pub n_in_aoc: usize,
    pub n_excluded: usize,
    pub points: Vec<Point>,
    pub aoc: Option<Estimate>,
    /// Accuracy of the answers after the intervention, over every step position.
    pub accuracy: Option<Estimate>,
}

fn intervention(
    ok: &[&&Record],
    answers: fn(&Record) -> &Vec<Option<usize>>,
    spec: BootstrapSpec,
) -> Option<InterventionSummary> {
    let with: Vec<&&&Record> = ok.iter().filter(|r| !answers(r).is_empty()).collect();
    if with.is_empty() {
        return None;
    }
    let mut curves = Vec::new();
    let mut bins: BTreeMap<usize, (u64, u64)> = BTreeMap::new();
    let (mut correct, mut answered) = (0u64, 0u64);
    for r in &with {
        let original = r.early_answers.last().copied().flatten();
        let after = answers(r);
        for a in after.iter().flatten() {
            answered += 1;
            correct += u64::from(*a == r.gold);
        }
        if original.is_none() || after.iter().any(Option::is_none) {
            continue;
        }
        let l = after.len() as f64;
        let same: Vec<bool> = after.iter().map(|a| *a == original).collect();
        for (i, &s) in same.iter().enumerate() {
            let bin = (((i + 1) as f64 / l) * 10.0).round() as usize;
            let e = bins.entry(bin).or_default();
            e.0 += u64::from(s);
            e.1 += 1;
        }
        curves.push(EarlyCurve { same });
    }
    let points = bins
        .into_iter()
        .filter_map(|(bin, (same, n))| {
            wilson(same, n).map(|w| Point {
                x: bin as f64 / 10.0,
                y: w.value,
                ci_low: w.ci_low,
                ci_high: w.ci_high,
                n: n as usize,
            })
        })
        .collect();
    Some(InterventionSummary {
        n: curves.len(),
        n_in_aoc: n_in_aoc(&curves),
        n_excluded: with.len() - curves.len(),
        points,
        aoc: aoc_with_interval(&curves, spec).map(|b| b.estimate),
        accuracy: wilson(correct, answered),
    })
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EarlySummary {
    /// CoTs with at least one step and every answer readable.
    pub n: usize,
    /// Of those, the CoTs the AOC uses.
    pub n_in_aoc: usize,
    pub n_excluded: usize,
    /// Same-answer rate at x = k/L, pooled over lengths into bins of 0.1, Wilson intervals.
    pub points: Vec<Point>,
    pub aoc: Option<Estimate>,
    pub mean_steps: Option<f64>,
}

fn paired_gain(pairs: &[(bool, bool)], spec: BootstrapSpec) -> Option<Estimate> {
    bootstrap(pairs, spec, |it| {
        let (mut n, mut d) = (0usize, 0i64);
        for (a, b) in it {
            n += 1;
            d += i64::from(*a) - i64::from(*b);
        }
        (n > 0).then(|| d as f64 / n as f64)
    })
    .map(|b| b.estimate)
}

pub fn summarize(records: &[Record], spec: BootstrapSpec) -> Vec<DatasetSummary> {
    let mut by_dataset: BTreeMap<&str, Vec<&Record>> = BTreeMap::new();
    for r in records {
        by_dataset.entry(r.dataset.as_str()).or_default().push(r);
    }
    by_dataset
        .into_iter()
        .map(|(dataset, mut rs)| {
            rs.sort_by(|a, b| a.key.cmp(&b.key));
            let ok: Vec<&&Record> = rs
                .iter()
                .filter(|r| r.status == crate::engine::RequestStatus::Ok)
                .collect();
            let acc = |f: &dyn Fn(&Record) -> Option<usize>| {
                let answered: Vec<bool> = ok
                    .iter()
                    .filter_map(|r| f(r).map(|a| a == r.gold))
                    .collect();
                wilson(
                    answered.iter().filter(|&&c| c).count() as u64,
                    answered.len() as u64,
                )
            };
            let no_cot = |r: &Record| r.early_answers.first().copied().flatten();
            let cot = |r: &Record| r.early_answers.last().copied().flatten();
            let filler = |r: &Record| r.filler_answer;
            let pairs = |f: &dyn Fn(&Record) -> Option<usize>| -> Vec<(bool, bool)> {
                ok.iter()
                    .filter_map(|r| Some((f(r)? == r.gold, no_cot(r)? == r.gold)))
                    .collect()
            };
            let curves: Vec<EarlyCurve> = ok
                .iter()
                .filter(|r| {
                    r.early_answers.len() >= 2 && r.early_answers.iter().all(Option::is_some)
                })
                .map(|r| {
                    let last = r.early_answers.last().copied().flatten();
                    EarlyCurve {
                        same: r.early_answers.iter().map(|a| *a == last).collect(),
                    }
                })
                .collect();
            let mut bins: BTreeMap<usize, (u64, u64)> = BTreeMap::new();
            for c in &curves {
                let l = c.steps() as f64;
                for (k, &s) in c.same.iter().enumerate() {
                    let bin = ((k as f64 / l) * 10.0).round() as usize;
                    let e = bins.entry(bin).or_default();
                    e.0 += u64::from(s);
                    e.1 += 1;
                }
            }
            let points = bins
                .into_iter()
                .filter_map(|(bin, (same, n))| {
                    wilson(same, n).map(|w| Point {
                        x: bin as f64 / 10.0,
                        y: w.value,
                        ci_low: w.ci_low,
                        ci_high: w.ci_high,
                        n: n as usize,
                    })
                })
                .collect();
            DatasetSummary {
                dataset: dataset.to_string(),
                n: rs.len(),
                n_failed: rs.len() - ok.len(),
                n_cot_tokens_estimated: ok.iter().filter(|r| r.cot_tokens_estimated).count(),
                accuracy_no_cot: acc(&no_cot),
                accuracy_cot: acc(&cot),
                accuracy_filler: acc(&filler),
                cot_gain: paired_gain(&pairs(&cot), spec),
                filler_gain: paired_gain(&pairs(&filler), spec),
                adding_mistakes: intervention(&ok, |r| &r.mistake_answers, spec),
                paraphrasing: intervention(&ok, |r| &r.paraphrase_answers, spec),
                early_answering: EarlySummary {
                    n: curves.len(),
                    n_in_aoc: n_in_aoc(&curves),
                    n_excluded: ok.len() - curves.len(),
                    mean_steps: (!curves.is_empty()).then(|| {
                        curves.iter().map(|c| c.steps() as f64).sum::<f64>() / curves.len() as f64
                    }),
                    aoc: aoc_with_interval(&curves, spec).map(|b| b.estimate),
                    points,
                },
            }
        })
        .collect()
}

/// Same-answer curves as one self-contained SVG.
pub fn curves_svg(summaries: &[DatasetSummary]) -> String {
    fn curve(
        name: String,
        aoc: Option<Estimate>,
        points: &[Point],
    ) -> crate::report::svg::NamedCurve {
        let aoc = aoc
            .map(|a| format!("{:.2}", a.value))
            .unwrap_or_else(|| "—".into());
        (
            format!("{name} (AOC {aoc})"),
            points.iter().map(|p| (p.x, p.y, 0.0)).collect(),
        )
    }
    let mut curves = Vec::new();
    for s in summaries {
        curves.push(curve(
            format!("{} early answering", s.dataset),
            s.early_answering.aoc,
            &s.early_answering.points,
        ));
        if let Some(m) = &s.adding_mistakes {
            curves.push(curve(
                format!("{} adding mistakes", s.dataset),
                m.aoc,
                &m.points,
            ));
        }
        if let Some(p) = &s.paraphrasing {
            curves.push(curve(
                format!("{} paraphrasing", s.dataset),
                p.aoc,
                &p.points,
            ));
        }
    }
    crate::report::svg::roc_svg(&curves)
        .replace("false positive rate", "fraction of the CoT (k / L)")
        .replace("true positive rate", "same answer as with the original CoT")
}

fn est(e: Option<Estimate>) -> String {
    e.map(|e| format!("{:.2} [{:.2}, {:.2}]", e.value, e.ci_low, e.ci_high))
        .unwrap_or_else(|| "—".into())
}

pub(crate) fn render_table(summaries: &[DatasetSummary]) -> String {
    let mut out = format!(
        "{:<10} {:>4} {:<20} {:<20} {:<20} {:<22} {:<20}\n",
        "dataset", "n", "acc no-CoT", "acc CoT", "acc filler", "CoT gain", "early-answer AOC"
    );
    for s in summaries {
        out.push_str(&format!(
            "{:<10} {:>4} {:<20} {:<20} {:<20} {:<22} {:<20}\n",
            s.dataset,
            s.n,
            est(s.accuracy_no_cot),
            est(s.accuracy_cot),
            est(s.accuracy_filler),
            est(s.cot_gain),
            est(s.early_answering.aoc)
        ));
    }
    out
}
