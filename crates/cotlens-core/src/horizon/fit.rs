//! The horizon (PROTOCOLS §8, METR's time-horizon method): a logistic fit of success against
//! the log of depth (or human minutes), P(success) = σ(a + b·ln t), and the t where it crosses
//! 50%, t* = exp(−a/b). Fitted by maximum likelihood (Newton's method with step halving).
//!
//! Undefined, with the reason, when the maximum-likelihood curve does not cross: every outcome
//! a success or every one a failure, one depth only, success that does not fall with depth
//! (b ≥ 0), or outcomes perfectly separated by depth (the likelihood has no maximum; the
//! crossing lies somewhere between the two depths that separate them). A crossing outside the
//! depths tried is an extrapolation: reported (and marked) within a factor `max_extrapolation`
//! of them, undefined beyond, where the curve never crosses 50% where it was measured.

use crate::stats::{bootstrap, BootstrapSpec};
use serde::{Deserialize, Serialize};

/// Recorded in manifests; bump when the fit or its conventions change.
pub const FIT_VERSION: &str = "horizon-fit/2";

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogisticFit {
    /// a in σ(a + b·ln t).
    pub intercept: f64,
    /// b in σ(a + b·ln t): the change in log-odds per e-fold of depth.
    pub slope: f64,
    pub iterations: u32,
}

impl LogisticFit {
    pub fn predict(&self, t: f64) -> f64 {
        sigmoid(self.intercept + self.slope * t.ln())
    }
}

/// Why there is no horizon.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Undefined {
    #[error("no counted outcomes")]
    NoData,
    #[error("a depth or minutes value must be positive and finite, got {0}")]
    BadDepth(f64),
    #[error("every outcome is a success: accuracy never falls to 50% within the depths tried")]
    AllSuccess,
    #[error("every outcome is a failure: accuracy never reaches 50% within the depths tried")]
    AllFailure,
    #[error("only one depth ({0}): a curve needs at least two")]
    OneDepth(f64),
    #[error("success does not fall with depth (fitted slope {0:.3} ≥ 0), so there is no crossing from above")]
    NoDecline(f64),
    #[error("success rises with depth: accuracy is below 50% up to depth {below} and at least 50% from depth {above} on, with outcomes separated by depth")]
    Rising { below: f64, above: f64 },
    #[error("the fitted curve crosses 50% at {crossing:.3}, outside the depths tried ({t_min}..{t_max}) by more than a factor {factor}: accuracy {side} 50% at every depth tried")]
    OutsideRange {
        crossing: f64,
        t_min: f64,
        t_max: f64,
        factor: f64,
        side: &'static str,
    },
    #[error("accuracy is at least 50% up to depth {below} and below 50% from depth {above} on, with outcomes separated by depth: the fit has no maximum, and the crossing lies between {below} and {above}")]
    Separated { below: f64, above: f64 },
    #[error("accuracy is below 50% at every depth tried, and the outcomes are separated by depth, so the fit has no maximum")]
    AlwaysBelow,
    #[error("accuracy is at least 50% at every depth tried, and the outcomes are separated by depth, so the fit has no maximum")]
    AlwaysAbove,
    #[error("the fit did not converge")]
    NotConverged,
}

impl Undefined {
    /// The two depths a separated falling curve crosses 50% between.
    pub fn bracket(&self) -> Option<[f64; 2]> {
        match self {
            Undefined::Separated { below, above } => Some([*below, *above]),
            _ => None,
        }
    }
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// log(1 + e^z), stable.
fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

fn log_likelihood(points: &[(f64, bool)], a: f64, b: f64) -> f64 {
    points
        .iter()
        .map(|&(x, y)| {
            let z = a + b * x;
            if y {
                -softplus(-z)
            } else {
                -softplus(z)
            }
        })
        .sum()
}

/// The maximum-likelihood fit of σ(a + b·ln t) to `(t, success)` outcomes.
pub fn fit_logistic(outcomes: &[(f64, bool)]) -> Result<LogisticFit, Undefined> {
    if outcomes.is_empty() {
        return Err(Undefined::NoData);
    }
    if let Some(&(t, _)) = outcomes.iter().find(|(t, _)| !(t.is_finite() && *t > 0.0)) {
        return Err(Undefined::BadDepth(t));
    }
    let successes = outcomes.iter().filter(|(_, y)| *y).count();
    if successes == outcomes.len() {
        return Err(Undefined::AllSuccess);
    }
    if successes == 0 {
        return Err(Undefined::AllFailure);
    }
    let (t_min, t_max) = outcomes
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (t, _)| {
            (lo.min(*t), hi.max(*t))
        });
    if t_min == t_max {
        return Err(Undefined::OneDepth(t_min));
    }
    let max_success = outcomes
        .iter()
        .filter(|(_, y)| *y)
        .map(|(t, _)| *t)
        .fold(f64::NEG_INFINITY, f64::max);
    let min_failure = outcomes
        .iter()
        .filter(|(_, y)| !*y)
        .map(|(t, _)| *t)
        .fold(f64::INFINITY, f64::min);
    let min_success = outcomes
        .iter()
        .filter(|(_, y)| *y)
        .map(|(t, _)| *t)
        .fold(f64::INFINITY, f64::min);
    let max_failure = outcomes
        .iter()
        .filter(|(_, y)| !*y)
        .map(|(t, _)| *t)
        .fold(f64::NEG_INFINITY, f64::max);
    // Complete or quasi-complete separation: the likelihood rises without bound as b → ∓∞.
    if max_success <= min_failure || min_success >= max_failure {
        return Err(separation(outcomes, max_success <= min_failure));
    }
    let points: Vec<(f64, bool)> = outcomes.iter().map(|&(t, y)| (t.ln(), y)).collect();
    // Start from the intercept-only fit.
    let p0 = successes as f64 / points.len() as f64;
    let (mut a, mut b) = ((p0 / (1.0 - p0)).ln(), 0.0);
    let mut ll = log_likelihood(&points, a, b);
    for iteration in 1..=200u32 {
        let (mut g0, mut g1, mut h00, mut h01, mut h11) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for &(x, y) in &points {
            let p = sigmoid(a + b * x);
            let r = f64::from(u8::from(y)) - p;
            let w = p * (1.0 - p);
            g0 += r;
            g1 += r * x;
            h00 += w;
            h01 += w * x;
            h11 += w * x * x;
        }
        let det = h00 * h11 - h01 * h01;
        if !(det.is_finite() && det > 0.0) {
            return Err(Undefined::NotConverged);
        }
        // Newton step: H⁻¹ g with H the (positive) information matrix.
        let da = (h11 * g0 - h01 * g1) / det;
        let db = (h00 * g1 - h01 * g0) / det;
        let mut step = 1.0;
        let (mut na, mut nb, mut nll);
        loop {
            na = a + step * da;
            nb = b + step * db;
            nll = log_likelihood(&points, na, nb);
            if nll >= ll - 1e-12 || step < 1e-10 {
                break;
            }
            step *= 0.5;
        }
        let moved = (na - a).abs().max((nb - b).abs());
        a = na;
        b = nb;
        ll = nll;
        if moved < 1e-13 * (1.0 + a.abs().max(b.abs())) {
            return Ok(LogisticFit {
                intercept: a,
                slope: b,
                iterations: iteration,
            });
        }
    }
    Err(Undefined::NotConverged)
}

/// Why separated outcomes have no horizon, in terms of the accuracy at each depth: below 50%
/// everywhere, at least 50% everywhere, or the two depths the crossing lies between.
fn separation(outcomes: &[(f64, bool)], falling: bool) -> Undefined {
    let mut by_t: Vec<(f64, usize, usize)> = Vec::new();
    let mut sorted = outcomes.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (t, y) in sorted {
        match by_t.last_mut() {
            Some(last) if last.0 == t => {
                last.1 += usize::from(y);
                last.2 += 1;
            }
            _ => by_t.push((t, usize::from(y), 1)),
        }
    }
    let high: Vec<bool> = by_t.iter().map(|&(_, k, n)| 2 * k >= n).collect();
    if high.iter().all(|h| !h) {
        return Undefined::AlwaysBelow;
    }
    if high.iter().all(|h| *h) {
        return Undefined::AlwaysAbove;
    }
    // The first change between a depth at or above 50% and the next one below it (or the
    // reverse when success rises).
    let k = (1..high.len())
        .find(|&i| high[i] != high[i - 1])
        .unwrap_or(1);
    let (below, above) = (by_t[k - 1].0, by_t[k].0);
    if falling {
        Undefined::Separated { below, above }
    } else {
        Undefined::Rising { below, above }
    }
}

/// The depth (or minutes) where the fitted curve crosses 50%.
pub fn horizon_point(outcomes: &[(f64, bool)]) -> Result<(f64, LogisticFit), Undefined> {
    let fit = fit_logistic(outcomes)?;
    // A slope within rounding of 0 is a flat curve (its "crossing" would be rounding noise).
    if fit.slope >= -1e-9 {
        return Err(Undefined::NoDecline(if fit.slope.abs() <= 1e-9 {
            0.0
        } else {
            fit.slope
        }));
    }
    let t = (-fit.intercept / fit.slope).exp();
    if !t.is_finite() {
        return Err(Undefined::NotConverged);
    }
    Ok((t, fit))
}

/// A horizon with its item-bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Horizon {
    pub value: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// Resamples drawn, and those on which the horizon was defined (the others are skipped).
    pub resamples: u32,
    pub defined_resamples: u32,
    /// Set when fewer than 95% of resamples gave a horizon: the interval describes only those.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_withheld: Option<String>,
    /// The crossing lies outside the depths tried (an extrapolation of the fitted curve).
    pub extrapolated: bool,
    pub fit: LogisticFit,
}

/// The horizon of `(t, success)` outcomes (one per item) with a percentile bootstrap interval
/// over items; undefined when the crossing lies beyond the depths tried by more than a factor
/// `max_extrapolation` (≥ 1).
pub fn horizon(
    outcomes: &[(f64, bool)],
    spec: BootstrapSpec,
    max_extrapolation: f64,
) -> Result<Horizon, Undefined> {
    let (value, fit) = horizon_point(outcomes)?;
    let (t_min, t_max) = outcomes
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (t, _)| {
            (lo.min(*t), hi.max(*t))
        });
    let factor = max_extrapolation.max(1.0);
    if value < t_min / factor || value > t_max * factor {
        return Err(Undefined::OutsideRange {
            crossing: value,
            t_min,
            t_max,
            factor,
            side: if value < t_min {
                "is below"
            } else {
                "is above"
            },
        });
    }
    // A resample's crossing counts under the same rule as the point's: beyond the factor it is
    // undefined, and skipped.
    let (lo_t, hi_t) = (t_min / factor, t_max * factor);
    let boot = bootstrap(outcomes, spec, |it| {
        let sample: Vec<(f64, bool)> = it.copied().collect();
        horizon_point(&sample)
            .ok()
            .map(|(t, _)| t)
            .filter(|t| (lo_t..=hi_t).contains(t))
    })
    .ok_or(Undefined::NoData)?;
    Ok(Horizon {
        value,
        // A percentile interval can, rarely, miss the point on a skewed distribution; it is
        // widened to hold it.
        ci_low: boot.estimate.ci_low.min(value),
        ci_high: boot.estimate.ci_high.max(value),
        resamples: boot.resamples,
        defined_resamples: boot.defined_resamples,
        interval_withheld: boot.interval_withheld(),
        extrapolated: value < t_min || value > t_max,
        fit,
    })
}
