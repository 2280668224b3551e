//! Free-response items with exact answers (PROTOCOLS §7, §8): the loaders and the numeric
//! answer reader.
//!
//! Formats (`--dataset FORMAT:PATH`):
//! - `jsonl:PATH`: one object per line, `{"id", "question", "answer"}`; `answer` is a number or a
//!   short string; optional `depth` (integer) and `minutes` (number) for difficulty. Other keys
//!   are ignored.
//! - `gsm8k:PATH`: GSM8K's `{"question", "answer"}` lines; the gold answer is the number after
//!   the last `####`, the id `gsm8k/<file stem>/<line>`.
//!
//! Reading a number from a completion ([`extract_number`]) never guesses: the answer must be
//! marked (`Answer: 42`, `\boxed{42}`, `#### 42`) or be the whole reply, and the marked text
//! must hold exactly one number (units and punctuation may follow it). Anything else is
//! unparseable.

use crate::datasets::DatasetError;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::LazyLock;

/// Recorded in manifests; bump when [`extract_number`] reads differently.
pub const NUMBER_EXTRACTOR_VERSION: &str = "number-extraction/1";

/// A number in canonical decimal form: no grouping commas, no leading zeros, no trailing zeros
/// after the point, no "-0". Two answers are equal exactly when their canonical forms are.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Number(String);

static NUMBER_AT_START: LazyLock<Regex> = LazyLock::new(|| {
    // ASCII digits only: "١٢٣" is not read as a number it could never equal.
    Regex::new(r"^\$?\s*([-−]?)\s*\$?\s*([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]+))?")
        .expect("valid regex")
});

impl Number {
    /// The canonical number of a text that is exactly one number (`1,234`, `-3.50`, `$12`), or
    /// `None`.
    pub fn parse(text: &str) -> Option<Number> {
        let text = text.trim();
        let (n, rest) = number_prefix(text)?;
        rest.trim().is_empty().then_some(n)
    }

    pub fn from_i64(n: i64) -> Number {
        Number(n.to_string())
    }

    /// The value, when it is an integer that fits in an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse().ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The number at the start of `text` (after optional `$` and sign) and the rest of the text.
fn number_prefix(text: &str) -> Option<(Number, &str)> {
    let caps = NUMBER_AT_START.captures(text)?;
    let whole = caps.get(0)?;
    let negative = caps.get(1).is_some_and(|m| !m.as_str().is_empty());
    let int = caps[2].replace(',', "");
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let frac = caps.get(3).map_or("", |m| m.as_str().trim_end_matches('0'));
    let mut canonical = String::new();
    if negative && !(int == "0" && frac.is_empty()) {
        canonical.push('-');
    }
    canonical.push_str(int);
    if !frac.is_empty() {
        canonical.push('.');
        canonical.push_str(frac);
    }
    // boundary: a regex match ends at a character boundary
    Some((Number(canonical), &text[whole.end()..]))
}

/// The number of a marked answer's text: exactly one number at its start (after markdown
/// emphasis, `$` and LaTeX `\$`), then anything without a digit (units, punctuation).
fn single_number(text: &str) -> Option<Number> {
    let cleaned = text
        .replace("\\$", "$")
        .replace("\\,", "")
        .replace("\\!", "");
    let t = cleaned.trim_start_matches(|c: char| c.is_whitespace() || c == '*' || c == '_');
    let (n, rest) = number_prefix(t)?;
    // "42nd" and "42x" are not the number 42; "42 apples", "42%", "42." and "42**" are. A
    // second number anywhere after it ("42 or 43", "3/4", "1,00") makes the answer ambiguous.
    if rest.starts_with(char::is_alphabetic) || rest.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    // "1.5 million" is not 1.5: a scale word multiplies the number.
    if SCALE.is_match(rest) {
        return None;
    }
    Some(n)
}

static SCALE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:hundred|thousand|million|billion|trillion|k|bn)\b")
        .expect("valid regex")
});

static NEGATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:not|no|none|cannot|can't|impossible|unknown|undefined|unclear|wrong|incorrect)\b")
        .expect("valid regex")
});

static MARKERS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\\boxed\s*\{|####|\banswer\s*(?:is\s*:?|:|=)").expect("valid regex")
});

/// The answer a completion gives, read from its last answer marker that states a number:
/// `\boxed{…}`, `####`, or `answer:` / `answer is` / `answer =` (to the end of that line); a
/// marker followed by no digit ("the answer is correct") is passed over, unless it withdraws
/// the answer ("the answer is not possible", "the answer is wrong"): then nothing is read. Without a marker, a
/// reply that is only a number (with units) is that number. `None`: no marker, or the marked text is not
/// exactly one number ("42 or 43", "3/4", "about 5 and 6" are all unparseable).
pub fn extract_number(text: &str) -> Option<Number> {
    let markers: Vec<regex::Match> = MARKERS.find_iter(text).collect();
    // The last marker that states a number decides; one followed by no digit at all ("the
    // answer is correct", "answer: see above") states none and is passed over.
    for m in markers.iter().rev() {
        // boundary: a regex match ends at a character boundary
        let after = &text[m.end()..];
        if m.as_str().starts_with('\\') {
            let inner = balanced_brace_content(after)?;
            if !inner.chars().any(|c| c.is_ascii_digit()) {
                continue;
            }
            return Number::parse(&strip_latex_text(inner));
        }
        let line = after.lines().next().unwrap_or("");
        if line.chars().any(|c| c.is_ascii_digit()) {
            return single_number(line);
        }
        // "The answer is not possible" withdraws the earlier answers: nothing is read.
        if NEGATION.is_match(line) {
            return None;
        }
    }
    let line = text.trim();
    (markers.is_empty() && !line.contains('\n'))
        .then(|| single_number(line))
        .flatten()
}

/// The text up to the `}` that closes an already opened `{`.
fn balanced_brace_content(text: &str) -> Option<&str> {
    let mut depth = 1usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    // boundary: `i` comes from char_indices
                    return Some(&text[..i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// `12\text{ apples}` → `12`; `\$12` → `$12`; `1{,}000` → `1,000`.
fn strip_latex_text(text: &str) -> String {
    static TEXT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\\(?:text|mathrm|mbox)\s*\{[^{}\d]*\}").expect("valid regex")
    });
    TEXT.replace_all(text, "")
        .replace("{,}", ",")
        .replace("\\$", "$")
        .replace("\\%", "")
        .replace('%', "")
        .replace("\\,", "")
}

/// The gold answer of a free-response item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Gold {
    Number(Number),
    /// A short exact answer, compared after trimming, lower-casing and collapsing whitespace.
    Text(String),
}

impl Gold {
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Gold::Number(n) => n.as_i64(),
            Gold::Text(_) => None,
        }
    }
}

impl std::fmt::Display for Gold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Gold::Number(n) => n.fmt(f),
            Gold::Text(t) => f.write_str(t),
        }
    }
}

/// A free-response problem with one exact answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FreeItem {
    pub id: String,
    /// `gsm8k/<stem>` or `jsonl/<stem>`.
    pub source: String,
    pub question: String,
    pub answer: Gold,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<f64>,
    /// The line of the file it came from (1-based), for error messages; not part of its
    /// identity.
    #[serde(skip)]
    pub line: usize,
}

/// How reasoning was kept out of an answer that must come at once (clues' no-CoT condition,
/// the horizon's no-CoT, filler and repeat conditions). Recorded per record and in manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoCotMethod {
    /// The model's turn was started with "Answer:" and cut at a few tokens.
    Prefill,
    /// The backend cannot continue a turn: the instruction asks for the number only, and the
    /// answer is cut at a few tokens.
    Instruction,
}

/// A free-response `--dataset` spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FreeFormat {
    Jsonl,
    Gsm8k,
}

/// Parse `jsonl:PATH` or `gsm8k:PATH`.
pub fn parse_free_spec(spec: &str) -> Result<(FreeFormat, std::path::PathBuf), String> {
    let (format, path) = spec
        .split_once(':')
        .ok_or_else(|| format!("{spec:?}: expected FORMAT:PATH with FORMAT gsm8k or jsonl"))?;
    let format = match format {
        "jsonl" => FreeFormat::Jsonl,
        "gsm8k" => FreeFormat::Gsm8k,
        other => {
            return Err(format!(
                "{spec:?}: unknown free-response format {other:?}; use gsm8k:PATH or jsonl:PATH (multiple-choice formats are for faithfulness and necessity)"
            ))
        }
    };
    if path.is_empty() {
        return Err(format!("{spec:?}: empty path"));
    }
    Ok((format, std::path::PathBuf::from(path)))
}

/// Load the items of a free-response spec.
pub fn load_free(spec: &str) -> Result<Vec<FreeItem>, DatasetError> {
    let (format, path) =
        parse_free_spec(spec).map_err(|m| DatasetError::new(Path::new(spec), None, None, m))?;
    match format {
        FreeFormat::Jsonl => load_jsonl(&path),
        FreeFormat::Gsm8k => load_gsm8k(&path),
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "items".into())
}

fn normalize_text(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[derive(Deserialize)]
struct RawJsonl {
    id: serde_json::Value,
    question: String,
    answer: serde_json::Value,
    #[serde(default)]
    depth: Option<u32>,
    #[serde(default)]
    minutes: Option<f64>,
}

fn load_jsonl(path: &Path) -> Result<Vec<FreeItem>, DatasetError> {
    let source = format!("jsonl/{}", stem(path));
    let mut items = Vec::new();
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    crate::read::for_each_line(path, |n, line| {
        if line.trim().is_empty() {
            return Ok(());
        }
        let raw: RawJsonl = crate::read::json_line(path, n, line)?;
        let err = |field: &str, msg: String| DatasetError::new(path, Some(n), Some(field), msg);
        let id = match &raw.id {
            serde_json::Value::String(s) if !s.trim().is_empty() => s.clone(),
            serde_json::Value::Number(x) => x.to_string(),
            _ => return Err(err("id", "must be a non-empty string or a number".into())),
        };
        if let Some(first) = seen.insert(id.clone(), n) {
            return Err(err(
                "id",
                format!("duplicate id {id:?} (first on line {first})"),
            ));
        }
        if raw.question.trim().is_empty() {
            return Err(err("question", "empty question".into()));
        }
        let answer = match &raw.answer {
            serde_json::Value::Number(x) => Gold::Number(
                Number::parse(&x.to_string())
                    .ok_or_else(|| err("answer", format!("{x} is not a plain decimal number")))?,
            ),
            serde_json::Value::String(s) => match Number::parse(s) {
                Some(num) => Gold::Number(num),
                None if s.trim().is_empty() => return Err(err("answer", "empty answer".into())),
                None => Gold::Text(normalize_text(s)),
            },
            _ => return Err(err("answer", "must be a number or a string".into())),
        };
        if raw.depth == Some(0) {
            return Err(err("depth", "must be at least 1".into()));
        }
        if let Some(m) = raw.minutes {
            if !(m.is_finite() && m > 0.0) {
                return Err(err("minutes", format!("{m} is not a positive number")));
            }
        }
        items.push(FreeItem {
            id,
            source: source.clone(),
            question: raw.question,
            answer,
            depth: raw.depth,
            minutes: raw.minutes,
            line: n,
        });
        Ok(())
    })?;
    if items.is_empty() {
        return Err(DatasetError::new(path, None, None, "no items in the file"));
    }
    Ok(items)
}

#[derive(Deserialize)]
struct RawGsm8k {
    question: String,
    answer: String,
}

fn load_gsm8k(path: &Path) -> Result<Vec<FreeItem>, DatasetError> {
    let source = format!("gsm8k/{}", stem(path));
    let mut items = Vec::new();
    crate::read::for_each_line(path, |n, line| {
        if line.trim().is_empty() {
            return Ok(());
        }
        let raw: RawGsm8k = crate::read::json_line(path, n, line)?;
        let err = |field: &str, msg: String| DatasetError::new(path, Some(n), Some(field), msg);
        let (_, after) = raw
            .answer
            .rsplit_once("####")
            .ok_or_else(|| err("answer", "no \"#### N\" final answer".into()))?;
        let gold = Number::parse(after).ok_or_else(|| {
            err(
                "answer",
                format!("the text after #### ({:?}) is not a number", after.trim()),
            )
        })?;
        if raw.question.trim().is_empty() {
            return Err(err("question", "empty question".into()));
        }
        items.push(FreeItem {
            id: format!("{source}/{n}"),
            source: source.clone(),
            question: raw.question,
            answer: Gold::Number(gold),
            depth: None,
            minutes: None,
            line: n,
        });
        Ok(())
    })?;
    if items.is_empty() {
        return Err(DatasetError::new(path, None, None, "no items in the file"));
    }
    Ok(items)
}

/// A completion cut at its token limit right after a digit may have lost the number's last
/// digits ("922" of "9223"): its number is not read.
pub fn number_may_be_cut(output: &str, finish: crate::types::FinishReason) -> bool {
    finish == crate::types::FinishReason::Length
        && output.trim_end().ends_with(|c: char| c.is_ascii_digit())
}

/// Does a read answer equal the gold answer? (A text gold answer compares with the whole reply's
/// marked text, normalized; see [`extract_text_answer`].)
pub fn matches_gold(answer: &Option<Number>, text_answer: &Option<String>, gold: &Gold) -> bool {
    match gold {
        Gold::Number(g) => answer.as_ref() == Some(g),
        Gold::Text(g) => text_answer.as_deref() == Some(g.as_str()),
    }
}

/// A short text answer: what follows the last `Answer:` on its line, normalized, without a
/// trailing full stop or markdown emphasis. `None` without a marker.
pub fn extract_text_answer(text: &str) -> Option<String> {
    static ANSWER: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)\banswer\s*(?:is\s*:?|:|=)").expect("valid regex"));
    let m = ANSWER.find_iter(text).last()?;
    // boundary: a regex match ends at a character boundary
    let line = text[m.end()..].lines().next().unwrap_or("");
    let t = normalize_text(line.trim_matches(|c: char| c.is_whitespace() || c == '*' || c == '.'));
    (!t.is_empty()).then_some(t)
}

#[cfg(test)]
#[path = "free_response_tests.rs"]
mod tests;
