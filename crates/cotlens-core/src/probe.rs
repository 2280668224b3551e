//! What a server honours, found by asking it (`cotlens probe`), never assumed from its kind.
//!
//! The probe sends a few one-token requests about one short conversation and reads what comes
//! back. This module holds the conversation, the readings of each reply ([`Reply`]) and the pure
//! rules that turn them into findings ([`assess`]); the remote crate sends the requests.
//!
//! **Continuation.** The same messages, ending with the started assistant turn
//! [`PROBE_PREFIX`], are sent twice: once with `continue_final_message: true,
//! add_generation_prompt: false` (vLLM's and SGLang's documented way to continue a turn), once
//! plainly (the turn closed, a new assistant turn opened). A server that continues renders fewer
//! prompt tokens for the first (no end-of-turn marker, no new assistant header); a server that
//! ignores the flags renders both alike (llama-cpp-python); the official OpenAI API refuses the
//! unknown field. Equal counts are a "no": cotlens then cannot tell a continued turn from a new
//! one, and a new one gives silently wrong early-answer curves.
//!
//! **Log-probabilities** are asked for on the continued turn when it was honoured (else on a
//! plain prompt): present or not, and whether the top tokens after "four," carry a leading
//! space. Candidates are then matched exactly (`' A'` ≠ `'A'`) unless no top token has one.

use crate::backend::Capability;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version of the probe's requests and rules, recorded with every report.
pub const PROBE_VERSION: &str = "cotlens-probe/1";
/// The probe conversation's user turn (test servers recognise probe requests by it).
pub const PROBE_QUESTION: &str =
    "cotlens capability probe: count from one to ten in English words, separated by commas.";
/// The started assistant turn the probe asks a server to continue, cut mid-sentence.
pub const PROBE_PREFIX: &str = "One, two, three, four,";
/// How long a cached report is used before the server is asked again.
pub const PROBE_TTL_SECS: u64 = 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Yes,
    No,
    /// The replies did not settle it; treated as missing unless the user trusts the server.
    Unknown,
}

/// One finding and what it rests on (the counts, tokens or error message that decided it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub verdict: Verdict,
    pub evidence: String,
}

impl Finding {
    fn new(verdict: Verdict, evidence: impl Into<String>) -> Self {
        Self {
            verdict,
            evidence: evidence.into(),
        }
    }

    pub fn yes(&self) -> bool {
        self.verdict == Verdict::Yes
    }
}

/// Where a server puts a model's reasoning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningLocation {
    /// `message.reasoning_content` (vLLM before 0.10, SGLang, DeepSeek).
    ReasoningContent,
    /// `message.reasoning` (vLLM since its rename, Ollama, OpenRouter).
    Reasoning,
    /// Inline `<think>…</think>` in the content.
    ThinkTags,
    /// Anthropic's `thinking` content blocks (with `--thinking-budget`).
    ThinkingBlocks,
    /// No reasoning seen in a short plain answer (a model that does not reason, or reasons
    /// where the server does not show it).
    None,
    /// The plain request failed.
    Unknown,
}

/// A probe request's reply as the remote crate read it.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Answered(Answer),
    /// A 4xx: the server refused the request as sent.
    Refused {
        status: u16,
        message: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    /// `usage.prompt_tokens`, when the server reports it.
    pub prompt_tokens: Option<u64>,
    pub content: String,
    /// The reasoning field's name and text, when one is non-empty.
    pub reasoning_field: Option<(String, String)>,
    /// The tokens of `logprobs.content[0].top_logprobs`, when present.
    pub top_tokens: Option<Vec<String>>,
}

/// The replies to the probe's requests.
#[derive(Debug, Clone, PartialEq)]
pub struct Observations {
    /// The started turn sent with `continue_final_message: true, add_generation_prompt: false`.
    pub continued: Reply,
    /// The same messages sent plainly.
    pub closed: Reply,
    /// `logprobs: true, top_logprobs: 5`, on the continued turn when it was honoured.
    pub logprobs: Reply,
    /// Whether `logprobs` was asked on the continued turn.
    pub logprobs_continued: bool,
    /// A short plain answer to the question (where reasoning comes back).
    pub plain: Reply,
    /// Each reasoning control, sent on a one-token plain request.
    pub controls: BTreeMap<String, Reply>,
}

/// Where reasoning came back, and why cotlens thinks so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasoningFinding {
    pub location: ReasoningLocation,
    pub evidence: String,
}

/// The findings about one server and model, recorded in the manifest of every run on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeReport {
    pub version: String,
    /// The backend kind probed, e.g. `openai-chat-completions`.
    pub backend: String,
    pub base_url: String,
    pub model: String,
    /// Seconds since the Unix epoch.
    pub probed_at_unix: u64,
    pub prefix_continuation: Finding,
    pub logprobs: Finding,
    /// Log-probabilities at the continued position, not at a new turn's first token.
    pub logprobs_at_continued_position: Finding,
    /// Top tokens at the continued position carry a leading space (so `' A'` ≠ `'A'`).
    pub space_prefixed_tokens: Finding,
    pub reasoning: ReasoningFinding,
    /// Reasoning controls by request field (`reasoning_effort`, `chat_template_kwargs`).
    pub reasoning_controls: BTreeMap<String, Finding>,
}

impl ProbeReport {
    /// The finding that decides `capability`, when the probe tests it.
    pub fn finding(&self, capability: Capability) -> Option<&Finding> {
        match capability {
            Capability::Chat => None,
            Capability::PrefixContinuation => Some(&self.prefix_continuation),
            Capability::CandidateLogprobs => Some(&self.logprobs),
        }
    }

    /// Whether `capability` was found (capabilities the probe does not test count as found).
    pub fn has(&self, capability: Capability) -> bool {
        self.finding(capability).is_none_or(Finding::yes)
    }

    /// Candidates may be matched without their leading space: the probe saw log-probabilities
    /// at a continued position and none of their tokens began with a space.
    pub fn lenient_space(&self) -> bool {
        self.logprobs_at_continued_position.yes()
            && self.space_prefixed_tokens.verdict == Verdict::No
    }

    /// Whether a report written at `probed_at_unix` is still used at `now_unix`.
    pub fn fresh(&self, now_unix: u64) -> bool {
        self.version == PROBE_VERSION
            && now_unix >= self.probed_at_unix
            && now_unix - self.probed_at_unix < PROBE_TTL_SECS
    }
}

/// How a backend's capabilities were established, recorded in its [`crate::BackendInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum CapabilityCheck {
    /// Asked of the server: one report per base URL (a capability counts only when every
    /// replica has it). `from_cache`: reports younger than [`PROBE_TTL_SECS`] were reused.
    Probed {
        reports: Vec<ProbeReport>,
        from_cache: bool,
    },
    /// `--trust-capabilities`: the backend kind's claims were taken on the user's word.
    Trusted,
}

impl CapabilityCheck {
    /// Why `capability` is missing, from the probe evidence (the first replica without it).
    pub fn evidence(&self, capability: Capability) -> Option<String> {
        let CapabilityCheck::Probed { reports, .. } = self else {
            return None;
        };
        reports.iter().find_map(|r| {
            let f = r.finding(capability)?;
            (!f.yes()).then(|| format!("probe of {}: {}", r.base_url, f.evidence))
        })
    }
}

/// What to do about a missing capability.
pub fn fix(capability: Capability) -> &'static str {
    match capability {
        Capability::Chat => "check --model and --base-url",
        Capability::PrefixContinuation => {
            "serve the model with vLLM or SGLang (they honour continue_final_message), or run it \
             with --model local:FILE.gguf; --trust-capabilities skips this check at your own risk"
        }
        Capability::CandidateLogprobs => {
            "use a server that returns logprobs (vLLM, SGLang, llama.cpp's server) or a local \
             model; --trust-capabilities skips this check at your own risk"
        }
    }
}

/// A returned token is the candidate: exactly, or without a leading space when `lenient_space`
/// (the server's tokens never carry one).
pub fn candidate_matches(token: &str, candidate: &str, lenient_space: bool) -> bool {
    token == candidate || (lenient_space && token.trim_start() == candidate.trim_start())
}

fn refused(what: &str, status: u16, message: &str) -> String {
    let message: String = message.chars().take(300).collect();
    format!("the server refused {what} ({status}: {message})")
}

fn show_tokens(tokens: &[String]) -> String {
    let shown: Vec<String> = tokens.iter().take(5).map(|t| format!("{t:?}")).collect();
    format!("[{}]", shown.join(", "))
}

/// Whether the server continued the started turn, from the two replies' prompt token counts.
pub fn assess_continuation(continued: &Reply, closed: &Reply) -> Finding {
    let (a, b) = match (continued, closed) {
        (Reply::Refused { status, message }, _) => {
            return Finding::new(
                Verdict::No,
                refused("a turn sent with continue_final_message", *status, message),
            )
        }
        (_, Reply::Refused { status, message }) => {
            return Finding::new(
                Verdict::Unknown,
                refused("messages ending with an assistant turn", *status, message),
            )
        }
        (Reply::Answered(a), Reply::Answered(b)) => (a, b),
    };
    let (Some(c), Some(k)) = (a.prompt_tokens, b.prompt_tokens) else {
        return Finding::new(
            Verdict::Unknown,
            "the server reports no usage.prompt_tokens, so a continued turn cannot be told from a new one",
        );
    };
    match c.cmp(&k) {
        std::cmp::Ordering::Less => Finding::new(
            Verdict::Yes,
            format!(
                "prompt_tokens {c} for the turn sent with continue_final_message < {k} for the \
                 same turn closed: the end of turn and a new assistant header were left out"
            ),
        ),
        std::cmp::Ordering::Equal => Finding::new(
            Verdict::No,
            format!(
                "prompt_tokens {c} for the turn sent with continue_final_message = {k} for the \
                 same turn closed: the server ignores continue_final_message and starts a new \
                 assistant turn"
            ),
        ),
        std::cmp::Ordering::Greater => Finding::new(
            Verdict::Unknown,
            format!(
                "prompt_tokens {c} for the turn sent with continue_final_message > {k} for the \
                 same turn closed: no known server does this"
            ),
        ),
    }
}

fn assess_logprobs(reply: &Reply) -> (Finding, Option<&[String]>) {
    match reply {
        Reply::Refused { status, message } => (
            Finding::new(Verdict::No, refused("logprobs", *status, message)),
            None,
        ),
        Reply::Answered(a) => match a.top_tokens.as_deref() {
            Some(t) if !t.is_empty() => (
                Finding::new(
                    Verdict::Yes,
                    format!("logprobs.content[0].top_logprobs returned: {}", show_tokens(t)),
                ),
                Some(t),
            ),
            _ => (
                Finding::new(
                    Verdict::No,
                    "logprobs: true was accepted but the reply holds no logprobs.content[0].top_logprobs",
                ),
                None,
            ),
        },
    }
}

fn assess_reasoning(plain: &Reply) -> ReasoningFinding {
    let (location, evidence) = match plain {
        Reply::Refused { status, message } => (
            ReasoningLocation::Unknown,
            refused("a plain request", *status, message),
        ),
        Reply::Answered(a) => match &a.reasoning_field {
            Some((field, _)) if field == "reasoning_content" => (
                ReasoningLocation::ReasoningContent,
                "message.reasoning_content holds text".to_string(),
            ),
            Some((field, _)) => (
                ReasoningLocation::Reasoning,
                format!("message.{field} holds text"),
            ),
            None if a.content.contains("<think>") => (
                ReasoningLocation::ThinkTags,
                "the content holds <think>".to_string(),
            ),
            None => (
                ReasoningLocation::None,
                "no reasoning field and no <think> in a short plain answer".to_string(),
            ),
        },
    };
    ReasoningFinding { location, evidence }
}

/// The findings about the Anthropic Messages API from its reply to a prefilled turn (one
/// request; not sent when `thinking` is on, since the API refuses prefill with thinking).
pub fn assess_anthropic(
    base_url: &str,
    model: &str,
    prefilled: Option<&Reply>,
    now_unix: u64,
) -> ProbeReport {
    let prefix_continuation = match prefilled {
        None => Finding::new(
            Verdict::No,
            "the Messages API refuses assistant prefill when thinking is enabled (--thinking-budget)",
        ),
        Some(Reply::Refused { status, message }) => {
            Finding::new(Verdict::No, refused("an assistant prefill", *status, message))
        }
        Some(Reply::Answered(_)) => Finding::new(
            Verdict::Yes,
            "the Messages API answered a turn ending with a prefilled assistant message",
        ),
    };
    let none = |why: &str| Finding::new(Verdict::No, why);
    ProbeReport {
        version: PROBE_VERSION.to_string(),
        backend: "anthropic-messages".to_string(),
        base_url: base_url.to_string(),
        model: model.to_string(),
        probed_at_unix: now_unix,
        prefix_continuation,
        logprobs: none("the Messages API returns no log-probabilities"),
        logprobs_at_continued_position: none("the Messages API returns no log-probabilities"),
        space_prefixed_tokens: Finding::new(Verdict::Unknown, "no tokens to look at"),
        reasoning: ReasoningFinding {
            location: ReasoningLocation::ThinkingBlocks,
            evidence: "thinking content blocks, when thinking is enabled".to_string(),
        },
        reasoning_controls: BTreeMap::new(),
    }
}

/// The findings from the probe's replies.
pub fn assess(
    backend: &str,
    base_url: &str,
    model: &str,
    observations: &Observations,
    now_unix: u64,
) -> ProbeReport {
    let prefix_continuation = assess_continuation(&observations.continued, &observations.closed);
    let (logprobs, top) = assess_logprobs(&observations.logprobs);
    let (at_position, spaces) = match (prefix_continuation.yes(), observations.logprobs_continued, top) {
        (true, true, Some(top)) => {
            let spaced = top.iter().find(|t| t.starts_with(' '));
            (
                Finding::new(
                    Verdict::Yes,
                    format!(
                        "the continued turn's first position, after {PROBE_PREFIX:?}: top tokens {}",
                        show_tokens(top)
                    ),
                ),
                match spaced {
                    Some(t) => Finding::new(Verdict::Yes, format!("top token {t:?} begins with a space: candidates are matched exactly")),
                    None => Finding::new(Verdict::No, format!("no top token begins with a space ({}): candidates are matched without a leading space", show_tokens(top))),
                },
            )
        }
        (true, true, None) => (
            Finding::new(Verdict::No, "no log-probabilities were returned"),
            Finding::new(Verdict::Unknown, "no log-probabilities were returned"),
        ),
        _ => (
            Finding::new(
                Verdict::No,
                "the server does not continue a started turn, so log-probabilities are those of a new turn's first token",
            ),
            Finding::new(Verdict::Unknown, "no continued position to look at"),
        ),
    };
    let reasoning_controls = observations
        .controls
        .iter()
        .map(|(name, reply)| {
            let f = match reply {
                Reply::Answered(_) => Finding::new(Verdict::Yes, "accepted"),
                Reply::Refused { status, message } => {
                    Finding::new(Verdict::No, refused(name, *status, message))
                }
            };
            (name.clone(), f)
        })
        .collect();
    ProbeReport {
        version: PROBE_VERSION.to_string(),
        backend: backend.to_string(),
        base_url: base_url.to_string(),
        model: model.to_string(),
        probed_at_unix: now_unix,
        prefix_continuation,
        logprobs,
        logprobs_at_continued_position: at_position,
        space_prefixed_tokens: spaces,
        reasoning: assess_reasoning(&observations.plain),
        reasoning_controls,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(prompt_tokens: Option<u64>, top: Option<&[&str]>) -> Reply {
        Reply::Answered(Answer {
            prompt_tokens,
            content: " five".into(),
            reasoning_field: None,
            top_tokens: top.map(|t| t.iter().map(|s| s.to_string()).collect()),
        })
    }

    fn observations(continued: Reply, closed: Reply, logprobs: Reply) -> Observations {
        Observations {
            continued,
            closed,
            logprobs,
            logprobs_continued: true,
            plain: answered(Some(20), None),
            controls: BTreeMap::from([(
                "reasoning_effort".to_string(),
                Reply::Refused {
                    status: 400,
                    message: "Unrecognized request argument supplied: reasoning_effort".into(),
                },
            )]),
        }
    }

    #[test]
    fn fewer_prompt_tokens_means_continued() {
        let r = assess(
            "openai-chat-completions",
            "http://x/v1",
            "m",
            &observations(
                answered(Some(30), None),
                answered(Some(35), None),
                answered(Some(30), Some(&[" five", " Five"])),
            ),
            7,
        );
        assert!(r.prefix_continuation.yes());
        assert!(r.has(Capability::PrefixContinuation) && r.has(Capability::CandidateLogprobs));
        assert!(r.logprobs_at_continued_position.yes());
        assert_eq!(r.space_prefixed_tokens.verdict, Verdict::Yes);
        assert!(!r.lenient_space());
        assert_eq!(
            r.reasoning_controls["reasoning_effort"].verdict,
            Verdict::No
        );
        assert_eq!(r.reasoning.location, ReasoningLocation::None);
    }

    #[test]
    fn equal_counts_mean_a_new_turn() {
        let r = assess(
            "b",
            "u",
            "m",
            &observations(
                answered(Some(35), None),
                answered(Some(35), None),
                answered(Some(35), Some(&["Five"])),
            ),
            7,
        );
        assert_eq!(r.prefix_continuation.verdict, Verdict::No);
        assert!(r.prefix_continuation.evidence.contains("35"));
        assert!(!r.has(Capability::PrefixContinuation));
        assert!(r.has(Capability::CandidateLogprobs));
        assert_eq!(r.logprobs_at_continued_position.verdict, Verdict::No);
        assert!(!r.lenient_space());
        let check = CapabilityCheck::Probed {
            reports: vec![r],
            from_cache: false,
        };
        let e = check
            .evidence(Capability::PrefixContinuation)
            .expect("evidence");
        assert!(e.starts_with("probe of u: prompt_tokens 35"), "{e}");
        assert_eq!(check.evidence(Capability::CandidateLogprobs), None);
    }

    #[test]
    fn refusals_missing_usage_and_odd_counts() {
        let no = Reply::Refused {
            status: 400,
            message: "Unrecognized request argument supplied: continue_final_message".into(),
        };
        let f = assess_continuation(&no, &answered(Some(3), None));
        assert_eq!(f.verdict, Verdict::No);
        assert!(f.evidence.contains("400") && f.evidence.contains("continue_final_message"));
        let f = assess_continuation(&answered(Some(3), None), &no);
        assert_eq!(f.verdict, Verdict::Unknown);
        let f = assess_continuation(&answered(None, None), &answered(Some(3), None));
        assert_eq!(f.verdict, Verdict::Unknown);
        let f = assess_continuation(&answered(Some(9), None), &answered(Some(3), None));
        assert_eq!(f.verdict, Verdict::Unknown);
        let (f, _) = assess_logprobs(&answered(Some(3), Some(&[])));
        assert_eq!(f.verdict, Verdict::No);
        let (f, _) = assess_logprobs(&no);
        assert_eq!(f.verdict, Verdict::No);
    }

    #[test]
    fn spaces_decide_candidate_matching() {
        let r = assess(
            "b",
            "u",
            "m",
            &observations(
                answered(Some(30), None),
                answered(Some(35), None),
                answered(Some(30), Some(&["five", "Five"])),
            ),
            7,
        );
        assert!(r.lenient_space());
        assert!(candidate_matches("A", " A", true));
        assert!(!candidate_matches("A", " A", false));
        assert!(candidate_matches(" A", " A", false));
        assert!(!candidate_matches(" B", " A", true));
    }

    #[test]
    fn reasoning_location() {
        let mut a = Answer {
            reasoning_field: Some(("reasoning".into(), "hm".into())),
            ..Default::default()
        };
        let loc = |a: &Answer| assess_reasoning(&Reply::Answered(a.clone())).location;
        assert_eq!(loc(&a), ReasoningLocation::Reasoning);
        a.reasoning_field = Some(("reasoning_content".into(), "hm".into()));
        assert_eq!(loc(&a), ReasoningLocation::ReasoningContent);
        a.reasoning_field = None;
        a.content = "<think>hm".into();
        assert_eq!(loc(&a), ReasoningLocation::ThinkTags);
    }

    #[test]
    fn freshness_and_round_trip() {
        let r = assess(
            "b",
            "u",
            "m",
            &observations(
                answered(Some(30), None),
                answered(Some(35), None),
                answered(Some(30), None),
            ),
            1000,
        );
        assert!(r.fresh(1000) && r.fresh(1000 + PROBE_TTL_SECS - 1));
        assert!(!r.fresh(1000 + PROBE_TTL_SECS) && !r.fresh(999));
        let json = serde_json::to_string(&r).expect("json");
        let back: ProbeReport = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, r);
        let check = CapabilityCheck::Trusted;
        assert_eq!(
            serde_json::to_value(&check).expect("json"),
            serde_json::json!({"mode": "trusted"})
        );
    }
}
