//! Answer extraction: read the chosen option letter out of a model's text, or say it cannot.
//!
//! Rules (documented in docs/faithfulness.md, "Reading the answer", and versioned by
//! [`EXTRACTOR_VERSION`]):
//! 1. Explicit markers anywhere in the text: `<answer>B</answer>`, `\boxed{B}`, and phrases such
//!    as `Answer: B`, `answer: d`, `Final answer: (B)`, `the answer is B`, `the correct option is
//!    [B]` (markdown bold allowed; a hedge such as `I think` / `I believe it is` between the
//!    marker and the letter is skipped). When there are several, the **last** one wins: models
//!    restate and correct themselves. A marker naming two letters (`the answer is A or B`) is
//!    ambiguous and is skipped.
//! 2. A letter that is also a word (`A`, `I`, and any lowercase letter) counts after a marker only
//!    when it stands alone: in brackets, or followed by punctuation, a line break, the end, a
//!    capital or a connective (`because`, `since`, …). "The answer is I think B" is B, "Answer: A
//!    rock" is unparseable.
//! 3. Otherwise a standalone answer: the whole text is `B`, `(B)`, `[B]`, `B.`, `B)` or `B:`; or
//!    the whole text or its last line is `B. <option B's own text>` (only when the options are
//!    known, and not when the line before is itself an option line, as in a list of the options);
//!    or the last line is a bare `B` / `(B)` for a letter that is not a word.
//! 4. Otherwise, and whenever the letter is not among the item's options: unparseable. The
//!    extractor never guesses from letters that merely occur in the reasoning.

use regex::Regex;
use std::sync::LazyLock;

/// Bumped whenever a rule changes; recorded in run manifests and cache keys of derived work.
pub const EXTRACTOR_VERSION: &str = "answer-extraction/2";

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
        // A hedge between the marker and the letter: "Answer: I believe it is (C)".
        r"(?i:,?\s*I\s+(?:think|believe|guess|would\s+say|'d\s+say)(?:\s+(?:that\s+)?(?:it\s+is|it's|it\s+would\s+be|the\s+answer\s+is))?\s*[:,]?\s*[*_]*\s*)?",
        r"(?i:(?:option|choice|letter)\s+)?",
        r"([(\[]?)\s*([A-Za-z])\s*([)\]]?)",
        r"(?:[^A-Za-z0-9]|$)"
    ))
    .expect("valid regex")
});
static AMBIGUOUS_TAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*[*_]*\s*(?:or|and|/|,)\s*[(\[]?[A-Z](?:[^A-Za-z0-9]|$)").expect("valid regex")
});
/// Words after a bare `A` / `I` that still make it a letter: "The answer is A because …".
static CONNECTIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[ \t]+(?:because|since|as|which|given|due|for|is|was|seems|appears|here)\b")
        .expect("valid regex")
});
/// The whole output is one letter: `B`, `(B)`, `[B]`, `B.`, `B)`, `B:`.
static WHOLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[*_]*(?:\(([A-Z])\)|\[([A-Z])\]|([A-Z])[.:)]?)[*_]*$").expect("valid regex")
});
/// An option line: `B. text`, `B) text`, `B: text`, `(B) text`, `[B] text`.
static OPTION_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[*_]*(?:\(([A-Z])\)|\[([A-Z])\]|([A-Z])[.:)])[*_]*\s+(.+)$").expect("valid regex")
});

fn first_group(
    caps: &regex::Captures<'_>,
    groups: std::ops::RangeInclusive<usize>,
) -> Option<char> {
    groups
        .filter_map(|g| caps.get(g))
        .next()
        .and_then(|m| m.as_str().chars().next())
}

/// Lowercase words of an option or a line's rest, for comparing "B. Evaporation" with option B.
fn normalized_words(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Does the marker's letter stand alone (rule 2)? `bracketed` when it sits in `(…)` or `[…]`;
/// `after` is the text right after the letter (and its closing bracket).
fn stands_alone(letter: char, bracketed: bool, after: &str) -> bool {
    if bracketed {
        return true;
    }
    let word_like = letter.is_ascii_lowercase() || letter == 'A' || letter == 'I';
    if !word_like {
        return true;
    }
    let rest = after.trim_start_matches(['*', '_']);
    match rest.chars().next() {
        None => true,
        Some(c) if c == '\n' || c == '\r' => true,
        Some(c) if ".,;:!?)]".contains(c) => {
            // "A." at the end of a sentence, not "a.m." or "i.e.".
            !rest[c.len_utf8()..].starts_with(|n: char| n.is_alphanumeric())
        }
        Some(c) if c == ' ' || c == '\t' => {
            if letter.is_ascii_lowercase() {
                // A lowercase letter followed by more words is an article or a pronoun.
                return rest
                    .trim_start_matches([' ', '\t'])
                    .starts_with(['\n', '\r'])
                    || rest.trim().is_empty();
            }
            let next = rest.trim_start_matches([' ', '\t']);
            match next.chars().next() {
                None => true,
                Some(n) if n.is_lowercase() => CONNECTIVE.is_match(rest),
                Some(_) => true,
            }
        }
        Some(_) => false,
    }
}

/// Extract the chosen option from `text` for an item with `n_choices` options whose texts are not
/// known: an option line (`B. Evaporation`) then never counts, since its text cannot be checked.
pub fn extract_answer(text: &str, n_choices: usize) -> Extracted {
    extract(text, n_choices, None)
}

/// Extract the chosen option from `text` for an item with these options.
pub fn extract_answer_in<S: AsRef<str>>(text: &str, choices: &[S]) -> Extracted {
    extract(text, choices.len(), Some(&option_texts(choices)))
}

fn option_texts<S: AsRef<str>>(choices: &[S]) -> Vec<String> {
    choices
        .iter()
        .map(|c| normalized_words(c.as_ref()))
        .collect()
}

fn extract(text: &str, n_choices: usize, options: Option<&[String]>) -> Extracted {
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
        consider(m.start(), m.as_str().chars().next().unwrap_or('?'));
    }
    for caps in BOXED.captures_iter(text) {
        let m = caps.get(1).expect("group 1");
        consider(m.start(), m.as_str().chars().next().unwrap_or('?'));
    }
    let mut start = 0;
    while let Some(caps) = MARKER.captures_at(text, start) {
        let whole = caps.get(0).expect("group 0");
        let open = caps.get(1).expect("group 1");
        let m = caps.get(2).expect("group 2");
        let close = caps.get(3).expect("group 3");
        let letter = m.as_str().chars().next().unwrap_or('?');
        // The letter group is followed by at most one boundary character; look past it.
        let after = &text[close.end()..];
        let bracketed = !open.as_str().is_empty() || !close.as_str().is_empty();
        let tail = after.trim_start_matches([')', ']', '*', '_']);
        if stands_alone(letter, bracketed, after) && !AMBIGUOUS_TAIL.is_match(tail) {
            consider(m.start(), letter);
        }
        start = m.end().max(whole.start() + 1);
    }
    if let Some((_, i)) = best {
        return Extracted::Answer(i);
    }

    // Rule 3: a standalone answer.
    let trimmed = text.trim();
    if let Some(caps) = WHOLE.captures(trimmed) {
        return first_group(&caps, 1..=3)
            .and_then(valid)
            .map_or(Extracted::Unparseable, Extracted::Answer);
    }
    let lines: Vec<&str> = trimmed
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let Some((last, before)) = lines.split_last() else {
        return Extracted::Unparseable;
    };
    // A list of the options ends in an option line too: never read its last letter.
    let after_option_line = before.last().is_some_and(|l| OPTION_LINE.is_match(l));
    if let (Some(options), Some(caps)) = (options, OPTION_LINE.captures(last)) {
        let index = first_group(&caps, 1..=3).and_then(valid);
        let rest = normalized_words(caps.get(4).map_or("", |m| m.as_str()));
        if let Some(i) = index {
            if !after_option_line && !rest.is_empty() && rest == options[i] {
                return Extracted::Answer(i);
            }
        }
    }
    if lines.len() > 1 && !after_option_line {
        if let Some(caps) = WHOLE.captures(last) {
            // A bare last line: `B`, `(B)`, `[B]`, `**B**`, but not `B.` or `B)` (the end of a
            // review of the options) and not a letter that is also a word.
            let bare = last.trim_matches(['*', '_']).len() == 1
                || caps.get(1).is_some()
                || caps.get(2).is_some();
            if let Some(letter) = first_group(&caps, 1..=3).filter(|&l| l != 'A' && l != 'I') {
                if bare {
                    return valid(letter).map_or(Extracted::Unparseable, Extracted::Answer);
                }
            }
        }
    }
    Extracted::Unparseable
}

/// The letter a model wrote right after an opened bracket (`… Answer: (` continued by `B) …`):
/// the first character of `output` must be an option letter, followed by a closing bracket, the
/// end or a space.
pub fn extract_after_open_bracket(output: &str, n_choices: usize) -> Extracted {
    let rest = output.trim_start();
    let mut chars = rest.chars();
    let Some(letter) = chars.next().filter(char::is_ascii_uppercase) else {
        return Extracted::Unparseable;
    };
    match chars.next() {
        None | Some(')') | Some(']') | Some(' ') => crate::types::letter_index(letter)
            .filter(|&i| i < n_choices)
            .map_or(Extracted::Unparseable, Extracted::Answer),
        _ => Extracted::Unparseable,
    }
}

/// Extract from a completion: the visible output first, then (for providers that put the whole
/// answer in the reasoning field and return a short or empty output) the reasoning.
pub fn extract_from_completion<S: AsRef<str>>(
    output: &str,
    reasoning: Option<&str>,
    choices: &[S],
) -> Extracted {
    let options = option_texts(choices);
    from_completion(output, reasoning, |t| {
        extract(t, choices.len(), Some(&options))
    })
}

/// [`extract_from_completion`] when only the number of options is known.
pub fn extract_from_completion_n(
    output: &str,
    reasoning: Option<&str>,
    n_choices: usize,
) -> Extracted {
    from_completion(output, reasoning, |t| extract_answer(t, n_choices))
}

fn from_completion(
    output: &str,
    reasoning: Option<&str>,
    read: impl Fn(&str) -> Extracted,
) -> Extracted {
    match read(output) {
        Extracted::Unparseable => match reasoning {
            Some(r) if output.trim().is_empty() => read(r),
            _ => Extracted::Unparseable,
        },
        found => found,
    }
}

#[cfg(test)]
#[path = "extract_tests.rs"]
mod tests;
