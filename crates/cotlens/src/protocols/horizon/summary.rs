//! The statistics of a horizon run (PROTOCOLS §8): per family × condition the accuracy at each
//! depth (Wilson) and the horizon (logistic fit in log depth, item bootstrap); the filler and
//! repeat gains over no-CoT per depth and over all depths (paired, Tango score intervals).
//!
//! An unparseable answer counts as a failure (the model did not give the answer) and is counted
//! in `n_unparseable`; a failed request, or an at-once answer that came with reasoning, is left
//! out of n and counted.

use super::unit::Record;
use super::Settings;
use crate::engine::RequestStatus;
use cotlens_core::free_response::NoCotMethod;
use cotlens_core::horizon::fit::{horizon, Horizon};
use cotlens_core::horizon::{Axis, Condition};
use cotlens_core::stats::{paired_difference, wilson, BootstrapSpec, Estimate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Point {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<f64>,
    /// Answers counted.
    pub n: u64,
    pub n_correct: u64,
    /// Of n: no answer could be read (scored as a failure).
    pub n_unparseable: u64,
    pub n_failed: u64,
    pub n_excluded_reasoning: u64,
    pub accuracy: Option<Estimate>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FamilySummary {
    pub family: String,
    pub axis: Axis,
    pub condition: Condition,
    pub n: u64,
    pub n_correct: u64,
    pub n_unparseable: u64,
    /// Of the unparseable: cut at the token limit (finish reason "length").
    pub n_truncated: u64,
    pub n_failed: u64,
    pub n_excluded_reasoning: u64,
    pub points: Vec<Point>,
    pub horizon: Option<Horizon>,
    pub undefined_reason: Option<String>,
    /// For a curve whose outcomes are separated by depth: the two depths it crosses 50%
    /// between (no point estimate exists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crossing_between: Option<[f64; 2]>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Gain {
    pub family: String,
    pub condition: Condition,
    pub baseline: Condition,
    /// The depth (or minutes) of the pairs; both absent: every depth pooled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<f64>,
    /// Items counted under both conditions.
    pub n_pairs: u64,
    pub accuracy: Option<Estimate>,
    pub baseline_accuracy: Option<Estimate>,
    /// accuracy − baseline accuracy over the pairs.
    pub gain: Option<Estimate>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub protocol: String,
    pub model: String,
    pub no_cot_method: NoCotMethod,
    pub conditions: Vec<Condition>,
    pub bootstrap: BootstrapSpec,
    pub n_items: u64,
    pub families: Vec<FamilySummary>,
    pub gains: Vec<Gain>,
    pub warnings: Vec<String>,
}

/// An x value as a map key: depths and minutes are positive, so their bits order them.
fn key(x: f64) -> u64 {
    x.to_bits()
}

fn x_of(r: &Record, axis: Axis) -> Option<f64> {
    match axis {
        Axis::Depth => r.depth.map(f64::from),
        Axis::Minutes => r.minutes,
    }
    .filter(|x| x.is_finite() && *x > 0.0)
}

fn at(axis: Axis, x: f64) -> (Option<u32>, Option<f64>) {
    match axis {
        Axis::Depth => (Some(x as u32), None),
        Axis::Minutes => (None, Some(x)),
    }
}

fn point(axis: Axis, x: f64, rs: &[&Record]) -> Point {
    let counted: Vec<bool> = rs.iter().filter_map(|r| r.counted()).collect();
    let n_correct = counted.iter().filter(|c| **c).count() as u64;
    let (depth, minutes) = at(axis, x);
    Point {
        depth,
        minutes,
        n: counted.len() as u64,
        n_correct,
        n_unparseable: rs
            .iter()
            .filter(|r| r.counted().is_some() && r.unparseable())
            .count() as u64,
        n_failed: rs.iter().filter(|r| r.status != RequestStatus::Ok).count() as u64,
        n_excluded_reasoning: rs
            .iter()
            .filter(|r| r.status == RequestStatus::Ok && r.counted().is_none())
            .count() as u64,
        accuracy: wilson(n_correct, counted.len() as u64),
    }
}

pub fn summarize(
    records: &[Record],
    settings: &Settings,
    axes: &[(String, Axis)],
    no_cot_method: NoCotMethod,
) -> Summary {
    let mut warnings = Vec::new();
    // In item-id order: the bootstrap draws the same resamples whatever order units finished in.
    let mut sorted: Vec<&Record> = records.iter().collect();
    sorted.sort_by(|a, b| a.item_id.cmp(&b.item_id).then(a.key.cmp(&b.key)));
    let mut families = Vec::new();
    let mut gains = Vec::new();
    for (family, axis) in axes {
        let axis = *axis;
        let of_family: Vec<&Record> = sorted
            .iter()
            .copied()
            .filter(|r| r.family == *family)
            .collect();
        for &condition in &settings.conditions {
            let rs: Vec<&Record> = of_family
                .iter()
                .copied()
                .filter(|r| r.condition == condition)
                .collect();
            let mut by_x: BTreeMap<u64, Vec<&Record>> = BTreeMap::new();
            for r in &rs {
                if let Some(x) = x_of(r, axis) {
                    by_x.entry(key(x)).or_default().push(r);
                }
            }
            let points: Vec<Point> = by_x
                .iter()
                .map(|(k, rs)| point(axis, f64::from_bits(*k), rs))
                .collect();
            let outcomes: Vec<(f64, bool)> = rs
                .iter()
                .filter_map(|r| Some((x_of(r, axis)?, r.counted()?)))
                .collect();
            let (h, undefined_reason, crossing_between) =
                match horizon(&outcomes, settings.bootstrap, settings.max_extrapolation) {
                    // No task has less than one serial step: a crossing below depth 1 only
                    // says that accuracy is below 50% at every depth tried.
                    Ok(h) if axis == Axis::Depth && h.value < 1.0 => (
                        None,
                        Some(format!(
                            "the fitted curve crosses 50% at depth {:.2}, below 1: accuracy is below 50% at every depth tried",
                            h.value
                        )),
                        None,
                    ),
                    Ok(h) => (Some(h), None, None),
                    Err(e) => (None, Some(e.to_string()), e.bracket()),
                };
            let sum = |f: fn(&Point) -> u64| points.iter().map(f).sum::<u64>();
            let n_truncated = rs
                .iter()
                .filter(|r| r.counted().is_some() && r.truncated())
                .count() as u64;
            let s = FamilySummary {
                family: family.clone(),
                axis,
                condition,
                n: sum(|p| p.n),
                n_correct: sum(|p| p.n_correct),
                n_unparseable: sum(|p| p.n_unparseable),
                n_truncated,
                n_failed: sum(|p| p.n_failed),
                n_excluded_reasoning: sum(|p| p.n_excluded_reasoning),
                points,
                horizon: h,
                undefined_reason,
                crossing_between,
            };
            if s.n_excluded_reasoning > 0 {
                warnings.push(format!(
                    "{family} {condition}: {} answers that should have come at once came with reasoning and are left out; this backend may not let reasoning be switched off",
                    s.n_excluded_reasoning
                ));
            }
            if s.n_truncated > 0 {
                let flag = if condition.answers_at_once() {
                    "--no-cot-max-tokens"
                } else {
                    "--max-tokens"
                };
                warnings.push(format!(
                    "{family} {condition}: {} answers were cut at {flag} before a number could be read (scored as failures)",
                    s.n_truncated
                ));
            }
            if s.n_failed > 0 {
                warnings.push(format!(
                    "{family} {condition}: {} requests failed and are left out (resume to retry them)",
                    s.n_failed
                ));
            }
            if let Some(h) = &s.horizon {
                if let Some(why) = &h.interval_withheld {
                    warnings.push(format!("{family} {condition}: horizon interval: {why}"));
                }
            }
            families.push(s);
        }
        gains.extend(family_gains(family, axis, &of_family, &settings.conditions));
    }
    let needs_baseline = settings
        .conditions
        .iter()
        .any(|c| matches!(c, Condition::Filler(_) | Condition::Repeat(_)));
    if needs_baseline && !settings.conditions.contains(&Condition::NoCot) {
        warnings
            .push("filler and repeat gains need no-cot among --conditions; none reported".into());
    }
    let mut ids: Vec<&str> = records.iter().map(|r| r.item_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    Summary {
        protocol: "horizon".into(),
        model: settings.model.clone(),
        no_cot_method,
        conditions: settings.conditions.clone(),
        bootstrap: settings.bootstrap,
        n_items: ids.len() as u64,
        families,
        gains,
        warnings,
    }
}

/// Filler and repeat against no-CoT, paired by item: per depth, then every depth pooled.
fn family_gains(
    family: &str,
    axis: Axis,
    records: &[&Record],
    conditions: &[Condition],
) -> Vec<Gain> {
    let baseline = Condition::NoCot;
    if !conditions.contains(&baseline) {
        return Vec::new();
    }
    let outcome = |c: Condition| -> BTreeMap<&str, (f64, bool)> {
        records
            .iter()
            .filter(|r| r.condition == c)
            .filter_map(|r| Some((r.item_id.as_str(), (x_of(r, axis)?, r.counted()?))))
            .collect()
    };
    let base = outcome(baseline);
    let mut out = Vec::new();
    for &c in conditions {
        if !matches!(c, Condition::Filler(_) | Condition::Repeat(_)) {
            continue;
        }
        let treated = outcome(c);
        // (x, (treated, baseline)) per item counted under both, in item order.
        let pairs: Vec<(f64, (bool, bool))> = treated
            .iter()
            .filter_map(|(id, (x, t))| base.get(id).map(|(_, b)| (*x, (*t, *b))))
            .collect();
        let mut xs: Vec<u64> = pairs.iter().map(|(x, _)| key(*x)).collect();
        xs.sort_unstable();
        xs.dedup();
        let gain = |at_x: Option<f64>| {
            let ps: Vec<(bool, bool)> = pairs
                .iter()
                .filter(|(x, _)| at_x.is_none_or(|a| key(a) == key(*x)))
                .map(|(_, p)| *p)
                .collect();
            let (depth, minutes) = at_x.map_or((None, None), |x| at(axis, x));
            let n = ps.len() as u64;
            Gain {
                family: family.to_string(),
                condition: c,
                baseline,
                depth,
                minutes,
                n_pairs: n,
                accuracy: wilson(ps.iter().filter(|p| p.0).count() as u64, n),
                baseline_accuracy: wilson(ps.iter().filter(|p| p.1).count() as u64, n),
                gain: paired_difference(&ps),
            }
        };
        for k in &xs {
            out.push(gain(Some(f64::from_bits(*k))));
        }
        out.push(gain(None));
    }
    out
}

fn pct(e: &Option<Estimate>) -> String {
    e.map_or("—".into(), |e| {
        format!(
            "{:.0}% [{:.0}, {:.0}]",
            e.value * 100.0,
            e.ci_low * 100.0,
            e.ci_high * 100.0
        )
    })
}

fn x_label(depth: Option<u32>, minutes: Option<f64>) -> String {
    match (depth, minutes) {
        (Some(d), _) => format!("d{d}"),
        (_, Some(m)) => format!("{m}min"),
        _ => "all".into(),
    }
}

pub(super) fn render_table(s: &Summary) -> String {
    let mut out = format!(
        "horizon · {} · {} items · answers at once by {:?}\n",
        s.model, s.n_items, s.no_cot_method
    );
    for f in &s.families {
        let curve: Vec<String> = f
            .points
            .iter()
            .map(|p| {
                format!(
                    "{} {} n{}",
                    x_label(p.depth, p.minutes),
                    pct(&p.accuracy),
                    p.n
                )
            })
            .collect();
        let h = match (&f.horizon, &f.undefined_reason) {
            (Some(h), _) => format!(
                "horizon {:.2} {}{}",
                h.value,
                match &h.interval_withheld {
                    Some(_) => "(interval withheld)".to_string(),
                    None => format!("[{:.2}, {:.2}]", h.ci_low, h.ci_high),
                },
                if h.extrapolated {
                    " (extrapolated)"
                } else {
                    ""
                }
            ),
            (None, Some(why)) => format!("horizon undefined: {why}"),
            (None, None) => "horizon undefined".into(),
        };
        out.push_str(&format!(
            "  {:<12} {:<11} {} · {h}\n",
            f.family,
            f.condition.to_string(),
            curve.join(" · ")
        ));
    }
    for g in s
        .gains
        .iter()
        .filter(|g| g.depth.is_none() && g.minutes.is_none())
    {
        out.push_str(&format!(
            "  gain {:<11} over {} on {:<12} {:+.0} pts [{:+.0}, {:+.0}] (n {} pairs)\n",
            g.condition.to_string(),
            g.baseline,
            g.family,
            g.gain.map_or(f64::NAN, |e| e.value * 100.0),
            g.gain.map_or(f64::NAN, |e| e.ci_low * 100.0),
            g.gain.map_or(f64::NAN, |e| e.ci_high * 100.0),
            g.n_pairs
        ));
    }
    for w in &s.warnings {
        out.push_str(&format!("  warning: {w}\n"));
    }
    out
}

const COLOURS: [&str; 6] = [
    "#1b6ca8", "#d1495b", "#edae49", "#00798c", "#6a4c93", "#30638e",
];

/// Accuracy against depth (log scale), one panel per family, one curve per condition, each
/// point with its Wilson whisker and each defined horizon as a dashed vertical line.
pub(super) fn curves_svg(s: &Summary) -> String {
    let mut panels: Vec<&str> = Vec::new();
    for f in &s.families {
        if !panels.contains(&f.family.as_str()) {
            panels.push(&f.family);
        }
    }
    let (pw, ph, pad) = (360.0, 260.0, 48.0);
    let width = pw * panels.len().clamp(1, 2) as f64;
    let rows = panels.len().div_ceil(2).max(1);
    let legend = 18.0 * s.conditions.len() as f64 + 10.0;
    let height = ph * rows as f64 + legend;
    let mut svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
    let esc = cotlens_core::markup::esc;
    for (i, family) in panels.iter().enumerate() {
        let (ox, oy) = ((i % 2) as f64 * pw, (i / 2) as f64 * ph);
        let curves: Vec<&FamilySummary> =
            s.families.iter().filter(|f| f.family == *family).collect();
        let xs: Vec<f64> = curves
            .iter()
            .flat_map(|f| {
                f.points
                    .iter()
                    .filter_map(|p| p.depth.map(f64::from).or(p.minutes))
            })
            .collect();
        let lo = xs.iter().copied().fold(f64::INFINITY, f64::min).max(1e-9);
        let hi = xs
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max)
            .max(lo * 2.0);
        let (l0, l1) = (lo.ln(), hi.ln());
        // An inner margin keeps end points off the frame.
        let x = |v: f64| {
            ox + pad
                + (0.06 + 0.88 * ((v.max(1e-9).ln() - l0) / (l1 - l0)).clamp(-0.05, 1.05))
                    * (pw - 1.5 * pad)
        };
        let y = |a: f64| oy + ph - pad - a.clamp(0.0, 1.0) * (ph - 1.6 * pad);
        let axis = curves.first().map_or(Axis::Depth, |f| f.axis);
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" font-weight=\"bold\">{}</text>\n",
            ox + pad,
            oy + 20.0,
            esc(family)
        ));
        svg.push_str(&format!("<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#444\"/>\n", ox + pad, y(1.0), pw - 1.5 * pad, y(0.0) - y(1.0)));
        for a in [0.0, 0.5, 1.0] {
            svg.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{a}</text>\n",
                ox + pad - 4.0,
                y(a) + 4.0
            ));
        }
        svg.push_str(&format!("<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#bbb\" stroke-dasharray=\"2 3\"/>\n", ox + pad, y(0.5), ox + pw - 0.5 * pad, y(0.5)));
        let mut ticks = xs.clone();
        ticks.sort_by(f64::total_cmp);
        ticks.dedup();
        if ticks.len() <= 8 {
            for t in &ticks {
                svg.push_str(&format!(
                    "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{t}</text>\n",
                    x(*t),
                    y(0.0) + 14.0
                ));
            }
        }
        svg.push_str(&format!("<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{} (log scale)</text>\n", ox + pad + (pw - 1.5 * pad) / 2.0, y(0.0) + 30.0, if axis == Axis::Minutes { "human minutes" } else { "depth" }));
        for f in &curves {
            let ci = s
                .conditions
                .iter()
                .position(|c| *c == f.condition)
                .unwrap_or(0);
            let colour = COLOURS[ci % COLOURS.len()];
            // Conditions sit a few pixels apart so that equal curves stay visible.
            let shift = 3.0 * ci as f64 - 1.5 * (s.conditions.len() as f64 - 1.0);
            let x = |v: f64| x(v) + shift;
            let pts: Vec<(f64, Estimate)> = f
                .points
                .iter()
                .filter_map(|p| Some((p.depth.map(f64::from).or(p.minutes)?, p.accuracy?)))
                .collect();
            let path: Vec<String> = pts
                .iter()
                .map(|(v, e)| format!("{:.1},{:.1}", x(*v), y(e.value)))
                .collect();
            if path.len() > 1 {
                svg.push_str(&format!("<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>\n", path.join(" ")));
            }
            for (v, e) in &pts {
                svg.push_str(&format!(
                    "<g><title>{} {}: {:.2} [{:.2}, {:.2}]</title><line x1=\"{cx:.1}\" y1=\"{:.1}\" x2=\"{cx:.1}\" y2=\"{:.1}\" stroke=\"{colour}\"/><circle cx=\"{cx:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{colour}\"/></g>\n",
                    f.condition, v, e.value, e.ci_low, e.ci_high, y(e.ci_low), y(e.ci_high), y(e.value), cx = x(*v)
                ));
            }
            if let Some(h) = &f.horizon {
                let hx = x(h.value);
                svg.push_str(&format!("<g><title>{} horizon {:.2} [{:.2}, {:.2}]</title><line x1=\"{hx:.1}\" y1=\"{:.1}\" x2=\"{hx:.1}\" y2=\"{:.1}\" stroke=\"{colour}\" stroke-dasharray=\"5 3\"/></g>\n", f.condition, h.value, h.ci_low, h.ci_high, y(1.0), y(0.0)));
            }
        }
    }
    for (i, c) in s.conditions.iter().enumerate() {
        let ly = ph * rows as f64 + 14.0 + 18.0 * i as f64;
        svg.push_str(&format!("<line x1=\"{pad}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{}\" stroke-width=\"2\"/><text x=\"{:.1}\" y=\"{:.1}\">{c} (dashed: its horizon)</text>\n", ly - 4.0, pad + 24.0, ly - 4.0, COLOURS[i % COLOURS.len()], pad + 30.0, ly));
    }
    svg.push_str("</svg>\n");
    svg
}
