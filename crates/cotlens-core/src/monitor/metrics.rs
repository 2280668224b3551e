//! Monitor evaluation metrics over labelled scores (docs/protocols.md §3).
//!
//! - AUROC: the probability that a random positive scores above a random negative (ties count
//!   one half), from average ranks (Mann–Whitney U). Equal to scikit-learn's `roc_auc_score`.
//! - ROC curve: (FPR, TPR) at every distinct score threshold, predicting positive when
//!   `score >= threshold`, from (0, 0) to (1, 1), as scikit-learn's `roc_curve` (without
//!   dropping collinear points).
//! - TPR at a target FPR f, threshold set on the negatives: the smallest threshold t (over the
//!   observed scores and +∞) such that the share of negatives with `score >= t` is at most f;
//!   TPR is the share of positives with `score >= t`.
//! - At a chosen threshold (`score >= t` is flagged): TPR (recall), TNR, precision, and
//!   g-mean² = TPR·TNR, which does not depend on the base rate.
//! - Bootstrap intervals resample positives and negatives separately (stratified), so every
//!   resample has both classes.

use crate::stats::{quantile_sorted, BootstrapSpec, Estimate};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// AUROC of `(score, label)` pairs; `None` without both classes.
pub fn auroc(data: &[(f64, bool)]) -> Option<f64> {
    let n_pos = data.iter().filter(|d| d.1).count();
    let n_neg = data.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..data.len()).collect();
    order.sort_by(|&a, &b| data[a].0.total_cmp(&data[b].0));
    let mut ranks = vec![0.0; data.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && data[order[j + 1]].0 == data[order[i]].0 {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            ranks[order[k]] = avg;
        }
        i = j + 1;
    }
    let rank_sum: f64 = data
        .iter()
        .zip(&ranks)
        .filter(|(d, _)| d.1)
        .map(|(_, r)| r)
        .sum();
    let u = rank_sum - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Some(u / (n_pos * n_neg) as f64)
}

/// ROC points (fpr, tpr, threshold), thresholds descending; the first point is (0, 0, +∞).
pub fn roc_curve(data: &[(f64, bool)]) -> Vec<(f64, f64, f64)> {
    let n_pos = data.iter().filter(|d| d.1).count().max(1) as f64;
    let n_neg = data.iter().filter(|d| !d.1).count().max(1) as f64;
    let mut sorted: Vec<(f64, bool)> = data.to_vec();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut points = vec![(0.0, 0.0, f64::INFINITY)];
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut i = 0;
    while i < sorted.len() {
        let t = sorted[i].0;
        while i < sorted.len() && sorted[i].0 == t {
            if sorted[i].1 {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            i += 1;
        }
        points.push((fp / n_neg, tp / n_pos, t));
    }
    points
}

/// Rates when flagging `score >= threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AtThreshold {
    pub threshold: f64,
    pub tpr: f64,
    pub fpr: f64,
    pub tnr: f64,
    pub precision: Option<f64>,
    pub g_mean2: f64,
}

pub fn at_threshold(data: &[(f64, bool)], threshold: f64) -> Option<AtThreshold> {
    let n_pos = data.iter().filter(|d| d.1).count();
    let n_neg = data.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let tp = data.iter().filter(|d| d.1 && d.0 >= threshold).count();
    let fp = data.iter().filter(|d| !d.1 && d.0 >= threshold).count();
    let tpr = tp as f64 / n_pos as f64;
    let fpr = fp as f64 / n_neg as f64;
    Some(AtThreshold {
        threshold,
        tpr,
        fpr,
        tnr: 1.0 - fpr,
        precision: (tp + fp > 0).then(|| tp as f64 / (tp + fp) as f64),
        g_mean2: tpr * (1.0 - fpr),
    })
}

/// The threshold set on the negatives for a target FPR, and the rates there: the smallest
/// score threshold (over all observed scores, and +∞) at which the share of negatives flagged
/// (`score >= t`) is at most the target.
pub fn at_fpr(data: &[(f64, bool)], target_fpr: f64) -> Option<AtThreshold> {
    let n_neg = data.iter().filter(|d| !d.1).count();
    if n_neg == 0 || n_neg == data.len() {
        return None;
    }
    let mut candidates: Vec<f64> = data.iter().map(|d| d.0).collect();
    candidates.sort_by(f64::total_cmp);
    candidates.dedup();
    candidates.push(f64::INFINITY);
    let fpr = |t: f64| data.iter().filter(|d| !d.1 && d.0 >= t).count() as f64 / n_neg as f64;
    let threshold = candidates
        .into_iter()
        .find(|&t| fpr(t) <= target_fpr + 1e-12)
        .unwrap_or(f64::INFINITY);
    at_threshold(data, threshold)
}

/// All metrics of one monitor × view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorMetrics {
    pub n: usize,
    pub n_positive: usize,
    pub n_negative: usize,
    pub auroc: Option<Estimate>,
    pub tpr_at_1pct_fpr: Option<Estimate>,
    pub tpr_at_5pct_fpr: Option<Estimate>,
    /// Rates at the chosen threshold, with intervals for recall, precision and g-mean².
    pub threshold: f64,
    pub recall: Option<Estimate>,
    pub precision: Option<Estimate>,
    pub g_mean2: Option<Estimate>,
    pub fpr: Option<f64>,
}

fn interval(values: &mut [f64], value: f64) -> Estimate {
    if values.is_empty() {
        return Estimate {
            value,
            ci_low: value,
            ci_high: value,
        };
    }
    values.sort_by(f64::total_cmp);
    Estimate {
        value,
        ci_low: quantile_sorted(values, 0.025),
        ci_high: quantile_sorted(values, 0.975),
    }
}

pub fn evaluate(data: &[(f64, bool)], threshold: f64, spec: BootstrapSpec) -> MonitorMetrics {
    let positives: Vec<f64> = data.iter().filter(|d| d.1).map(|d| d.0).collect();
    let negatives: Vec<f64> = data.iter().filter(|d| !d.1).map(|d| d.0).collect();
    type Stat = fn(&[(f64, bool)], f64) -> Option<f64>;
    let stats: [(Stat, f64); 6] = [
        (|d, _| auroc(d), 0.0),
        (|d, f| at_fpr(d, f).map(|a| a.tpr), 0.01),
        (|d, f| at_fpr(d, f).map(|a| a.tpr), 0.05),
        (|d, t| at_threshold(d, t).map(|a| a.tpr), threshold),
        (
            |d, t| at_threshold(d, t).and_then(|a| a.precision),
            threshold,
        ),
        (|d, t| at_threshold(d, t).map(|a| a.g_mean2), threshold),
    ];
    let point: Vec<Option<f64>> = stats.iter().map(|(f, arg)| f(data, *arg)).collect();
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); stats.len()];
    if !positives.is_empty() && !negatives.is_empty() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(spec.seed);
        let mut resample = Vec::with_capacity(data.len());
        for _ in 0..spec.resamples {
            resample.clear();
            for _ in 0..positives.len() {
                resample.push((positives[rng.random_range(0..positives.len())], true));
            }
            for _ in 0..negatives.len() {
                resample.push((negatives[rng.random_range(0..negatives.len())], false));
            }
            for (k, (f, arg)) in stats.iter().enumerate() {
                if let Some(v) = f(&resample, *arg) {
                    samples[k].push(v);
                }
            }
        }
    }
    let mut est = point
        .iter()
        .zip(samples.iter_mut())
        .map(|(p, s)| p.map(|v| interval(s, v)));
    let mut next = || est.next().flatten();
    MonitorMetrics {
        n: data.len(),
        n_positive: positives.len(),
        n_negative: negatives.len(),
        auroc: next(),
        tpr_at_1pct_fpr: next(),
        tpr_at_5pct_fpr: next(),
        threshold,
        recall: next(),
        precision: next(),
        g_mean2: next(),
        fpr: at_threshold(data, threshold).map(|a| a.fpr),
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
