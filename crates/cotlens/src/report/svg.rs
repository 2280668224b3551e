//! Self-contained SVG line charts (no scripts, no external resources): ROC curves and
//! same-answer curves.

/// ROC curves as one self-contained SVG (no scripts, no external resources).
/// A named ROC curve: (fpr, tpr, threshold) points.
pub type NamedCurve = (String, Vec<(f64, f64, f64)>);

pub fn roc_svg(curves: &[NamedCurve]) -> String {
    let (w, h, pad) = (480.0, 400.0, 50.0);
    let colours = [
        "#1b6ca8", "#d1495b", "#2e933c", "#edae49", "#6c4f9c", "#00798c", "#7a7a7a", "#a44a3f",
    ];
    let x = |f: f64| pad + f * (w - 2.0 * pad);
    let y = |t: f64| h - pad - t * (h - 2.0 * pad);
    let mut svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{}\" viewBox=\"0 0 {w} {}\" font-family=\"sans-serif\" font-size=\"12\">\n", h + 20.0 * curves.len() as f64, h + 20.0 * curves.len() as f64);
    svg.push_str(&format!("<rect x=\"{pad}\" y=\"{pad}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n", w - 2.0 * pad, h - 2.0 * pad));
    svg.push_str(&format!("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#bbb\" stroke-dasharray=\"4 4\"/>\n", x(0.0), y(0.0), x(1.0), y(1.0)));
    svg.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">false positive rate</text>\n",
        w / 2.0,
        h - 15.0
    ));
    svg.push_str(&format!("<text x=\"15\" y=\"{}\" transform=\"rotate(-90 15 {})\" text-anchor=\"middle\">true positive rate</text>\n", h / 2.0, h / 2.0));
    for (i, (name, points)) in curves.iter().enumerate() {
        let c = colours[i % colours.len()];
        let path: Vec<String> = points
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p.0), y(p.1)))
            .collect();
        svg.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{}\"/>\n",
            path.join(" ")
        ));
        let ly = h + 20.0 * i as f64 + 5.0;
        let label = name
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        svg.push_str(&format!("<rect x=\"{pad}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{c}\"/><text x=\"{}\" y=\"{}\">{label}</text>\n", ly - 10.0, pad + 18.0, ly));
    }
    svg.push_str("</svg>\n");
    svg
}
