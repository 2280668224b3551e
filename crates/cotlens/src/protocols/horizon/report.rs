//! The horizon section of `report.html`: each family's horizon per condition, the curves with
//! the horizons marked, the accuracy table, the gains, and sample answers given at once.

use crate::report::html::{esc, est, num, svg_image, table};
use serde_json::Value;
use std::path::Path;

fn card(label: &str, value: String) -> String {
    format!("<div class=\"card\">{}<b>{value}</b></div>", esc(label))
}

/// Answers shown per family and condition.
const EXAMPLES: usize = 1;

fn horizon_text(f: &Value) -> String {
    if f["horizon"].is_object() {
        let extrapolated = if f["horizon"]["extrapolated"].as_bool() == Some(true) {
            " (extrapolated)"
        } else {
            ""
        };
        match f["horizon"]["interval_withheld"].as_str() {
            Some(why) => format!(
                "{} (interval withheld: {}){extrapolated}",
                num(&f["horizon"]["value"]),
                esc(why)
            ),
            None => format!("{}{extrapolated}", est(&f["horizon"])),
        }
    } else {
        format!(
            "undefined: {}",
            esc(f["undefined_reason"].as_str().unwrap_or("no data"))
        )
    }
}

fn at(v: &Value) -> String {
    if v["depth"].is_number() {
        format!("depth {}", num(&v["depth"]))
    } else if v["minutes"].is_number() {
        format!("{} min", num(&v["minutes"]))
    } else {
        "all depths".into()
    }
}

pub fn section(dir: &Path, summary: &Value) -> String {
    let families = summary["families"].as_array().cloned().unwrap_or_default();
    let mut s =
        String::from("<h2>Headline: no-CoT horizon per family</h2><div class=\"headline\">");
    for f in families.iter().filter(|f| f["condition"] == "no-cot") {
        s.push_str(&card(
            &format!("{} · no-CoT horizon", f["family"].as_str().unwrap_or("")),
            horizon_text(f),
        ));
    }
    s.push_str("</div>");
    s.push_str(&format!(
        "<p class=\"muted\">{} items · answers at once by {} · an unparseable answer counts as a failure · horizon: where a logistic fit of success against log depth (or log minutes) crosses 50%, with an item-bootstrap interval</p>",
        num(&summary["n_items"]),
        esc(summary["no_cot_method"].as_str().unwrap_or("")),
    ));
    for w in summary["warnings"].as_array().into_iter().flatten() {
        s.push_str(&format!(
            "<p class=\"warn\">{}</p>",
            esc(w.as_str().unwrap_or(""))
        ));
    }
    s.push_str("<h2>Accuracy against depth</h2>");
    if let Some(svg) = crate::report::read_regular(&dir.join("horizon.svg")) {
        s.push_str(&svg_image(
            &svg,
            "accuracy against depth per family and condition, horizons dashed",
        ));
    }
    let rows: Vec<Vec<String>> = families
        .iter()
        .map(|f| {
            let points: Vec<String> = f["points"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| format!("{}: {} (n {})", at(p), est(&p["accuracy"]), num(&p["n"])))
                .collect();
            vec![
                esc(f["family"].as_str().unwrap_or("")),
                esc(f["condition"].as_str().unwrap_or("")),
                points.join("<br>"),
                format!("{} of {}", num(&f["n_unparseable"]), num(&f["n"])),
                horizon_text(f),
            ]
        })
        .collect();
    s.push_str(&table(
        &["family", "condition", "accuracy", "unparseable", "horizon"],
        &rows,
    ));
    let gains: Vec<Vec<String>> = summary["gains"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            vec![
                esc(g["family"].as_str().unwrap_or("")),
                esc(g["condition"].as_str().unwrap_or("")),
                at(g),
                num(&g["n_pairs"]),
                est(&g["accuracy"]),
                est(&g["baseline_accuracy"]),
                est(&g["gain"]),
            ]
        })
        .collect();
    if !gains.is_empty() {
        s.push_str("<h2>Gains over no-CoT (paired by item)</h2>");
        s.push_str(&table(
            &[
                "family",
                "condition",
                "at",
                "pairs",
                "accuracy",
                "no-CoT accuracy",
                "gain",
            ],
            &gains,
        ));
    }
    s.push_str(&examples(dir));
    s
}

/// A few answers of each condition, with the question.
fn examples(dir: &Path) -> String {
    let mut shown: std::collections::HashMap<(String, String), usize> = Default::default();
    let mut rows = Vec::new();
    crate::report::sections::for_each_record(dir, |r| {
        let c = r["condition"].as_str().unwrap_or("").to_string();
        let family = r["family"].as_str().unwrap_or("").to_string();
        let k = shown.entry((family, c.clone())).or_default();
        if *k < EXAMPLES && r["status"] == "ok" {
            *k += 1;
            let question = r["messages"][0]["content"].as_str().unwrap_or("");
            rows.push(vec![
                esc(r["item_id"].as_str().unwrap_or("")),
                esc(&c),
                format!("<div class=\"text\">{}</div>", esc(question)),
                format!(
                    "<div class=\"text\">{}{}</div>",
                    esc(r["assistant_prefix"].as_str().unwrap_or("")),
                    esc(r["output"].as_str().unwrap_or(""))
                ),
                esc(r["answer"].as_str().unwrap_or("—")),
                esc(r["gold"]["value"].as_str().unwrap_or("")),
                match r["correct"].as_bool() {
                    Some(true) => "yes".into(),
                    Some(false) => "no".into(),
                    None => "—".into(),
                },
            ]);
        }
        true
    });
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "<h2>Sample answers</h2>{}",
        table(
            &[
                "item",
                "condition",
                "prompt",
                "reply",
                "read",
                "gold",
                "correct"
            ],
            &rows
        )
    )
}
