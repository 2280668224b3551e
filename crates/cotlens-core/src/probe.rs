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

impl Answer {
    /// What the model generated: the reasoning field's text, then the content.
    pub fn generated(&self) -> String {
        let r = self
            .reasoning_field
            .as_ref()
            .map_or("", |(_, t)| t.as_str());
        format!("{r}{}", self.content)
    }
}

/// The replies to the probe's requests.
#[derive(Debug, Clone, PartialEq)]
pub struct Observations {
    /// The started turn sent with `continue_final_message: true, add_generation_prompt: false`.
    pub continued: Reply,
    /// The same messages with `add_generation_prompt: false` only (the turn closed, no new
    /// assistant header on a server that honours it).
    pub unfinished: Reply,
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
    /// The hash of the request options (`--reasoning-effort`, `--chat-template-kwargs`,
    /// `--extra-body`) the probe's requests carried: a stored report serves only runs with
    /// the same options.
    #[serde(default)]
    pub request_options_sha256: Option<String>,
    /// What the server said it serves (`GET /models`: ids, owners, context lengths), hashed: a
    /// stored report is not used for another server that took over the same URL.
    #[serde(default)]
    pub server_fingerprint: Option<String>,
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
    /// Whether `capability`, claimed by the backend's kind, survives the check (a trusted
    /// check keeps every claim).
    pub fn keeps(&self, capability: Capability) -> bool {
        match self {
            CapabilityCheck::Probed { reports, .. } => reports.iter().all(|r| r.has(capability)),
            CapabilityCheck::Trusted => true,
        }
    }

    /// Candidates may be matched without their leading space on every replica.
    pub fn lenient_space(&self) -> bool {
        match self {
            CapabilityCheck::Probed { reports, .. } => {
                !reports.is_empty() && reports.iter().all(ProbeReport::lenient_space)
            }
            CapabilityCheck::Trusted => false,
        }
    }

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

/// The three replies' prompt token counts say that `continue_final_message` left the end of
/// the turn out: continued < unfinished (no generation prompt, turn closed) ≤ closed.
pub fn counts_say_continued(continued: &Reply, unfinished: &Reply, closed: &Reply) -> bool {
    match (continued, unfinished, closed) {
        (Reply::Answered(c), Reply::Answered(g), Reply::Answered(k)) => {
            let counts = (c.prompt_tokens, g.prompt_tokens, k.prompt_tokens);
            matches!(counts, (Some(c), Some(g), Some(k)) if c < g && g <= k)
        }
        _ => false,
    }
}

/// A word that continues "One, two, three, four,".
fn continues_the_count(text: &str) -> bool {
    let t = text.trim_start().to_ascii_lowercase();
    t.starts_with("five") || t.starts_with('5')
}

/// Whether the server continued the started turn. Two things must agree: the prompt token
/// counts of the three requests (a continued turn has neither the end-of-turn marker nor a new
/// assistant header), and what the model said next (" five", not a new turn's "One" or "Sure").
pub fn assess_continuation(o: &Observations) -> Finding {
    let answers = match (&o.continued, &o.unfinished, &o.closed) {
        (Reply::Refused { status, message }, _, _) => {
            return Finding::new(
                Verdict::No,
                refused("a turn sent with continue_final_message", *status, message),
            )
        }
        (_, Reply::Refused { status, message }, _) | (_, _, Reply::Refused { status, message }) => {
            return Finding::new(
                Verdict::Unknown,
                refused("messages ending with an assistant turn", *status, message),
            )
        }
        (Reply::Answered(c), Reply::Answered(g), Reply::Answered(k)) => (c, g, k),
    };
    let (c, g, k) = match (answers.0.prompt_tokens, answers.1.prompt_tokens, answers.2.prompt_tokens) {
        (Some(c), Some(g), Some(k)) => (c, g, k),
        _ => {
            return Finding::new(
                Verdict::Unknown,
                "the server reports no usage.prompt_tokens, so a continued turn cannot be told from a new one",
            )
        }
    };
    let counts = format!(
        "prompt_tokens {c} with continue_final_message, {g} with add_generation_prompt false only, {k} plain"
    );
    if c == g {
        return Finding::new(
            Verdict::No,
            format!(
                "{counts}: the server ignores continue_final_message (the turn was closed{}) and the model answers a new turn",
                if g == k { ", and a new assistant header added" } else { "" }
            ),
        );
    }
    if !counts_say_continued(&o.continued, &o.unfinished, &o.closed) {
        return Finding::new(
            Verdict::Unknown,
            format!(
                "{counts}: not the pattern of a continued turn (fewer, then more, then the most)"
            ),
        );
    }
    let said = match &o.continued {
        Reply::Answered(a) => a.generated(),
        Reply::Refused { .. } => String::new(),
    };
    let top_agrees = o.logprobs_continued
        && matches!(&o.logprobs, Reply::Answered(a) if a.top_tokens.as_deref().is_some_and(|t| t.iter().take(1).any(|t| continues_the_count(t))));
    if continues_the_count(&said) || top_agrees {
        Finding::new(
            Verdict::Yes,
            format!("{counts}, and the model went on with {said:?} after {PROBE_PREFIX:?}"),
        )
    } else {
        Finding::new(
            Verdict::Unknown,
            format!(
                "{counts}, but the model's next token {said:?} does not continue {PROBE_PREFIX:?}: a new turn is likely, so the counts are not trusted"
            ),
        )
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
        request_options_sha256: None,
        server_fingerprint: None,
    }
}

/// Log-probabilities at the continued position, and whether their tokens carry a leading
/// space (which decides how candidates are matched).
fn assess_position(at_continued: bool, top: Option<&[String]>) -> (Finding, Finding) {
    match (at_continued, top) {
        (true, Some(top)) => {
            let shown = show_tokens(top);
            let at = Finding::new(
                Verdict::Yes,
                format!("the continued turn's first position, after {PROBE_PREFIX:?}: top tokens {shown}"),
            );
            let spaces = match top.iter().find(|t| t.starts_with(' ')) {
                Some(t) => Finding::new(
                    Verdict::Yes,
                    format!("top token {t:?} begins with a space: candidates are matched exactly"),
                ),
                None => Finding::new(
                    Verdict::No,
                    format!(
                        "no top token begins with a space ({shown}): candidates are matched \
                         without a leading space"
                    ),
                ),
            };
            (at, spaces)
        }
        (true, None) => (
            Finding::new(Verdict::No, "no log-probabilities were returned"),
            Finding::new(Verdict::Unknown, "no log-probabilities were returned"),
        ),
        (false, _) => (
            Finding::new(
                Verdict::No,
                "no continued turn was found, so log-probabilities are those of a new turn's \
                 first token",
            ),
            Finding::new(Verdict::Unknown, "no continued position to look at"),
        ),
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
    let prefix_continuation = assess_continuation(observations);
    let (logprobs, top) = assess_logprobs(&observations.logprobs);
    let at_continued = prefix_continuation.yes() && observations.logprobs_continued;
    let (at_position, spaces) = assess_position(at_continued, top);
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
        request_options_sha256: None,
        server_fingerprint: None,
    }
}

#[cfg(test)]
#[path = "probe_tests.rs"]
mod tests;
