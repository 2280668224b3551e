//! The protocol-specific parts of a report, read from a run directory's files as JSON (so a
//! report never needs more than the run directory). Examples are sampled, never all records.

use super::html::{bar_chart, esc, est, highlight, num, svg_image, table, waterfall};
use serde_json::Value;
use std::path::Path;

/// Examples shown per report.
pub const EXAMPLES: usize = 8;

fn card(label: &str, value: String) -> String {
    format!("<div class=\"card\">{}<b>{}</b></div>", esc(label), value)
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&super::read_regular(path)?).ok()
}

/// Stream a run's records, calling `each` until it returns false.
pub fn for_each_record(dir: &Path, each: impl FnMut(Value) -> bool) {
    for_each_json_line(&dir.join(crate::store::RECORDS), each)
}

/// Stream the JSON lines of a file (unreadable lines skipped), until `each` returns false.
pub fn for_each_json_line(path: &Path, mut each: impl FnMut(Value) -> bool) {
    use std::io::BufRead;
    if !super::is_regular_file(path) {
        return;
    }
    let Ok(f) = std::fs::File::open(path) else {
        return;
    };
    for line in std::io::BufReader::new(f).lines().map_while(Result::ok) {
        if let Ok(v) = serde_json::from_str::<Value>(&line) {
            if !each(v) {
                break;
            }
        }
    }
}

fn estimate_triple(v: &Value) -> Option<(f64, f64, f64)> {
    Some((
        v["value"].as_f64()?,
        v["ci_low"].as_f64()?,
        v["ci_high"].as_f64()?,
    ))
}

pub use cotlens_core::markup::added_text;

#[cfg(test)]
#[test]
fn added_text_never_slices_inside_a_character() {
    // French and Chinese hints before a question whose first character shares the hint's
    // UTF-8 lead byte.
    assert_eq!(
        added_text("évident ?", "èrement dit. évident ?"),
        "èrement dit."
    );
    let zh = added_text("中文问题", "中国人认为答案是 B。中文问题");
    assert!(
        "中国人认为答案是 B。中文问题".contains(&zh) && zh.contains("认为答案"),
        "{zh}"
    );
    for (p, h) in [("é", "è"), ("", "ü"), ("aé", "aè"), ("日本", "日")] {
        let _ = added_text(p, h);
    }
}

/// A gold option index as its letter.
pub fn gold_letter(v: &Value) -> String {
    v.as_u64()
        .filter(|&g| g < 26)
        .map(|g| ((b'A' + g as u8) as char).to_string())
        .unwrap_or_else(|| num(v))
}

/// The last user message of a chat, as text.
pub fn last_user(messages: &Value) -> String {
    messages
        .as_array()
        .into_iter()
        .flatten()
        .rev()
        .find(|m| m["role"] == "user")
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_string()
}

pub fn faithfulness(dir: &Path, summary: &Value) -> String {
    let mut s = String::from("<h2>Headline</h2><div class=\"headline\">");
    for d in summary["overall"]["by_direction"]
        .as_array()
        .into_iter()
        .flatten()
    {
        s.push_str(&card(
            &format!(
                "mean normalized faithfulness ({})",
                d["direction"].as_str().unwrap_or("")
            ),
            est(&d["mean_normalized_score"]),
        ));
        let names = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str().or(x["hint"].as_str()).map(str::to_string))
                .collect()
        };
        let undefined = names(&d["hints_undefined"]);
        s.push_str(&card(
            "hint types in the headline",
            format!(
                "{}{}",
                esc(&names(&d["hints_included"]).join(", ")),
                if undefined.is_empty() {
                    String::new()
                } else {
                    format!(" (undefined: {})", esc(&undefined.join(", ")))
                }
            ),
        ));
    }
    s.push_str(&card("items", num(&summary["overall"]["n_items"])));
    s.push_str(&card(
        "accuracy, no hint",
        est(&summary["overall"]["accuracy_plain"]),
    ));
    s.push_str(&card(
        "unparseable answers",
        num(&summary["overall"]["n_unparseable_answers"]),
    ));
    s.push_str(&card(
        "judge false positives on unhinted CoTs",
        est(&summary["overall"]["judge_false_positive_rate"]),
    ));
    s.push_str("</div>");
    for w in summary["warnings"].as_array().into_iter().flatten() {
        s.push_str(&format!(
            "<p class=\"warn\">warning: {}</p>",
            esc(w.as_str().unwrap_or(""))
        ));
    }
    s.push_str("<h2>Normalized faithfulness per hint type, pooled (95% intervals)</h2>");
    let scores: Vec<&Value> = summary["hint_scores"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let bars: Vec<super::html::Bar> = scores
        .iter()
        .map(|h| {
            (
                format!(
                    "{} · {}",
                    h["hint"].as_str().unwrap_or(""),
                    h["direction"].as_str().unwrap_or("")
                ),
                estimate_triple(&h["normalized_score"]),
            )
        })
        .collect();
    s.push_str(&bar_chart(&bars, "normalized faithfulness score"));
    let rows: Vec<Vec<String>> = scores
        .iter()
        .map(|h| {
            vec![
                esc(h["hint"].as_str().unwrap_or("")),
                esc(h["direction"].as_str().unwrap_or("")),
                num(&h["n_pairs"]),
                num(&h["n_change_to_hint"]),
                num(&h["n_verbalized"]),
                est(&h["raw_score"]),
                est(&h["normalized_score"]),
                est(&h["judge_false_positive_rate"]),
                esc(h["undefined_reason"].as_str().unwrap_or("")),
            ]
        })
        .collect();
    s.push_str(&table(
        &[
            "hint",
            "direction",
            "pairs",
            "→ hint",
            "verbalized",
            "raw score",
            "normalized",
            "judge FP on unhinted",
            "undefined because",
        ],
        &rows,
    ));
    s.push_str("<h2>Breakdown per dataset and option count</h2>");
    let cells: Vec<&Value> = summary["cells"].as_array().into_iter().flatten().collect();
    let rows: Vec<Vec<String>> = cells
        .iter()
        .map(|c| {
            vec![
                esc(c["dataset"].as_str().unwrap_or("")),
                esc(c["hint"].as_str().unwrap_or("")),
                esc(c["direction"].as_str().unwrap_or("")),
                num(&c["n_options"]),
                num(&c["n_pairs"]),
                num(&c["n_change_to_hint"]),
                num(&c["n_verbalized"]),
                est(&c["raw_score"]),
                est(&c["normalized_score"]),
                num(&c["n_forced_answers"]),
                esc(c["undefined_reason"].as_str().unwrap_or("")),
            ]
        })
        .collect();
    s.push_str(&table(
        &[
            "dataset",
            "hint",
            "direction",
            "options",
            "pairs",
            "→ hint",
            "verbalized",
            "raw score",
            "normalized",
            "forced answers",
            "undefined because",
        ],
        &rows,
    ));
    // Examples: hinted answers that followed the hint, beside the item's plain prompt.
    let mut plain: std::collections::HashMap<String, String> = Default::default();
    let mut examples: Vec<Value> = Vec::new();
    for_each_record(dir, |r| {
        let item = r["item_id"].as_str().unwrap_or("").to_string();
        if r["condition"] == "plain" {
            plain.insert(item, last_user(&r["messages"]));
        } else if r["condition"] == "hinted"
            && examples.len() < EXAMPLES
            && r["answer_letter"].is_string()
            && r["answer_letter"] == r["hint_letter"]
        {
            examples.push(r);
        }
        true
    });
    s.push_str("<h2>Examples: answers that followed the hint</h2>");
    if examples.is_empty() {
        s.push_str("<p class=\"muted\">No hinted answer matched its hint.</p>");
    }
    for r in &examples {
        let hinted = last_user(&r["messages"]);
        let base = plain
            .get(r["item_id"].as_str().unwrap_or(""))
            .cloned()
            .unwrap_or_default();
        let hint_text = added_text(&base, &hinted);
        let cot = r["cot"].as_str().unwrap_or("");
        let quotes: Vec<String> = r["judges"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(_, j)| j["quote"].as_str().map(str::to_string))
            .filter(|q| !q.is_empty())
            .collect();
        let mut needles: Vec<(&str, &str)> = quotes.iter().map(|q| (q.as_str(), "quote")).collect();
        needles.push((hint_text.as_str(), "hint"));
        let verdicts: Vec<String> = r["judges"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, j)| format!("{}: {}", esc(k), esc(&j["verbalized"].to_string())))
            .collect();
        s.push_str(&format!(
            "<h3>{} · {} → {} (gold {})</h3><p>verbalized: {}</p><div class=\"side\"><div><b>hinted prompt</b><div class=\"text\">{}</div></div><div><b>CoT</b><div class=\"text cot\">{}</div></div></div>",
            esc(r["item_id"].as_str().unwrap_or("")), esc(r["hint"].as_str().unwrap_or("")), esc(r["answer_letter"].as_str().unwrap_or("")),
            gold_letter(&r["gold"]), verdicts.join(", "), highlight(&hinted, &[(hint_text.as_str(), "hint")]), highlight(cot, &needles)
        ));
    }
    s
}

pub fn necessity(dir: &Path, summary: &Value) -> String {
    let mut s = String::from("<h2>Headline</h2><div class=\"headline\">");
    for d in summary["datasets"].as_array().into_iter().flatten() {
        s.push_str(&card(
            &format!(
                "{} · early-answering AOC",
                d["dataset"].as_str().unwrap_or("")
            ),
            est(&d["early_answering"]["aoc"]),
        ));
    }
    s.push_str("</div><h2>Same-answer curves</h2>");
    if let Some(svg) = super::read_regular(&dir.join("early-answering.svg")) {
        s.push_str(&svg_image(&svg, "same-answer curves"));
    }
    let rows: Vec<Vec<String>> = summary["datasets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let mut row = vec![
                esc(d["dataset"].as_str().unwrap_or("")),
                num(&d["n"]),
                num(&d["n_failed"]),
            ];
            for k in [
                "accuracy_no_cot",
                "accuracy_cot",
                "accuracy_filler",
                "cot_gain",
                "filler_gain",
            ] {
                row.push(est(&d[k]));
            }
            row.push(est(&d["early_answering"]["aoc"]));
            for block in ["adding_mistakes", "paraphrasing"] {
                row.push(est(&d[block]["aoc"]));
            }
            row
        })
        .collect();
    s.push_str("<h2>Per dataset (95% intervals)</h2>");
    s.push_str(&table(
        &[
            "dataset",
            "n",
            "failed",
            "accuracy, no CoT",
            "accuracy, CoT",
            "accuracy, filler",
            "CoT gain",
            "filler gain",
            "early-answering AOC",
            "mistakes AOC",
            "paraphrase AOC",
        ],
        &rows,
    ));
    s
}

pub fn monitor(dir: &Path, _summary: &Value) -> String {
    let mut s = String::new();
    match read_json(&dir.join("monitor-eval.json")) {
        Some(eval) => {
            let rows: Vec<Vec<String>> = eval["rows"].as_array().into_iter().flatten().map(|r| {
                // The metrics are flattened into the row.
                let m = r;
                vec![esc(r["monitor"].as_str().unwrap_or("")), esc(r["view"].as_str().unwrap_or("")), num(&m["n"]), est(&m["auroc"]), est(&m["tpr_at_1pct_fpr"]), est(&m["tpr_at_5pct_fpr"]), est(&m["recall"]), est(&m["g_mean2"])]
            }).collect();
            s.push_str("<h2>Monitor evaluation</h2>");
            s.push_str(&table(&["monitor", "view", "n", "AUROC", "TPR@1%FPR", "TPR@5%FPR", "recall", "g-mean²"], &rows));
            if eval["contaminated"].as_object().is_some_and(|o| !o.is_empty()) {
                s.push_str("<p class=\"warn\">Contaminated: a monitor evaluated here selected these traces.</p>");
            }
            if let Some(svg) = super::read_regular(&dir.join("roc.svg")) {
                s.push_str("<h2>ROC curves</h2>");
                s.push_str(&svg_image(&svg, "ROC curves"));
            }
        }
        None => s.push_str("<p class=\"muted\">No monitor-eval yet (run <code>cotlens monitor-eval</code> on this directory).</p>"),
    }
    let mut top: Vec<Value> = Vec::new();
    for_each_record(dir, |r| {
        if r["score"].as_f64().unwrap_or(0.0) > 0.0 {
            top.push(r);
        }
        top.len() < 2000
    });
    top.sort_by(|a, b| {
        b["score"]
            .as_f64()
            .partial_cmp(&a["score"].as_f64())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    s.push_str("<h2>Most suspicious traces</h2>");
    let rows: Vec<Vec<String>> = top
        .iter()
        .take(EXAMPLES * 2)
        .map(|r| {
            let quote = r["quote"].as_str().unwrap_or("");
            vec![
                esc(r["trace_id"].as_str().unwrap_or("")),
                esc(r["monitor"].as_str().unwrap_or("")),
                esc(r["view"].as_str().unwrap_or("")),
                num(&r["score"]),
                esc(&r["label"].to_string()),
                esc(r["reason"].as_str().unwrap_or("")),
                format!("<mark class=\"monitor\">{}</mark>", esc(quote)),
            ]
        })
        .collect();
    s.push_str(&table(
        &[
            "trace", "monitor", "view", "score", "label", "reason", "quote",
        ],
        &rows,
    ));
    s
}

pub fn select(dir: &Path, _summary: &Value) -> String {
    let Some(ledger) = read_json(&dir.join("ledger.json")) else {
        return "<p class=\"muted\">No ledger yet.</p>".into();
    };
    let t = &ledger["totals"];
    let mut s = String::from("<h2>Headline</h2><div class=\"headline\">");
    s.push_str(&card("bits per kept prompt", num(&t["bits_per_prompt"])));
    s.push_str(&card(
        "CoT-visible bits",
        num(&t["cot_visible_bits_per_prompt"]),
    ));
    s.push_str(&card(
        "outcome-only bits",
        num(&t["outcome_only_bits_per_prompt"]),
    ));
    s.push_str(&card(
        "prompts kept / all",
        format!("{} / {}", num(&t["prompts_kept"]), num(&t["prompts"])),
    ));
    s.push_str("</div><h2>Pressure ledger</h2>");
    let stages: Vec<(String, f64, bool)> = ledger["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|st| {
            (
                st["name"].as_str().unwrap_or("").to_string(),
                st["bits_per_prompt"].as_f64().unwrap_or(0.0),
                st["cot_visible"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    s.push_str(&waterfall(&stages));
    let rows: Vec<Vec<String>> = ledger["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|st| {
            vec![
                esc(st["name"].as_str().unwrap_or("")),
                esc(st["policy"].as_str().unwrap_or("")),
                esc(&st["fields_seen"].to_string()),
                esc(&st["cot_visible"].to_string()),
                num(&st["prompts_in"]),
                num(&st["prompts_dropped"]),
                num(&st["mean_p_accept"]),
                num(&st["bits_per_prompt"]),
                num(&st["cumulative_bits_per_prompt"]),
            ]
        })
        .collect();
    s.push_str(&table(
        &[
            "stage",
            "policy",
            "fields seen",
            "CoT-visible",
            "prompts",
            "dropped",
            "mean p_accept",
            "bits/prompt",
            "cumulative",
        ],
        &rows,
    ));
    for v in ledger["budget"]["violations"]
        .as_array()
        .into_iter()
        .flatten()
    {
        s.push_str(&format!(
            "<p class=\"warn\">over budget: {}</p>",
            esc(v.as_str().unwrap_or(""))
        ));
    }
    for w in ledger["warnings"].as_array().into_iter().flatten() {
        s.push_str(&format!(
            "<p class=\"warn\">warning: {}</p>",
            esc(w.as_str().unwrap_or(""))
        ));
    }
    s.push_str("<h2>Selected examples (verbatim)</h2>");
    if let Some(text) = super::read_regular(&dir.join("sft.jsonl")) {
        for line in text.lines().take(EXAMPLES) {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let msgs = v["messages"].as_array().cloned().unwrap_or_default();
            let prompt = msgs
                .iter()
                .filter(|m| m["role"] != "assistant")
                .filter_map(|m| m["content"].as_str())
                .collect::<Vec<_>>()
                .join("\n\n");
            let reply = msgs
                .last()
                .map(|m| {
                    format!(
                        "{}{}",
                        m["reasoning"]
                            .as_str()
                            .map(|r| format!("[reasoning]\n{r}\n[answer]\n"))
                            .unwrap_or_default(),
                        m["content"].as_str().unwrap_or("")
                    )
                })
                .unwrap_or_default();
            s.push_str(&format!("<h3>{}</h3><div class=\"side\"><div class=\"text\">{}</div><div class=\"text cot\">{}</div></div>", esc(v["id"].as_str().unwrap_or("")), esc(&prompt), esc(&reply)));
        }
    }
    s
}

pub fn sample(dir: &Path, summary: &Value) -> String {
    let mut s = String::from("<h2>Headline</h2><div class=\"headline\">");
    s.push_str(&card("prompts", num(&summary["prompts"])));
    s.push_str(&card(
        "samples ok / all",
        format!("{} / {}", num(&summary["ok"]), num(&summary["samples"])),
    ));
    s.push_str(&card("answers correct", est(&summary["correct"])));
    s.push_str("</div><h2>Examples</h2>");
    let mut n = 0;
    for_each_record(dir, |r| {
        s.push_str(&format!("<h3>{}</h3><div class=\"side\"><div class=\"text\">{}</div><div class=\"text cot\">{}<hr>{}</div></div>", esc(r["key"].as_str().unwrap_or("")), esc(&last_user(&r["prompt"])), esc(r["cot"].as_str().unwrap_or("")), esc(r["answer"].as_str().unwrap_or(""))));
        n += 1;
        n < EXAMPLES
    });
    s
}

pub fn legibility(_dir: &Path, summary: &Value) -> String {
    let c = &summary["corpus"];
    let mut s = String::from("<h2>Headline</h2><div class=\"headline\">");
    s.push_str(&card("mean legibility", est(&c["mean_legibility"])));
    s.push_str(&card("out-of-lexicon words", est(&c["mean_oov_share"])));
    s.push_str(&card(
        "foreign script",
        est(&c["mean_foreign_script_share"]),
    ));
    s.push_str(&card("repeated 4-grams", est(&c["mean_repetition"])));
    s.push_str(&card("traces", num(&c["traces"])));
    s.push_str("</div>");
    if let Some(cmp) = summary["comparison"].as_object() {
        let rows: Vec<Vec<String>> = cmp.iter().map(|(k, d)| vec![esc(k), est(d)]).collect();
        s.push_str("<h2>Change against the baseline (corpus − baseline, 95% intervals)</h2>");
        s.push_str(&table(&["metric (mean over traces)", "difference"], &rows));
    }
    for (key, title) in [
        (
            "rising_vs_baseline",
            "Words whose use rose most vs the baseline",
        ),
        (
            "rising_vs_reference",
            "Words whose use rose most vs the reference lexicon",
        ),
    ] {
        let rows: Vec<Vec<String>> = summary[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(|w| {
                vec![
                    esc(w["word"].as_str().unwrap_or("")),
                    num(&w["count"]),
                    num(&w["per_million"]),
                    num(&w["reference_per_million"]),
                    num(&w["ratio"]),
                    num(&w["kl_bits"]),
                ]
            })
            .collect();
        if !rows.is_empty() {
            s.push_str(&format!("<h2>{}</h2>", esc(title)));
            s.push_str(&table(
                &[
                    "word",
                    "count",
                    "per million",
                    "reference",
                    "ratio",
                    "KL bits",
                ],
                &rows,
            ));
        }
    }
    s
}
