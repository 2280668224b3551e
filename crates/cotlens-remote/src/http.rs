//! The HTTP plumbing both remote backends share: options, secrets, replica choice, and mapping
//! of transport and status failures onto [`BackendError`] (which the engine uses to retry).

use cotlens_core::BackendError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Options for remote backends, from the CLI.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// One or more base URLs (replicas); requests rotate over them. Empty = the provider default.
    pub base_urls: Vec<String>,
    /// Environment variable holding the API key; `None` = the provider's usual one.
    pub api_key_env: Option<String>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// `--reasoning-effort`: OpenAI's `reasoning_effort` on every chat request.
    pub reasoning_effort: Option<String>,
    /// `--chat-template-kwargs`: vLLM's and SGLang's `chat_template_kwargs`.
    pub chat_template_kwargs: Option<serde_json::Value>,
    /// `--extra-body`: merged into every chat request body last (top-level keys replaced).
    pub extra_body: Option<serde_json::Map<String, serde_json::Value>>,
    /// `--thinking-budget`: Anthropic's `thinking: {type: enabled, budget_tokens}`.
    pub thinking_budget: Option<u32>,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        Self {
            base_urls: Vec::new(),
            api_key_env: None,
            timeout: Duration::from_secs(600),
            reasoning_effort: None,
            chat_template_kwargs: None,
            extra_body: None,
            thinking_budget: None,
        }
    }
}

/// A configuration mistake, named by the flag or variable that fixes it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("--base-url {url:?}: {reason}")]
    BaseUrl { url: String, reason: String },
    #[error("{variable} is not set: export it or name another variable with --api-key-env")]
    MissingKey { variable: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// An API key. Never printed, never serialized.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Read the key from `variable`; `required` says whether its absence is an error.
pub(crate) fn api_key(variable: &str, required: bool) -> Result<Option<Secret>, ConfigError> {
    match std::env::var(variable) {
        Ok(v) if !v.trim().is_empty() => Ok(Some(Secret(v.trim().to_string()))),
        _ if required => Err(ConfigError::MissingKey {
            variable: variable.to_string(),
        }),
        _ => Ok(None),
    }
}

/// `url` with any credentials (`user:KEY@`) replaced by `***@`, for messages and logs.
pub(crate) fn redact_userinfo(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        // Not a well-formed URL (`http:/user:KEY@host`, `user:KEY@host`): it is refused, but
        // its message must not carry the key either. Whatever precedes the first `@`, back to
        // the `/` before it, is taken for credentials.
        return match url.find('@') {
            Some(at) => {
                let start = url[..at].rfind('/').map_or(0, |i| i + 1);
                // boundary: after the ASCII `/` and at the ASCII `@` found here
                format!("{}***{}", &url[..start], &url[at..])
            }
            None => url.to_string(),
        };
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        // boundary: after the ASCII `@` found here
        Some(at) => format!("{}***@{}", &url[..scheme_end], &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// Validate base URLs: http or https, a host, no credentials in them; trailing slash dropped.
pub(crate) fn parse_base_urls(urls: &[String], default: &str) -> Result<Vec<String>, ConfigError> {
    let urls: Vec<String> = if urls.is_empty() {
        vec![default.to_string()]
    } else {
        urls.to_vec()
    };
    urls.into_iter()
        .map(|url| {
            // Messages never show credentials a URL carries.
            let shown = redact_userinfo(&url);
            let parsed = reqwest::Url::parse(&url).map_err(|e| ConfigError::BaseUrl {
                url: shown.clone(),
                reason: e.to_string(),
            })?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(ConfigError::BaseUrl {
                    url: shown,
                    reason: "must start with http:// or https://".into(),
                });
            }
            if parsed.host_str().is_none_or(str::is_empty) {
                return Err(ConfigError::BaseUrl {
                    url: shown,
                    reason: "has no host".into(),
                });
            }
            if !parsed.username().is_empty() || parsed.password().is_some() {
                return Err(ConfigError::BaseUrl {
                    url: shown,
                    reason: "must not carry credentials; use --api-key-env".into(),
                });
            }
            Ok(url.trim_end_matches('/').to_string())
        })
        .collect()
}

/// Rotates requests over replicas.
#[derive(Debug)]
pub(crate) struct Replicas {
    urls: Vec<String>,
    next: AtomicUsize,
}

impl Replicas {
    pub(crate) fn new(urls: Vec<String>) -> Self {
        Self {
            urls,
            next: AtomicUsize::new(0),
        }
    }
    pub(crate) fn pick(&self) -> &str {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.urls.len();
        &self.urls[i]
    }
    pub(crate) fn all(&self) -> &[String] {
        &self.urls
    }
}

pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, ConfigError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(256)
        .build()
        .map_err(|e| ConfigError::Client(e.to_string()))
}

/// Whether a JSON key names a secret (its value is never logged).
fn secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "key",
        "token",
        "secret",
        "passw",
        "auth",
        "bearer",
        "cookie",
        "credential",
        "signature",
        "session",
    ]
    .iter()
    .any(|s| k.contains(s))
        // A tokenizer's name is no secret.
        && !k.contains("tokenizer")
}

/// Whether a value can hold a secret: text, at any depth (token counts and token-id lists are
/// numbers and stay visible).
fn holds_text(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::String(_) => true,
        Value::Array(items) => items.iter().any(holds_text),
        Value::Object(map) => map.values().any(holds_text),
        _ => false,
    }
}

/// A URL's user and password (`https://user:pass@host`) and its secret-looking query values
/// (`?key=…`, `&access_token=…`) replaced.
fn without_userinfo(text: &str) -> String {
    static USERINFO: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@").expect("valid regex")
    });
    static QUERY: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)([?&][^=&\s]*(?:key|token|secret|sig|auth|passw|session)[^=&\s]*=)[^&\s]+",
        )
        .expect("valid regex")
    });
    let text = USERINFO.replace_all(text, "${1}[redacted]@");
    QUERY.replace_all(&text, "${1}[redacted]").into_owned()
}

/// `body` with the text under secret-looking keys replaced by `"[redacted]"`, and credentials
/// in URLs removed, at any depth.
pub(crate) fn redacted(body: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match body {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if secret_key(k) && holds_text(v) {
                        Value::String("[redacted]".into())
                    } else {
                        redacted(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redacted).collect()),
        Value::String(s) => Value::String(without_userinfo(s)),
        other => other.clone(),
    }
}

/// At `-vv` (debug), log a request body as sent, secrets redacted (keys travel in headers,
/// which are never logged).
pub(crate) fn log_request(endpoint: &str, body: &serde_json::Value) {
    if tracing::enabled!(tracing::Level::DEBUG) {
        tracing::debug!(endpoint, body = %redacted(body), "request");
    }
}

/// Send a JSON POST and return the parsed JSON body, mapping every failure to a [`BackendError`].
pub(crate) async fn post_json(
    request: reqwest::RequestBuilder,
    endpoint: &str,
    timeout: Duration,
) -> Result<serde_json::Value, BackendError> {
    send_json(request, endpoint, timeout).await
}

/// Send a request (any method) and return the parsed JSON body, as [`post_json`].
pub(crate) async fn send_json(
    request: reqwest::RequestBuilder,
    endpoint: &str,
    timeout: Duration,
) -> Result<serde_json::Value, BackendError> {
    let response = request
        .send()
        .await
        .map_err(|e| transport_error(e, endpoint, timeout))?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(3600.0)));
    let body = response
        .bytes()
        .await
        .map_err(|e| transport_error(e, endpoint, timeout))?;
    if !status.is_success() {
        let message = error_message(&body);
        let code = status.as_u16();
        return Err(if code == 429 || code == 408 || status.is_server_error() {
            BackendError::Transient {
                status: code,
                endpoint: endpoint.to_string(),
                message,
                retry_after,
            }
        } else {
            BackendError::Rejected {
                status: code,
                endpoint: endpoint.to_string(),
                message,
            }
        });
    }
    serde_json::from_slice(&body).map_err(|e| BackendError::Malformed {
        endpoint: endpoint.to_string(),
        message: e.to_string(),
    })
}

fn transport_error(e: reqwest::Error, endpoint: &str, timeout: Duration) -> BackendError {
    if e.is_timeout() {
        BackendError::Timeout {
            endpoint: endpoint.to_string(),
            after: timeout,
        }
    } else {
        // Connection refused or reset, or a body cut off mid-way.
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message = format!("{message}: {s}");
            source = s.source();
        }
        BackendError::Connection {
            endpoint: endpoint.to_string(),
            message,
        }
    }
}

/// The server's own error message: `{"error": {"message": …}}`, `{"error": "…"}`, or the text.
fn error_message(body: &[u8]) -> String {
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) {
        let e = &json["error"];
        if let Some(m) = e["message"]
            .as_str()
            .or_else(|| e.as_str())
            .or_else(|| json["message"].as_str())
        {
            return m.to_string();
        }
    }
    let text = String::from_utf8_lossy(body);
    text.chars()
        .take(500)
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_and_token_counts_are_not() {
        let body = serde_json::json!({"model": "m", "max_tokens": 5, "api_key": "sk-1",
            "extra": [{"Authorization": "Bearer x", "top_logprobs": 5, "budget_tokens": 1024}],
            "auth": {"bearer": "b-2"}, "access_tokens": ["t-3"], "headers": {"Cookie": "c-4"},
            "passwd": "p-5", "url": "https://u:S8@h/x", "stop_token_ids": [42], "token_budget": 7,
            "apiKey": "k-6", "x-api-key": "k-7", "session_id": "s-8",
            "hook": "https://h/x?key=q-9&access_token=q-10&page=2", "tokenizer": "gpt2"});
        let r = redacted(&body).to_string();
        for secret in [
            "sk-1", "Bearer x", "b-2", "t-3", "c-4", "p-5", "S8", "k-6", "k-7", "s-8", "q-9",
            "q-10",
        ] {
            assert!(!r.contains(secret), "{secret} in {r}");
        }
        assert!(
            r.contains("\"stop_token_ids\":[42]") && r.contains("\"token_budget\":7"),
            "{r}"
        );
        assert!(
            r.contains("page=2") && r.contains("\"tokenizer\":\"gpt2\""),
            "{r}"
        );
        assert!(
            r.contains("\"max_tokens\":5") && r.contains("\"budget_tokens\":1024"),
            "{r}"
        );
        assert!(r.contains("\"top_logprobs\":5"));
    }

    #[test]
    fn base_urls_are_checked() {
        assert_eq!(
            parse_base_urls(&[], "https://api.openai.com/v1").expect("ok"),
            vec!["https://api.openai.com/v1"]
        );
        assert_eq!(
            parse_base_urls(&["http://127.0.0.1:8000/v1/".into()], "x").expect("ok"),
            vec!["http://127.0.0.1:8000/v1"]
        );
        for bad in [
            "localhost:8000",
            "ftp://x/v1",
            "not a url",
            "http://user:pw@host/v1",
        ] {
            let err = parse_base_urls(&[bad.into()], "x").expect_err(bad);
            assert!(err.to_string().starts_with("--base-url"), "{err}");
        }
    }

    #[test]
    fn credentials_in_base_urls_never_print() {
        for bad in [
            "http://user:sk-canary@host/v1",
            "https://sk-canary@host:8000/v1",
            "ftp://u:sk-canary@host/v1",
            "http://u:sk-canary@/v1",
        ] {
            let err = parse_base_urls(&[bad.into()], "x").expect_err(bad);
            assert!(!err.to_string().contains("canary"), "{err}");
        }
        assert_eq!(redact_userinfo("http://a:b@h/x@y"), "http://***@h/x@y");
        assert_eq!(redact_userinfo("http://h/v1"), "http://h/v1");
        for bad in [
            "http:/user:KEY@h/v1",
            "http//user:KEY@h",
            "user:KEY@h:80/v1",
        ] {
            let r = redact_userinfo(bad);
            assert!(!r.contains("KEY") && r.contains("***@h"), "{bad} -> {r}");
        }
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret("sk-canary".into());
        assert!(!format!("{s:?}").contains("canary"));
    }

    #[test]
    fn server_error_messages() {
        assert_eq!(
            error_message(br#"{"error":{"message":"bad key"}}"#),
            "bad key"
        );
        assert_eq!(error_message(br#"{"error":"overloaded"}"#), "overloaded");
        assert_eq!(error_message(b"plain text"), "plain text");
    }
}
