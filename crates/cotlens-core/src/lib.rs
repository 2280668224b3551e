//! cotlens-core: the plain data types and pure functions every other part of cotlens builds on.
//!
//! - [`types`]: items, messages, requests, completions (PROTOCOLS.md §0).
//! - [`backend`]: the one [`Backend`] trait every model sits behind.
//! - [`extract`]: answer extraction that never guesses.
//! - [`stats`]: Wilson and bootstrap intervals, Cohen's κ.
//! - [`faithfulness`]: buckets, p, q, α and scores of the hint paradigm (PROTOCOLS.md §1).
//! - [`datasets`]: loaders for MMLU, BBH, Turpin BBH, JSONL and CSV, with file:line errors.
//! - [`hints`], [`prompts`]: hint types as versioned TOML data, and prompt rendering.

pub mod backend;
pub mod extract;
pub mod faithfulness;
pub mod stats;
pub mod types;

pub use backend::{Backend, BackendError, BackendInfo, Capability};
pub use types::*;
pub mod datasets;
pub mod hints;
pub mod judge;
pub mod legibility;
pub mod monitor;
pub mod necessity;
pub mod prompts;
pub mod selection;
