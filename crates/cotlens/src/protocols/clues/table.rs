//! How a clues summary is shown: the terminal table and the headline chart (`clues.svg`).

use super::summary::{ClueSummary, Summary};
use cotlens_core::stats::{BootstrapEstimate, Estimate};

fn pct(e: &Option<Estimate>) -> String {
    match e {
        Some(e) => format!("{:.2} [{:.2}, {:.2}]", e.value, e.ci_low, e.ci_high),
        None => "—".into(),
    }
}

fn pct_b(e: &Option<BootstrapEstimate>) -> String {
    match e {
        Some(b) if b.interval_withheld().is_some() => {
            format!("{:.2} (interval withheld)", b.estimate.value)
        }
        _ => pct(&e.map(|b| b.estimate)),
    }
}

/// The terminal table.
pub(super) fn render_table(s: &Summary) -> String {
    let mut out = format!(
        "clues: {} · target {:?} · {} items · judge {} · monitor {} (flag at ≥ {})\n\n",
        s.model, s.target, s.n_items, s.judge, s.monitor, s.monitor_threshold
    );
    out.push_str(&format!(
        "  {:<20} {:>4} {:<24} {:<24} {:<24} {:<24} {:<24} {:<9}\n",
        "clue",
        "n",
        "no-CoT use",
        "CoT use",
        "faithfulness (n)",
        "monitor TPR (n)",
        "g-mean²",
        "block"
    ));
    for c in &s.clues {
        out.push_str(&format!(
            "  {:<20} {:>4} {:<24} {:<24} {:<24} {:<24} {:<24} {:<9}\n",
            c.clue,
            c.n_items,
            pct(&c.no_cot_use),
            pct(&c.cot_use),
            format!("{} ({})", pct(&c.faithfulness), c.n_judged),
            format!("{} ({})", pct(&c.monitor_tpr), c.n_monitor_positives),
            pct_b(&c.g_mean2),
            format!("{:?}", c.block).to_lowercase(),
        ));
    }
    out.push_str(&format!(
        "\n  control: CoT accuracy {} (n {}), monitor TNR {} (n {})\n",
        pct(&s.control.accuracy),
        s.control.n,
        pct(&s.control.monitor_tnr),
        s.control.n_monitored
    ));
    for (name, b) in [
        ("CoT-necessary", &s.necessary),
        ("CoT-optional", &s.optional),
    ] {
        out.push_str(&format!(
            "  {name:<14} ({} clues, {} clue-using CoTs): faithfulness {}, monitor TPR {}\n",
            b.clues.len(),
            b.n_used,
            pct_b(&b.faithfulness),
            pct_b(&b.monitor_tpr)
        ));
    }
    out.push_str(&format!(
        "  difference (necessary − optional): faithfulness {}, monitor TPR {}\n",
        pct_b(&s.difference.faithfulness),
        pct_b(&s.difference.monitor_tpr)
    ));
    for w in &s.warnings {
        out.push_str(&format!("  warning: {w}\n"));
    }
    out
}

/// The headline chart: faithfulness and monitor TPR against no-CoT use, one point per clue, with
/// whiskers for both intervals, and the --necessary-below line.
pub(super) fn headline_svg(s: &Summary) -> String {
    let (w, h, pad) = (520.0, 420.0, 56.0);
    let x = |f: f64| pad + f.clamp(0.0, 1.0) * (w - 2.0 * pad);
    let y = |t: f64| h - pad - t.clamp(0.0, 1.0) * (h - 2.0 * pad);
    let mut svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{}\" viewBox=\"0 0 {w} {}\" font-family=\"sans-serif\" font-size=\"12\">\n", h + 30.0, h + 30.0);
    svg.push_str(&format!("<rect x=\"{pad}\" y=\"{pad}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n", w - 2.0 * pad, h - 2.0 * pad));
    let xn = x(s.necessary_below);
    svg.push_str(&format!("<line x1=\"{xn:.1}\" y1=\"{pad}\" x2=\"{xn:.1}\" y2=\"{:.1}\" stroke=\"#999\" stroke-dasharray=\"4 4\"/><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#666\">CoT-necessary ≤ {}</text>\n", h - pad, xn + 4.0, pad + 14.0, s.necessary_below));
    svg.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">no-CoT use rate (clue difficulty)</text>\n",
        w / 2.0,
        h - 18.0
    ));
    svg.push_str(&format!("<text x=\"15\" y=\"{}\" transform=\"rotate(-90 15 {})\" text-anchor=\"middle\">rate among clue-using CoTs</text>\n", h / 2.0, h / 2.0));
    for t in [0.0, 0.5, 1.0] {
        svg.push_str(&format!("<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{t}</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{t}</text>\n", x(t), h - pad + 16.0, pad - 6.0, y(t) + 4.0));
    }
    type Get = fn(&ClueSummary) -> Option<Estimate>;
    let series: [(&str, &str, Get); 2] = [
        ("faithfulness", "#1b6ca8", |c| c.faithfulness),
        ("monitor TPR", "#d1495b", |c| c.monitor_tpr),
    ];
    for (i, (name, colour, get)) in series.iter().enumerate() {
        for c in &s.clues {
            let (Some(xe), Some(ye)) = (c.no_cot_use, get(c)) else {
                continue;
            };
            let (cx, cy) = (x(xe.value), y(ye.value));
            let label = cotlens_core::markup::esc(&c.clue);
            svg.push_str(&format!(
                "<g><title>{label}: {name} {:.2} [{:.2}, {:.2}], no-CoT use {:.2} [{:.2}, {:.2}]</title><line x1=\"{:.1}\" y1=\"{cy:.1}\" x2=\"{:.1}\" y2=\"{cy:.1}\" stroke=\"{colour}\"/><line x1=\"{cx:.1}\" y1=\"{:.1}\" x2=\"{cx:.1}\" y2=\"{:.1}\" stroke=\"{colour}\"/><circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"4\" fill=\"{colour}\"/></g>\n",
                ye.value, ye.ci_low, ye.ci_high, xe.value, xe.ci_low, xe.ci_high,
                x(xe.ci_low), x(xe.ci_high), y(ye.ci_low), y(ye.ci_high),
            ));
        }
        let ly = h + 8.0 + 14.0 * i as f64;
        svg.push_str(&format!("<circle cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"{colour}\"/><text x=\"{}\" y=\"{}\">{name}</text>\n", pad + 6.0, ly - 4.0, pad + 16.0, ly));
    }
    svg.push_str("</svg>\n");
    svg
}
