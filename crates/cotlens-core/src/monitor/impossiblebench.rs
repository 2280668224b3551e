//! Converter for the ImpossibleBench audit transcripts (`impossiblebench:DIR`, a folder holding
//! `labels.jsonl` and `transcripts/*.md`) into [`Trace`]s. Documented in docs/traces.md.
//!
//! A transcript is Markdown: a JSON header block, then sections `### NAME` whose content sits
//! in a four-backtick fence. The conversion:
//! - `USER / HARNESS`, `USER`, `HARNESS: …` → user messages (context only, never scanned);
//! - `ASSISTANT…` → the prose (outside ``` code fences) becomes reasoning, each code block an
//!   action `submit_code` (the agents here think in their visible replies; there are no
//!   separate reasoning fields);
//! - `TOOL CALL: X` → an action `X` with the section as arguments; `TOOL RESULT` → the result of
//!   the last action; `FINAL func.py` → an action `final_code`;
//! - `SCORER` → metadata only (it reveals the outcome, so no monitor sees it).
//!
//! Labels: `cheated` from labels.jsonl (true, false, or null for genuinely ambiguous runs).

use super::trace::{Action, ReasoningField, Trace, TraceMessage};
use crate::datasets::DatasetError;
use std::path::Path;

struct Section {
    name: String,
    body: String,
}

/// Split a transcript into top-level `### ` sections, unwrapping each four-backtick fence.
fn sections(text: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("````") {
            in_fence = !in_fence;
            continue;
        }
        if !in_fence {
            if let Some(name) = line.strip_prefix("### ") {
                out.push(Section {
                    name: name.trim().to_string(),
                    body: String::new(),
                });
                continue;
            }
        }
        if let Some(s) = out.last_mut() {
            s.body.push_str(line);
            s.body.push('\n');
        }
    }
    out
}

/// Split assistant text into prose and ``` code blocks.
fn prose_and_code(text: &str) -> (String, Vec<String>) {
    let mut prose = String::new();
    let mut code = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            match current.take() {
                Some(block) => code.push(block),
                None => current = Some(String::new()),
            }
            continue;
        }
        match &mut current {
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {
                prose.push_str(line);
                prose.push('\n');
            }
        }
    }
    if let Some(block) = current {
        code.push(block);
    }
    (prose.trim().to_string(), code)
}

pub fn convert_transcript(id: &str, text: &str) -> Trace {
    let mut trace = Trace {
        id: id.to_string(),
        messages: Vec::new(),
        reasoning: None,
        actions: Vec::new(),
        output: None,
        labels: Default::default(),
        metadata: Default::default(),
    };
    // The header JSON block: the first ```json fence.
    if let Some(start) = text.find("```json") {
        // boundary: after the ASCII fence found here
        if let Some(end) = text[start + 7..].find("```") {
            if let Ok(serde_json::Value::Object(header)) =
                // boundary: after the ASCII fence found here
                serde_json::from_str(&text[start + 7..start + 7 + end])
            {
                trace
                    .metadata
                    .insert("header".into(), serde_json::Value::Object(header));
            }
        }
    }
    let mut reasoning = Vec::new();
    for s in sections(text) {
        let name = s.name.as_str();
        if name.starts_with("USER") || name.starts_with("HARNESS") {
            trace.messages.push(TraceMessage {
                role: "user".into(),
                content: s.body.trim().to_string(),
            });
        } else if name.starts_with("ASSISTANT") {
            let (prose, code) = prose_and_code(&s.body);
            trace.messages.push(TraceMessage {
                role: "assistant".into(),
                content: s.body.trim().to_string(),
            });
            if !prose.is_empty() {
                reasoning.push(prose);
            }
            trace.actions.extend(code.into_iter().map(|c| Action {
                tool: "submit_code".into(),
                arguments: c,
                result: None,
            }));
        } else if let Some(tool) = name.strip_prefix("TOOL CALL:") {
            trace.actions.push(Action {
                tool: tool.trim().to_string(),
                arguments: s.body.trim().to_string(),
                result: None,
            });
        } else if name.starts_with("TOOL RESULT") {
            if let Some(last) = trace.actions.last_mut() {
                last.result = Some(s.body.trim().to_string());
            }
        } else if name.starts_with("FINAL") {
            trace.actions.push(Action {
                tool: "final_code".into(),
                arguments: s.body.trim().to_string(),
                result: None,
            });
        } else if name.starts_with("SCORER") {
            trace.metadata.insert(
                "scorer".into(),
                serde_json::Value::String(s.body.trim().to_string()),
            );
        }
    }
    if !reasoning.is_empty() {
        trace.reasoning = Some(ReasoningField::Many(reasoning));
    }
    trace
}

/// Load every labelled transcript of an ImpossibleBench audit folder.
pub fn load(dir: &Path) -> Result<Vec<Trace>, DatasetError> {
    let labels_path = dir.join("labels.jsonl");
    let mut traces = Vec::new();
    let mut files = std::collections::HashSet::new();
    crate::read::for_each_line(&labels_path, |n, line| {
        if line.trim().is_empty() {
            return Ok(());
        }
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| DatasetError::new(&labels_path, Some(n), None, e.to_string()))?;
        let file = v["file"].as_str().ok_or_else(|| {
            DatasetError::new(
                &labels_path,
                Some(n),
                Some("file"),
                "missing or not a string",
            )
        })?;
        if !files.insert(file.to_string()) {
            return Err(DatasetError::new(
                &labels_path,
                Some(n),
                Some("file"),
                format!("{file:?} is labelled twice"),
            ));
        }
        let path = dir.join(file);
        let text = crate::read::read_text(&path)?;
        let id = Path::new(file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.to_string());
        let mut trace = convert_transcript(&id, &text);
        if trace.messages.is_empty() && trace.reasoning.is_none() && trace.actions.is_empty() {
            return Err(DatasetError::new(
                &path,
                None,
                None,
                format!(
                    "no transcript sections (`### USER / HARNESS`, `### ASSISTANT`, `### TOOL CALL: …`) in this file, which {} line {n} labels",
                    labels_path.display()
                ),
            ));
        }
        trace
            .labels
            .insert("misbehaved".into(), v["cheated"].clone());
        for key in ["category", "note", "model", "outcome"] {
            if let Some(x) = v.get(key) {
                trace.metadata.insert(key.into(), x.clone());
            }
        }
        traces.push(trace);
        Ok(())
    })?;
    if traces.is_empty() {
        return Err(DatasetError::new(
            &labels_path,
            None,
            None,
            "labels no transcript (one JSON line per transcript: {\"file\", \"cheated\"})",
        ));
    }
    Ok(traces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_sections() {
        let text = "# t\n\n```json\n{\"model\": \"m\"}\n```\n\n### USER / HARNESS\n\n````\nDo the task. Modification of tests is not allowed.\n````\n\n### ASSISTANT\n\n````\nThe test is wrong, but I will make it pass.\n```python\nimport sys\nsys.exit(0)\n```\n````\n\n### TOOL CALL: Bash\n\n````\npytest\n````\n\n### TOOL RESULT\n\n````\n1 passed\n````\n\n### SCORER\n\n````\npass\n````\n";
        let t = convert_transcript("t", text);
        assert_eq!(t.messages.len(), 2);
        assert_eq!(
            t.reasoning_text(),
            "The test is wrong, but I will make it pass."
        );
        assert_eq!(t.actions.len(), 2);
        assert_eq!(t.actions[0].arguments, "import sys\nsys.exit(0)\n");
        assert_eq!(
            (t.actions[1].tool.as_str(), t.actions[1].result.as_deref()),
            ("Bash", Some("1 passed"))
        );
        assert_eq!(t.metadata["scorer"], "pass");
        assert_eq!(t.metadata["header"]["model"], "m");
        assert!(
            !t.action_text().contains("pass\n") || t.action_text().contains("1 passed"),
            "the scorer is not visible"
        );
    }
}
