//! The one interface every model sits behind.
//!
//! A backend does up to three things (see [`Capability`]): chat generation, continuation of a
//! started assistant turn, and log-probabilities of candidate continuations. A backend that
//! cannot do one returns [`BackendError::Unsupported`] naming it, so protocols fail with a clear
//! message instead of silently falling back.

use crate::types::{CandidateLogprobs, ChatRequest, Completion, LogprobRequest};
use async_trait::async_trait;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    Chat,
    PrefixContinuation,
    CandidateLogprobs,
}

impl Capability {
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Chat => "chat",
            Capability::PrefixContinuation => "prefix continuation",
            Capability::CandidateLogprobs => "candidate log-probabilities",
        }
    }
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a request failed. [`BackendError::is_retryable`] tells the engine whether to try again.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(
        "backend {backend} does not support {capability}{}",
        .evidence.as_deref().map(|e| format!(" ({e}); fix: {}", crate::probe::fix(*.capability))).unwrap_or_default()
    )]
    Unsupported {
        backend: String,
        capability: Capability,
        /// The probe's evidence, when a probe found the capability missing.
        evidence: Option<String>,
    },
    /// The server refused the request for a reason retrying cannot fix (400, 401, 403, 404).
    #[error("{status} from {endpoint}: {message}")]
    Rejected {
        status: u16,
        endpoint: String,
        message: String,
    },
    /// Rate limited or overloaded (429, 5xx); `retry_after` is the server's hint.
    #[error("{status} from {endpoint}: {message}")]
    Transient {
        status: u16,
        endpoint: String,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("request to {endpoint} timed out after {after:?}")]
    Timeout { endpoint: String, after: Duration },
    /// Connection refused or reset, or the body was cut off.
    #[error("connection to {endpoint} failed: {message}")]
    Connection { endpoint: String, message: String },
    /// The body arrived but could not be understood.
    #[error("unparseable response from {endpoint}: {message}")]
    Malformed { endpoint: String, message: String },
    /// The request itself cannot be served (e.g. a prompt longer than the context window).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The local model failed.
    #[error("model error: {0}")]
    Model(String),
}

impl BackendError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            BackendError::Transient { .. }
                | BackendError::Timeout { .. }
                | BackendError::Connection { .. }
                | BackendError::Malformed { .. }
        )
    }

    /// The server's Retry-After hint, when it gave one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            BackendError::Transient { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A short machine-readable kind, recorded with failed attempts.
    pub fn kind(&self) -> &'static str {
        match self {
            BackendError::Unsupported { .. } => "unsupported",
            BackendError::Rejected { .. } => "rejected",
            BackendError::Transient { .. } => "transient",
            BackendError::Timeout { .. } => "timeout",
            BackendError::Connection { .. } => "connection",
            BackendError::Malformed { .. } => "malformed",
            BackendError::InvalidRequest(_) => "invalid_request",
            BackendError::Model(_) => "model",
        }
    }
}

/// A capability a protocol needs and the backend lacks: "WHY: backend X does not support Y".
#[derive(Debug, thiserror::Error)]
#[error("{why}")]
pub struct Missing {
    pub why: String,
    #[source]
    pub source: BackendError,
}

/// What a backend says about itself; recorded in every run manifest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BackendInfo {
    /// The model spec as the user wrote it, e.g. `smollm2-135m` or `openai:gpt-4o`.
    pub spec: String,
    /// The model identity: file sha256 for local models, the model name for servers.
    pub model_id: String,
    pub capabilities: Vec<Capability>,
    /// Backend-specific facts worth recording (threads, context size, endpoints without secrets).
    #[serde(default)]
    pub details: serde_json::Map<String, serde_json::Value>,
    /// How `capabilities` were established for a server: probed, or trusted on the user's word.
    /// Absent where the backend's kind decides them (local models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capability_check: Option<crate::probe::CapabilityCheck>,
}

#[async_trait]
pub trait Backend: Send + Sync {
    fn info(&self) -> &BackendInfo;

    fn supports(&self, capability: Capability) -> bool {
        self.info().capabilities.contains(&capability)
    }

    /// Chat generation. A request with `assistant_prefix` needs [`Capability::PrefixContinuation`].
    async fn chat(&self, request: &ChatRequest) -> Result<Completion, BackendError>;

    /// Log-probabilities of each candidate continuation.
    async fn candidate_logprobs(
        &self,
        request: &LogprobRequest,
    ) -> Result<CandidateLogprobs, BackendError> {
        let _ = request;
        Err(self.unsupported(Capability::CandidateLogprobs))
    }

    /// The number of tokens of `text` under the served model's tokenizer, where the backend can
    /// count them (the local vocabulary; a server's tokenizer endpoint). `None` otherwise.
    async fn count_tokens(&self, text: &str) -> Option<u32> {
        let _ = text;
        None
    }

    /// `Ok` when the backend has `capability`; otherwise an error that says `why` it is needed
    /// and names what is missing (the user can fix it: another model or other flags).
    fn require(&self, capability: Capability, why: &str) -> Result<(), Missing> {
        if self.supports(capability) {
            Ok(())
        } else {
            Err(Missing {
                why: why.to_string(),
                source: self.unsupported(capability),
            })
        }
    }

    fn unsupported(&self, capability: Capability) -> BackendError {
        BackendError::Unsupported {
            backend: self.info().spec.clone(),
            capability,
            evidence: self
                .info()
                .capability_check
                .as_ref()
                .and_then(|c| c.evidence(capability)),
        }
    }
}
