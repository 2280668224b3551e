//! Answer extraction: read the chosen option letter out of a model's text, or say it cannot.
//!
//! Rules (documented in docs/answer-extraction.md and versioned by [`EXTRACTOR_VERSION`]):
//! 1. Explicit markers anywhere in the text: `<answer>B</answer>`, `\boxed{B}`, and phrases such
//!    as `Answer: B`, `Final answer: (B)`, `the answer is B`, `the correct option is [B]`
//!    (markdown bold allowed). When there are several, the **last** one wins: models restate and
//!    correct themselves. A marker naming two letters (`the answer is A or B`) is ambiguous and
//!    is skipped.
//! 2. Otherwise a short standalone answer: the whole text, or its last line, is `B`, `(B)`,
//!    `B.`, `B)`, `B: …`, `(B) …` or `B. Evaporation`.
//! 3. Otherwise, and whenever the letter is not among the item's options: unparseable. The
//!    extractor never guesses from letters that merely occur in the reasoning.

use regex::Regex;
use std::sync::LazyLock;

/// Bumped whenever a rule changes; recorded in run manifests.
pub const EXTRACTOR_VERSION: &str = "answer-extraction/1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "index")]
pub enum Extracted {
    /// Index of the chosen option.
    Answer(usize),
    Unparseable,
}

impl Extracted {
    pub fn index(self) -> Option<usize> {
        match self {
            Extracted::Answer(i) => Some(i),
            Extracted::Unparseable => None,
        }
    }
}

static TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)<answer>\s*[(\[]?\s*([A-Z])\s*[)\]]?(?:[.:)\s][^<]{0,200})?</answer>")
        .expect("valid regex")
});
static BOXED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\\boxed\{\s*(?:\\text\{)?\s*\(?([A-Z])\)?\s*\}?\s*\}").expect("valid regex")
});
static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i:final\s+answer|the\s+answer|answer|correct\s+(?:answer|option|choice)|best\s+(?:answer|option|choice)|right\s+(?:answer|option|choice))",
        r"[*_]*(?i:\s+(?:is|would\s+be|should\s+be|must\s+be)\s*:?|\s*[:=-])\s*[*_]*\s*",
        r"(?i:(?:option|choice|letter)\s+)?",
        r"[(\[]?\s*([A-Z])\s*[)\]]?",
        r"(?:[^A-Za-z0-9]|$)"
    ))
    .expect("valid regex")
});
static AMBIGUOUS_TAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*[*_]*\s*(?:or|and|/|,)\s*[(\[]?[A-Z](?:[^A-Za-z0-9]|$)").expect("valid regex")
});
static SECOND_OPTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\([A-Z]\)|\b(?:or|and)\s+\(?[A-Z]\b").expect("valid regex"));
static STANDALONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^[*_]*(?:\(([A-Z])\)(?:\s.*)?|\[([A-Z])\](?:\s.*)?|([A-Z])[.:)](?:\s.*)?|([A-Z]))[*_]*$",
    )
    .expect("valid regex")
});

/// Extract the chosen option from `text` for an item with `n_choices` options.
pub fn extract_answer(text: &str, n_choices: usize) -> Extracted {
    let valid = |c: char| crate::types::letter_index(c).filter(|&i| i < n_choices);

    // Rule 1: explicit markers, last one wins.
    let mut best: Option<(usize, usize)> = None; // (position, index)
    let mut consider = |pos: usize, letter: char| {
        if let Some(i) = valid(letter) {
            if best.is_none_or(|(p, _)| pos >= p) {
                best = Some((pos, i));
            }
        }
    };
    for caps in TAG.captures_iter(text) {
        let m = caps.get(1).expect("group 1");
        consider(
            m.start(),
            m.as_str()
                .chars()
                .next()
                .unwrap_or('?')
                .to_ascii_uppercase(),
        );
    }
    for caps in BOXED.captures_iter(text) {
        let m = caps.get(1).expect("group 1");
        consider(m.start(), m.as_str().chars().next().unwrap_or('?'));
    }
    let mut start = 0;
    while let Some(caps) = MARKER.captures_at(text, start) {
        let whole = caps.get(0).expect("group 0");
        let m = caps.get(1).expect("group 1");
        // The letter group is followed by at most one boundary character; look past it.
        let after = &text[m.end()..];
        let after = after.trim_start_matches([')', ']', '*', '_']);
        if !AMBIGUOUS_TAIL.is_match(after) {
            consider(m.start(), m.as_str().chars().next().unwrap_or('?'));
        }
        start = m.end().max(whole.start() + 1);
    }
    if let Some((_, i)) = best {
        return Extracted::Answer(i);
    }

    // Rule 2: a short standalone answer, the whole text or its last line.
    let trimmed = text.trim();
    let last_line = trimmed
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    for candidate in [trimmed, last_line] {
        if candidate.contains('\n') {
            continue;
        }
        if let Some(caps) = STANDALONE.captures(candidate) {
            let letter = (1..=4)
                .find_map(|g| caps.get(g))
                .and_then(|m| m.as_str().chars().next());
            // "(B) and (C) are both correct" names two options: not an answer.
            let rest = candidate.get(3..).unwrap_or("");
            if let Some(i) = letter
                .and_then(valid)
                .filter(|_| !SECOND_OPTION.is_match(rest))
            {
                // A long last line that merely starts with "A." is a sentence, not an answer,
                // unless it is the whole text (e.g. "B. Evaporation").
                if candidate == trimmed || candidate.len() <= 80 {
                    return Extracted::Answer(i);
                }
            }
        }
    }
    Extracted::Unparseable
}

/// Extract from a completion: the visible output first, then (for providers that put the whole
/// answer in the reasoning field and return a short or empty output) the reasoning.
pub fn extract_from_completion(
    output: &str,
    reasoning: Option<&str>,
    n_choices: usize,
) -> Extracted {
    match extract_answer(output, n_choices) {
        Extracted::Unparseable => match reasoning {
            Some(r) if output.trim().is_empty() => extract_answer(r, n_choices),
            _ => Extracted::Unparseable,
        },
        found => found,
    }
}

#[cfg(test)]
#[path = "extract_tests.rs"]
mod tests;
