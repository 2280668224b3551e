//! The shared vocabulary of cotlens (docs/protocols.md §0): items, messages, requests and completions.
//!
//! These are plain data: every protocol, backend and store speaks in them, and every one of them
//! serializes to the JSON written into run directories.

use serde::{Deserialize, Serialize};

/// One multiple-choice question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// Stable identifier, unique within its dataset.
    pub id: String,
    pub question: String,
    /// The options, 2..=26 of them, in order (option 0 is letter A).
    pub choices: Vec<String>,
    /// Index of the gold choice.
    pub answer: usize,
    /// Dataset (and task) the item comes from, e.g. `mmlu/anatomy` or `bbh/snarks`.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// The letter of option `index` (0 → `A`).
pub fn letter(index: usize) -> char {
    debug_assert!(index < 26, "option index {index} has no letter");
    (b'A' + index as u8) as char
}

/// The index of an option letter (`A` or `a` → 0), if it is one.
pub fn letter_index(letter: char) -> Option<usize> {
    let upper = letter.to_ascii_uppercase();
    upper
        .is_ascii_uppercase()
        .then(|| (upper as u8 - b'A') as usize)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// Sampling parameters. Everything here changes the output, so all of it is part of cache keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// 0 means greedy decoding.
    pub temperature: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    pub max_tokens: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
}

impl Default for Sampling {
    fn default() -> Self {
        Self {
            temperature: 0.0,
            top_p: None,
            seed: Some(0),
            max_tokens: 256,
            stop: Vec::new(),
        }
    }
}

/// A chat request. With `assistant_prefix`, the assistant turn is started with that text and the
/// model continues it (prefix continuation); the completion then holds only the continuation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assistant_prefix: Option<String>,
    pub sampling: Sampling,
}

/// Log-probabilities of candidate continuations (e.g. `" A"`, `" B"`) after a chat prompt and an
/// optional started assistant turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogprobRequest {
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assistant_prefix: Option<String>,
    pub candidates: Vec<String>,
}

/// The log-probability (natural log, summed over its tokens) of each candidate, in request order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateLogprobs {
    pub logprobs: Vec<f64>,
    /// Number of tokens of each candidate under the model's tokenizer.
    pub token_counts: Vec<u32>,
}

impl CandidateLogprobs {
    /// Index of the most likely candidate (first one on ties); `None` when there are none.
    pub fn argmax(&self) -> Option<usize> {
        let mut best: Option<(usize, f64)> = None;
        for (i, &lp) in self.logprobs.iter().enumerate() {
            if best.is_none_or(|(_, b)| lp > b) {
                best = Some((i, lp));
            }
        }
        best.map(|(i, _)| i)
    }
}

/// Reasoning content, in the shape of Inspect's `ContentReasoning` so that Inspect logs import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reasoning {
    pub reasoning: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(default)]
    pub redacted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model ended its turn.
    Stop,
    /// A stop sequence was hit.
    StopSequence,
    /// `max_tokens` was reached.
    Length,
    /// The provider filtered the content.
    ContentFilter,
    Other,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u32>,
}

/// What a model returned for one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// The model that answered, as the backend names it.
    pub model: String,
    /// The chain of thought when the backend separates it (a reasoning field, `<think>` tags,
    /// thinking blocks). `None` for plain chat models; protocols then read the CoT from `output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<Reasoning>,
    /// The visible text. For a prefix continuation: only the continuation, never the prefix.
    pub output: String,
    pub finish_reason: FinishReason,
    pub usage: Usage,
    /// Wall-clock time from request to full response.
    pub latency_ms: f64,
}

impl Completion {
    /// Everything the model generated in this turn, in order: the reasoning field's text, then
    /// the visible output (a newline between them). For a continuation this is the continuation
    /// even where a server's reasoning parser put it in the reasoning field (vLLM does when the
    /// continued text holds no end-of-reasoning marker).
    pub fn generated_text(&self) -> String {
        match &self.reasoning {
            Some(r) if !r.reasoning.is_empty() && !self.output.is_empty() => {
                format!("{}\n{}", r.reasoning, self.output)
            }
            Some(r) if !r.reasoning.is_empty() => r.reasoning.clone(),
            _ => self.output.clone(),
        }
    }

    /// The model reasoned where the backend does not show it (OpenAI's reasoning models on Chat
    /// Completions, redacted thinking): the visible output is not its CoT.
    pub fn reasoning_hidden(&self) -> bool {
        self.reasoning
            .as_ref()
            .is_some_and(|r| r.redacted && r.reasoning.is_empty())
    }

    /// Cut at `max_tokens` inside its reasoning: the token budget ran out before any answer.
    /// Such a completion is an outcome of its own (`truncated`), never an unparseable answer.
    pub fn truncated_in_reasoning(&self) -> bool {
        self.finish_reason == FinishReason::Length
            && self.output.trim().is_empty()
            && self
                .reasoning
                .as_ref()
                .is_some_and(|r| !r.reasoning.is_empty() || r.redacted)
    }

    /// The chain of thought: the reasoning field when present, else the visible output.
    pub fn cot(&self) -> &str {
        match &self.reasoning {
            Some(r) if !r.reasoning.is_empty() => &r.reasoning,
            _ => &self.output,
        }
    }
}

/// Split `<think>…</think>` out of a text: returns (reasoning, rest). Text without the tags gives
/// `(None, text)`. An opening tag without a closing one means the model ran out of tokens while
/// thinking: everything after the tag is reasoning.
pub fn split_think_tags(text: &str) -> (Option<String>, String) {
    let Some(open) = text.find("<think>") else {
        // Some servers strip the opening tag but leave the closing one.
        if let Some(close) = text.find("</think>") {
            let reasoning = text[..close].trim().to_string();
            // boundary: after the ASCII tag found here
            let rest = text[close + "</think>".len()..].trim_start().to_string();
            return (Some(reasoning), rest);
        }
        return (None, text.to_string());
    };
    // boundary: after the ASCII tag found here
    let after_open = &text[open + "<think>".len()..];
    match after_open.find("</think>") {
        Some(close) => {
            let reasoning = after_open[..close].trim().to_string();
            let mut rest = text[..open].to_string();
            // boundary: after the ASCII tag found here
            rest.push_str(after_open[close + "</think>".len()..].trim_start());
            (Some(reasoning), rest)
        }
        None => (
            Some(after_open.trim().to_string()),
            text[..open].to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_round_trip() {
        for i in 0..26 {
            assert_eq!(letter_index(letter(i)), Some(i));
        }
        assert_eq!(letter_index('c'), Some(2));
        assert_eq!(letter_index('1'), None);
    }

    #[test]
    fn think_tags_split() {
        assert_eq!(split_think_tags("plain"), (None, "plain".into()));
        assert_eq!(
            split_think_tags("<think>a b</think>\nAnswer: C"),
            (Some("a b".into()), "Answer: C".into())
        );
        assert_eq!(
            split_think_tags("<think>unfinished"),
            (Some("unfinished".into()), "".into())
        );
        assert_eq!(
            split_think_tags("r1 style</think> Answer: A"),
            (Some("r1 style".into()), "Answer: A".into())
        );
    }

    #[test]
    fn generated_text_keeps_a_continuation_in_the_reasoning_field() {
        let mut c = Completion {
            model: "m".into(),
            reasoning: Some(Reasoning {
                reasoning: " Step four.\nAnswer: B".into(),
                ..Default::default()
            }),
            output: String::new(),
            finish_reason: FinishReason::Stop,
            usage: Usage::default(),
            latency_ms: 0.0,
        };
        assert_eq!(c.generated_text(), " Step four.\nAnswer: B");
        c.output = "Answer: B".into();
        if let Some(r) = c.reasoning.as_mut() {
            r.reasoning = " Step four.".into();
        }
        assert_eq!(c.generated_text(), " Step four.\nAnswer: B");
        c.reasoning = None;
        assert_eq!(c.generated_text(), "Answer: B");
    }

    #[test]
    fn argmax_prefers_first_on_ties() {
        let c = CandidateLogprobs {
            logprobs: vec![-1.0, -0.5, -0.5],
            token_counts: vec![1, 1, 1],
        };
        assert_eq!(c.argmax(), Some(1));
        assert_eq!(
            CandidateLogprobs {
                logprobs: vec![],
                token_counts: vec![]
            }
            .argmax(),
            None
        );
    }

    #[test]
    fn cot_falls_back_to_output() {
        let mut c = Completion {
            model: "m".into(),
            reasoning: None,
            output: "out".into(),
            finish_reason: FinishReason::Stop,
            usage: Usage::default(),
            latency_ms: 0.0,
        };
        assert_eq!(c.cot(), "out");
        c.reasoning = Some(Reasoning {
            reasoning: "think".into(),
            ..Default::default()
        });
        assert_eq!(c.cot(), "think");
    }
}
