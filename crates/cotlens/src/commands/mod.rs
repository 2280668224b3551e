//! Subcommands other than the protocols.

pub mod generate;
pub mod merge;
pub mod models;
pub mod probe;
pub mod report;
