//! The engine: every request to a model goes through here. It owns bounded concurrency,
//! request and token rate limits, retries with exponential backoff and jitter (honouring
//! Retry-After), a total retry budget, the response cache, and the stop-the-run rule for errors
//! that retrying cannot fix (400, 401, 403, 404, unsupported capability).
//!
//! Each call returns an [`Outcome`]: the result or the final error, every failed attempt, and
//! whether it came from the cache. A failed request is recorded data, not a crash.

use crate::cache::{cache_key, Cache};
use cotlens_core::types::{CandidateLogprobs, ChatRequest, Completion, LogprobRequest};
use cotlens_core::{Backend, BackendError};
use rand::Rng;
use serde::{de::DeserializeOwned, Serialize};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

#[derive(Debug, Clone, Serialize)]
pub struct EngineConfig {
    pub concurrency: usize,
    pub requests_per_minute: Option<f64>,
    pub tokens_per_minute: Option<f64>,
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// Retries allowed over the whole run; when spent, failures are final.
    pub retry_budget: u64,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    pub use_cache: bool,
    /// What a cached answer must share with a request (`--cache-scope`).
    pub cache_scope: crate::args::CacheScope,
}

/// A failed attempt, as recorded with the unit of work.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Attempt {
    pub kind: String,
    pub message: String,
    /// How long the engine waited before the next attempt.
    pub waited_ms: u64,
}

/// Why a request failed for good (retries spent or not retryable): recorded with its unit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    /// [`BackendError::kind`] of the last attempt.
    pub kind: &'static str,
    pub message: String,
}

impl From<&BackendError> for Failure {
    fn from(e: &BackendError) -> Self {
        Self {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// Whether a unit's request gave a result: recorded as `"ok"` or `"failed"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Ok,
    /// The request failed after its retries; the error is recorded.
    Failed,
}

#[derive(Debug, Clone)]
pub struct Outcome<T> {
    pub result: Result<T, Failure>,
    pub attempts: Vec<Attempt>,
    pub cached: bool,
}

/// An error that stops the whole run.
#[derive(Debug, thiserror::Error)]
#[error("stopping the run: {0}")]
pub struct Fatal(#[source] pub BackendError);

/// Live counters for progress display and the run summary.
#[derive(Debug, Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub cache_hits: AtomicU64,
    pub retries: AtomicU64,
    pub failures: AtomicU64,
}

/// Spaces out acquisitions so that `per_minute` units pass per minute on average.
struct Pacer {
    unit: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    fn new(per_minute: f64) -> Self {
        Self {
            unit: Duration::from_secs_f64(60.0 / per_minute.max(1e-9)),
            next: Mutex::new(Instant::now()),
        }
    }
    async fn acquire(&self, units: f64) {
        let start = {
            let Ok(mut next) = self.next.lock() else {
                return;
            };
            let now = Instant::now();
            let start = (*next).max(now);
            *next = start + self.unit.mul_f64(units.max(0.0));
            start
        };
        tokio::time::sleep_until(start).await;
    }
}

pub struct Engine {
    backend: Arc<dyn Backend>,
    cache: Option<Arc<Cache>>,
    /// The backend's identity in cache keys (computed once).
    identity: serde_json::Value,
    config: EngineConfig,
    slots: Semaphore,
    rpm: Option<Pacer>,
    tpm: Option<Pacer>,
    retries_left: AtomicU64,
    stopped: AtomicBool,
    fatal: Mutex<Option<String>>,
    pub counters: Counters,
}

impl Engine {
    pub fn new(backend: Arc<dyn Backend>, cache: Option<Arc<Cache>>, config: EngineConfig) -> Self {
        let cache = if config.use_cache { cache } else { None };
        let identity = crate::cache::backend_identity(backend.info(), config.cache_scope);
        Self {
            backend,
            cache,
            identity,
            slots: Semaphore::new(config.concurrency.max(1)),
            rpm: config.requests_per_minute.map(Pacer::new),
            tpm: config.tokens_per_minute.map(Pacer::new),
            retries_left: AtomicU64::new(config.retry_budget),
            stopped: AtomicBool::new(false),
            fatal: Mutex::new(None),
            counters: Counters::default(),
            config,
        }
    }

    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The message of the error that stopped the run, if one did.
    pub fn stopped_because(&self) -> Option<String> {
        self.fatal.lock().ok().and_then(|f| f.clone())
    }

    pub async fn chat(&self, request: &ChatRequest) -> Result<Outcome<Completion>, Fatal> {
        let tokens = request.sampling.max_tokens as f64
            + request
                .messages
                .iter()
                .map(|m| m.content.len())
                .sum::<usize>() as f64
                / 4.0;
        self.call("chat", request, tokens, || self.backend.chat(request))
            .await
    }

    pub async fn candidate_logprobs(
        &self,
        request: &LogprobRequest,
    ) -> Result<Outcome<CandidateLogprobs>, Fatal> {
        let tokens = request
            .messages
            .iter()
            .map(|m| m.content.len())
            .sum::<usize>() as f64
            / 4.0
            + 1.0;
        self.call("logprobs", request, tokens, || {
            self.backend.candidate_logprobs(request)
        })
        .await
    }

    async fn call<R, T, F, Fut>(
        &self,
        kind: &str,
        request: &R,
        est_tokens: f64,
        send: F,
    ) -> Result<Outcome<T>, Fatal>
    where
        R: Serialize,
        T: Serialize + DeserializeOwned,
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, BackendError>>,
    {
        let key = self
            .cache
            .as_ref()
            .map(|_| cache_key(kind, &self.identity, request));
        if let (Some(cache), Some(key)) = (&self.cache, &key) {
            if let Some(hit) = cache.get::<T>(key) {
                self.counters.cache_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(Outcome {
                    result: Ok(hit),
                    attempts: Vec::new(),
                    cached: true,
                });
            }
        }
        let mut attempts = Vec::new();
        let mut attempt = 0u32;
        loop {
            if self.stopped.load(Ordering::SeqCst) {
                return Err(Fatal(BackendError::Model(
                    self.stopped_because()
                        .unwrap_or_else(|| "the run was stopped".into()),
                )));
            }
            if let Some(p) = &self.rpm {
                p.acquire(1.0).await;
            }
            if let Some(p) = &self.tpm {
                p.acquire(est_tokens).await;
            }
            let result = {
                let _permit = self
                    .slots
                    .acquire()
                    .await
                    .map_err(|_| Fatal(BackendError::Model("engine closed".into())))?;
                self.counters.requests.fetch_add(1, Ordering::Relaxed);
                send().await
            };
            attempt += 1;
            let error = match result {
                Ok(value) => {
                    if let (Some(cache), Some(key)) = (&self.cache, &key) {
                        if let Err(e) = cache.put(key, kind, &value) {
                            tracing::warn!("cache write failed: {e:#}");
                        }
                    }
                    return Ok(Outcome {
                        result: Ok(value),
                        attempts,
                        cached: false,
                    });
                }
                Err(e) => e,
            };
            if matches!(
                error,
                BackendError::Rejected { .. } | BackendError::Unsupported { .. }
            ) {
                let message = error.to_string();
                if let Ok(mut f) = self.fatal.lock() {
                    f.get_or_insert(message);
                }
                self.stopped.store(true, Ordering::SeqCst);
                return Err(Fatal(error));
            }
            let can_retry = error.is_retryable()
                && attempt < self.config.max_attempts
                && self
                    .retries_left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
            if !can_retry {
                self.counters.failures.fetch_add(1, Ordering::Relaxed);
                attempts.push(Attempt {
                    kind: error.kind().into(),
                    message: error.to_string(),
                    waited_ms: 0,
                });
                return Ok(Outcome {
                    result: Err(Failure::from(&error)),
                    attempts,
                    cached: false,
                });
            }
            let wait = self.backoff(attempt, error.retry_after());
            tracing::debug!("attempt {attempt} failed ({error}); retrying in {wait:?}");
            self.counters.retries.fetch_add(1, Ordering::Relaxed);
            attempts.push(Attempt {
                kind: error.kind().into(),
                message: error.to_string(),
                waited_ms: wait.as_millis() as u64,
            });
            tokio::time::sleep(wait).await;
        }
    }

    /// Exponential backoff with full jitter in [½, 1] of the step, at least the server's
    /// Retry-After.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let step = self
            .config
            .backoff_base_ms
            .saturating_mul(1u64 << (attempt - 1).min(20))
            .min(self.config.backoff_max_ms);
        let jittered = (step as f64 * rand::rng().random_range(0.5..=1.0)) as u64;
        let wait = Duration::from_millis(jittered);
        retry_after.map_or(wait, |r| wait.max(r))
    }
}
