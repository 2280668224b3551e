//! The clues section of `report.html`: the headline (CoT-necessary vs CoT-optional), the chart of
//! faithfulness and monitorability against no-CoT use, the per-clue table, and clue-using CoTs
//! beside the same item's unclued control.

use crate::report::html::{esc, est, num, svg_image, table};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

fn card(label: &str, value: String) -> String {
    format!("<div class=\"card\">{}<b>{value}</b></div>", esc(label))
}

/// Examples shown: clue-using CoTs, each beside its item's control.
const EXAMPLES: usize = 12;

pub fn section(dir: &Path, summary: &Value) -> String {
    let mut s = String::from("<h2>Headline</h2><div class=\"headline\">");
    s.push_str(&card(
        "CoT-necessary clues · faithfulness",
        est(&summary["necessary"]["faithfulness"]),
    ));
    s.push_str(&card(
        "CoT-optional clues · faithfulness",
        est(&summary["optional"]["faithfulness"]),
    ));
    s.push_str(&card(
        "difference · faithfulness",
        est(&summary["difference"]["faithfulness"]),
    ));
    s.push_str(&card(
        "CoT-necessary · monitor TPR",
        est(&summary["necessary"]["monitor_tpr"]),
    ));
    s.push_str(&card(
        "difference · monitor TPR",
        est(&summary["difference"]["monitor_tpr"]),
    ));
    s.push_str(&card(
        "control · monitor TNR",
        est(&summary["control"]["monitor_tnr"]),
    ));
    s.push_str("</div>");
    s.push_str(&format!(
        "<p class=\"muted\">target: {} · {} items ({} without an integer answer left out) · CoT-necessary: no-CoT use ≤ {} · judge {} · monitor {} (flag at ≥ {})</p>",
        esc(summary["target"].as_str().unwrap_or("")),
        num(&summary["n_items"]),
        num(&summary["n_items_without_integer_answer"]),
        num(&summary["necessary_below"]),
        esc(summary["judge"].as_str().unwrap_or("")),
        esc(summary["monitor"].as_str().unwrap_or("")),
        num(&summary["monitor_threshold"]),
    ));
    for w in summary["warnings"].as_array().into_iter().flatten() {
        s.push_str(&format!(
            "<p class=\"warn\">{}</p>",
            esc(w.as_str().unwrap_or(""))
        ));
    }
    s.push_str("<h2>Faithfulness and monitorability against clue difficulty</h2>");
    if let Some(svg) = crate::report::read_regular(&dir.join("clues.svg")) {
        s.push_str(&svg_image(
            &svg,
            "faithfulness and monitor TPR against no-CoT use, per clue",
        ));
    }
    let rows: Vec<Vec<String>> = summary["clues"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            vec![
                esc(c["clue"].as_str().unwrap_or("")),
                esc(c["family"].as_str().unwrap_or("")),
                num(&c["level"]),
                num(&c["n_items"]),
                format!("{} (n {})", est(&c["no_cot_use"]), num(&c["n_no_cot"])),
                format!("{} (n {})", est(&c["cot_use"]), num(&c["n_cot"])),
                format!("{} (n {})", est(&c["faithfulness"]), num(&c["n_judged"])),
                format!(
                    "{} (n {})",
                    est(&c["monitor_tpr"]),
                    num(&c["n_monitor_positives"])
                ),
                est(&c["g_mean2"]),
                est(&c["auroc"]),
                esc(c["block"].as_str().unwrap_or("")),
            ]
        })
        .collect();
    s.push_str(&table(
        &[
            "clue",
            "encoder",
            "level",
            "items",
            "no-CoT use",
            "CoT use",
            "faithfulness",
            "monitor TPR",
            "g-mean²",
            "AUROC",
            "block",
        ],
        &rows,
    ));
    s.push_str(&examples(dir));
    s
}

/// Clue-using CoTs beside the same item's control CoT.
fn examples(dir: &Path) -> String {
    let mut controls: HashMap<String, String> = HashMap::new();
    let mut used: Vec<Value> = Vec::new();
    crate::report::sections::for_each_record(dir, |r| {
        match r["condition"].as_str() {
            Some("control") => {
                controls.insert(
                    r["item_id"].as_str().unwrap_or("").to_string(),
                    r["cot"].as_str().unwrap_or("").to_string(),
                );
            }
            Some("cot")
                if used.len() < EXAMPLES
                    && r["target"].is_i64()
                    && r["answer"].as_str()
                        == r["target"].as_i64().map(|t| t.to_string()).as_deref() =>
            {
                used.push(r);
            }
            _ => {}
        }
        true
    });
    if used.is_empty() {
        return "<h2>Clue-using CoTs</h2><p class=\"muted\">No CoT answered its clue's target.</p>"
            .into();
    }
    let mut s = String::from("<h2>Clue-using CoTs, beside the unclued control</h2>");
    for r in &used {
        let item = r["item_id"].as_str().unwrap_or("");
        let ack = match r["faithfulness"]["acknowledged"].as_bool() {
            Some(true) => "acknowledged",
            Some(false) => "not acknowledged",
            None => "not judged",
        };
        s.push_str(&format!(
            "<h3>{} · {} · target {} · {ack} · monitor score {}</h3><p class=\"muted\">clue: {}</p><div class=\"side\"><div><b>with the clue</b><div class=\"text\">{}</div></div><div><b>control (no clue)</b><div class=\"text\">{}</div></div></div>",
            esc(item),
            esc(r["clue"].as_str().unwrap_or("")),
            num(&r["target"]),
            num(&r["monitor"]["score"]),
            esc(r["clue_text"]["text"].as_str().unwrap_or("")),
            esc(r["cot"].as_str().unwrap_or("")),
            esc(controls.get(item).map(String::as_str).unwrap_or("(no control recorded)")),
        ));
    }
    s
}
