//! cotlens-core: the plain data types and pure functions every other part of cotlens builds on
//! (definitions: docs/protocols.md in the repository).
//!
//! - [`types`]: items, messages, requests, completions (§0).
//! - [`backend`]: the one [`Backend`] trait every model sits behind, and [`Backend::require`].
//! - [`extract`]: answer extraction that never guesses.
//! - [`stats`]: Wilson, bootstrap and normal intervals, Cohen's κ.
//! - [`faithfulness`]: buckets, p, q, α and scores of the hint paradigm (§1).
//! - [`read`]: reading input files within limits (line length, file size), BOM skipped.
//! - [`datasets`]: loaders for MMLU, BBH, Turpin BBH, JSONL and CSV, with file:line errors.
//! - [`hints`], [`prompts`]: hint types as versioned TOML data, and prompt rendering.
//! - [`judge`]: the lexical and LLM verbalization judges (§1).
//! - [`necessity`]: step splitting and the helper templates of the load-bearing tests (§2).
//! - [`monitor`]: traces, views, rule monitors, LLM-monitor templates and monitor metrics (§3).
//! - [`selection`]: pipelines, selectors, the pressure ledger and the verbatim guarantee (§4).
//! - [`markup`]: HTML escaping and highlighting for reports.
//! - [`legibility`]: the legibility and drift measurements (§5).
//! - [`free_response`], [`clues`]: free-response items, the number reader, clues (§7).
//! - [`horizon`]: tasks of controlled serial depth, conditions and the horizon fit (§8).

pub mod backend;
pub mod extract;
pub mod faithfulness;
pub mod stats;
pub mod types;

pub use backend::{Backend, BackendError, BackendInfo, Capability, Missing};
pub use types::*;
pub mod clues;
pub mod datasets;
pub mod free_response;
pub mod hints;
pub mod horizon;
pub mod judge;
pub mod legibility;
pub mod markup;
pub mod monitor;
pub mod necessity;
pub mod probe;
pub mod prompts;
pub mod read;
pub mod selection;
