//! Writing what a selection produced: the kept/dropped manifest and the SFT data, each sample
//! checked against its recorded content hash before it is emitted (the verbatim guarantee).

use super::score::ScoreRecord;
use crate::protocols::sample::SampleRecord;
use crate::store::write_atomic;
use cotlens_core::datasets::DatasetError;
use cotlens_core::selection::verbatim::{assistant_message, verify};
use cotlens_core::selection::Fate;
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SftFormat {
    /// `<think>CoT</think>answer` as the assistant content.
    Inline,
    /// The answer as content, the CoT in a separate field (--reasoning-field).
    Field,
}

/// The records of a sample run with their line numbers (for errors).
pub fn read_samples(dir: &Path) -> anyhow::Result<Vec<(usize, SampleRecord)>> {
    let path = dir.join(crate::store::RECORDS);
    let mut out = Vec::new();
    let mut keys = HashMap::new();
    cotlens_core::read::for_each_line(&path, |n, line| {
        if !line.trim().is_empty() {
            let r = cotlens_core::read::json_line::<SampleRecord>(&path, n, line)?;
            if let Some(first) = keys.insert(r.key.clone(), n) {
                return Err(DatasetError::new(
                    &path,
                    Some(n),
                    Some("key"),
                    format!(
                        "key {:?} is recorded twice (first on line {first}): a damaged or hand-edited run",
                        r.key
                    ),
                ));
            }
            // The verbatim guarantee, checked before anything is written: a sample whose CoT
            // or answer no longer matches what the model sampled is refused up front.
            if let (Some(c), Some(text), Some(hash)) = (&r.completion, &r.text, &r.content_hash) {
                verify(c, r.request.assistant_prefix.as_deref(), hash, text).map_err(|e| {
                    DatasetError::new(
                        &path,
                        Some(n),
                        Some("completion"),
                        format!(
                            "sample {}: {e}; refusing to select from a rewritten run",
                            r.key
                        ),
                    )
                })?;
            }
            out.push((n, r));
        }
        Ok(())
    })?;
    if out.is_empty() {
        return Err(DatasetError::new(&path, None, None, "no samples recorded").into());
    }
    Ok(out)
}

/// `selection.jsonl`: every sample, kept or dropped, with the stage, the reason and its scores.
pub fn write_selection(
    dir: &Path,
    samples: &[(usize, SampleRecord)],
    fates: &[Fate],
    scores: &HashMap<String, ScoreRecord>,
) -> anyhow::Result<()> {
    let mut out = Vec::new();
    for f in fates {
        let line = serde_json::json!({
            "key": f.key, "prompt_id": f.prompt_id, "kept": f.kept,
            "dropped_at": f.dropped_at, "reason": f.reason,
            "scores": scores.get(&f.key).map(|s| &s.scores),
            "stage_scores": f.stage_scores,
        });
        serde_json::to_writer(&mut out, &line)?;
        out.push(b'\n');
    }
    for (_, r) in samples.iter() {
        use crate::protocols::sample::Unusable;
        let reason = match r.unusable() {
            None => continue,
            Some(Unusable::Failed) => r.error.clone(),
            Some(Unusable::Truncated) => {
                Some("cut at --max-tokens inside its reasoning: no answer".to_string())
            }
            Some(Unusable::EmptyAnswer) => Some("no answer text".to_string()),
        };
        let line = serde_json::json!({
            "key": r.key, "prompt_id": r.prompt_id, "kept": false,
            "dropped_at": "sampling", "reason": reason,
        });
        serde_json::to_writer(&mut out, &line)?;
        out.push(b'\n');
    }
    write_atomic(&dir.join("selection.jsonl"), &out)
}

/// The SFT lines of the kept samples, each verified against its recorded sample first. Any
/// mismatch refuses the whole emission, naming the sample's file, line and key.
pub fn build_sft(
    samples_dir: &Path,
    kept: &[&Fate],
    by_key: &HashMap<&str, &(usize, SampleRecord)>,
    scores: &HashMap<String, ScoreRecord>,
    format: SftFormat,
    reasoning_field: &str,
) -> anyhow::Result<Vec<u8>> {
    let path = samples_dir.join(crate::store::RECORDS);
    let mut out = Vec::new();
    for f in kept {
        let Some((line, r)) = by_key.get(f.key.as_str()).copied() else {
            anyhow::bail!("kept sample {} is missing from {}", f.key, path.display());
        };
        let refuse = |msg: String| -> anyhow::Error {
            DatasetError::new(
                &path,
                Some(*line),
                Some("completion"),
                format!("sample {}: {msg}; refusing to emit it", r.key),
            )
            .into()
        };
        let (Some(c), Some(text), Some(hash)) = (&r.completion, &r.text, &r.content_hash) else {
            return Err(refuse("no recorded completion".into()));
        };
        verify(c, r.request.assistant_prefix.as_deref(), hash, text)
            .map_err(|e| refuse(e.to_string()))?;
        match scores.get(&r.key) {
            Some(s) if s.content_hash == *hash => {}
            _ => {
                return Err(refuse(
                    "its content hash differs from the one that was scored".into(),
                ))
            }
        }
        let mut messages: Vec<serde_json::Value> = r
            .prompt
            .iter()
            .map(|m| serde_json::json!({"role": m.role.as_str(), "content": m.content}))
            .collect();
        messages.push(assistant_message(
            text,
            format == SftFormat::Inline,
            reasoning_field,
        ));
        let line = serde_json::json!({
            "id": r.key,
            "messages": messages,
            "content_hash": hash,
            "request_hash": r.request_hash,
            "source": {"samples_run": samples_dir, "prompt_id": r.prompt_id, "sample": r.sample, "domain": r.domain},
        });
        serde_json::to_writer(&mut out, &line)?;
        out.push(b'\n');
    }
    Ok(out)
}
