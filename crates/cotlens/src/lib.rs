//! cotlens: chain-of-thought oversight of reasoning models.
//!
//! The pipeline, one module per stage: [`model_spec`] opens a model behind the `Backend` trait
//! (local GGUF via `cotlens-local`, servers via `cotlens-remote`); [`engine`] owns concurrency,
//! retries, rate limits and the [`cache`]; [`store`] is the resumable run directory; [`protocols`]
//! compose these into measurements; [`cli`], [`commands`] and [`printer`] are the thin front end.

pub mod bundled;
pub mod cache;
pub mod cli;
pub mod commands;
pub mod engine;
pub mod error;
pub mod hub;
pub mod model_spec;
pub mod printer;
pub mod progress;
pub mod protocols;
pub mod report;
pub mod runner;
pub mod settings;
pub mod store;
pub mod view;
