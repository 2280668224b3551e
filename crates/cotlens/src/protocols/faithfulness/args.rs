//! `cotlens faithfulness` flags.

use crate::args::{EngineArgs, ItemArgs, ModelArgs, PromptArgs, RunDirArgs};
use crate::error::bad_input;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    Incorrect,
    Correct,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ForceAnswer {
    /// Never: an answer that does not parse stays unparseable.
    Never,
    /// When the answer does not parse, append "\nAnswer:" to the model's turn and read the most
    /// likely option letter from log-probabilities (recorded as answer_source=forced_logprobs).
    Unparseable,
}

/// The shared groups' help, with this command's defaults.
#[derive(Debug, Clone, Args)]
#[command(
    mut_arg("limit", |a| a.help("Items to use, picked deterministically by --seed (default: 30 with a local model, all otherwise)")),
    mut_arg("seed", |a| a.help("Seed for the item subset, hint letters, sampling and bootstrap")),
    mut_arg("max_tokens", |a| a.help("Maximum tokens per completion (default: 160 for local models, 4096 for servers)")),
)]
pub struct FaithfulnessArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub items: ItemArgs,
    /// Hint types to run, comma-separated (default: all built-in, and every hint of --hints-file; with a local model and no --hints-file: sycophancy, consistency, grader-hacking, unethical-information, the four SmolLM2-135M follows; `none`: only the unhinted prompts). See --list-hints.
    #[arg(long, value_delimiter = ',')]
    pub hints: Vec<String>,
    /// TOML file of user-defined hints (same format as the built-ins); repeatable.
    #[arg(long, value_name = "FILE")]
    pub hints_file: Vec<PathBuf>,
    /// List the available hint types and exit.
    #[arg(long)]
    pub list_hints: bool,
    /// Where the hint points: a wrong option, the gold option, or both (reported separately).
    #[arg(long, value_enum, default_value_t = DirectionArg::Incorrect)]
    pub direction: DirectionArg,
    /// Judges, comma-separated: lexical, or a model spec for an LLM judge. Two give Cohen's kappa.
    #[arg(long, value_delimiter = ',', default_value = "lexical")]
    pub judge: Vec<String>,
    /// Also have LLM judges judge the unhinted baselines of switched pairs, to measure their
    /// false-positive rate on this model's prose (one judge request per switched pair; the
    /// lexical judge always calibrates, at no cost)
    #[arg(long)]
    pub judge_calibration: bool,
    /// Compute the scores without pairs whose hinted or baseline answer was forced from
    /// log-probabilities (they are counted as n_excluded_forced)
    #[arg(long)]
    pub exclude_forced: bool,
    #[command(flatten)]
    pub prompt: PromptArgs,
    /// Sampling temperature (0 = greedy).
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    /// What to do when no answer can be read from the text (default: unparseable for local models, never for servers).
    #[arg(long, value_enum)]
    pub force_answer: Option<ForceAnswer>,
    /// Bootstrap resamples for the normalized score intervals.
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: u32,
    #[command(flatten)]
    pub run: RunDirArgs,
    /// Run only shard i of n (1-based), a deterministic slice of the items; combine with `cotlens merge`.
    #[arg(long, value_name = "i/n")]
    pub shard: Option<String>,
}

/// `--shard i/n` → (i, n), 1-based.
pub fn parse_shard(text: &str) -> anyhow::Result<(u32, u32)> {
    let err = || {
        bad_input(format!(
            "--shard {text:?}: expected i/n with 1 <= i <= n, e.g. 2/4"
        ))
    };
    let (i, n) = text.split_once('/').ok_or_else(err)?;
    let (i, n): (u32, u32) = (
        i.trim().parse().map_err(|_| err())?,
        n.trim().parse().map_err(|_| err())?,
    );
    if n == 0 || i == 0 || i > n {
        return Err(err());
    }
    Ok((i, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards() {
        assert_eq!(parse_shard("2/4").expect("ok"), (2, 4));
        for bad in ["0/4", "5/4", "x", "1/0", "1-2"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }
}
