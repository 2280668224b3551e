//! Is the CoT load-bearing? (docs/protocols.md §2, Lanham et al. 2023): step splitting and the
//! early-answering area over the curve.
//!
//! **Step splitting** (`steps/1`): a CoT is cut into steps, kept as end offsets into the original
//! text so that "the first k steps" is an exact prefix:
//! 1. a fenced code block (```…```) is one step;
//! 2. otherwise every non-empty line is at least one step (list items, equations, code lines
//!    stay whole);
//! 3. a prose line is further cut into sentences after `.`, `!` or `?` followed by whitespace
//!    and then an uppercase letter, a digit, a quote or an opening bracket — except after common
//!    abbreviations (e.g., i.e., etc., vs., Dr., Mr., Mrs., Ms., Fig., No.). Decimal numbers never
//!    split (no whitespace after the dot). A sentence ending in a single letter ("…is B.") does
//!    split: in multiple-choice CoTs that is far more common than a name's initial.
//!
//! **AOC**: for each CoT of L steps, the answer read after the first k steps (k = 0..L) is
//! compared with the answer after all L steps; the same-answer curve y(k/L) of each length is the
//! mean over the CoTs of that length; its area over the curve is 1 − ∫ y dx (trapezoid rule on
//! x = k/L); the reported AOC is the mean over lengths weighted by the share of CoTs of each
//! length. CoTs of zero steps carry no curve and are excluded (counted).

use crate::stats::{bootstrap, BootstrapEstimate, BootstrapSpec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const STEP_SPLITTER_VERSION: &str = "steps/1";

/// Helper-model templates (versioned files). The paraphraser never sees the question.
pub const MISTAKE_TEMPLATE: &str = include_str!("../templates/helper-mistake-v1.txt");
pub const PARAPHRASE_TEMPLATE: &str = include_str!("../templates/helper-paraphrase-v1.txt");
pub const HELPER_TEMPLATES_VERSION: &str = "helper/1";

pub fn mistake_prompt(question: &str, previous: &str, step: &str) -> String {
    MISTAKE_TEMPLATE
        .replace("{question}", question)
        .replace(
            "{previous}",
            if previous.trim().is_empty() {
                "(none)"
            } else {
                previous.trim()
            },
        )
        .replace("{step}", step.trim())
}

pub fn paraphrase_prompt(text: &str) -> String {
    PARAPHRASE_TEMPLATE.replace("{text}", text.trim())
}

const ABBREVIATIONS: &[&str] = &[
    "e.g.", "i.e.", "etc.", "vs.", "dr.", "mr.", "mrs.", "ms.", "fig.", "no.", "approx.", "cf.",
    "st.",
];

/// End offsets (exclusive, in bytes) of the steps of `cot`; `cot[..ends[k-1]]` is the first k steps.
pub fn split_steps(cot: &str) -> Vec<usize> {
    let mut ends = Vec::new();
    let bytes = cot.as_bytes();
    let mut line_start = 0;
    let mut in_fence = false;
    while line_start < cot.len() {
        let line_end = cot[line_start..]
            .find('\n')
            .map(|i| line_start + i + 1)
            .unwrap_or(cot.len());
        let line = &cot[line_start..line_end];
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_fence = !in_fence;
            if !in_fence {
                push_end(&mut ends, cot, line_end);
            }
        } else if !in_fence && !trimmed.is_empty() {
            let is_list_or_code = trimmed.starts_with(['-', '*', '|', '#', '>'])
                || line.starts_with("    ")
                || line.starts_with('\t')
                || starts_with_enumeration(trimmed);
            if !is_list_or_code {
                for end in sentence_ends(line) {
                    push_end(&mut ends, cot, line_start + end);
                }
            }
            push_end(&mut ends, cot, line_end);
        }
        line_start = line_end;
    }
    if in_fence {
        push_end(&mut ends, cot, cot.len());
    }
    let _ = bytes;
    ends
}

/// Record a step end, skipping empty steps (only whitespace since the previous end).
fn push_end(ends: &mut Vec<usize>, text: &str, end: usize) {
    let start = ends.last().copied().unwrap_or(0);
    if end > start && !text[start..end].trim().is_empty() {
        ends.push(end);
    }
}

fn starts_with_enumeration(s: &str) -> bool {
    let digits = s.chars().take_while(|c| c.is_ascii_digit()).count();
    digits > 0 && s[digits..].starts_with(['.', ')'])
        || s.len() > 2 && s.as_bytes()[1] == b')' && s.as_bytes()[0].is_ascii_alphabetic()
}

/// Offsets within `line` just after each sentence-ending punctuation that ends a sentence.
fn sentence_ends(line: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    for (i, &(pos, c)) in chars.iter().enumerate() {
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        // Followed by whitespace, then a sentence start.
        let Some(&(_, next)) = chars.get(i + 1) else {
            continue;
        };
        if !next.is_whitespace() {
            continue;
        }
        // boundary: a Vec of chars
        let Some(&(_, start)) = chars[i + 1..].iter().find(|(_, ch)| !ch.is_whitespace()) else {
            continue;
        };
        if !(start.is_uppercase()
            || start.is_ascii_digit()
            || matches!(start, '"' | '\'' | '(' | '['))
        {
            continue;
        }
        if c == '.' {
            let word_start = line[..pos]
                .rfind(|ch: char| ch.is_whitespace())
                .map(|w| w + 1)
                .unwrap_or(0);
            let word = line[word_start..=pos].to_lowercase();
            if ABBREVIATIONS.contains(&word.as_str()) {
                continue;
            }
        }
        out.push(pos + c.len_utf8());
    }
    out
}

/// One CoT's early-answering outcome: for k = 0..=L, does the answer after k steps equal the
/// answer after all L steps?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyCurve {
    pub same: Vec<bool>,
}

impl EarlyCurve {
    pub fn steps(&self) -> usize {
        self.same.len().saturating_sub(1)
    }
}

/// Area over a same-answer curve given at x = k/L, k = 0..=L (trapezoid rule).
pub fn area_over(ys: &[f64]) -> f64 {
    let l = ys.len().saturating_sub(1);
    if l == 0 {
        return 0.0;
    }
    let under: f64 = ys.windows(2).map(|w| (w[0] + w[1]) / 2.0).sum::<f64>() / l as f64;
    1.0 - under
}

/// Mean same-answer curve per CoT length (lengths ≥ 1).
pub fn curves_by_length<'a>(
    curves: impl Iterator<Item = &'a EarlyCurve>,
) -> BTreeMap<usize, (usize, Vec<f64>)> {
    let mut sums: BTreeMap<usize, (usize, Vec<f64>)> = BTreeMap::new();
    for c in curves {
        let l = c.steps();
        if l == 0 {
            continue;
        }
        let entry = sums.entry(l).or_insert_with(|| (0, vec![0.0; l + 1]));
        entry.0 += 1;
        for (k, &s) in c.same.iter().enumerate() {
            entry.1[k] += f64::from(u8::from(s));
        }
    }
    for (n, ys) in sums.values_mut() {
        for y in ys.iter_mut() {
            *y /= *n as f64;
        }
    }
    sums
}

/// AOC averaged over lengths, weighted by the share of CoTs of each length.
pub fn weighted_aoc<'a>(curves: impl Iterator<Item = &'a EarlyCurve>) -> Option<f64> {
    let by_length = curves_by_length(curves);
    let total: usize = by_length.values().map(|(n, _)| n).sum();
    if total == 0 {
        return None;
    }
    Some(
        by_length
            .values()
            .map(|(n, ys)| *n as f64 / total as f64 * area_over(ys))
            .sum(),
    )
}

/// The AOC with a bootstrap interval over CoTs.
/// Characters per token assumed by [`estimate_tokens`]: about 4 for English text under the BPE
/// tokenizers of current models.
pub const CHARS_PER_TOKEN: usize = 4;

/// A token count for `text` when nothing can count it: characters / 4, rounded up, at least 1.
/// Marked `cot_tokens_estimated` wherever it is used.
pub fn estimate_tokens(text: &str) -> u32 {
    (text.chars().count().div_ceil(CHARS_PER_TOKEN)).max(1) as u32
}

/// The curves the AOC uses: those with at least one step (a curve of one point has no area).
pub fn n_in_aoc(curves: &[EarlyCurve]) -> usize {
    curves.iter().filter(|c| c.steps() > 0).count()
}

pub fn aoc_with_interval(curves: &[EarlyCurve], spec: BootstrapSpec) -> Option<BootstrapEstimate> {
    let usable: Vec<&EarlyCurve> = curves.iter().filter(|c| c.steps() > 0).collect();
    bootstrap(&usable, spec, |it| weighted_aoc(it.copied()))
}

#[cfg(test)]
#[path = "necessity_tests.rs"]
mod tests;
