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
        // The probe asks with the options the runs will send (they may change how the server
        // renders or answers), and its report is stored under their hash.
        let one_token = |messages: Value| {
            let mut body = json!({"model": self.model(), "messages": messages});
            self.limit(&mut body, 1, 0.0);
            self.add_options(&mut body);
            body
        };
        let mut continued_body = one_token(json!([user, started]));
        continued_body["continue_final_message"] = json!(true);
        continued_body["add_generation_prompt"] = json!(false);
        let continued = self.ask(base_url, &continued_body).await?;
        let mut unfinished_body = one_token(json!([user, started]));
        unfinished_body["add_generation_prompt"] = json!(false);
        let unfinished = self.ask(base_url, &unfinished_body).await?;
        let closed = self
            .ask(base_url, &one_token(json!([user, started])))
            .await?;
        // Log-probabilities at the continued position when the counts say there is one (the
        // assessment then also checks the next word).
        let honoured = probe::counts_say_continued(&continued, &unfinished, &closed);
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
            // The level or kwargs the user asked for, where given (one_token carries them).
            let mut body = one_token(json!([user]));
            if body[field].is_null() {
                body[field] = value;
            }
            controls.insert(field.to_string(), self.ask(base_url, &body).await?);
        }
        let observations = Observations {
            continued,
            unfinished,
            closed,
            logprobs,
            logprobs_continued: honoured,
            plain,
            controls,
        };
        let mut report = probe::assess(
            "openai-chat-completions",
            base_url,
            self.model(),
            &observations,
            now_unix,
        );
        report.request_options_sha256 = self.options_hash();
        report.server_fingerprint = self.fingerprint(base_url).await;
        Ok(report)
    }

    async fn ask(&self, base_url: &str, body: &Value) -> Result<Reply, BackendError> {
        let reply = ask_with_retries(|| self.post_to(base_url, body)).await?;
        Ok(match reply {
            Ok(v) if v["choices"].is_array() => Reply::Answered(read_answer(&v)),
            // A 200 that carries an error, or no choices, is no answer.
            Ok(v) => Reply::Refused {
                status: 200,
                message: v["error"]["message"]
                    .as_str()
                    .or_else(|| v["error"].as_str())
                    .map_or_else(|| "a 200 reply with no choices".to_string(), str::to_string),
            },
            Err(refused) => refused,
        })
    }

    /// The server's own account of what it serves at `base_url` (`GET /models`: each model's
    /// id, owner, root and context length), hashed; `None` when it has no such endpoint.
    pub async fn fingerprint(&self, base_url: &str) -> Option<String> {
        let endpoint = format!("{base_url}/models");
        let v = self.get(&endpoint).await.ok()?;
        let mut models: Vec<String> = v["data"]
            .as_array()?
            .iter()
            .map(|m| {
                ["id", "owned_by", "root", "parent", "max_model_len"]
                    .map(|k| m[k].to_string())
                    .join("|")
            })
            .collect();
        models.sort();
        Some(cotlens_core::prompts::template_hash(&models.join("\n")))
    }
}

/// Send a probe request, retrying rate limits, 5xx and dropped connections: the reply, or the
/// refusal of a 400/422 as a finding (`Err(Reply::Refused)`); other failures are errors.
pub(crate) async fn ask_with_retries<F, Fut>(
    mut send: F,
) -> Result<Result<Value, Reply>, BackendError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Value, BackendError>>,
{
    let mut last = None;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            let wait = last
                .as_ref()
                .and_then(BackendError::retry_after)
                .unwrap_or(Duration::from_millis(250 << attempt));
            tokio::time::sleep(wait.min(Duration::from_secs(10))).await;
        }
        match send().await {
            Ok(v) => return Ok(Ok(v)),
            Err(BackendError::Rejected {
                status: status @ (400 | 422),
                message,
                ..
            }) => return Ok(Err(Reply::Refused { status, message })),
            Err(e) if e.is_retryable() => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| BackendError::Model("probe: no attempt made".into())))
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
