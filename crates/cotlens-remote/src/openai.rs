//! `openai:<model>`: OpenAI-compatible Chat Completions (OpenAI, vLLM, SGLang, llama.cpp server,
//! Ollama).
//!
//! - Reasoning comes from `reasoning_content` (vLLM, SGLang, DeepSeek) or `reasoning` (Ollama,
//!   OpenRouter), else from `<think>…</think>` in the content.
//! - Prefix continuation sends the started assistant turn as the last message with vLLM's and
//!   SGLang's `continue_final_message: true, add_generation_prompt: false`.
//! - Candidate log-probabilities ask for one token with `logprobs` and `top_logprobs: 20` and read
//!   the candidates among them, matched exactly (`' A'` ≠ `'A'`) unless the probe found that the
//!   server's tokens never carry a leading space; a candidate outside the top 20 gets −∞
//!   (recorded as null).
//! - What the server honours is probed, not assumed ([`OpenAiBackend::probe`],
//!   [`OpenAiBackend::apply_check`]): a continuation or log-probabilities the probe found missing
//!   are refused before a request is sent.

use crate::http::{self, api_key, parse_base_urls, ConfigError, RemoteOptions, Replicas, Secret};
use async_trait::async_trait;
use cotlens_core::probe::{candidate_matches, CapabilityCheck};
use cotlens_core::types::{
    split_think_tags, CandidateLogprobs, ChatRequest, Completion, FinishReason, LogprobRequest,
    Message, Reasoning, Role, Usage,
};
use cotlens_core::{Backend, BackendError, BackendInfo, Capability};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub const OPENAI_DEFAULT_BASE: &str = "https://api.openai.com/v1";

pub struct OpenAiBackend {
    info: BackendInfo,
    model: String,
    replicas: Replicas,
    key: Option<Secret>,
    client: reqwest::Client,
    timeout: Duration,
    /// Set once the server has no usable `/tokenize` endpoint, so that it is asked only once.
    no_tokenizer: std::sync::atomic::AtomicBool,
    /// Candidates match returned tokens without their leading space (the probe found that the
    /// server's tokens never carry one); otherwise exactly.
    lenient_space: bool,
    /// An OpenAI reasoning model (o-series, GPT-5): `max_completion_tokens`, and no
    /// temperature or top_p (the API accepts only their defaults).
    reasoning_model: bool,
    /// Fields set on every chat request: reasoning controls, then `--extra-body`.
    request_options: serde_json::Map<String, Value>,
}

/// OpenAI's reasoning models by name (`o1`, `o3-mini`, `o4-mini`, `gpt-5`, `gpt-5-mini`; not
/// `gpt-5-chat-latest`). Names with a `/` are another provider's routing (OpenRouter's
/// `openai/o3`) and keep the standard fields.
pub fn is_openai_reasoning_model(model: &str) -> bool {
    let name = model.to_ascii_lowercase();
    if name.contains('/') {
        return false;
    }
    let mut chars = name.chars();
    let o_series = chars.next() == Some('o') && chars.next().is_some_and(|c| c.is_ascii_digit());
    o_series || (name.starts_with("gpt-5") && !name.contains("chat"))
}

impl OpenAiBackend {
    pub fn new(spec: &str, model: &str, options: &RemoteOptions) -> Result<Self, ConfigError> {
        let urls = parse_base_urls(&options.base_urls, OPENAI_DEFAULT_BASE)?;
        let variable = options
            .api_key_env
            .clone()
            .unwrap_or_else(|| "OPENAI_API_KEY".into());
        // The official API needs a key; self-hosted servers often run without one.
        let required =
            options.api_key_env.is_some() || urls.iter().any(|u| u.contains("api.openai.com"));
        let key = api_key(&variable, required)?;
        let mut details = serde_json::Map::new();
        details.insert("backend".into(), "openai-chat-completions".into());
        details.insert("base_urls".into(), json!(urls));
        details.insert("api_key_env".into(), json!(variable));
        let reasoning_model = is_openai_reasoning_model(model);
        if reasoning_model {
            details.insert(
                "reasoning_model".into(),
                json!("max_completion_tokens sent; temperature and top_p left at the provider's default (1), the only values OpenAI reasoning models accept"),
            );
        }
        let mut request_options = serde_json::Map::new();
        if let Some(effort) = &options.reasoning_effort {
            request_options.insert("reasoning_effort".into(), json!(effort));
        }
        if let Some(kwargs) = &options.chat_template_kwargs {
            request_options.insert("chat_template_kwargs".into(), kwargs.clone());
        }
        if let Some(extra) = &options.extra_body {
            for (k, v) in extra {
                request_options.insert(k.clone(), v.clone());
            }
        }
        if !request_options.is_empty() {
            // Recorded with secrets redacted; the response cache's identity holds the hash of
            // the options as sent.
            details.insert(
                "request_options".into(),
                http::redacted(&Value::Object(request_options.clone())),
            );
            details.insert(
                "request_options_sha256".into(),
                json!(cotlens_core::prompts::template_hash(
                    &Value::Object(request_options.clone()).to_string()
                )),
            );
        }
        Ok(Self {
            info: BackendInfo {
                spec: spec.to_string(),
                model_id: model.to_string(),
                capabilities: vec![
                    Capability::Chat,
                    Capability::PrefixContinuation,
                    Capability::CandidateLogprobs,
                ],
                details,
                capability_check: None,
            },
            model: model.to_string(),
            replicas: Replicas::new(urls),
            key,
            client: http::client(options.timeout)?,
            timeout: options.timeout,
            no_tokenizer: std::sync::atomic::AtomicBool::new(false),
            lenient_space: false,
            reasoning_model,
            request_options,
        })
    }

    pub fn base_urls(&self) -> &[String] {
        self.replicas.all()
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// A request body's token limit and sampling temperature, in the fields this model takes.
    pub(crate) fn limit(&self, body: &mut Value, max_tokens: u32, temperature: f64) {
        if self.reasoning_model {
            body["max_completion_tokens"] = json!(max_tokens);
        } else {
            body["max_tokens"] = json!(max_tokens);
            body["temperature"] = json!(temperature);
        }
    }

    /// Keep only the capabilities `check` found on every replica, and record it. A capability
    /// the probe found missing is refused before any request is sent for it.
    pub fn apply_check(&mut self, check: CapabilityCheck) {
        self.info.capabilities.retain(|c| check.keeps(*c));
        self.lenient_space = check.lenient_space();
        self.info.capability_check = Some(check);
    }

    /// The request options (reasoning controls, `--extra-body`) set on every chat request.
    pub(crate) fn add_options(&self, body: &mut Value) {
        for (k, v) in &self.request_options {
            body[k.as_str()] = v.clone();
        }
    }

    /// A hash of the request options as sent (unredacted); `None` without options.
    pub fn options_hash(&self) -> Option<String> {
        (!self.request_options.is_empty()).then(|| {
            cotlens_core::prompts::template_hash(
                &Value::Object(self.request_options.clone()).to_string(),
            )
        })
    }

    pub(crate) async fn get(&self, endpoint: &str) -> Result<Value, BackendError> {
        let mut request = self.client.get(endpoint);
        if let Some(key) = &self.key {
            request = request.bearer_auth(key.expose());
        }
        http::send_json(request, endpoint, self.timeout).await
    }

    fn body(&self, messages: &[Message], prefix: Option<&str>) -> Value {
        let mut msgs: Vec<Value> = messages
            .iter()
            .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
            .collect();
        let mut body = json!({"model": self.model});
        if let Some(prefix) = prefix {
            msgs.push(json!({"role": Role::Assistant.as_str(), "content": prefix}));
            body["continue_final_message"] = json!(true);
            body["add_generation_prompt"] = json!(false);
        }
        body["messages"] = Value::Array(msgs);
        body
    }

    /// vLLM's tokenizer endpoint, at the server's root (`POST /tokenize` with `model`, `prompt`
    /// and `add_special_tokens`; the reply holds `count` and `tokens`). Any failure means the
    /// server has none, remembered for the rest of the run.
    async fn tokenize_count(&self, text: &str) -> Option<u32> {
        use std::sync::atomic::Ordering;
        if self.no_tokenizer.load(Ordering::Relaxed) {
            return None;
        }
        let base = self.replicas.pick();
        let root = base.trim_end_matches('/').trim_end_matches("/v1");
        let endpoint = format!("{root}/tokenize");
        let body = json!({"model": self.model, "prompt": text, "add_special_tokens": false});
        let mut request = self.client.post(&endpoint).json(&body);
        if let Some(key) = &self.key {
            request = request.bearer_auth(key.expose());
        }
        let count = match http::post_json(request, &endpoint, self.timeout).await {
            Ok(v) => v["count"]
                .as_u64()
                .or_else(|| v["tokens"].as_array().map(|t| t.len() as u64))
                .and_then(|c| u32::try_from(c).ok()),
            Err(_) => None,
        };
        if count.is_none() {
            self.no_tokenizer.store(true, Ordering::Relaxed);
        }
        count
    }

    async fn post(&self, body: &Value) -> Result<Value, BackendError> {
        self.post_to(self.replicas.pick(), body).await
    }

    pub(crate) async fn post_to(&self, base: &str, body: &Value) -> Result<Value, BackendError> {
        let endpoint = format!("{base}/chat/completions");
        http::log_request(&endpoint, body);
        let mut request = self.client.post(&endpoint).json(body);
        if let Some(key) = &self.key {
            request = request.bearer_auth(key.expose());
        }
        http::post_json(request, &endpoint, self.timeout).await
    }
}

fn malformed(message: impl Into<String>) -> BackendError {
    BackendError::Malformed {
        endpoint: "chat/completions".into(),
        message: message.into(),
    }
}

/// Parse a Chat Completions response body into a [`Completion`].
pub fn parse_chat_response(
    body: &Value,
    model: &str,
    prefix: Option<&str>,
    latency_ms: f64,
) -> Result<Completion, BackendError> {
    let choice = body["choices"].get(0).ok_or_else(|| {
        // A 200 that carries an error: say what the server said.
        match body["error"]["message"].as_str().or(body["error"].as_str()) {
            Some(e) => malformed(format!("no choices in the response; the server said: {e}")),
            None => malformed("no choices in the response"),
        }
    })?;
    let message = &choice["message"];
    if !message.is_object() {
        return Err(malformed("choice has no message"));
    }
    let mut content = message["content"].as_str().unwrap_or("").to_string();
    // Some servers echo the started assistant turn; the completion holds only the continuation.
    if let Some(prefix) = prefix {
        if !prefix.is_empty() && content.starts_with(prefix) {
            content = content[prefix.len()..].to_string();
        }
    }
    let field = message["reasoning_content"]
        .as_str()
        .or_else(|| message["reasoning"].as_str())
        .filter(|s| !s.is_empty());
    let (reasoning, output) = match field {
        Some(r) => (Some(r.to_string()), content),
        None => split_think_tags(&content),
    };
    let finish_reason = match choice["finish_reason"].as_str() {
        Some("stop") => FinishReason::Stop,
        Some("length") => FinishReason::Length,
        Some("content_filter") => FinishReason::ContentFilter,
        _ => FinishReason::Other,
    };
    let usage = &body["usage"];
    let reasoning_tokens = usage["completion_tokens_details"]["reasoning_tokens"].as_u64();
    // OpenAI's reasoning models reason where Chat Completions does not show it: a count and no
    // text is hidden reasoning, never an empty CoT.
    let hidden = reasoning.is_none() && reasoning_tokens.is_some_and(|n| n > 0);
    Ok(Completion {
        model: body["model"].as_str().unwrap_or(model).to_string(),
        reasoning: match reasoning {
            Some(r) => Some(Reasoning {
                reasoning: r,
                ..Default::default()
            }),
            None => hidden.then(|| Reasoning {
                redacted: true,
                ..Default::default()
            }),
        },
        output,
        finish_reason,
        usage: Usage {
            prompt_tokens: usage["prompt_tokens"].as_u64().unwrap_or(0) as u32,
            completion_tokens: usage["completion_tokens"].as_u64().unwrap_or(0) as u32,
            reasoning_tokens: reasoning_tokens.map(|n| n as u32),
        },
        latency_ms,
    })
}

#[async_trait]
impl Backend for OpenAiBackend {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    async fn count_tokens(&self, text: &str) -> Option<u32> {
        self.tokenize_count(text).await
    }

    async fn chat(&self, request: &ChatRequest) -> Result<Completion, BackendError> {
        if request.assistant_prefix.is_some() && !self.supports(Capability::PrefixContinuation) {
            return Err(self.unsupported(Capability::PrefixContinuation));
        }
        let s = &request.sampling;
        let mut body = self.body(&request.messages, request.assistant_prefix.as_deref());
        self.limit(&mut body, s.max_tokens, s.temperature);
        if let Some(p) = s.top_p.filter(|_| !self.reasoning_model) {
            body["top_p"] = json!(p);
        }
        if let Some(seed) = s.seed {
            body["seed"] = json!(seed);
        }
        if !s.stop.is_empty() {
            body["stop"] = json!(s.stop);
        }
        self.add_options(&mut body);
        let started = Instant::now();
        let response = self.post(&body).await?;
        parse_chat_response(
            &response,
            &self.model,
            request.assistant_prefix.as_deref(),
            started.elapsed().as_secs_f64() * 1000.0,
        )
    }

    async fn candidate_logprobs(
        &self,
        request: &LogprobRequest,
    ) -> Result<CandidateLogprobs, BackendError> {
        if !self.supports(Capability::CandidateLogprobs) {
            return Err(self.unsupported(Capability::CandidateLogprobs));
        }
        if request.assistant_prefix.is_some() && !self.supports(Capability::PrefixContinuation) {
            return Err(self.unsupported(Capability::PrefixContinuation));
        }
        let mut body = self.body(&request.messages, request.assistant_prefix.as_deref());
        self.limit(&mut body, 1, 0.0);
        self.add_options(&mut body);
        body["logprobs"] = json!(true);
        body["top_logprobs"] = json!(20);
        let response = self.post(&body).await?;
        let top = response["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
            .as_array()
            .ok_or_else(|| malformed("no logprobs.content[0].top_logprobs in the response (does the server support logprobs?)"))?;
        let listed: Vec<(&str, f64)> = top
            .iter()
            .filter_map(|t| Some((t["token"].as_str()?, t["logprob"].as_f64()?)))
            .collect();
        let logprobs = request
            .candidates
            .iter()
            .map(|c| {
                listed
                    .iter()
                    .filter(|(t, _)| candidate_matches(t, c, self.lenient_space))
                    .map(|(_, lp)| *lp)
                    .fold(f64::NEG_INFINITY, f64::max)
            })
            .collect();
        Ok(CandidateLogprobs {
            logprobs,
            token_counts: vec![1; request.candidates.len()],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasoning_from_field_or_tags() {
        let body = json!({"choices":[{"message":{"content":"Answer: B","reasoning_content":"because"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":4}});
        let c = parse_chat_response(&body, "m", None, 1.0).expect("parse");
        assert_eq!(c.reasoning.expect("reasoning").reasoning, "because");
        assert_eq!(
            (c.output.as_str(), c.usage.completion_tokens),
            ("Answer: B", 4)
        );
        let body = json!({"choices":[{"message":{"content":"<think>hmm</think>Answer: C"},"finish_reason":"length"}]});
        let c = parse_chat_response(&body, "m", None, 1.0).expect("parse");
        assert_eq!(c.reasoning.expect("reasoning").reasoning, "hmm");
        assert_eq!(
            (c.output.as_str(), c.finish_reason),
            ("Answer: C", FinishReason::Length)
        );
        let body = json!({"choices":[{"message":{"content":"Let's go. More"}}]});
        let c = parse_chat_response(&body, "m", Some("Let's go."), 1.0).expect("parse");
        assert_eq!(c.output, " More");
        assert!(parse_chat_response(&json!({"choices":[]}), "m", None, 1.0).is_err());
    }

    #[test]
    fn a_reasoning_count_without_text_is_hidden_reasoning() {
        let body = json!({"choices":[{"message":{"content":"Answer: B"},"finish_reason":"stop"}],
            "usage":{"prompt_tokens":3,"completion_tokens":44,"completion_tokens_details":{"reasoning_tokens":40}}});
        let c = parse_chat_response(&body, "o4-mini", None, 1.0).expect("parse");
        assert!(c.reasoning_hidden());
        assert_eq!((c.cot(), c.usage.reasoning_tokens), ("Answer: B", Some(40)));
        let body = json!({"choices":[{"message":{"content":"Answer: B"}}],
            "usage":{"completion_tokens_details":{"reasoning_tokens":0}}});
        assert!(!parse_chat_response(&body, "m", None, 1.0)
            .expect("parse")
            .reasoning_hidden());
    }

    #[test]
    fn openai_reasoning_models_by_name() {
        for m in [
            "o1",
            "o3-mini",
            "o4-mini-2025-04-16",
            "gpt-5",
            "gpt-5-mini",
            "GPT-5-nano",
        ] {
            assert!(is_openai_reasoning_model(m), "{m}");
        }
        for m in [
            "gpt-4o",
            "gpt-5-chat-latest",
            "openai/o3",
            "ollama",
            "olmo-2",
            "Qwen/Qwen3-8B",
        ] {
            assert!(!is_openai_reasoning_model(m), "{m}");
        }
    }
}
