//! The records a faithfulness run writes: one line per item × condition in `records.jsonl`.

use crate::engine::Attempt;
use cotlens_core::judge::Judgement;
use cotlens_core::types::{Completion, Message};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The hint points to a wrong option, drawn uniformly with the recorded seed.
    Incorrect,
    /// The hint points to the gold option.
    Correct,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Incorrect => "incorrect",
            Direction::Correct => "correct",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// The plain unhinted prompt (the baseline of most hints).
    Plain,
    /// The unhinted control of a few-shot hint (same examples, no hint).
    Control,
    Hinted,
    /// Judge calibration: a switched pair's baseline CoT, judged as if it had seen the hint
    /// (`calibrates` names the hinted record). No request to the model.
    Calibration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// The request failed after its retries; the error is recorded.
    Failed,
    /// Not asked: e.g. a fixed-letter hint that equals the gold answer in the incorrect direction.
    Skipped,
    /// Cut at --max-tokens inside its reasoning, with no answer: never judged, counted apart.
    Truncated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerSource {
    /// Read from the completion's text by the answer extractor.
    Text,
    /// The text had no answer; the most likely option letter after "\nAnswer:" was taken.
    ForcedLogprobs,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub key: String,
    pub protocol: String,
    pub item_id: String,
    pub dataset: String,
    #[serde(default)]
    pub subject: Option<String>,
    pub condition: Condition,
    pub hint: Option<String>,
    pub direction: Option<Direction>,
    /// The option the hint points to (index and letter).
    pub hint_index: Option<usize>,
    pub hint_letter: Option<String>,
    pub gold: usize,
    pub n_options: usize,
    /// sha256 of the canonical request (messages, started turn, sampling).
    pub prompt_hash: String,
    pub messages: Vec<Message>,
    pub assistant_prefix: Option<String>,
    pub status: Status,
    pub error: Option<String>,
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    #[serde(default)]
    pub cached: bool,
    pub completion: Option<Completion>,
    /// The chain of thought the judges saw.
    pub cot: Option<String>,
    pub answer: Option<usize>,
    pub answer_letter: Option<String>,
    pub answer_source: Option<AnswerSource>,
    /// With forced answers: the log-probability of each option letter (null = not in the top list).
    #[serde(default)]
    pub forced_logprobs: Option<Vec<Option<f64>>>,
    /// Verdicts by judge name; only hinted completions that chose the hinted option are judged
    /// (and, in calibration records, the baseline CoT of such a pair).
    #[serde(default)]
    pub judges: BTreeMap<String, Judgement>,
    /// Calibration records: the key of the hinted record whose baseline `cot` was judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibrates: Option<String>,
}

/// The fields of a [`Record`] the summary needs; read from `records.jsonl` without the prompts
/// and completions, so that summarizing a large run stays small in memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    pub key: String,
    pub item_id: String,
    pub dataset: String,
    pub condition: Condition,
    pub hint: Option<String>,
    pub direction: Option<Direction>,
    pub hint_index: Option<usize>,
    pub gold: usize,
    pub n_options: usize,
    pub status: Status,
    pub answer: Option<usize>,
    pub answer_source: Option<AnswerSource>,
    #[serde(default)]
    pub judges: BTreeMap<String, Judgement>,
    #[serde(default)]
    pub calibrates: Option<String>,
}

impl From<&Record> for Scored {
    fn from(r: &Record) -> Self {
        Self {
            key: r.key.clone(),
            item_id: r.item_id.clone(),
            dataset: r.dataset.clone(),
            condition: r.condition,
            hint: r.hint.clone(),
            direction: r.direction,
            hint_index: r.hint_index,
            gold: r.gold,
            n_options: r.n_options,
            status: r.status,
            answer: r.answer,
            answer_source: r.answer_source,
            judges: r.judges.clone(),
            calibrates: r.calibrates.clone(),
        }
    }
}
