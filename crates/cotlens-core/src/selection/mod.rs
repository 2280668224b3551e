//! Soft process supervision (docs/protocols.md §4): select among sampled traces, never rewrite them,
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
pub mod verbatim;

pub use ledger::{build_ledger, Ledger};
pub use pipeline::{parse_pipeline, Field, Pipeline, ScorerKind};
pub use select::{apply_stages, Candidate, Fate};

#[cfg(test)]
mod tests;

/// The spec-reasoning judge's template (placeholders `{spec}` and `{cot}`); the reply is the
/// monitors' JSON verdict, `{"score": 0..100, "reason", "quote"}`.
pub const SPEC_JUDGE_TEMPLATE: &str = include_str!("../../templates/spec-reasoning-v1.txt");
pub const SPEC_JUDGE_VERSION: &str = "spec-reasoning/1";

/// The spec judge's prompt, filled in one pass (a CoT that contains "{spec}" stays as it is).
pub fn spec_judge_prompt(spec: &str, cot: &str) -> String {
    let (head, rest) = SPEC_JUDGE_TEMPLATE
        .split_once("{spec}")
        .unwrap_or((SPEC_JUDGE_TEMPLATE, ""));
    let (middle, tail) = rest.split_once("{cot}").unwrap_or((rest, ""));
    format!("{head}{spec}{middle}{cot}{tail}")
}
