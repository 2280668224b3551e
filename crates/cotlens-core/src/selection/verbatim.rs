//! The verbatim guarantee (docs/protocols.md §4): a selected trace is emitted exactly as it was
//! sampled. Each sample carries the hash of its content (the started turn, the reasoning and
//! the output); emission recomputes it and splits the text again, and refuses on any mismatch.

use crate::types::Completion;
use regex::Regex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A recorded sample that no longer matches what was scored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct VerbatimError(pub String);

/// Where a sample's CoT came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CotSource {
    /// The provider's reasoning field (or `<think>` tags); the answer is the visible output.
    ReasoningField,
    /// No reasoning field: the turn (started prefix + output) up to its last answer line.
    AnswerLine,
}

/// A sample's text, split into CoT and answer. `cot + answer` is the recorded text, byte for
/// byte (the answer-line split), or `cot` and `answer` are the reasoning and the output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitText {
    pub cot: String,
    pub answer: String,
    pub cot_source: CotSource,
}

#[derive(Serialize)]
struct ContentKey<'a> {
    assistant_prefix: Option<&'a str>,
    reasoning: Option<&'a crate::types::Reasoning>,
    output: &'a str,
}

/// sha256 of the sampled content: the started turn, the reasoning block and the output.
pub fn content_hash(completion: &Completion, assistant_prefix: Option<&str>) -> String {
    let key = ContentKey {
        assistant_prefix,
        reasoning: completion.reasoning.as_ref(),
        output: &completion.output,
    };
    let bytes = serde_json::to_vec(&key).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

static ANSWER_LINE: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
    Regex::new(r"(?im)^[ \t]*\**[ \t]*(?:final[ \t]+)?answer[ \t]*\**[ \t]*[:=]")
        .expect("valid regex")
});

/// Split a sample into its CoT and its answer, without changing a byte.
pub fn split(completion: &Completion, assistant_prefix: Option<&str>) -> SplitText {
    let prefix = assistant_prefix.unwrap_or("");
    match &completion.reasoning {
        Some(r) if !r.reasoning.is_empty() => SplitText {
            cot: r.reasoning.clone(),
            answer: format!("{prefix}{}", completion.output),
            cot_source: CotSource::ReasoningField,
        },
        _ => {
            let turn = format!("{prefix}{}", completion.output);
            let at = ANSWER_LINE
                .find_iter(&turn)
                .last()
                .map_or(turn.len(), |m| m.start());
            SplitText {
                cot: turn[..at].to_string(),
                answer: turn[at..].to_string(),
                cot_source: CotSource::AnswerLine,
            }
        }
    }
}

/// Check a recorded sample before emitting it: its content must hash to `recorded_hash` and
/// split into exactly `recorded` (the CoT and answer that were scored).
pub fn verify(
    completion: &Completion,
    assistant_prefix: Option<&str>,
    recorded_hash: &str,
    recorded: &SplitText,
) -> Result<(), VerbatimError> {
    verify_text(completion, assistant_prefix, recorded_hash, recorded).map_err(VerbatimError)
}

fn verify_text(
    completion: &Completion,
    assistant_prefix: Option<&str>,
    recorded_hash: &str,
    recorded: &SplitText,
) -> Result<(), String> {
    let hash = content_hash(completion, assistant_prefix);
    if hash != recorded_hash {
        return Err(format!(
            "content hash mismatch (recorded {}…, the text now hashes to {}…): the sample was edited after it was sampled",
            &recorded_hash.get(..12).unwrap_or(recorded_hash),
            // boundary: hex digits are ASCII
            &hash[..12]
        ));
    }
    let again = split(completion, assistant_prefix);
    if again != *recorded {
        return Err("the recorded CoT or answer differs from the sampled completion: the trace was rewritten".into());
    }
    Ok(())
}

/// The assistant message of an SFT example. `inline`: `<think>{cot}</think>{answer}` as the
/// content; otherwise the answer as content and the CoT in the field `reasoning_field`.
pub fn assistant_message(
    text: &SplitText,
    inline: bool,
    reasoning_field: &str,
) -> serde_json::Value {
    if inline {
        serde_json::json!({"role": "assistant", "content": format!("<think>{}</think>{}", text.cot, text.answer)})
    } else {
        let mut m = serde_json::Map::new();
        m.insert("role".into(), "assistant".into());
        m.insert("content".into(), text.answer.clone().into());
        m.insert(reasoning_field.into(), text.cot.clone().into());
        serde_json::Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{FinishReason, Reasoning, Usage};

    fn completion(reasoning: Option<&str>, output: &str) -> Completion {
        Completion {
            model: "m".into(),
            reasoning: reasoning.map(|r| Reasoning {
                reasoning: r.into(),
                summary: None,
                signature: None,
                redacted: false,
            }),
            output: output.into(),
            finish_reason: FinishReason::Stop,
            usage: Usage::default(),
            latency_ms: 1.0,
        }
    }

    #[test]
    fn answer_line_split_is_exact() {
        let c = completion(None, " First, 2+2=4.\nSo B.\nAnswer: (B)");
        let s = split(&c, Some("Let's think step by step."));
        assert_eq!(s.cot_source, CotSource::AnswerLine);
        assert_eq!(s.cot, "Let's think step by step. First, 2+2=4.\nSo B.\n");
        assert_eq!(s.answer, "Answer: (B)");
        assert_eq!(
            format!("{}{}", s.cot, s.answer),
            format!("Let's think step by step.{}", c.output)
        );
        let none = split(&completion(None, "no answer here"), None);
        assert_eq!(
            (none.cot.as_str(), none.answer.as_str()),
            ("no answer here", "")
        );
        let last = split(
            &completion(None, "Answer: A?\nHmm.\n**Final Answer:** C"),
            None,
        );
        assert_eq!(last.answer, "**Final Answer:** C");
    }

    #[test]
    fn reasoning_field_split_keeps_both() {
        let c = completion(Some("think think"), "The answer is C.");
        let s = split(&c, None);
        assert_eq!(
            (s.cot.as_str(), s.answer.as_str()),
            ("think think", "The answer is C.")
        );
        assert_eq!(s.cot_source, CotSource::ReasoningField);
    }

    #[test]
    fn edits_are_refused() {
        let c = completion(None, "Because X.\nAnswer: A");
        let h = content_hash(&c, None);
        let s = split(&c, None);
        assert!(verify(&c, None, &h, &s).is_ok());
        let edited = completion(None, "Because Y.\nAnswer: A");
        let e = verify(&edited, None, &h, &s).expect_err("edited");
        assert!(e.0.contains("content hash mismatch"), "{e}");
        let mut rewritten = s.clone();
        rewritten.cot = "A cleaner rationale.\n".into();
        let e = verify(&c, None, &h, &rewritten).expect_err("rewritten");
        assert!(e.0.contains("rewritten"), "{e}");
        // The started turn is part of the content.
        assert!(verify(&c, Some("Let's think."), &h, &s).is_err());
    }

    #[test]
    fn sft_messages_carry_the_text_verbatim() {
        let s = SplitText {
            cot: "a <b> \"c\"\n".into(),
            answer: "Answer: A".into(),
            cot_source: CotSource::AnswerLine,
        };
        let m = assistant_message(&s, true, "reasoning");
        assert_eq!(m["content"], "<think>a <b> \"c\"\n</think>Answer: A");
        let m = assistant_message(&s, false, "reasoning_content");
        assert_eq!(m["content"], "Answer: A");
        assert_eq!(m["reasoning_content"], "a <b> \"c\"\n");
    }
}
