//! CoT monitoring (docs/protocols.md §3): traces, views, rule-based detectors, and the metrics of
//! monitor evaluation.
//!
//! - [`trace`]: the JSONL trace format and what each [`View`] shows a monitor.
//! - [`impossiblebench`]: the converter for the ImpossibleBench audit transcripts.
//! - [`rules`]: fast rule-based detectors (a documented, extensible TOML pattern set).
//! - [`metrics`]: AUROC, ROC curves, TPR at a fixed FPR, g-mean², precision and recall.

pub mod impossiblebench;
pub mod inspect_log;
pub mod llm;
pub mod metrics;
pub mod rules;
pub mod trace;

pub use trace::{Action, Trace, View};
