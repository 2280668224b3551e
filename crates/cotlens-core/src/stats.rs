//! Statistics shared by every protocol: Wilson intervals for proportions, percentile bootstrap
//! intervals, Cohen's κ. Every estimate travels with its interval and its n.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// A point estimate with a 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub value: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// A proportion with its Wilson score interval; `None` when `n == 0` (no data, no estimate).
pub fn wilson(successes: u64, n: u64) -> Option<Estimate> {
    if n == 0 {
        return None;
    }
    debug_assert!(successes <= n);
    let n_f = n as f64;
    let p = successes as f64 / n_f;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n_f;
    let centre = (p + z2 / (2.0 * n_f)) / denom;
    let half = Z95 * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt() / denom;
    // Clamp against rounding at p = 0 or 1, where a bound meets the estimate.
    Some(Estimate {
        value: p,
        ci_low: (centre - half).clamp(0.0, p),
        ci_high: (centre + half).clamp(p, 1.0),
    })
}

/// The mean of `values` with a normal-approximation (CLT) 95% interval, mean ± z·s/√n, for
/// large samples where a bootstrap would be slow; `None` for no values. One value: a point.
pub fn mean_interval(values: &[f64]) -> Option<Estimate> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() == 1 {
        return Some(Estimate {
            value: mean,
            ci_low: mean,
            ci_high: mean,
        });
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let half = Z95 * (var / n).sqrt();
    Some(Estimate {
        value: mean,
        ci_low: mean - half,
        ci_high: mean + half,
    })
}

/// The difference a − b of two independent normal-approximation means (from
/// [`mean_interval`]), with the interval from their standard errors combined: a before/after
/// comparison of two corpora.
pub fn difference_of_means(a: &Estimate, b: &Estimate) -> Estimate {
    let se = |e: &Estimate| (e.ci_high - e.ci_low) / (2.0 * Z95);
    let d = a.value - b.value;
    let half = Z95 * (se(a).powi(2) + se(b).powi(2)).sqrt();
    Estimate {
        value: d,
        ci_low: d - half,
        ci_high: d + half,
    }
}

/// Settings of a percentile bootstrap; recorded with every bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootstrapSpec {
    pub resamples: u32,
    pub seed: u64,
}

impl Default for BootstrapSpec {
    fn default() -> Self {
        Self {
            resamples: 2000,
            seed: 0,
        }
    }
}

/// Percentile bootstrap interval of `statistic` over `units` resampled with replacement.
///
/// Resamples on which the statistic is undefined (`None`) are skipped; the result reports how
/// many were defined. Returns `None` when the statistic is undefined on the full sample.
pub fn bootstrap<T, F>(units: &[T], spec: BootstrapSpec, statistic: F) -> Option<BootstrapEstimate>
where
    F: Fn(&mut dyn Iterator<Item = &T>) -> Option<f64>,
{
    let value = statistic(&mut units.iter())?;
    if units.is_empty() {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut values = Vec::with_capacity(spec.resamples as usize);
    let mut indices = vec![0usize; units.len()];
    for _ in 0..spec.resamples {
        for slot in indices.iter_mut() {
            *slot = rng.random_range(0..units.len());
        }
        if let Some(v) = statistic(&mut indices.iter().map(|&i| &units[i])) {
            values.push(v);
        }
    }
    let defined = values.len() as u32;
    if values.is_empty() {
        return Some(BootstrapEstimate {
            estimate: Estimate {
                value,
                ci_low: value,
                ci_high: value,
            },
            resamples: spec.resamples,
            defined_resamples: 0,
        });
    }
    values.sort_by(f64::total_cmp);
    let ci_low = quantile_sorted(&values, 0.025);
    let ci_high = quantile_sorted(&values, 0.975);
    Some(BootstrapEstimate {
        estimate: Estimate {
            value,
            ci_low,
            ci_high,
        },
        resamples: spec.resamples,
        defined_resamples: defined,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BootstrapEstimate {
    #[serde(flatten)]
    pub estimate: Estimate,
    /// Resamples drawn.
    pub resamples: u32,
    /// Resamples on which the statistic was defined (the others were skipped).
    pub defined_resamples: u32,
}

/// The share of defined resamples below which an interval is withheld (docs/protocols.md §1).
pub const MIN_DEFINED_SHARE: f64 = 0.95;

impl BootstrapEstimate {
    /// Why the interval should not be reported: fewer than [`MIN_DEFINED_SHARE`] of the
    /// resamples gave a defined statistic, so the interval would describe only the resamples
    /// where it happens to exist.
    pub fn interval_withheld(&self) -> Option<String> {
        let share = f64::from(self.defined_resamples) / f64::from(self.resamples.max(1));
        (share < MIN_DEFINED_SHARE).then(|| {
            format!(
                "only {} of {} bootstrap resamples were defined (< {:.0}%)",
                self.defined_resamples,
                self.resamples,
                MIN_DEFINED_SHARE * 100.0
            )
        })
    }
}

/// Linear-interpolation quantile (type 7) of sorted data.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    debug_assert!(!sorted.is_empty());
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The paired difference of two proportions, mean(x) − mean(y) over pairs `(x, y)` of outcomes
/// on the same units, with Tango's (1998) asymptotic score interval: the Δ whose score statistic
/// T(Δ) = (b − c − nΔ) / √(n(2q̃ + Δ(1 − Δ))) lies within ±z, where b counts pairs (true,
/// false), c pairs (false, true) and q̃ is the restricted maximum-likelihood estimate of c/n
/// under Δ. Unlike a bootstrap, or Newcombe's hybrid interval when every pair agrees, it keeps a
/// width when there are no discordant pairs. `None` for no pairs.
pub fn paired_difference(pairs: &[(bool, bool)]) -> Option<Estimate> {
    if pairs.is_empty() {
        return None;
    }
    let n = pairs.len() as f64;
    let b = pairs.iter().filter(|p| p.0 && !p.1).count() as f64;
    let c = pairs.iter().filter(|p| !p.0 && p.1).count() as f64;
    let theta = (b - c) / n;
    let score = |delta: f64| -> f64 {
        let a2 = 2.0 * n;
        let bq = -b - c + (2.0 * n - b + c) * delta;
        let cq = -c * delta * (1.0 - delta);
        let q = ((bq * bq - 4.0 * a2 * cq).max(0.0).sqrt() - bq) / (2.0 * a2);
        let var = n * (2.0 * q + delta * (1.0 - delta));
        let num = b - c - n * delta;
        if var > 0.0 {
            num / var.sqrt()
        } else if num > 0.0 {
            f64::INFINITY
        } else if num < 0.0 {
            f64::NEG_INFINITY
        } else {
            0.0
        }
    };
    // T falls as Δ rises: the limits solve T(L) = z and T(U) = −z, found by bisection.
    let solve = |target: f64, mut lo: f64, mut hi: f64| -> f64 {
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if score(mid) > target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    };
    let ci_low = if theta <= -1.0 {
        -1.0
    } else {
        solve(Z95, -1.0, theta)
    };
    let ci_high = if theta >= 1.0 {
        1.0
    } else {
        solve(-Z95, theta, 1.0)
    };
    Some(Estimate {
        value: theta,
        ci_low: ci_low.clamp(-1.0, theta),
        ci_high: ci_high.clamp(theta, 1.0),
    })
}

/// Cohen's κ for two raters' binary verdicts on the same units. `None` when there are no units or
/// chance agreement is 1 (both raters constant and equal), where κ is undefined.
pub fn cohens_kappa(pairs: &[(bool, bool)]) -> Option<f64> {
    if pairs.is_empty() {
        return None;
    }
    let n = pairs.len() as f64;
    let agree = pairs.iter().filter(|(a, b)| a == b).count() as f64 / n;
    let a_yes = pairs.iter().filter(|(a, _)| *a).count() as f64 / n;
    let b_yes = pairs.iter().filter(|(_, b)| *b).count() as f64 / n;
    let chance = a_yes * b_yes + (1.0 - a_yes) * (1.0 - b_yes);
    if (1.0 - chance).abs() < 1e-12 {
        return None;
    }
    Some((agree - chance) / (1.0 - chance))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wilson_matches_reference_values() {
        // Reference values: the closed form evaluated independently in Python (as statsmodels does).
        let e = wilson(8, 20).expect("n > 0");
        assert!((e.value - 0.4).abs() < 1e-12);
        assert!((e.ci_low - 0.218_806_53).abs() < 1e-6, "{e:?}");
        assert!((e.ci_high - 0.613_418_5).abs() < 1e-6, "{e:?}");
        let zero = wilson(0, 10).expect("n > 0");
        assert_eq!(zero.ci_low, 0.0);
        assert!((zero.ci_high - 0.277_532_8).abs() < 1e-6, "{zero:?}");
        assert!(wilson(0, 0).is_none());
    }

    #[test]
    fn kappa_hand_computed() {
        // 10 units: both yes 4, both no 3, a-only 2, b-only 1. po = 0.7; pa = 0.6, pb = 0.5;
        // pe = 0.3 + 0.2 = 0.5; κ = 0.4.
        let mut pairs = vec![(true, true); 4];
        pairs.extend(vec![(false, false); 3]);
        pairs.extend(vec![(true, false); 2]);
        pairs.push((false, true));
        assert!((cohens_kappa(&pairs).expect("defined") - 0.4).abs() < 1e-12);
        assert_eq!(cohens_kappa(&[(true, true), (true, true)]), None);
        assert_eq!(cohens_kappa(&[]), None);
    }

    #[test]
    fn bootstrap_is_seeded_and_brackets_the_mean() {
        let data: Vec<f64> = (0..200).map(|i| (i % 7) as f64).collect();
        let mean = |it: &mut dyn Iterator<Item = &f64>| {
            let (s, n) = it.fold((0.0, 0), |(s, n), x| (s + x, n + 1));
            (n > 0).then(|| s / n as f64)
        };
        let spec = BootstrapSpec {
            resamples: 500,
            seed: 7,
        };
        let a = bootstrap(&data, spec, mean).expect("defined");
        let b = bootstrap(&data, spec, mean).expect("defined");
        assert_eq!(a, b);
        assert!(a.estimate.ci_low < a.estimate.value && a.estimate.value < a.estimate.ci_high);
        assert_eq!(a.defined_resamples, 500);
    }

    #[test]
    fn quantiles() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.0), 1.0);
        assert_eq!(quantile_sorted(&v, 1.0), 4.0);
        assert!((quantile_sorted(&v, 0.5) - 2.5).abs() < 1e-12);
    }

    proptest! {
        #[test]
        fn wilson_bounds_ordered_within_unit_interval(n in 1u64..10_000, frac in 0.0f64..=1.0) {
            let k = ((n as f64) * frac).floor() as u64;
            let e = wilson(k, n).expect("n > 0");
            prop_assert!(0.0 <= e.ci_low && e.ci_low <= e.value && e.value <= e.ci_high && e.ci_high <= 1.0);
        }

        #[test]
        fn kappa_at_most_one(pairs in proptest::collection::vec((any::<bool>(), any::<bool>()), 1..200)) {
            if let Some(k) = cohens_kappa(&pairs) {
                prop_assert!((-1.0 - 1e-12..=1.0 + 1e-12).contains(&k));
            }
        }
    }

    #[test]
    fn mean_interval_by_hand() {
        // 1, 2, 3, 4: mean 2.5, s² = 5/3, half = 1.96·√(5/12).
        let e = mean_interval(&[1.0, 2.0, 3.0, 4.0]).expect("some");
        let half = Z95 * (5.0f64 / 12.0).sqrt();
        assert!((e.value - 2.5).abs() < 1e-12);
        assert!((e.ci_high - 2.5 - half).abs() < 1e-12 && (2.5 - e.ci_low - half).abs() < 1e-12);
        assert_eq!(mean_interval(&[]), None);
        assert_eq!(mean_interval(&[0.5]).map(|e| e.ci_low), Some(0.5));
    }

    #[test]
    fn difference_of_means_combines_standard_errors() {
        // se 0.3 and 0.4 → combined 0.5.
        let a = Estimate {
            value: 2.0,
            ci_low: 2.0 - Z95 * 0.3,
            ci_high: 2.0 + Z95 * 0.3,
        };
        let b = Estimate {
            value: 1.5,
            ci_low: 1.5 - Z95 * 0.4,
            ci_high: 1.5 + Z95 * 0.4,
        };
        let d = difference_of_means(&a, &b);
        assert!((d.value - 0.5).abs() < 1e-12);
        assert!((d.ci_high - 0.5 - Z95 * 0.5).abs() < 1e-12);
        assert!((0.5 - d.ci_low - Z95 * 0.5).abs() < 1e-12);
    }

    /// Tango's score statistic at Δ, written out again for the tests.
    fn tango_t(b: f64, c: f64, n: f64, delta: f64) -> f64 {
        let (a2, bq, cq) = (
            2.0 * n,
            -b - c + (2.0 * n - b + c) * delta,
            -c * delta * (1.0 - delta),
        );
        let q = ((bq * bq - 4.0 * a2 * cq).sqrt() - bq) / (2.0 * a2);
        (b - c - n * delta) / (n * (2.0 * q + delta * (1.0 - delta))).sqrt()
    }

    fn pairs(both: usize, b: usize, c: usize, neither: usize) -> Vec<(bool, bool)> {
        let mut p = vec![(true, true); both];
        p.extend(std::iter::repeat_n((true, false), b));
        p.extend(std::iter::repeat_n((false, true), c));
        p.extend(std::iter::repeat_n((false, false), neither));
        p
    }

    #[test]
    fn paired_difference_solves_the_score_equations() {
        for (both, b, c, neither) in [
            (36, 12, 2, 0),
            (1, 1, 7, 12),
            (59, 6, 16, 80),
            (3, 4, 1, 12),
        ] {
            let n = (both + b + c + neither) as f64;
            let e = paired_difference(&pairs(both, b, c, neither)).expect("some");
            assert!((e.value - (b as f64 - c as f64) / n).abs() < 1e-12);
            assert!(
                (tango_t(b as f64, c as f64, n, e.ci_low) - Z95).abs() < 1e-6,
                "{e:?}"
            );
            assert!(
                (tango_t(b as f64, c as f64, n, e.ci_high) + Z95).abs() < 1e-6,
                "{e:?}"
            );
        }
    }

    #[test]
    fn paired_difference_keeps_a_width_when_every_pair_agrees() {
        // 6 of 12 correct under both conditions, no discordant pair: Newcombe's hybrid interval
        // collapses to [0, 0] here; the score interval does not.
        for (both, neither) in [(6, 6), (12, 0), (0, 12), (9, 1)] {
            let e = paired_difference(&pairs(both, 0, 0, neither)).expect("some");
            assert_eq!(e.value, 0.0);
            assert!(
                e.ci_low < -0.1 && e.ci_high > 0.1,
                "{both}/{neither}: {e:?}"
            );
            assert!((e.ci_low + e.ci_high).abs() < 1e-9, "symmetric: {e:?}");
        }
        // All discordant one way: the point is at the bound.
        let e = paired_difference(&pairs(0, 5, 0, 0)).expect("some");
        assert_eq!((e.value, e.ci_high), (1.0, 1.0));
        assert!(e.ci_low < 1.0 && e.ci_low > 0.0);
        assert_eq!(paired_difference(&[]), None);
    }

    proptest::proptest! {
        #[test]
        fn paired_difference_contains_its_point(pairs in proptest::collection::vec((proptest::bool::ANY, proptest::bool::ANY), 1..60)) {
            let e = paired_difference(&pairs).expect("some");
            let mean = |f: fn(&(bool, bool)) -> bool| pairs.iter().filter(|p| f(p)).count() as f64 / pairs.len() as f64;
            proptest::prop_assert!((e.value - (mean(|p| p.0) - mean(|p| p.1))).abs() < 1e-12);
            proptest::prop_assert!(-1.0 <= e.ci_low && e.ci_low <= e.value && e.value <= e.ci_high && e.ci_high <= 1.0);
        }
    }
}
