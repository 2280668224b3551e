//! Traces from cotlens's own outputs: `sft:PATH` (the SFT data `cotlens select` writes) and
//! `run:DIR` (the records of a sample or faithfulness run). Errors name the file and line.

use cotlens_core::datasets::DatasetError;
use cotlens_core::monitor::trace::{ReasoningField, Trace, TraceMessage};
use serde_json::Value;
use std::path::Path;

fn lines(path: &Path) -> Result<Vec<(usize, Value)>, DatasetError> {
    let mut out = Vec::new();
    cotlens_core::read::for_each_line(path, |n, l| {
        if !l.trim().is_empty() {
            let v: Value = serde_json::from_str(l)
                .map_err(|e| DatasetError::new(path, Some(n), None, format!("not JSON: {e}")))?;
            out.push((n, v));
        }
        Ok(())
    })?;
    Ok(out)
}

fn messages(v: &Value) -> Vec<TraceMessage> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| {
            Some(TraceMessage {
                role: m["role"].as_str()?.to_string(),
                content: m["content"].as_str()?.to_string(),
            })
        })
        .collect()
}

/// SFT lines: the last assistant message holds the reasoning (a `reasoning`/`reasoning_content`
/// field, or `<think>` tags in the content) and the answer.
pub fn load_sft(path: &Path) -> Result<Vec<Trace>, DatasetError> {
    let mut out = Vec::new();
    for (n, v) in lines(path)? {
        let id = v["id"]
            .as_str()
            .ok_or_else(|| DatasetError::new(path, Some(n), Some("id"), "missing id"))?;
        let all = v["messages"].as_array().ok_or_else(|| {
            DatasetError::new(path, Some(n), Some("messages"), "missing messages")
        })?;
        let (last, prompt) = all
            .split_last()
            .ok_or_else(|| DatasetError::new(path, Some(n), Some("messages"), "no messages"))?;
        if last["role"] != "assistant" {
            return Err(DatasetError::new(
                path,
                Some(n),
                Some("messages"),
                "the last message is not the assistant's",
            ));
        }
        let content = match &last["content"] {
            Value::String(s) => s.as_str(),
            Value::Null => "",
            other => {
                return Err(DatasetError::new(
                    path,
                    Some(n),
                    Some("messages[].content"),
                    format!("{other} is not a string"),
                ))
            }
        };
        if !(v["labels"].is_object() || v["labels"].is_null()) {
            return Err(DatasetError::new(
                path,
                Some(n),
                Some("labels"),
                "not an object of labels",
            ));
        }
        let (reasoning, output) = match last["reasoning"]
            .as_str()
            .or(last["reasoning_content"].as_str())
        {
            Some(r) => (Some(r.to_string()), content.to_string()),
            None => cotlens_core::types::split_think_tags(content),
        };
        out.push(Trace {
            id: id.to_string(),
            messages: messages(&Value::Array(prompt.to_vec())),
            reasoning: reasoning.map(ReasoningField::One),
            actions: Vec::new(),
            output: Some(output),
            labels: v["labels"].as_object().cloned().unwrap_or_default(),
            metadata: v["source"].as_object().cloned().unwrap_or_default(),
        });
    }
    Ok(out)
}

/// A sample or faithfulness run's records: `key` → id, `prompt`/`messages`, `cot`, and the
/// answer (`answer` or the completion's output).
pub fn load_run(dir: &Path) -> Result<Vec<Trace>, DatasetError> {
    let manifest = dir.join(crate::store::MANIFEST);
    let protocol = std::fs::read_to_string(&manifest)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["protocol"].as_str().map(str::to_string))
        .ok_or_else(|| DatasetError::new(&manifest, None, None, "not a cotlens run directory"))?;
    if protocol != "sample" && protocol != "faithfulness" {
        return Err(DatasetError::new(
            &manifest,
            None,
            Some("protocol"),
            format!("a {protocol} run holds no traces; use a sample or faithfulness run"),
        ));
    }
    let path = dir.join(crate::store::RECORDS);
    let mut out = Vec::new();
    for (n, v) in lines(&path)? {
        let id = v["key"]
            .as_str()
            .ok_or_else(|| DatasetError::new(&path, Some(n), Some("key"), "missing key"))?;
        let msgs = if v["prompt"].is_array() {
            &v["prompt"]
        } else {
            &v["messages"]
        };
        let output = v["answer"].as_str().or(v["completion"]["output"].as_str());
        out.push(Trace {
            id: id.to_string(),
            messages: messages(msgs),
            reasoning: v["cot"]
                .as_str()
                .filter(|c| !c.is_empty())
                .map(|c| ReasoningField::One(c.to_string())),
            actions: Vec::new(),
            output: output.map(str::to_string),
            labels: v["labels"].as_object().cloned().unwrap_or_default(),
            metadata: Default::default(),
        });
    }
    Ok(out)
}
