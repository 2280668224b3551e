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

/// How the protocols that ask for an answer at once (clues, horizon) keep reasoning out, and the
/// reasoning prefix their CoT conditions can use: a prefill of "Answer:" where the backend
/// continues a turn, else an instruction; a default prefix is dropped without continuation, one
/// the user asked for (`asked`) is refused (exit 2).
pub fn answers_at_once(
    backend: &dyn cotlens_core::Backend,
    prefix: Option<String>,
    asked: bool,
) -> anyhow::Result<(cotlens_core::free_response::NoCotMethod, Option<String>)> {
    use cotlens_core::free_response::NoCotMethod;
    use cotlens_core::Capability;
    let continues = backend.supports(Capability::PrefixContinuation);
    if prefix.is_some() && !continues && asked {
        backend.require(Capability::PrefixContinuation, "--reasoning-prefix")?;
    }
    let method = if continues {
        NoCotMethod::Prefill
    } else {
        NoCotMethod::Instruction
    };
    Ok((method, prefix.filter(|_| continues)))
}
