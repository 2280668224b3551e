//! How far can a model reason without a visible CoT? (PROTOCOLS §8)
//!
//! - [`tasks`]: generated families of controlled serial depth with exact answers.
//! - [`fit`]: the logistic fit of success against log depth and the 50% horizon.
//! - Here: the items, the conditions (`no-cot`, `filler:N`, `repeat:R`, `cot`) and the prompt
//!   each condition renders.

pub mod fit;
pub mod tasks;

#[cfg(test)]
mod tests;

use crate::free_response::{FreeItem, Gold};
use crate::types::Message;
use serde::{Deserialize, Serialize};

/// Recorded in manifests; bump when an instruction or the prompt layout changes.
pub const PROMPT_VERSION: &str = "horizon-prompt/1";

/// The user turn's instruction for the conditions that answer at once.
pub const NO_COT_INSTRUCTION: &str =
    "Answer immediately with the final number only: no working, no explanation. Reply exactly as \"Answer: N\".";
/// The user turn's instruction for the CoT condition.
pub const COT_INSTRUCTION: &str =
    "Solve the problem. Think it through step by step, then give your final answer on the last line as \"Answer: N\", where N is a number.";
/// What introduces the filler tokens.
pub const FILLER_LEAD: &str = "Filler (it carries no information):";

/// Largest N of `filler:N` and R of `repeat:R`.
pub const MAX_FILLER: u32 = 10_000;
pub const MAX_REPEAT: u32 = 32;

/// A generated task family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Arithmetic,
    Variables,
    Hops,
    Pointers,
}

impl Family {
    pub const ALL: [Family; 4] = [
        Family::Arithmetic,
        Family::Variables,
        Family::Hops,
        Family::Pointers,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Family::Arithmetic => "arithmetic",
            Family::Variables => "variables",
            Family::Hops => "hops",
            Family::Pointers => "pointers",
        }
    }

    pub fn parse(name: &str) -> Result<Family, String> {
        Family::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| {
                format!(
                    "unknown family {name:?}; families: {}",
                    Family::ALL.map(Family::name).join(", ")
                )
            })
    }
}

/// One problem of known difficulty: a generated item (family name, depth) or a dataset item
/// (its source, its `depth` or `minutes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HorizonItem {
    pub id: String,
    pub family: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<f64>,
    pub question: String,
    pub answer: Gold,
}

/// What a dataset family's curve is drawn against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Axis {
    Depth,
    Minutes,
}

impl HorizonItem {
    /// A dataset item: its family is its source; it must carry `minutes` (preferred when
    /// `axis` is minutes) or `depth`.
    pub fn from_free(item: FreeItem) -> HorizonItem {
        HorizonItem {
            id: item.id,
            family: item.source,
            depth: item.depth,
            minutes: item.minutes,
            question: item.question,
            answer: item.answer,
        }
    }

    /// The item's position on `axis`, when it has one that a log scale can hold.
    pub fn x(&self, axis: Axis) -> Option<f64> {
        let x = match axis {
            Axis::Depth => self.depth.map(f64::from),
            Axis::Minutes => self.minutes,
        }?;
        (x.is_finite() && x > 0.0).then_some(x)
    }
}

/// How the answer is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Condition {
    /// The answer at once.
    NoCot,
    /// N filler tokens (counting "1 2 3 … N") after the problem, then the answer at once.
    Filler(u32),
    /// The problem stated R times, then the answer at once.
    Repeat(u32),
    /// Reasoning, then the answer.
    Cot,
}

impl Condition {
    /// `no-cot`, `filler:N`, `repeat:R` or `cot`.
    pub fn parse(text: &str) -> Result<Condition, String> {
        let text = text.trim();
        let count = |v: &str, max: u32, what: &str| -> Result<u32, String> {
            match v.parse::<u32>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(format!(
                    "condition {text:?}: {what} must be a whole number within 1..={max}"
                )),
            }
        };
        match text {
            "no-cot" => Ok(Condition::NoCot),
            "cot" => Ok(Condition::Cot),
            _ => match text.split_once(':') {
                Some(("filler", n)) => Ok(Condition::Filler(count(n, MAX_FILLER, "N")?)),
                Some(("repeat", r)) => Ok(Condition::Repeat(count(r, MAX_REPEAT, "R")?)),
                _ => Err(format!(
                    "unknown condition {text:?}; use no-cot, filler:N, repeat:R or cot"
                )),
            },
        }
    }

    /// Does the model answer at once (no visible reasoning asked for)?
    pub fn answers_at_once(self) -> bool {
        !matches!(self, Condition::Cot)
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Condition::NoCot => f.write_str("no-cot"),
            Condition::Filler(n) => write!(f, "filler:{n}"),
            Condition::Repeat(r) => write!(f, "repeat:{r}"),
            Condition::Cot => f.write_str("cot"),
        }
    }
}

impl Serialize for Condition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Condition::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// "1 2 3 … n".
pub fn filler(n: u32) -> String {
    (1..=n).map(|k| k.to_string()).collect::<Vec<_>>().join(" ")
}

/// The messages of `question` under `condition`: one user turn.
pub fn render_prompt(question: &str, condition: Condition) -> Vec<Message> {
    let q = question.trim();
    let text = match condition {
        Condition::NoCot => format!("{q}\n\n{NO_COT_INSTRUCTION}"),
        Condition::Filler(n) => {
            format!("{q}\n\n{FILLER_LEAD} {}\n\n{NO_COT_INSTRUCTION}", filler(n))
        }
        Condition::Repeat(r) => {
            let copies = vec![q; r as usize].join("\n\n");
            format!("{copies}\n\n{NO_COT_INSTRUCTION}")
        }
        Condition::Cot => format!("{q}\n\n{COT_INSTRUCTION}"),
    };
    vec![Message::user(text)]
}
