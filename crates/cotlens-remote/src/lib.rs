//! cotlens-remote: models behind HTTP APIs, as [`cotlens_core::Backend`]s.
//!
//! - [`OpenAiBackend`]: OpenAI-compatible Chat Completions (OpenAI, vLLM, SGLang, llama.cpp
//!   server, Ollama), several base URLs rotated as replicas.
//! - [`AnthropicBackend`]: the Anthropic Messages API with thinking blocks.
//!
//! Retries are not done here (the capability probe's few requests aside): failures come back as typed `BackendError`s and the engine
//! decides. API keys live in [`Secret`], which never prints.

mod anthropic;
mod http;
mod openai;
mod probe;

pub use anthropic::{
    parse_messages_response, AnthropicBackend, ANTHROPIC_DEFAULT_BASE, MIN_THINKING_BUDGET,
};
pub use http::{ConfigError, RemoteOptions, Secret};
pub use openai::{
    is_openai_reasoning_model, parse_chat_response, OpenAiBackend, OPENAI_DEFAULT_BASE,
};
