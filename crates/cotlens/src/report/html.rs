//! HTML building blocks for the report and the viewer: escaping, highlighting, tables, and
//! self-contained SVG charts. Every piece of run data goes through [`esc`]; SVG files read from a
//! run directory are embedded as images (`<img src="data:…">`), where no script can run.

use serde_json::Value;

pub use cotlens_core::markup::{esc, highlight};

pub const CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}\
header{background:#1b3a57;color:#fff;padding:12px 24px}header a{color:#cde}main{padding:16px 24px;max-width:1200px}\
h1{font-size:20px;margin:0}h2{font-size:17px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}\
table{border-collapse:collapse;margin:8px 0;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}\
th{background:#eef2f6}.num{text-align:right;font-variant-numeric:tabular-nums}.headline{display:flex;flex-wrap:wrap;gap:12px}\
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:180px}.card b{display:block;font-size:20px}\
pre,.text{white-space:pre-wrap;word-break:break-word;background:#fff;border:1px solid #e3e3e3;padding:8px;font:12px/1.4 ui-monospace,monospace;max-height:420px;overflow:auto}\
mark.hint{background:#ffe08a}mark.quote{background:#b8e6b8}mark.monitor{background:#f6b6b6}.warn{color:#8a4b00}\
.side{display:grid;grid-template-columns:1fr 1fr;gap:12px}.muted{color:#777}form.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:end;margin:8px 0}\
form.filters label{display:flex;flex-direction:column;font-size:12px}";

/// A whole page: inline CSS, no scripts, no external resources.
pub fn page(title: &str, nav: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
<title>{}</title><style>{CSS}</style></head><body><header><h1>{}</h1>{nav}</header><main>{body}</main></body></html>\n",
        esc(title),
        esc(title)
    )
}

/// A table; `rows` are already-escaped cells.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = String::from("<table><tr>");
    for h in headers {
        s.push_str(&format!("<th>{}</th>", esc(h)));
    }
    s.push_str("</tr>");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            s.push_str(&format!("<td>{c}</td>"));
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
    s
}

/// `value [ci_low, ci_high]` of an estimate object (or a bare number), escaped.
pub fn est(v: &Value) -> String {
    // A bootstrap estimate with too few defined resamples, or one marked withheld, shows its
    // point only (docs/protocols.md §1).
    let withheld = v["interval_withheld"].is_string()
        || match (v["resamples"].as_f64(), v["defined_resamples"].as_f64()) {
            (Some(r), Some(d)) if r > 0.0 => d / r < cotlens_core::stats::MIN_DEFINED_SHARE,
            _ => false,
        };
    if withheld {
        if let Some(x) = v["value"].as_f64() {
            return format!("{x:.3} (interval withheld)");
        }
    }
    match (
        v["value"].as_f64(),
        v["ci_low"].as_f64(),
        v["ci_high"].as_f64(),
    ) {
        (Some(x), Some(l), Some(h)) => format!("{x:.3} [{l:.3}, {h:.3}]"),
        (Some(x), None, None) if v["interval_withheld"].is_string() => {
            format!("{x:.3} (interval withheld)")
        }
        _ => match v.as_f64() {
            Some(x) => format!("{x:.3}"),
            None => "—".into(),
        },
    }
}

pub fn num(v: &Value) -> String {
    match v {
        Value::Number(n) => n
            .as_f64()
            .map(|x| {
                if x.fract() == 0.0 && x.abs() < 1e15 {
                    format!("{x:.0}")
                } else {
                    format!("{x:.3}")
                }
            })
            .unwrap_or_default(),
        Value::Null => "—".into(),
        other => esc(&other.to_string()),
    }
}

/// An SVG file as an image: a data URI, so that nothing in it can run.
pub fn svg_image(svg: &str, alt: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(svg.as_bytes());
    format!(
        "<img alt=\"{}\" src=\"data:image/svg+xml;base64,{b64}\">",
        esc(alt)
    )
}

/// Horizontal bars with 95% interval whiskers, values in [0, 1]. Labels are escaped.
/// A labelled bar: (label, (value, ci_low, ci_high) or undefined).
pub type Bar = (String, Option<(f64, f64, f64)>);

pub fn bar_chart(rows: &[Bar], axis: &str) -> String {
    let (w, row_h, left, right) = (640.0, 26.0, 190.0, 30.0);
    let (w, left) = (w + 120.0, left + 120.0);
    let h = 56.0 + row_h * rows.len() as f64;
    let x = |v: f64| left + v.clamp(0.0, 1.0) * (w - left - right);
    let mut s = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">");
    for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
        s.push_str(&format!("<line x1=\"{0}\" x2=\"{0}\" y1=\"10\" y2=\"{1}\" stroke=\"#ddd\"/><text x=\"{0}\" y=\"{2}\" text-anchor=\"middle\" fill=\"#666\">{t}</text>", x(t), h - 38.0, h - 24.0));
    }
    for (i, (label, v)) in rows.iter().enumerate() {
        let y = 12.0 + row_h * i as f64;
        s.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            left - 8.0,
            y + 14.0,
            esc(label)
        ));
        match v {
            Some((value, lo, hi)) => {
                s.push_str(&format!(
                    "<rect x=\"{}\" y=\"{}\" width=\"{:.1}\" height=\"16\" fill=\"#1b6ca8\"/>",
                    x(0.0),
                    y + 2.0,
                    x(*value) - x(0.0)
                ));
                s.push_str(&format!("<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"#111\" stroke-width=\"1.5\"/>", x(*lo), x(*hi), y + 10.0));
                s.push_str(&format!(
                    "<text x=\"{:.1}\" y=\"{}\" fill=\"#111\">{value:.2}</text>",
                    x(*hi) + 4.0,
                    y + 14.0
                ));
            }
            None => s.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" fill=\"#999\">undefined</text>",
                x(0.0) + 4.0,
                y + 14.0
            )),
        }
    }
    s.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#444\">{}</text></svg>",
        (left + w - right) / 2.0,
        h - 6.0,
        esc(axis)
    ));
    s
}

/// The ledger waterfall: per stage, cumulative bits per kept prompt, CoT-visible and
/// outcome-only stacked.
pub fn waterfall(stages: &[(String, f64, bool)]) -> String {
    let (w, h, pad) = (640.0, 260.0, 40.0);
    let total: f64 = stages.iter().map(|s| s.1).sum::<f64>().max(1e-9);
    let bw = (w - 2.0 * pad) / stages.len().max(1) as f64;
    let y = |b: f64| h - pad - b / total * (h - 2.0 * pad);
    let mut s = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">");
    s.push_str(&format!(
        "<line x1=\"{pad}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#444\"/>",
        w - pad,
        h - pad,
        h - pad
    ));
    let mut acc = 0.0;
    for (i, (name, bits, cot)) in stages.iter().enumerate() {
        let x0 = pad + bw * i as f64 + 6.0;
        let (top, bottom) = (y(acc + bits), y(acc));
        let colour = if *cot { "#d1495b" } else { "#1b6ca8" };
        s.push_str(&format!("<rect x=\"{x0:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\"/>", bw - 12.0, (bottom - top).max(1.0)));
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{bits:.2}</text>",
            x0 + (bw - 12.0) / 2.0,
            top - 4.0
        ));
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x0 + (bw - 12.0) / 2.0,
            h - pad + 16.0,
            esc(name)
        ));
        acc += bits;
    }
    s.push_str(&format!("<rect x=\"{pad}\" y=\"8\" width=\"12\" height=\"12\" fill=\"#d1495b\"/><text x=\"{}\" y=\"18\">CoT-visible</text><rect x=\"{}\" y=\"8\" width=\"12\" height=\"12\" fill=\"#1b6ca8\"/><text x=\"{}\" y=\"18\">outcome-only (bits per kept prompt, cumulative)</text></svg>", pad + 16.0, pad + 110.0, pad + 126.0));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_highlighting_keep_markup_inert() {
        assert_eq!(
            esc("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        let h = highlight(
            "A Stanford professor <b>says</b> (C).",
            &[("stanford professor", "hint"), ("<b>", "quote")],
        );
        assert_eq!(h, "A <mark class=\"hint\">Stanford professor</mark> <mark class=\"quote\">&lt;b&gt;</mark>says&lt;/b&gt; (C).");
        assert!(!highlight("<img src=x onerror=alert(1)>", &[]).contains('<'));
        // Overlaps and short needles are skipped, multibyte text is kept whole.
        assert_eq!(highlight("ééé abc", &[("ab", "hint")]), "ééé abc");
    }

    #[test]
    fn base64_of_svg_images() {
        let img = svg_image("<svg/>", "a\"b");
        assert!(img.contains("base64,PHN2Zy8+"), "{img}");
        assert!(img.contains("alt=\"a&quot;b\""));
    }
}
