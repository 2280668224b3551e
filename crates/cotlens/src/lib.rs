//! cotlens: chain-of-thought oversight of reasoning models.
//!
//! Modules in layers, each importing only from the layers below it (checked by the
//! `layers` test in this file):
//!
//! | layer | modules | what they are |
//! |---|---|---|
//! | front | [`cli`] | the command line: `Cli` and the list of commands |
//! | commands | [`commands`], [`view`] | `generate`, `models`, `merge`, `report`; the local web UI |
//! | protocols | [`protocols`] | the measurements, one folder each, and the report's section table |
//! | lifecycle | [`session`] | one run lifecycle: open or resume, manifest, run, summary, report |
//! | running | [`runner`], [`model`] | bounded concurrency into the run store; a `--model` resolved once |
//! | output | [`progress`], [`report`] | the progress bar; the self-contained HTML report |
//! | requests | [`engine`], [`bundled`], [`model_spec`] | retries, rate limits and the cache; the bundled data; opening a backend |
//! | storage | [`hub`], [`cache`], [`probe_cache`] | GGUF files from a model hub; the response cache; stored capability probe reports |
//! | run store | [`store`] | the resumable run directory |
//! | leaves | [`error`], [`printer`], [`args`], [`protocol`] | error kinds; what a person sees; shared flag groups; the `Protocol` enum |
//!
//! Backends sit behind `cotlens_core::Backend` (local GGUF via `cotlens-local`, servers via
//! `cotlens-remote`). Adding a protocol: design/adding-a-protocol.md.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod args;
pub mod bundled;
pub mod cache;
pub mod cli;
pub mod commands;
pub mod engine;
pub mod error;
pub mod hub;
pub mod model;
pub mod model_spec;
pub mod printer;
pub mod probe_cache;
pub mod progress;
pub mod protocol;
pub mod protocols;
pub mod report;
pub mod runner;
pub mod session;
pub mod store;
pub mod view;

#[cfg(test)]
mod layers;
#[cfg(test)]
mod text_slicing;
