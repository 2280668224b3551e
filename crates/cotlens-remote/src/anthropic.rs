//! `anthropic:<model>`: the Anthropic Messages API. Thinking blocks become the reasoning
//! (signature and redaction kept, as Inspect's `ContentReasoning` does); a started assistant
//! turn is sent as a final assistant message (prefill), where the probe found the model takes
//! one (Claude 4.6 and later refuse prefill with a 400). No log-probabilities.
//!
//! With `--thinking-budget N` every request carries `thinking: {type: enabled, budget_tokens:
//! N}` under the API's documented rules: N ≥ 1024; `max_tokens` must exceed N, so the
//! protocol's own limit is added to it (thinking does not eat the answer's budget); temperature
//! is left at its default 1 (the only value allowed with thinking); top_p is sent only when
//! ≥ 0.95; no prefill. All of it is recorded in the manifest (`model.details.thinking`).

use crate::http::{self, api_key, parse_base_urls, ConfigError, RemoteOptions, Replicas, Secret};
use async_trait::async_trait;
use cotlens_core::probe::{self, CapabilityCheck, ProbeReport, Reply};
use cotlens_core::types::{ChatRequest, Completion, FinishReason, Reasoning, Role, Usage};
use cotlens_core::{Backend, BackendError, BackendInfo, Capability};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub const ANTHROPIC_DEFAULT_BASE: &str = "https://api.anthropic.com";
const API_VERSION: &str = "2023-06-01";

pub struct AnthropicBackend {
    info: BackendInfo,
    model: String,
    replicas: Replicas,
    key: Secret,
    client: reqwest::Client,
    timeout: Duration,
    thinking_budget: Option<u32>,
}

/// Anthropic's smallest thinking budget.
pub const MIN_THINKING_BUDGET: u32 = 1024;

impl AnthropicBackend {
    pub fn new(spec: &str, model: &str, options: &RemoteOptions) -> Result<Self, ConfigError> {
        let urls = parse_base_urls(&options.base_urls, ANTHROPIC_DEFAULT_BASE)?;
        let variable = options
            .api_key_env
            .clone()
            .unwrap_or_else(|| "ANTHROPIC_API_KEY".into());
        let key = api_key(&variable, true)?.ok_or(ConfigError::MissingKey {
            variable: variable.clone(),
        })?;
        let mut details = serde_json::Map::new();
        details.insert("backend".into(), "anthropic-messages".into());
        details.insert("base_urls".into(), json!(urls));
        details.insert("api_key_env".into(), json!(variable));
        let mut capabilities = vec![Capability::Chat, Capability::PrefixContinuation];
        if let Some(budget) = options.thinking_budget {
            details.insert(
                "thinking".into(),
                json!({"type": "enabled", "budget_tokens": budget,
                    "max_tokens": format!("the protocol's max_tokens + {budget}"),
                    "temperature": "not sent (1, the only value allowed with thinking)",
                    "top_p": "sent only when >= 0.95", "prefill": "refused with thinking"}),
            );
            capabilities.retain(|c| *c != Capability::PrefixContinuation);
            // Part of the response cache's identity: thinking changes the answers.
            let thinking = json!({"thinking": {"type": "enabled", "budget_tokens": budget}});
            details.insert(
                "request_options_sha256".into(),
                json!(cotlens_core::prompts::template_hash(&thinking.to_string())),
            );
            details.insert("request_options".into(), thinking);
        }
        Ok(Self {
            info: BackendInfo {
                spec: spec.to_string(),
                model_id: model.to_string(),
                capabilities,
                details,
                capability_check: None,
            },
            model: model.to_string(),
            replicas: Replicas::new(urls),
            key,
            client: http::client(options.timeout)?,
            timeout: options.timeout,
            thinking_budget: options.thinking_budget,
        })
    }

    pub fn base_urls(&self) -> &[String] {
        self.replicas.all()
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// Keep only the capabilities `check` found on every replica, and record it.
    pub fn apply_check(&mut self, check: CapabilityCheck) {
        self.info.capabilities.retain(|c| check.keeps(*c));
        self.info.capability_check = Some(check);
    }

    /// Whether the model takes an assistant prefill: one request of one token (none with
    /// thinking on, which refuses prefill by the API's rules).
    pub async fn probe(&self, base_url: &str, now_unix: u64) -> Result<ProbeReport, BackendError> {
        if self.thinking_budget.is_some() {
            return Ok(probe::assess_anthropic(
                base_url,
                &self.model,
                None,
                now_unix,
            ));
        }
        let body = json!({"model": self.model, "max_tokens": 1, "messages": [
            {"role": "user", "content": probe::PROBE_QUESTION},
            {"role": "assistant", "content": probe::PROBE_PREFIX}]});
        let reply = match crate::probe::ask_with_retries(|| self.post_to(base_url, &body)).await? {
            Ok(_) => Reply::Answered(Default::default()),
            Err(refused) => refused,
        };
        Ok(probe::assess_anthropic(
            base_url,
            &self.model,
            Some(&reply),
            now_unix,
        ))
    }

    async fn post_to(&self, base: &str, body: &Value) -> Result<Value, BackendError> {
        let endpoint = format!("{base}/v1/messages");
        http::log_request(&endpoint, body);
        let req = self
            .client
            .post(&endpoint)
            .header("x-api-key", self.key.expose())
            .header("anthropic-version", API_VERSION)
            .json(body);
        http::post_json(req, &endpoint, self.timeout).await
    }
}

/// Parse a Messages API response body.
pub fn parse_messages_response(
    body: &Value,
    model: &str,
    latency_ms: f64,
) -> Result<Completion, BackendError> {
    let blocks = body["content"]
        .as_array()
        .ok_or_else(|| BackendError::Malformed {
            endpoint: "v1/messages".into(),
            message: "no content array".into(),
        })?;
    let mut reasoning: Option<Reasoning> = None;
    let mut output = String::new();
    for block in blocks {
        match block["type"].as_str() {
            Some("thinking") => {
                let r = reasoning.get_or_insert_with(Reasoning::default);
                r.reasoning
                    .push_str(block["thinking"].as_str().unwrap_or(""));
                r.signature = block["signature"].as_str().map(str::to_string);
            }
            Some("redacted_thinking") => {
                let r = reasoning.get_or_insert_with(Reasoning::default);
                r.redacted = true;
            }
            Some("text") => output.push_str(block["text"].as_str().unwrap_or("")),
            _ => {}
        }
    }
    let finish_reason = match body["stop_reason"].as_str() {
        Some("end_turn") => FinishReason::Stop,
        Some("stop_sequence") => FinishReason::StopSequence,
        Some("max_tokens") => FinishReason::Length,
        Some("refusal") => FinishReason::ContentFilter,
        _ => FinishReason::Other,
    };
    Ok(Completion {
        model: body["model"].as_str().unwrap_or(model).to_string(),
        reasoning,
        output,
        finish_reason,
        usage: Usage {
            prompt_tokens: body["usage"]["input_tokens"].as_u64().unwrap_or(0) as u32,
            completion_tokens: body["usage"]["output_tokens"].as_u64().unwrap_or(0) as u32,
            reasoning_tokens: None,
        },
        latency_ms,
    })
}

#[async_trait]
impl Backend for AnthropicBackend {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    async fn chat(&self, request: &ChatRequest) -> Result<Completion, BackendError> {
        if request.assistant_prefix.is_some() && !self.supports(Capability::PrefixContinuation) {
            return Err(self.unsupported(Capability::PrefixContinuation));
        }
        let s = &request.sampling;
        let system: Vec<&str> = request
            .messages
            .iter()
            .filter(|m| m.role == Role::System)
            .map(|m| m.content.as_str())
            .collect();
        let mut messages: Vec<Value> = request
            .messages
            .iter()
            .filter(|m| m.role != Role::System)
            .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
            .collect();
        if let Some(prefix) = &request.assistant_prefix {
            // The API rejects a final assistant turn ending in whitespace.
            messages.push(json!({"role": "assistant", "content": prefix.trim_end()}));
        }
        let mut body =
            json!({"model": self.model, "max_tokens": s.max_tokens, "messages": messages});
        match self.thinking_budget {
            Some(budget) => {
                body["thinking"] = json!({"type": "enabled", "budget_tokens": budget});
                body["max_tokens"] = json!(s.max_tokens.saturating_add(budget));
                if let Some(p) = s.top_p.filter(|p| *p >= 0.95) {
                    body["top_p"] = json!(p);
                }
            }
            None => {
                body["temperature"] = json!(s.temperature);
                if let Some(p) = s.top_p {
                    body["top_p"] = json!(p);
                }
            }
        }
        if !system.is_empty() {
            body["system"] = json!(system.join("\n\n"));
        }
        if !s.stop.is_empty() {
            body["stop_sequences"] = json!(s.stop);
        }
        let started = Instant::now();
        let response = self.post_to(self.replicas.pick(), &body).await?;
        parse_messages_response(
            &response,
            &self.model,
            started.elapsed().as_secs_f64() * 1000.0,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinking_blocks_become_reasoning() {
        let body = json!({"model":"claude","stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":7},
            "content":[{"type":"thinking","thinking":"let me see","signature":"sig"},{"type":"text","text":"Answer: A"}]});
        let c = parse_messages_response(&body, "m", 2.0).expect("parse");
        let r = c.reasoning.expect("reasoning");
        assert_eq!(
            (r.reasoning.as_str(), r.signature.as_deref(), r.redacted),
            ("let me see", Some("sig"), false)
        );
        assert_eq!(
            (
                c.output.as_str(),
                c.finish_reason,
                c.usage.completion_tokens
            ),
            ("Answer: A", FinishReason::Stop, 7)
        );
    }
}
