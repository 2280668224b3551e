//! The integration tests, one binary (each test binary links llama.cpp; one link instead of
//! eleven). Each module drives the real `cotlens` binary, loopback servers or the embedded model.

mod common;

mod bad_input;
mod bad_input_corpus;
mod browser;
mod clues_loopback;
mod embedded_model;
mod engine_loopback;
mod faithfulness_loopback;
mod horizon_loopback;
mod legibility_cli;
mod monitor_cli;
mod necessity_loopback;
mod probe_loopback;
mod providers_loopback;
mod report_view;
mod resume_checks;
mod select_cli;
mod select_loopback;
