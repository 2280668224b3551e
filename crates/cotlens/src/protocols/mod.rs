//! Protocols: measurements composed from datasets, prompts, the engine and the run store.

pub mod faithfulness;
pub mod legibility;
pub mod legibility_ppl;
pub mod monitor;
pub mod necessity;
pub mod sample;
pub mod select;
pub mod svg;
