//! The terminal table of a faithfulness summary: the pooled score of each hint type first, the
//! headline, then the breakdown per dataset and option count.

use super::summary::{Interval, Rate, Summary};
use cotlens_core::stats::Estimate;
use std::collections::BTreeMap;

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

fn interval(i: Option<&Interval>) -> String {
    match i {
        Some(Interval {
            value,
            ci_low: Some(lo),
            ci_high: Some(hi),
            ..
        }) => format!(
            "{:.0}% [{:.0}, {:.0}]",
            value * 100.0,
            lo * 100.0,
            hi * 100.0
        ),
        Some(i) => format!("{:.0}% [interval withheld]", i.value * 100.0),
        None => "undefined".into(),
    }
}

fn rate(r: Option<Rate>) -> String {
    match r {
        Some(r) => format!("{:.0}% ({}/{})", r.value * 100.0, r.k, r.n),
        None => "—".into(),
    }
}

/// Columns padded to their widest cell.
fn aligned(headers: &[&str], rows: Vec<Vec<String>>) -> String {
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
    let mut out = line(headers.iter().map(|h| h.to_string()).collect());
    out.push('\n');
    for r in rows {
        out.push_str(&line(r));
        out.push('\n');
    }
    out
}

/// The human-readable table: the pooled score of each hint type first, then the breakdown.
pub fn render_table(summary: &Summary) -> String {
    let mut out = String::from("Per hint type (pooled over datasets and option counts):\n");
    let rows: Vec<Vec<String>> = summary
        .hint_scores
        .iter()
        .map(|h| {
            vec![
                h.hint.clone(),
                h.direction.as_str().into(),
                h.n_pairs.to_string(),
                h.n_eligible.to_string(),
                h.n_change_to_hint.to_string(),
                h.n_change_to_other.to_string(),
                num(h.p.map(|e| e.value)),
                num(h.alpha),
                pct(h.raw_score),
                interval(h.normalized_score.as_ref()),
                rate(h.judge_false_positive_rate),
            ]
        })
        .collect();
    out.push_str(&aligned(
        &[
            "hint",
            "dir",
            "n",
            "elig",
            "→hint",
            "→other",
            "p",
            "α",
            "raw (95% CI)",
            "normalized (95% CI)",
            "judge FP on unhinted",
        ],
        rows,
    ));
    out.push('\n');
    for d in &summary.overall.by_direction {
        out.push_str(&format!(
            "HEADLINE mean normalized faithfulness, hint {}: {} — mean over {} of {} hint types",
            d.direction.as_str(),
            interval(d.mean_normalized_score.as_ref()),
            d.hints_included.len(),
            d.hints.len(),
        ));
        if !d.hints_undefined.is_empty() {
            let names: Vec<&str> = d.hints_undefined.iter().map(|u| u.hint.as_str()).collect();
            out.push_str(&format!(" (undefined: {})", names.join(", ")));
        }
        out.push('\n');
    }
    out.push_str("\nBreakdown per dataset and option count:\n");
    let rows: Vec<Vec<String>> = summary
        .cells
        .iter()
        .map(|c| {
            vec![
                c.dataset.clone(),
                c.hint.clone(),
                c.direction.as_str().into(),
                format!("{} options", c.n_options),
                c.n_pairs.to_string(),
                c.n_eligible.to_string(),
                c.n_change_to_hint.to_string(),
                c.n_change_to_other.to_string(),
                c.n_no_change.to_string(),
                num(c.p),
                num(c.alpha),
                pct(c.raw_score),
                interval(c.normalized_score.as_ref()),
                c.n_forced_answers.to_string(),
            ]
        })
        .collect();
    out.push_str(&aligned(
        &[
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
            "forced",
        ],
        rows,
    ));
    out.push('\n');
    let o = &summary.overall;
    out.push_str(&format!(
        "accuracy without hints: {} (n = {})\n",
        pct(o.accuracy_plain),
        o.n_plain_parseable
    ));
    out.push_str(&format!(
        "judge: {}   false positives on unhinted baselines: {}\n",
        summary.judges.join(", "),
        rate(o.judge_false_positive_rate)
    ));
    out.push_str(&format!(
        "items: {}   records: {}   failed: {}   unparseable answers: {}   forced answers: {}{}   skipped: {}\n",
        o.n_items,
        o.n_records,
        o.n_failed,
        o.n_unparseable_answers,
        o.n_forced_answers,
        if summary.exclude_forced { " (excluded)" } else { "" },
        o.n_skipped
    ));
    if o.n_truncated > 0 {
        out.push_str(&format!(
            "truncated: {} completions ran out of --max-tokens inside their reasoning (no answer; not judged)\n",
            o.n_truncated
        ));
    }
    // Why scores are undefined, grouped, so that a small run's table stays readable.
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for h in &summary.hint_scores {
        if let Some(r) = &h.undefined_reason {
            *reasons.entry(r.as_str()).or_default() += 1;
        }
    }
    for (reason, n) in reasons {
        out.push_str(&format!(
            "{n} hint type(s) without a normalized score: {reason}\n"
        ));
    }
    for w in &summary.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out
}
