//! [`LocalBackend`]: a GGUF model behind the [`Backend`] trait.

use crate::worker::{self, Job, Loaded, WorkerConfig};
use async_trait::async_trait;
use cotlens_core::types::{CandidateLogprobs, ChatRequest, Completion, LogprobRequest, Message};
use cotlens_core::{Backend, BackendError, BackendInfo, Capability};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Mutex;
use tokio::sync::oneshot;

/// How to run a local model.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LocalConfig {
    /// CPU threads for llama.cpp. More threads than free cores is catastrophic (see
    /// design/local-inference.md); the default is the number of available cores.
    pub threads: usize,
    /// Sequences decoded together in one batch (continuous batching). 1 = bit-reproducible.
    pub parallel: usize,
    /// Context window per sequence, in tokens.
    pub context: u32,
    /// Largest batch of prompt tokens evaluated at once.
    pub batch: u32,
    /// Reuse cached KV entries of a shared prompt prefix (see design/local-inference.md).
    pub prefix_cache: bool,
}

impl Default for LocalConfig {
    fn default() -> Self {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Self {
            threads,
            parallel: 1,
            context: 2048,
            batch: 512,
            prefix_cache: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: no such model file")]
    Missing { path: PathBuf },
    #[error("{path}: not a GGUF model file ({reason})")]
    NotGguf { path: PathBuf, reason: String },
    #[error("{path}: cannot load the model: {reason}")]
    Load { path: PathBuf, reason: String },
}

/// The embedded/local backend. Cheap to share: requests go to the inference thread.
pub struct LocalBackend {
    info: BackendInfo,
    loaded: LoadedInfo,
    jobs: Mutex<mpsc::Sender<Job>>,
}

/// Facts about the loaded model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadedInfo {
    pub architecture: String,
    pub n_vocab: i32,
    pub n_ctx_train: u32,
}

/// Check the file is there and starts like a GGUF file, so that the common mistakes get a
/// one-line error rather than whatever llama.cpp does with them.
pub fn check_gguf(path: &Path) -> Result<(), LoadError> {
    let meta = std::fs::metadata(path).map_err(|_| LoadError::Missing {
        path: path.to_path_buf(),
    })?;
    if !meta.is_file() {
        return Err(LoadError::NotGguf {
            path: path.to_path_buf(),
            reason: "not a regular file".into(),
        });
    }
    let mut magic = [0u8; 4];
    let mut file = std::fs::File::open(path).map_err(|e| LoadError::NotGguf {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if file.read_exact(&mut magic).is_err() || &magic != b"GGUF" {
        return Err(LoadError::NotGguf {
            path: path.to_path_buf(),
            reason: "missing the GGUF magic bytes".into(),
        });
    }
    Ok(())
}

impl LocalBackend {
    /// Load a GGUF file. `spec` is what the user wrote (recorded), `model_id` the identity to
    /// record (the file's sha256 for embedded models).
    pub fn load(
        path: &Path,
        spec: &str,
        model_id: &str,
        config: LocalConfig,
    ) -> Result<Self, LoadError> {
        check_gguf(path)?;
        let (jobs_tx, jobs_rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let worker_config = WorkerConfig {
            path: path.to_path_buf(),
            model_name: spec.to_string(),
            threads: config.threads.max(1) as i32,
            slots: config.parallel.max(1) as u32,
            context_per_slot: config.context.max(64),
            batch: config.batch.max(32),
            prefix_cache: config.prefix_cache,
        };
        std::thread::Builder::new()
            .name("cotlens-llama".into())
            .spawn(move || worker::run(worker_config, jobs_rx, ready_tx))
            .map_err(|e| LoadError::Load {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        let loaded: Loaded = ready_rx
            .recv()
            .map_err(|_| LoadError::Load {
                path: path.to_path_buf(),
                reason: "the inference thread died".into(),
            })?
            .map_err(|reason| LoadError::Load {
                path: path.to_path_buf(),
                reason,
            })?;
        let mut capabilities = vec![Capability::CandidateLogprobs];
        if loaded.chat_template {
            capabilities.extend([Capability::Chat, Capability::PrefixContinuation]);
        }
        let mut details = serde_json::Map::new();
        details.insert("backend".into(), "llama.cpp (llama-cpp-2 0.1.160)".into());
        details.insert("path".into(), path.display().to_string().into());
        details.insert("architecture".into(), loaded.architecture.clone().into());
        details.insert(
            "config".into(),
            serde_json::to_value(&config).unwrap_or_default(),
        );
        Ok(Self {
            info: BackendInfo {
                spec: spec.to_string(),
                model_id: model_id.to_string(),
                capabilities,
                details,
                capability_check: None,
            },
            loaded: LoadedInfo {
                architecture: loaded.architecture,
                n_vocab: loaded.n_vocab,
                n_ctx_train: loaded.n_ctx_train,
            },
            jobs: Mutex::new(jobs_tx),
        })
    }

    pub fn loaded(&self) -> &LoadedInfo {
        &self.loaded
    }

    async fn send<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, BackendError>>) -> Job,
    ) -> Result<T, BackendError> {
        let (tx, rx) = oneshot::channel();
        {
            let jobs = self
                .jobs
                .lock()
                .map_err(|_| BackendError::Model("inference thread lock poisoned".into()))?;
            jobs.send(make(tx))
                .map_err(|_| BackendError::Model("the inference thread has stopped".into()))?;
        }
        rx.await
            .map_err(|_| BackendError::Model("the inference thread dropped the request".into()))?
    }

    /// The full next-token log-probability distribution (natural log) after the prompt.
    pub async fn next_token_distribution(
        &self,
        messages: &[Message],
        assistant_prefix: Option<&str>,
    ) -> Result<Vec<f64>, BackendError> {
        let messages = messages.to_vec();
        let prefix = assistant_prefix.map(str::to_string);
        self.send(|tx| Job::Distribution(messages, prefix, tx))
            .await
    }

    /// Token ids of `text` under the model's own vocabulary.
    pub async fn tokenize(&self, text: &str) -> Result<Vec<i32>, BackendError> {
        let text = text.to_string();
        self.send(|tx| Job::Tokenize(text, tx)).await
    }
}

#[async_trait]
impl Backend for LocalBackend {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    async fn count_tokens(&self, text: &str) -> Option<u32> {
        self.tokenize(text).await.ok().map(|t| t.len() as u32)
    }

    async fn chat(&self, request: &ChatRequest) -> Result<Completion, BackendError> {
        if !self.supports(Capability::Chat) {
            return Err(self.unsupported(Capability::Chat));
        }
        let request = request.clone();
        self.send(|tx| Job::Chat(request, tx)).await
    }

    async fn candidate_logprobs(
        &self,
        request: &LogprobRequest,
    ) -> Result<CandidateLogprobs, BackendError> {
        let request = request.clone();
        self.send(|tx| Job::Logprobs(request, tx)).await
    }
}
