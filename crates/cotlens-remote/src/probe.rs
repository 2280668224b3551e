//! The capability probe's requests to an OpenAI-compatible server (the rules that read the
//! replies are in `cotlens_core::probe`). Six small requests, five of them one token long.

use crate::openai::OpenAiBackend;
use cotlens_core::probe::{self, Answer, Observations, ProbeReport, Reply};
use cotlens_core::BackendError;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// Attempts per probe request on rate limits, 5xx and dropped connections.
const ATTEMPTS: u32 = 3;

impl OpenAiBackend {
    /// Ask the server at `base_url` what it honours. A refusal (400, 422) of one request is a
    /// finding; a key or model the server does not accept (401, 403, 404) and a server that
    /// cannot be reached are errors.
    pub async fn probe(&self, base_url: &str, now_unix: u64) -> Result<ProbeReport, BackendError> {
        let user = json!({"role": "user", "content": probe::PROBE_QUESTION});
        let started = json!({"role": "assistant", "content": probe::PROBE_PREFIX});
        let one_token = |messages: Value| {
            let mut body = json!({"model": self.model(), "messages": messages});
            self.limit(&mut body, 1, 0.0);
            body
        };
        let mut continued_body = one_token(json!([user, started]));
        continued_body["continue_final_message"] = json!(true);
        continued_body["add_generation_prompt"] = json!(false);
        let continued = self.ask(base_url, &continued_body).await?;
        let closed = self
            .ask(base_url, &one_token(json!([user, started])))
            .await?;
        let honoured = probe::assess_continuation(&continued, &closed).yes();
        let mut logprobs_body = if honoured {
            continued_body.clone()
        } else {
            one_token(json!([user]))
        };
        logprobs_body["logprobs"] = json!(true);
        logprobs_body["top_logprobs"] = json!(5);
        let logprobs = self.ask(base_url, &logprobs_body).await?;
        let mut plain_body = one_token(json!([user]));
        self.limit(&mut plain_body, 64, 0.0);
        let plain = self.ask(base_url, &plain_body).await?;
        let mut controls = BTreeMap::new();
        for (field, value) in [
            ("reasoning_effort", json!("low")),
            ("chat_template_kwargs", json!({})),
        ] {
            let mut body = one_token(json!([user]));
            body[field] = value;
            controls.insert(field.to_string(), self.ask(base_url, &body).await?);
        }
        let observations = Observations {
            continued,
            closed,
            logprobs,
            logprobs_continued: honoured,
            plain,
            controls,
        };
        Ok(probe::assess(
            "openai-chat-completions",
            base_url,
            self.model(),
            &observations,
            now_unix,
        ))
    }

    async fn ask(&self, base_url: &str, body: &Value) -> Result<Reply, BackendError> {
        let mut last = None;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                let wait = last
                    .as_ref()
                    .and_then(BackendError::retry_after)
                    .unwrap_or(Duration::from_millis(250 << attempt));
                tokio::time::sleep(wait.min(Duration::from_secs(10))).await;
            }
            match self.post_to(base_url, body).await {
                Ok(v) => return Ok(Reply::Answered(read_answer(&v))),
                Err(BackendError::Rejected {
                    status: status @ (400 | 422),
                    message,
                    ..
                }) => return Ok(Reply::Refused { status, message }),
                Err(e) if e.is_retryable() => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| BackendError::Model("probe: no attempt made".into())))
    }
}

/// The parts of a Chat Completions reply the probe reads.
pub(crate) fn read_answer(body: &Value) -> Answer {
    let message = &body["choices"][0]["message"];
    let reasoning_field = ["reasoning_content", "reasoning"].iter().find_map(|f| {
        message[*f]
            .as_str()
            .filter(|t| !t.is_empty())
            .map(|t| (f.to_string(), t.to_string()))
    });
    Answer {
        prompt_tokens: body["usage"]["prompt_tokens"].as_u64(),
        content: message["content"].as_str().unwrap_or("").to_string(),
        reasoning_field,
        top_tokens: body["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
            .as_array()
            .map(|top| {
                top.iter()
                    .filter_map(|t| t["token"].as_str().map(str::to_string))
                    .collect()
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vllm_and_ollama_shapes() {
        let a = read_answer(
            &json!({"choices":[{"message":{"content":"","reasoning":"hm"},
            "logprobs":{"content":[{"token":" five","logprob":-0.1,"top_logprobs":[{"token":" five","logprob":-0.1},{"token":" Five","logprob":-3.0}]}]}}],
            "usage":{"prompt_tokens":31}}),
        );
        assert_eq!(a.prompt_tokens, Some(31));
        assert_eq!(a.reasoning_field, Some(("reasoning".into(), "hm".into())));
        assert_eq!(a.top_tokens, Some(vec![" five".into(), " Five".into()]));
        let a = read_answer(&json!({"choices":[{"message":{"content":"x"}}]}));
        assert_eq!((a.prompt_tokens, a.top_tokens), (None, None));
    }
}
