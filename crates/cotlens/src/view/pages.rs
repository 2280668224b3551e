//! The viewer's pages: server-rendered HTML, every value escaped.

use super::index::Fields;
use super::Run;
use crate::protocol::Protocol;
use crate::report::html::{esc, highlight, page, table};
use crate::report::sections::{added_text, last_user};
use serde_json::Value;
use std::collections::HashMap;

fn nav(extra: &str) -> String {
    format!("<div><a href=\"/\">runs</a>{extra}</div>")
}

pub fn index(runs: &[Run]) -> String {
    let rows: Vec<Vec<String>> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            vec![
                i.to_string(),
                format!("<a href=\"/run/{i}\">{}</a>", esc(&r.name)),
                esc(r.protocol.name()),
                format!("<a href=\"/run/{i}/records\">records</a>"),
                esc(&r.dir.display().to_string()),
            ]
        })
        .collect();
    let mut body = table(&["#", "run", "protocol", "browse", "directory"], &rows);
    if runs.len() >= 2 {
        let opts: String = runs
            .iter()
            .enumerate()
            .map(|(i, r)| format!("<option value=\"{i}\">{i}: {}</option>", esc(&r.name)))
            .collect();
        body.push_str(&format!("<h2>Compare two runs</h2><form class=\"filters\" action=\"/compare\"><label>A<select name=\"a\">{opts}</select></label><label>B<select name=\"b\">{opts}</select></label><button>compare</button></form>"));
    }
    page("cotlens view", &nav(""), &body)
}

pub fn run_page(i: usize, run: &Run) -> String {
    let links = format!(" · <a href=\"/run/{i}/records\">records</a>");
    page(
        &format!("{} ({})", run.name, run.protocol.name()),
        &nav(&links),
        &crate::report::body(
            &run.dir,
            &run.manifest,
            crate::protocols::report_section(run.protocol),
        ),
    )
}

/// Record filters from the query string; unknown parameters are ignored.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub condition: Option<String>,
    pub hint: Option<String>,
    pub followed: Option<bool>,
    pub verdict: Option<String>,
    pub monitor: Option<String>,
    pub view: Option<String>,
    pub min_score: Option<f64>,
    pub kept: Option<bool>,
    pub q: Option<String>,
    pub offset: usize,
    pub limit: usize,
}

impl Filter {
    pub fn from_query(q: &HashMap<String, String>) -> Self {
        let s = |k: &str| {
            q.get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let b = |k: &str| {
            s(k).and_then(|v| match v.as_str() {
                "yes" | "true" => Some(true),
                "no" | "false" => Some(false),
                _ => None,
            })
        };
        Filter {
            condition: s("condition"),
            hint: s("hint"),
            followed: b("followed"),
            verdict: s("verdict"),
            monitor: s("monitor"),
            view: s("view"),
            min_score: s("min_score").and_then(|v| v.parse().ok()),
            kept: b("kept"),
            q: s("q").map(|v| v.to_lowercase()),
            offset: s("offset").and_then(|v| v.parse().ok()).unwrap_or(0),
            limit: s("limit")
                .and_then(|v| v.parse().ok())
                .unwrap_or(50)
                .clamp(1, 500),
        }
    }

    /// The query string of this filter at another offset (for the next page).
    pub fn query(&self, offset: usize) -> String {
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
        let pairs = [
            ("condition", self.condition.clone()),
            ("hint", self.hint.clone()),
            ("followed", self.followed.map(yes_no)),
            ("verdict", self.verdict.clone()),
            ("monitor", self.monitor.clone()),
            ("view", self.view.clone()),
            ("min_score", self.min_score.map(|m| m.to_string())),
            ("kept", self.kept.map(yes_no)),
            ("q", self.q.clone()),
            ("limit", Some(self.limit.to_string())),
            ("offset", Some(offset.to_string())),
        ];
        pairs
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", urlencode(v))))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The filters on the indexed fields (all but the text search).
    pub fn matches_fields(&self, r: &Fields) -> bool {
        let eq = |have: &Option<String>, want: &Option<String>| {
            want.as_ref()
                .is_none_or(|w| have.as_deref() == Some(w.as_str()))
        };
        if !(eq(&r.condition, &self.condition)
            && eq(&r.hint, &self.hint)
            && eq(&r.monitor, &self.monitor)
            && eq(&r.view, &self.view))
        {
            return false;
        }
        if self.followed.is_some_and(|f| r.followed != f) {
            return false;
        }
        if let Some(v) = &self.verdict {
            let ok = match v.as_str() {
                "verbalized" => r.verbalized,
                "not" => r.not_verbalized,
                "unjudged" => r.unjudged,
                _ => true,
            };
            if !ok {
                return false;
            }
        }
        if let Some(m) = self.min_score {
            if r.score.is_none_or(|s| s < m) {
                return false;
            }
        }
        self.kept.is_none_or(|k| r.kept == Some(k))
    }

    /// The text search `q` (lower-cased) in the record's CoT, quote, reason, key or trace id.
    pub fn matches_text(&self, r: &Value) -> bool {
        let Some(q) = &self.q else {
            return true;
        };
        [
            &r["cot"],
            &r["output"],
            &r["quote"],
            &r["reason"],
            &r["key"],
            &r["trace_id"],
        ]
        .iter()
        .any(|v| v.as_str().is_some_and(|t| t.to_lowercase().contains(q)))
    }
}

/// The page of matching records and the number matching.
pub fn filtered(run: &Run, f: &Filter) -> (Vec<Value>, usize) {
    run.index().filtered(f)
}

const COLUMNS: &[&str] = &[
    "key",
    "item_id",
    "condition",
    "depth",
    "minutes",
    "hint",
    "hint_letter",
    "answer_letter",
    "answer",
    "correct",
    "reasoning_seen",
    "status",
    "trace_id",
    "monitor",
    "view",
    "score",
    "label",
    "kept",
    "dropped_at",
    "reason",
    "legibility",
];

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => esc(&s.chars().take(160).collect::<String>()),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        other => esc(&other.to_string()),
    }
}

pub fn records_page(i: usize, run: &Run, f: &Filter) -> String {
    let (rows, total) = filtered(run, f);
    let cols: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .filter(|c| rows.iter().any(|r| !r[*c].is_null()))
        .collect();
    let mut headers = cols.clone();
    headers.push("verbalized");
    headers.push("open");
    let body_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut row: Vec<String> = cols.iter().map(|c| cell(&r[*c])).collect();
            let verdicts: Vec<String> = r["judges"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, j)| format!("{}: {}", esc(k), esc(&j["verbalized"].to_string())))
                .collect();
            row.push(verdicts.join(", "));
            let key = r["item_id"]
                .as_str()
                .or(r["key"].as_str())
                .or(r["trace_id"].as_str())
                .unwrap_or("");
            row.push(format!(
                "<a href=\"/run/{i}/item/{}\">open</a>",
                esc(&urlencode(key))
            ));
            row
        })
        .collect();
    let input = |name: &str, label: &str, value: &str| {
        format!(
            "<label>{label}<input name=\"{name}\" value=\"{}\" size=\"12\"></label>",
            esc(value)
        )
    };
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    let form = format!(
        "<form class=\"filters\" action=\"/run/{i}/records\">{}{}{}{}{}{}{}{}{}<button>filter</button></form>",
        input("condition", "condition", &opt(&f.condition)),
        input("hint", "hint", &opt(&f.hint)),
        input("followed", "followed hint (yes/no)", &f.followed.map(|b| if b { "yes" } else { "no" }.to_string()).unwrap_or_default()),
        input("verdict", "verdict (verbalized/not/unjudged)", &opt(&f.verdict)),
        input("monitor", "monitor", &opt(&f.monitor)),
        input("view", "view", &opt(&f.view)),
        input("min_score", "min monitor score", &f.min_score.map(|m| m.to_string()).unwrap_or_default()),
        input("kept", "kept (yes/no)", &f.kept.map(|b| if b { "yes" } else { "no" }.to_string()).unwrap_or_default()),
        input("q", "text", &opt(&f.q)),
    );
    let next = if f.offset + rows.len() < total {
        format!(
            " · <a href=\"/run/{i}/records?{}\">next</a>",
            esc(&f.query(f.offset + f.limit))
        )
    } else {
        String::new()
    };
    let body = format!(
        "{form}<p>{} of {total} matching records (from {}){next}</p>{}",
        rows.len(),
        f.offset,
        table(&headers, &body_rows)
    );
    page(
        &format!("{} — records", run.name),
        &nav(&format!(" · <a href=\"/run/{i}\">report</a>")),
        &body,
    )
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// One item: for faithfulness, every condition of the item side by side with the hint and the
/// judges' quotes highlighted; otherwise the record itself.
pub fn item_page(i: usize, run: &Run, key: &str) -> Option<String> {
    let found = run.index().records_of(key, 200);
    if found.is_empty() {
        return None;
    }
    let mut body = String::new();
    if run.protocol == Protocol::Faithfulness {
        let plain = found.iter().find(|r| r["condition"] == "plain");
        let plain_prompt = plain.map(|r| last_user(&r["messages"])).unwrap_or_default();
        for r in found.iter().filter(|r| r["condition"] == "hinted") {
            let hinted = last_user(&r["messages"]);
            let hint = added_text(&plain_prompt, &hinted);
            let quotes: Vec<String> = r["judges"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(_, j)| j["quote"].as_str().map(str::to_string))
                .filter(|q| !q.is_empty())
                .collect();
            let mut needles: Vec<(&str, &str)> =
                quotes.iter().map(|q| (q.as_str(), "quote")).collect();
            needles.push((hint.as_str(), "hint"));
            body.push_str(&format!(
                "<h2>{} (hint → {}, answered {}, gold {})</h2><div class=\"side\"><div><b>unhinted prompt</b><div class=\"text\">{}</div><b>unhinted CoT</b> (answered {})<div class=\"text cot\">{}</div></div><div><b>hinted prompt</b><div class=\"text\">{}</div><b>hinted CoT</b><div class=\"text cot\">{}</div></div></div>",
                esc(r["hint"].as_str().unwrap_or("")), esc(r["hint_letter"].as_str().unwrap_or("")), esc(r["answer_letter"].as_str().unwrap_or("—")), crate::report::sections::gold_letter(&r["gold"]),
                esc(&plain_prompt), esc(plain.and_then(|p| p["answer_letter"].as_str()).unwrap_or("—")), esc(plain.and_then(|p| p["cot"].as_str()).unwrap_or("")),
                highlight(&hinted, &[(hint.as_str(), "hint")]), highlight(r["cot"].as_str().unwrap_or(""), &needles)
            ));
        }
    }
    if run.protocol == Protocol::Clues {
        body.push_str(&clues_side_by_side(&found));
    }
    for r in &found {
        if run.protocol == Protocol::Faithfulness && r["condition"] == "hinted" {
            continue;
        }
        body.push_str(&format!(
            "<h2>{}</h2><pre>{}</pre>",
            esc(r["key"].as_str().or(r["trace_id"].as_str()).unwrap_or("")),
            esc(&serde_json::to_string_pretty(r).unwrap_or_default())
        ));
    }
    Some(page(
        &format!("{} — {key}", run.name),
        &nav(&format!(" · <a href=\"/run/{i}/records\">records</a>")),
        &body,
    ))
}

/// A clues item: each clued CoT beside the unclued control, the clue highlighted in the prompt
/// and the judge's quote in the CoT.
fn clues_side_by_side(found: &[Value]) -> String {
    let control = found.iter().find(|r| r["condition"] == "control");
    let text = |r: Option<&Value>, k: &str| r.and_then(|r| r[k].as_str()).unwrap_or("").to_string();
    // Every message, so that a clue in the system message shows too.
    let prompt = |r: &Value| {
        r["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                format!(
                    "[{}]\n{}",
                    m["role"].as_str().unwrap_or(""),
                    m["content"].as_str().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("\n\n")
    };
    let mut body = String::new();
    for r in found.iter().filter(|r| r["condition"] == "cot") {
        let clue = r["clue_text"]["text"].as_str().unwrap_or("").trim();
        let quote = r["faithfulness"]["quote"].as_str().unwrap_or("");
        let verdict = match r["faithfulness"]["acknowledged"].as_bool() {
            Some(true) => "acknowledged",
            Some(false) => "not acknowledged",
            None => "not judged",
        };
        body.push_str(&format!(
            "<h2>{} (target {}, answered {}, gold {}; {verdict}; monitor score {})</h2><div class=\"side\"><div><b>clued prompt</b><div class=\"text\">{}</div><b>clued CoT</b><div class=\"text cot\">{}</div></div><div><b>control prompt</b><div class=\"text\">{}</div><b>control CoT</b> (answered {})<div class=\"text cot\">{}</div></div></div>",
            esc(r["clue"].as_str().unwrap_or("")),
            esc(&r["target"].to_string()),
            esc(r["answer"].as_str().unwrap_or("—")),
            esc(&r["gold"].to_string()),
            esc(&r["monitor"]["score"].to_string()),
            highlight(&prompt(r), &[(clue, "hint")]),
            highlight(r["cot"].as_str().unwrap_or(""), &[(quote, "quote")]),
            esc(&control.map(prompt).unwrap_or_default()),
            esc(control.and_then(|c| c["answer"].as_str()).unwrap_or("—")),
            esc(&text(control, "cot")),
        ));
    }
    body
}

pub fn compare_page(a: &(usize, Run), b: &(usize, Run)) -> String {
    let col = |(i, r): &(usize, Run)| {
        format!(
            "<div><h2><a href=\"/run/{i}\">{}</a> ({})</h2>{}</div>",
            esc(&r.name),
            esc(r.protocol.name()),
            crate::report::body(
                &r.dir,
                &r.manifest,
                crate::protocols::report_section(r.protocol)
            )
        )
    };
    page(
        "compare runs",
        &nav(""),
        &format!("<div class=\"side\">{}{}</div>", col(a), col(b)),
    )
}
