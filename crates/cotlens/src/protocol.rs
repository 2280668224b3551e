//! Which measurement a run directory holds. Every run's `manifest.json` names it in its
//! `protocol` field; the report, the viewer, `--resume` and the default run directory all go by
//! this enum instead of strings. A leaf module.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    Faithfulness,
    Necessity,
    Monitor,
    Select,
    Sample,
    Legibility,
    Clues,
    Horizon,
}

impl Protocol {
    /// Every protocol, in the order the report's help lists them.
    pub const ALL: &'static [Protocol] = &[
        Protocol::Faithfulness,
        Protocol::Necessity,
        Protocol::Monitor,
        Protocol::Select,
        Protocol::Sample,
        Protocol::Legibility,
        Protocol::Clues,
        Protocol::Horizon,
    ];

    /// The name in manifests, default run directories and the command line.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Faithfulness => "faithfulness",
            Protocol::Necessity => "necessity",
            Protocol::Monitor => "monitor",
            Protocol::Select => "select",
            Protocol::Sample => "sample",
            Protocol::Legibility => "legibility",
            Protocol::Clues => "clues",
            Protocol::Horizon => "horizon",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|p| p.name() == name)
    }

    /// The command that continues a stopped run of this protocol (before `--resume DIR`).
    pub fn command(self) -> String {
        format!("cotlens {}", self.name())
    }

    /// `runs/<UTC timestamp>-<protocol>`, the default `--out`.
    pub fn default_run_dir(self) -> PathBuf {
        let stamp = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .unwrap_or_else(|_| "run".into());
        PathBuf::from("runs").join(format!("{stamp}-{}", self.name()))
    }

    /// Every protocol's name, comma-separated (for error messages and help).
    pub fn names() -> String {
        Self::ALL
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_from_name() {
        for &p in Protocol::ALL {
            assert_eq!(Protocol::from_name(p.name()), Some(p));
            assert_eq!(
                serde_json::to_value(p).expect("serialize"),
                serde_json::json!(p.name())
            );
        }
        assert_eq!(Protocol::from_name("nope"), None);
        assert!(Protocol::default_run_dir(Protocol::Sample)
            .to_string_lossy()
            .ends_with("-sample"));
    }
}
