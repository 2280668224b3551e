//! A real HTTP/1.1 server on 127.0.0.1 for the tests: it answers OpenAI Chat Completions
//! requests with a scripted model and injects faults on a deterministic schedule (429 with
//! Retry-After, 500, 503, hangs past the client's timeout, garbled JSON, truncated bodies,
//! connection resets, 401). Written on bare TCP so that every fault is a real one.
//!
//! It also plays one server's documented request rules ([`Emulate`]): it renders the chat
//! template the way that server does, reports `usage.prompt_tokens` from the rendering, and
//! refuses what that server refuses. The capability probe's requests (recognised by their
//! question) are answered by a model that counts ([`counting`]: it continues "One, two,
//! three, four," with " five" and starts a new turn with "One"), under the same emulation, and
//! are neither counted nor faulted, so that the tests' request counts and fault schedules stay
//! those of the protocols.

use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    TooMany,
    Internal,
    Unavailable,
    Hang,
    Garbled,
    Truncated,
    Reset,
}

pub const ALL_FAULTS: [Fault; 7] = [
    Fault::TooMany,
    Fault::Internal,
    Fault::Unavailable,
    Fault::Hang,
    Fault::Garbled,
    Fault::Truncated,
    Fault::Reset,
];

#[derive(Clone)]
pub struct Config {
    /// Every `fault_every`-th request gets the next fault of `faults` (0 = never).
    pub fault_every: u64,
    pub faults: Vec<Fault>,
    /// Answer every request with 401.
    pub unauthorized: bool,
    /// Delay before each answer.
    pub delay: Duration,
    /// The scripted model's answer to a request body.
    pub script: Arc<dyn Fn(&Value) -> Value + Send + Sync>,
}

/// Whose documented behaviour the server plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emulate {
    /// vLLM/SGLang: `continue_final_message: true` with `add_generation_prompt: false` continues
    /// the last assistant turn (both true is a 400, as vLLM answers it).
    Vllm,
    /// An older vLLM that honours `add_generation_prompt: false` but drops
    /// `continue_final_message`: the turn is closed, with no new assistant header after it.
    VllmNoContinue,
    /// vLLM with a reasoning parser (`--reasoning-parser deepseek_r1`): the generated text up
    /// to `</think>` goes to `message.reasoning` (the field's name since vLLM's rename), the rest
    /// to `content`; text with no `</think>` is all reasoning and `content` is null. So a
    /// continuation of a CoT comes back in `reasoning`.
    VllmReasoning,
    /// llama-cpp-python's `llama_cpp.server`: unknown fields are dropped, so a trailing assistant
    /// turn is closed and a new one started.
    LlamaCppPython,
    /// The official OpenAI API with a non-reasoning model (gpt-4o): fields it does not know are
    /// a 400 "Unrecognized request argument supplied", and so is `reasoning_effort`.
    OpenAi,
    /// The official OpenAI API with a reasoning model (o-series, GPT-5): also a 400 for
    /// `max_tokens` (it takes `max_completion_tokens`), a temperature or top_p other than 1,
    /// and `logprobs`; `reasoning_effort` must be minimal, low, medium or high.
    OpenAiReasoning,
    /// The Anthropic Messages API with a model that takes assistant prefill (Claude Sonnet 4.5
    /// and earlier). With `thinking`: `budget_tokens` ≥ 1024, `max_tokens` > `budget_tokens`,
    /// temperature 1 or unset, top_p ≥ 0.95 or unset, and no prefill.
    AnthropicPrefill,
    /// The Messages API with Claude 4.6 and later: the thinking rules, and also a 400 for any
    /// assistant prefill and for temperature and top_p together.
    AnthropicNoPrefill,
}

pub struct Server {
    pub url: String,
    /// Requests counted (neither the probe's nor `GET /models`).
    pub requests: Arc<AtomicU64>,
    /// What `GET /v1/models` answers (a test may change it: another server on the same URL).
    pub models: Arc<Mutex<Value>>,
    /// Authorization headers seen (to check keys are sent, never logged by us).
    pub auth_headers: Arc<Mutex<Vec<String>>>,
}

pub async fn start(config: Config) -> Server {
    start_as(config, Emulate::Vllm).await
}

pub async fn start_as(config: Config, emulate: Emulate) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let requests = Arc::new(AtomicU64::new(0));
    let auth_headers = Arc::new(Mutex::new(Vec::new()));
    let models = Arc::new(Mutex::new(json!({"object": "list", "data": [
        {"id": "scripted", "object": "model", "owned_by": "emulator", "max_model_len": 4096}]})));
    let (r, a, m) = (requests.clone(), auth_headers.clone(), models.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                break;
            };
            let (config, r, a, m) = (config.clone(), r.clone(), a.clone(), m.clone());
            tokio::spawn(async move {
                let _ = serve_connection(stream, config, emulate, r, a, m).await;
            });
        }
    });
    Server {
        url: format!("http://{addr}/v1"),
        requests,
        auth_headers,
        models,
    }
}

async fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> Option<(String, Vec<(String, String)>, Vec<u8>)> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let mut lines = head.lines();
            let request_line = lines.next()?.to_string();
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
                .collect();
            let len: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let mut chunk = [0u8; 65536];
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = buf[end + 4..end + 4 + len].to_vec();
            buf.drain(..end + 4 + len);
            return Some((request_line, headers, body));
        }
        let mut chunk = [0u8; 65536];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    extra: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.flush().await
}

async fn serve_connection(
    mut stream: TcpStream,
    config: Config,
    emulate: Emulate,
    requests: Arc<AtomicU64>,
    auth: Arc<Mutex<Vec<String>>>,
    models: Arc<Mutex<Value>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    while let Some((line, headers, body)) = read_request(&mut stream, &mut buf).await {
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if line.starts_with("GET ")
            && line
                .split_whitespace()
                .nth(1)
                .is_some_and(|p| p.ends_with("/models"))
        {
            let listed = models.lock().map(|m| m.to_string()).unwrap_or_default();
            respond(&mut stream, "200 OK", "", listed.as_bytes()).await?;
            continue;
        }
        let probe = request["messages"][0]["content"] == cotlens_core::probe::PROBE_QUESTION;
        let n = if probe {
            0
        } else {
            requests.fetch_add(1, Ordering::SeqCst) + 1
        };
        if let Some((_, v)) = headers.iter().find(|(k, _)| k == "authorization") {
            if let Ok(mut a) = auth.lock() {
                a.push(v.clone());
            }
        }
        if config.unauthorized {
            respond(&mut stream, "401 Unauthorized", "", br#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#).await?;
            continue;
        }
        if !config.delay.is_zero() {
            tokio::time::sleep(config.delay).await;
        }
        if config.fault_every > 0
            && !probe
            && n.is_multiple_of(config.fault_every)
            && !config.faults.is_empty()
        {
            let fault =
                config.faults[((n / config.fault_every - 1) as usize) % config.faults.len()];
            match fault {
                Fault::TooMany => {
                    respond(
                        &mut stream,
                        "429 Too Many Requests",
                        "retry-after: 0.05\r\n",
                        br#"{"error":{"message":"rate limited"}}"#,
                    )
                    .await?
                }
                Fault::Internal => {
                    respond(
                        &mut stream,
                        "500 Internal Server Error",
                        "",
                        br#"{"error":{"message":"boom"}}"#,
                    )
                    .await?
                }
                Fault::Unavailable => {
                    respond(&mut stream, "503 Service Unavailable", "", b"overloaded").await?
                }
                Fault::Hang => {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    return Ok(());
                }
                Fault::Garbled => {
                    respond(
                        &mut stream,
                        "200 OK",
                        "",
                        b"{\"choices\": [ this is not json",
                    )
                    .await?
                }
                Fault::Truncated => {
                    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{\"choices\":[{\"mess";
                    stream.write_all(head.as_bytes()).await?;
                    return Ok(());
                }
                Fault::Reset => {
                    // SO_LINGER 0 makes the close send RST: a real connection reset.
                    #[allow(deprecated)]
                    let _ = stream.set_linger(Some(Duration::ZERO));
                    return Ok(());
                }
            }
            continue;
        }
        let chat = request["messages"].is_array();
        if chat {
            if let Some(message) = refusal(emulate, &request) {
                let body = if matches!(
                    emulate,
                    Emulate::AnthropicPrefill | Emulate::AnthropicNoPrefill
                ) {
                    json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}})
                } else {
                    json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}})
                };
                respond(
                    &mut stream,
                    "400 Bad Request",
                    "",
                    body.to_string().as_bytes(),
                )
                .await?;
                continue;
            }
        }
        // Fields a server drops never reach the model (llama-cpp-python's request model ignores
        // what it does not know; an older vLLM knows no continue_final_message).
        let mut request = request;
        let dropped: &[&str] = match emulate {
            Emulate::LlamaCppPython => &[
                "continue_final_message",
                "add_generation_prompt",
                "chat_template_kwargs",
            ],
            Emulate::VllmNoContinue => &["continue_final_message"],
            _ => &[],
        };
        if let Some(o) = request.as_object_mut() {
            for f in dropped {
                o.remove(*f);
            }
        }
        let mut answer = if probe {
            counting(&request)
        } else {
            (config.script)(&request)
        };
        if emulate == Emulate::VllmReasoning && chat {
            reasoning_parser(&mut answer);
        }
        if chat && answer["usage"].is_object() && answer["usage"]["input_tokens"].is_null() {
            answer["usage"]["prompt_tokens"] = json!(prompt_tokens(emulate, &request));
        }
        // vLLM's `POST /tokenize` (at the server root): served only when the script answers it
        // with vLLM's shape; otherwise 404, as FastAPI servers without the route answer.
        if line
            .split_whitespace()
            .nth(1)
            .is_some_and(|p| p.ends_with("/tokenize"))
            && answer["count"].as_u64().is_none()
        {
            respond(
                &mut stream,
                "404 Not Found",
                "",
                br#"{"detail":"Not Found"}"#,
            )
            .await?;
            continue;
        }
        respond(&mut stream, "200 OK", "", answer.to_string().as_bytes()).await?;
    }
    Ok(())
}

/// vLLM's DeepSeek-R1 reasoning parser applied to the generated text of a reply.
fn reasoning_parser(answer: &mut Value) {
    let Some(message) = answer["choices"][0]["message"].as_object_mut() else {
        return;
    };
    let text = message
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let text = text.strip_prefix("<think>").unwrap_or(&text);
    let (reasoning, content) = match text.split_once("</think>") {
        Some((r, c)) => (r.to_string(), json!(c)),
        None => (text.to_string(), Value::Null),
    };
    message.remove("reasoning_content");
    message.insert("reasoning".into(), json!(reasoning));
    message.insert("content".into(), content);
}

/// What the emulated server answers with 400, if anything.
fn refusal(emulate: Emulate, request: &Value) -> Option<String> {
    match emulate {
        // A non-reasoning model (gpt-4o): reasoning_effort is refused as OpenAI refuses it.
        Emulate::OpenAi if !request["reasoning_effort"].is_null() => Some(
            "Unsupported parameter: 'reasoning_effort' is not supported with this model.".into(),
        ),
        Emulate::OpenAi => [
            "continue_final_message",
            "add_generation_prompt",
            "chat_template_kwargs",
        ]
        .iter()
        .find(|f| !request[**f].is_null())
        .map(|f| format!("Unrecognized request argument supplied: {f}")),
        // vLLM's request validator looks at the fields as sent (the default of
        // add_generation_prompt, true, does not count).
        Emulate::Vllm | Emulate::VllmReasoning | Emulate::VllmNoContinue => {
            (request["continue_final_message"] == true && request["add_generation_prompt"] == true)
                .then(|| {
                    "Cannot set both `continue_final_message` and `add_generation_prompt` to True."
                        .to_string()
                })
        }
        Emulate::OpenAiReasoning => {
            if let Some(f) = [
                "continue_final_message",
                "add_generation_prompt",
                "chat_template_kwargs",
            ]
            .iter()
            .find(|f| !request[**f].is_null())
            {
                return Some(format!("Unrecognized request argument supplied: {f}"));
            }
            if !request["max_tokens"].is_null() {
                return Some("Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.".into());
            }
            for f in ["temperature", "top_p"] {
                if let Some(v) = request[f].as_f64().filter(|v| *v != 1.0) {
                    return Some(format!("Unsupported value: '{f}' does not support {v} with this model. Only the default (1) value is supported."));
                }
            }
            if request["logprobs"] == true {
                return Some(
                    "Unsupported parameter: 'logprobs' is not supported with this model.".into(),
                );
            }
            let effort = &request["reasoning_effort"];
            if !effort.is_null()
                && !["minimal", "low", "medium", "high"]
                    .iter()
                    .any(|e| effort == *e)
            {
                return Some(format!("Invalid value: {effort}. Supported values are: 'minimal', 'low', 'medium', and 'high'."));
            }
            None
        }
        Emulate::LlamaCppPython => None,
        Emulate::AnthropicPrefill | Emulate::AnthropicNoPrefill => {
            anthropic_refusal(emulate, request)
        }
    }
}

/// The Messages API's documented refusals (extended thinking; prefill and sampling on 4.6+).
fn anthropic_refusal(emulate: Emulate, request: &Value) -> Option<String> {
    let prefilled = request["messages"]
        .as_array()
        .and_then(|m| m.last())
        .is_some_and(|m| m["role"] == "assistant");
    if let Some(content) = request["messages"]
        .as_array()
        .and_then(|m| m.last())
        .filter(|m| m["role"] == "assistant")
        .and_then(|m| m["content"].as_str())
    {
        if content.ends_with(char::is_whitespace) {
            return Some(
                "messages: final assistant content cannot end with trailing whitespace".into(),
            );
        }
    }
    if emulate == Emulate::AnthropicNoPrefill {
        if prefilled {
            return Some("This model does not support assistant message prefill. The conversation must end with a user message.".into());
        }
        if !request["temperature"].is_null() && !request["top_p"].is_null() {
            return Some("`temperature` and `top_p` cannot both be specified for this model. Please use only one.".into());
        }
    }
    let thinking = &request["thinking"];
    if thinking.is_null() {
        return None;
    }
    let budget = thinking["budget_tokens"].as_u64().unwrap_or(0);
    if thinking["type"] != "enabled" || budget < 1024 {
        return Some(
            "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024".into(),
        );
    }
    if request["max_tokens"].as_u64().unwrap_or(0) <= budget {
        return Some("`max_tokens` must be greater than `thinking.budget_tokens`.".into());
    }
    if request["temperature"].as_f64().is_some_and(|t| t != 1.0) {
        return Some("`temperature` may only be set to 1 when thinking is enabled.".into());
    }
    if request["top_p"].as_f64().is_some_and(|p| p < 0.95) {
        return Some(
            "`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled."
                .into(),
        );
    }
    if prefilled {
        return Some("Expected `thinking` or `redacted_thinking`, but found `text`. When `thinking` is enabled, a final `assistant` message must start with a thinking block.".into());
    }
    None
}

/// Tokens of a text under a word-level tokenizer: each run of word characters and each other
/// non-space character is one token.
fn tokens(text: &str) -> u64 {
    let mut n = 0;
    let mut in_word = false;
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            if !in_word {
                n += 1;
            }
            in_word = true;
        } else {
            in_word = false;
            if !c.is_whitespace() {
                n += 1;
            }
        }
    }
    n
}

/// The prompt's length under a ChatML template (`<|im_start|>ROLE\nCONTENT<|im_end|>\n` per
/// message, then `<|im_start|>assistant\n`), rendered as the emulated server renders it: a
/// continued last turn has no end marker and no new assistant header (vLLM also leaves the
/// header out when `add_generation_prompt` is false).
fn prompt_tokens(emulate: Emulate, request: &Value) -> u64 {
    let messages = request["messages"].as_array().cloned().unwrap_or_default();
    let continued = matches!(emulate, Emulate::Vllm | Emulate::VllmReasoning)
        && request["continue_final_message"] == true
        && messages.last().is_some_and(|m| m["role"] == "assistant");
    let header = match emulate {
        Emulate::Vllm | Emulate::VllmReasoning | Emulate::VllmNoContinue => {
            request["add_generation_prompt"] != false
        }
        _ => true,
    };
    let mut n = 0;
    for (i, m) in messages.iter().enumerate() {
        n += 2 + tokens(m["content"].as_str().unwrap_or(""));
        if !(continued && i + 1 == messages.len()) {
            n += 2;
        }
    }
    if !continued && header {
        n += 2;
    }
    n
}

/// A model that counts: continuing "One, two, three, four," it says " five"; in a new turn it
/// starts "One". Log-probabilities, when asked, are those of its first token.
pub fn counting(req: &Value) -> Value {
    let last_is_assistant = req["messages"]
        .as_array()
        .and_then(|m| m.last())
        .is_some_and(|m| m["role"] == "assistant");
    let continuing = req["continue_final_message"] == true && last_is_assistant;
    let (first, second) = if continuing {
        (" five", " Five")
    } else {
        ("One", "1")
    };
    let mut r = chat_response("counter", first, None);
    if req["logprobs"] == true {
        r["choices"][0]["logprobs"] = json!({"content": [{"token": first, "logprob": -0.1,
            "top_logprobs": [{"token": first, "logprob": -0.1}, {"token": second, "logprob": -2.3}]}]});
    }
    r
}

/// A Chat Completions response body.
pub fn chat_response(model: &str, content: &str, reasoning: Option<&str>) -> Value {
    let mut message = json!({"role": "assistant", "content": content});
    if let Some(r) = reasoning {
        message["reasoning_content"] = json!(r);
    }
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}
    })
}
