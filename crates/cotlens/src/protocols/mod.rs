//! Protocols: measurements composed from datasets, prompts, the engine and the run lifecycle
//! ([`crate::session`]). Each has its own folder; this file lists them and holds the report's
//! section table (see design/adding-a-protocol.md).

pub mod clues;
pub mod faithfulness;
pub mod horizon;
pub mod legibility;
pub mod monitor;
pub mod necessity;
pub mod sample;
pub mod select;

use crate::protocol::Protocol;
use crate::report::{sections, Section};

/// The report section of each protocol's runs (for `cotlens report` and `cotlens view`).
pub fn report_section(protocol: Protocol) -> Section {
    match protocol {
        Protocol::Faithfulness => sections::faithfulness,
        Protocol::Necessity => sections::necessity,
        Protocol::Monitor => sections::monitor,
        Protocol::Select => sections::select,
        Protocol::Sample => sections::sample,
        Protocol::Legibility => sections::legibility,
        Protocol::Clues => clues::section,
        Protocol::Horizon => horizon::section,
    }
}
