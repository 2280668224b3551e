//! Prompts to sample from: multiple-choice items (rendered with elicitation/1) or free-form
//! prompts from JSONL (`{"id", "prompt", "gold"?, "domain"?}`), with file:line errors.

use cotlens_core::datasets::DatasetError;
use cotlens_core::types::{letter, Item, Message};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One prompt of a sample run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prompt {
    pub id: String,
    /// Where it came from (dataset or file).
    pub dataset: String,
    /// The budget domain (MMLU subject, BBH task, or the JSONL `domain`).
    pub domain: String,
    /// The prompt as the SFT data will show it (without the spec).
    pub messages: Vec<Message>,
    /// Gold answer: an option letter for multiple-choice items, else free text.
    pub gold: Option<String>,
    pub gold_index: Option<usize>,
    pub n_options: Option<usize>,
}

impl Prompt {
    pub fn from_item(item: &Item) -> Self {
        Self {
            id: item.id.clone(),
            dataset: item.source.clone(),
            domain: item.subject.clone().unwrap_or_else(|| item.source.clone()),
            messages: cotlens_core::prompts::render_plain(item),
            gold: Some(letter(item.answer).to_string()),
            gold_index: Some(item.answer),
            n_options: Some(item.choices.len()),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrompt {
    id: String,
    prompt: String,
    #[serde(default)]
    gold: Option<String>,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    system: Option<String>,
}

/// Read free-form prompts: one JSON object per line.
pub fn load_prompts(path: &Path) -> Result<Vec<Prompt>, DatasetError> {
    let mut out: Vec<Prompt> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    // Streamed line by line: linear in the file's size, one line in memory.
    cotlens_core::read::for_each_line(path, |n, line| {
        if line.trim().is_empty() {
            return Ok(());
        }
        let raw: RawPrompt = cotlens_core::read::json_line(path, n, line)?;
        if raw.prompt.trim().is_empty() {
            return Err(DatasetError::new(
                path,
                Some(n),
                Some("prompt"),
                "empty prompt",
            ));
        }
        if raw.id.trim().is_empty() {
            return Err(DatasetError::new(path, Some(n), Some("id"), "empty id"));
        }
        if !seen.insert(raw.id.clone()) {
            return Err(DatasetError::new(
                path,
                Some(n),
                Some("id"),
                format!("duplicate id {:?}", raw.id),
            ));
        }
        let mut messages = Vec::new();
        if let Some(s) = raw.system {
            messages.push(Message::system(s));
        }
        messages.push(Message::user(raw.prompt));
        out.push(Prompt {
            id: raw.id,
            dataset: path.display().to_string(),
            domain: raw.domain.unwrap_or_else(|| "default".into()),
            messages,
            gold: raw.gold,
            gold_index: None,
            n_options: None,
        });
        Ok(())
    })?;
    if out.is_empty() {
        return Err(DatasetError::new(path, None, None, "no prompts found"));
    }
    Ok(out)
}
