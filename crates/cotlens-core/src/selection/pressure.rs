//! Optimization pressure of a selection step, in nats (docs/protocols.md §4).
//!
//! Each function gives the KL divergence of the selected distribution from the distribution it
//! selects from (per prompt). Sequential stages add up (the chain rule; exact for thresholds,
//! an upper bound once a best-of-N or top-k stage is involved).

/// Nats → bits.
pub fn bits(nats: f64) -> f64 {
    nats / std::f64::consts::LN_2
}

/// Best-of-N: the analytic upper bound `log N − (N−1)/N` (Beirami et al. 2024 show that it is
/// only an upper bound; it is exact for continuous scores without ties). N ≤ 1 → 0.
pub fn best_of_n(n: usize) -> f64 {
    if n <= 1 {
        return 0.0;
    }
    let n = n as f64;
    n.ln() - (n - 1.0) / n
}

/// A threshold filter: `−log p_accept`, exact. `None` when nothing was accepted (the prompt is
/// dropped, which is counted separately).
pub fn threshold(accepted: usize, offered: usize) -> Option<f64> {
    if accepted == 0 || offered == 0 {
        return None;
    }
    Some(-(accepted as f64 / offered as f64).ln())
}

/// Top-k of N (each of the k best kept, i.e. a uniform draw from the top k), with continuous
/// scores: the selected draw's quantile u has density f(u) = (N/k)·P(Binomial(N−1, u) ≥ N−k),
/// and the KL divergence is ∫ f ln f. Computed by Simpson's rule; k = 1 equals [`best_of_n`],
/// k ≥ N is 0. (The density is at most N/k, so the value never exceeds ln(N/k).)
pub fn top_k(n: usize, k: usize) -> f64 {
    if k == 0 || n <= 1 || k >= n {
        return 0.0;
    }
    if k == 1 {
        return best_of_n(n);
    }
    // ln C(N−1, m) for m in N−k..=N−1, from ln-factorials.
    let ln_fact: Vec<f64> = std::iter::once(0.0)
        .chain((1..n).scan(0.0, |acc, i| {
            *acc += (i as f64).ln();
            Some(*acc)
        }))
        .collect();
    let m_lo = n - k;
    let ln_binom: Vec<f64> = (m_lo..n)
        .map(|m| ln_fact[n - 1] - ln_fact[m] - ln_fact[n - 1 - m])
        .collect();
    let scale = n as f64 / k as f64;
    let density = |u: f64| -> f64 {
        if u <= 0.0 {
            return 0.0;
        }
        if u >= 1.0 {
            return scale;
        }
        let (lu, l1u) = (u.ln(), (1.0 - u).ln());
        let tail: f64 = ln_binom
            .iter()
            .enumerate()
            .map(|(j, lb)| {
                let m = (m_lo + j) as f64;
                (lb + m * lu + (n as f64 - 1.0 - m) * l1u).exp()
            })
            .sum();
        scale * tail.min(1.0)
    };
    let integrand = |u: f64| {
        let f = density(u);
        if f > 0.0 {
            f * f.ln()
        } else {
            0.0
        }
    };
    let intervals = (40 * n).clamp(20_000, 400_000) & !1;
    let h = 1.0 / intervals as f64;
    let mut sum = integrand(0.0) + integrand(1.0);
    for i in 1..intervals {
        let w = if i % 2 == 1 { 4.0 } else { 2.0 };
        sum += w * integrand(i as f64 * h);
    }
    (sum * h / 3.0).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn best_of_n_is_the_closed_form() {
        // log N − (N−1)/N by hand, and the values computed independently (Python math.log).
        assert!(close(best_of_n(2), 2f64.ln() - 0.5, 1e-12));
        assert!(close(best_of_n(16), 16f64.ln() - 15.0 / 16.0, 1e-12));
        assert!(close(best_of_n(64), 64f64.ln() - 63.0 / 64.0, 1e-12));
        assert!(close(best_of_n(2), 0.193_147_180_559_945_3, 1e-12));
        assert!(close(best_of_n(16), 1.835_088_722_239_781_1, 1e-12));
        assert!(close(best_of_n(64), 3.174_508_083_359_671_5, 1e-12));
        assert_eq!(best_of_n(1), 0.0);
        assert_eq!(best_of_n(0), 0.0);
        assert!(close(bits(best_of_n(64)), 4.579_847_069_124_926, 1e-9));
    }

    #[test]
    fn threshold_is_minus_log_acceptance() {
        assert!(close(threshold(1, 2).expect("p"), 2f64.ln(), 1e-12));
        assert!(close(threshold(1, 10).expect("p"), 10f64.ln(), 1e-12));
        assert!(close(threshold(1, 100).expect("p"), 100f64.ln(), 1e-12));
        assert!(close(bits(threshold(1, 2).expect("p")), 1.0, 1e-12));
        assert!(close(threshold(5, 5).expect("p"), 0.0, 1e-12));
        assert_eq!(threshold(0, 8), None);
    }

    #[test]
    fn stages_add_up() {
        // Threshold at p = 0.5, then best-of-16 among the survivors, then a threshold at 0.1.
        let total = threshold(8, 16).expect("p") + best_of_n(16) + threshold(1, 10).expect("p");
        let by_hand = 2f64.ln() + (16f64.ln() - 15.0 / 16.0) + 10f64.ln();
        assert!(close(total, by_hand, 1e-12));
    }

    #[test]
    fn top_k_matches_best_of_n_at_k_1_and_vanishes_at_k_n() {
        for n in [2usize, 16, 64] {
            // The integral route, forced for k = 1, agrees with the closed form.
            let mut ln_density_check = 0.0;
            let intervals = 200_000;
            let h = 1.0 / intervals as f64;
            for i in 0..=intervals {
                let u = i as f64 * h;
                let f = n as f64 * u.powi(n as i32 - 1);
                let g = if f > 0.0 { f * f.ln() } else { 0.0 };
                let w = if i == 0 || i == intervals {
                    1.0
                } else if i % 2 == 1 {
                    4.0
                } else {
                    2.0
                };
                ln_density_check += w * g;
            }
            assert!(close(ln_density_check * h / 3.0, best_of_n(n), 1e-6), "{n}");
            assert_eq!(top_k(n, n), 0.0);
        }
        // Keeping half of two: f(u) = 1 everywhere, KL 0.
        assert!(close(top_k(2, 1), best_of_n(2), 1e-12));
        // Monotone in k and bounded by ln(N/k).
        let mut last = f64::INFINITY;
        for k in 1..16 {
            let v = top_k(16, k);
            assert!(v <= last + 1e-9, "k={k}");
            assert!(v <= (16.0 / k as f64).ln() + 1e-9, "k={k}");
            last = v;
        }
        // Top-2 of 3 by hand: f(u) = 1.5·(1 − (1−u)²) ... = 1.5·P(Bin(2,u) ≥ 1) = 1.5(2u − u²).
        let intervals = 200_000;
        let h = 1.0 / intervals as f64;
        let mut s = 0.0;
        for i in 0..=intervals {
            let u = i as f64 * h;
            let f: f64 = 1.5 * (2.0 * u - u * u);
            let g = if f > 0.0 { f * f.ln() } else { 0.0 };
            let w = if i == 0 || i == intervals {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            };
            s += w * g;
        }
        assert!(close(top_k(3, 2), s * h / 3.0, 1e-6));
    }
}
