//! Soft process supervision (PROTOCOLS.md §4): select among sampled traces, never rewrite them,
//! and account for the optimization pressure the selection puts on the CoT.
//!
//! - [`pressure`]: the closed forms (best-of-N, threshold, top-k) in nats.
//! - [`pipeline`]: the TOML pipeline file (scorers, stages, budgets) with file:line errors.
//! - [`select`]: applying the stages to scored candidates.
//! - [`ledger`]: the pressure ledger, budgets and warnings.

pub mod ledger;
pub mod pipeline;
pub mod pressure;
pub mod select;

pub use ledger::{build_ledger, Ledger};
pub use pipeline::{parse_pipeline, Field, Pipeline, ScorerKind};
pub use select::{apply_stages, Candidate, Fate};

#[cfg(test)]
mod tests;
