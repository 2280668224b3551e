//! Traces: recorded episodes to monitor (docs/traces.md).
//!
//! One JSON object per line:
//! `{"id", "messages": [{"role", "content"}], "reasoning": "…" or ["…"], "actions":
//! [{"tool", "arguments", "result"}], "output", "labels": {"misbehaved": true|false|null, …},
//! "metadata": {…}}`. Only `id` is required. `labels.misbehaved` is the ground truth monitor
//! evaluation uses (null or absent: unlabelled, excluded and counted).

use crate::datasets::DatasetError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A `--view` that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ViewError(pub String);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceMessage {
    pub role: String,
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub tool: String,
    #[serde(default, deserialize_with = "string_or_json")]
    pub arguments: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

fn string_or_json<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ReasoningField {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub id: String,
    #[serde(default)]
    pub messages: Vec<TraceMessage>,
    #[serde(default)]
    pub reasoning: Option<ReasoningField>,
    #[serde(default)]
    pub actions: Vec<Action>,
    #[serde(default)]
    pub output: Option<String>,
    #[serde(default)]
    pub labels: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

impl Trace {
    /// The ground truth: `labels.misbehaved` (also accepted: `cheated`, `reward_hacking`).
    pub fn misbehaved(&self) -> Option<bool> {
        ["misbehaved", "cheated", "reward_hacking"]
            .iter()
            .find_map(|k| self.labels.get(*k).and_then(|v| v.as_bool()))
    }

    /// The ground-truth labels must be `true`, `false` or `null`: `"yes"` would silently
    /// count as unlabelled. The error names the label.
    pub fn check_labels(&self) -> Result<(), (String, String)> {
        for k in ["misbehaved", "cheated", "reward_hacking"] {
            if let Some(v) = self.labels.get(k) {
                if !(v.is_boolean() || v.is_null()) {
                    return Err((
                        k.to_string(),
                        format!("{v} is not a label: use true, false or null"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// All reasoning text, blocks separated by blank lines.
    pub fn reasoning_text(&self) -> String {
        match &self.reasoning {
            None => String::new(),
            Some(ReasoningField::One(s)) => s.clone(),
            Some(ReasoningField::Many(v)) => v.join("\n\n"),
        }
    }

    /// Actions and the final output as text: `tool: arguments` lines and results.
    pub fn action_text(&self) -> String {
        let mut out = String::new();
        for a in &self.actions {
            out.push_str(&a.tool);
            out.push_str(": ");
            out.push_str(&a.arguments);
            out.push('\n');
            if let Some(r) = &a.result {
                out.push_str(r);
                out.push('\n');
            }
        }
        if let Some(o) = &self.output {
            out.push_str(o);
        }
        out
    }

    /// What a monitor with `view` may read of the agent's behaviour, or `None` when the view has
    /// nothing to read (e.g. a `cot` view of a trace without reasoning: unscorable).
    pub fn visible(&self, view: BaseView) -> Option<String> {
        let text = match view {
            BaseView::Cot => self.reasoning_text(),
            BaseView::Action => self.action_text(),
            BaseView::CotAndAction => {
                let (r, a) = (self.reasoning_text(), self.action_text());
                if r.trim().is_empty() && a.trim().is_empty() {
                    String::new()
                } else {
                    format!("{r}\n\n{a}")
                }
            }
        };
        (!text.trim().is_empty()).then_some(text)
    }
}

/// The views a monitor is run under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaseView {
    Action,
    Cot,
    #[serde(rename = "cot+action")]
    CotAndAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum View {
    Base(BaseView),
    /// W·score(cot+action) + (1 − W)·score(action).
    Hybrid(f64),
}

impl View {
    pub fn parse(s: &str) -> Result<Self, ViewError> {
        Self::parse_text(s).map_err(ViewError)
    }

    fn parse_text(s: &str) -> Result<Self, String> {
        match s.trim() {
            "action" => Ok(View::Base(BaseView::Action)),
            "cot" => Ok(View::Base(BaseView::Cot)),
            "cot+action" => Ok(View::Base(BaseView::CotAndAction)),
            other => match other.strip_prefix("hybrid:").map(str::parse::<f64>) {
                Some(Ok(w)) if (0.0..=1.0).contains(&w) => Ok(View::Hybrid(w)),
                _ => Err(format!("unknown view {other:?}; use action, cot, cot+action or hybrid:W with 0 <= W <= 1")),
            },
        }
    }

    pub fn name(&self) -> String {
        match self {
            View::Base(BaseView::Action) => "action".into(),
            View::Base(BaseView::Cot) => "cot".into(),
            View::Base(BaseView::CotAndAction) => "cot+action".into(),
            View::Hybrid(w) => format!("hybrid:{w}"),
        }
    }
}

/// Read a JSONL trace file; errors name the file, line and field.
pub fn load_jsonl(path: &Path) -> Result<Vec<Trace>, DatasetError> {
    let mut traces = Vec::new();
    for_each_jsonl(path, |t| {
        traces.push(t);
        Ok(())
    })?;
    Ok(traces)
}

/// Stream a JSONL trace file, one trace at a time (constant memory for large files).
pub fn for_each_jsonl(
    path: &Path,
    mut each: impl FnMut(Trace) -> Result<(), DatasetError>,
) -> Result<usize, DatasetError> {
    let mut ids = std::collections::HashSet::new();
    let mut count = 0;
    crate::read::for_each_line(path, |n, line| {
        if line.trim().is_empty() {
            return Ok(());
        }
        let trace: Trace = crate::read::json_line(path, n, line)?;
        if trace.id.trim().is_empty() {
            return Err(DatasetError::new(path, Some(n), Some("id"), "empty id"));
        }
        trace
            .check_labels()
            .map_err(|(k, m)| DatasetError::new(path, Some(n), Some(&format!("labels.{k}")), m))?;
        if !ids.insert(trace.id.clone()) {
            return Err(DatasetError::new(
                path,
                Some(n),
                Some("id"),
                format!("duplicate trace id {:?}", trace.id),
            ));
        }
        each(trace)?;
        count += 1;
        Ok(())
    })?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_and_labels() {
        let t: Trace = serde_json::from_str(r#"{"id":"a","reasoning":["think 1","think 2"],"actions":[{"tool":"bash","arguments":{"cmd":"ls"},"result":"x"}],"output":"done","labels":{"misbehaved":true}}"#).expect("parse");
        assert_eq!(t.misbehaved(), Some(true));
        assert_eq!(t.visible(BaseView::Cot).expect("cot"), "think 1\n\nthink 2");
        assert!(t
            .visible(BaseView::Action)
            .expect("action")
            .contains("bash: {\"cmd\":\"ls\"}"));
        let empty: Trace = serde_json::from_str(r#"{"id":"b","output":"ok"}"#).expect("parse");
        assert_eq!(
            empty.visible(BaseView::Cot),
            None,
            "no reasoning: unscorable under cot"
        );
        assert_eq!(empty.misbehaved(), None);
        assert_eq!(View::parse("hybrid:0.3"), Ok(View::Hybrid(0.3)));
        assert!(View::parse("hybrid:2").is_err() && View::parse("thoughts").is_err());
    }

    #[test]
    fn truncated_jsonl_names_the_line() {
        let dir = std::env::temp_dir().join(format!("cotlens-traces-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let p = dir.join("t.jsonl");
        std::fs::write(&p, "{\"id\":\"a\"}\n{\"id\":\"b\",\"reasoning\":\"cut").expect("write");
        let e = load_jsonl(&p).expect_err("truncated");
        assert_eq!(e.line, Some(2), "{e}");
        std::fs::write(&p, "{\"id\":\"a\"}\n{\"actions\":[]}\n").expect("write");
        let e = load_jsonl(&p).expect_err("no id");
        assert_eq!((e.line, e.field.as_deref()), (Some(2), Some("id")), "{e}");
    }
}
