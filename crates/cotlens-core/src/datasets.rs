//! Dataset loaders: every format becomes a list of [`Item`]s, or an error naming the file, the
//! line and the field.
//!
//! | `--dataset` | format |
//! |---|---|
//! | `mmlu:PATH` | MMLU CSV without header (question, A, B, C, D, answer letter); a file or a folder of `*_test.csv` / `*.csv` |
//! | `bbh:PATH` | BIG-Bench-Hard JSON `{examples: [{input, target}]}`; options parsed from `Options:` lines (`(A) …` or `- …`); a file or folder; free-form tasks are skipped |
//! | `turpin-bbh:PATH` | Turpin et al.'s `val_data.json` (`parsed_inputs`, `multiple_choice_scores`); a file or a folder of task folders |
//! | `jsonl:PATH` | one JSON object per line: `{"id", "question", "choices": [...], "answer": index or letter}`, optional `subject` |
//! | `csv:PATH` | a header row with `id`, `question`, one column per option named `A`, `B`, … and `answer` (index or letter), optional `subject` |

use crate::types::{letter_index, Item};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

#[path = "datasets_bbh.rs"]
mod bbh;
pub use bbh::parse_bbh_input;
use bbh::{load_bbh_file, load_turpin};

/// A `--dataset` spec that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SpecError(pub String);

/// A problem in an input file, located as precisely as the format allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default(), field.as_ref().map(|f| format!(": field `{f}`")).unwrap_or_default())]
pub struct DatasetError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

impl DatasetError {
    pub fn new(
        path: &Path,
        line: Option<usize>,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            path: path.to_path_buf(),
            line,
            field: field.map(str::to_string),
            message: message.into(),
        }
    }
}

impl DatasetError {
    /// A JSON line that did not parse: serde names the offending field in its message
    /// ("unknown field `x`", "missing field `x`"), which becomes the error's field.
    pub fn json(path: &Path, line: usize, e: &serde_json::Error) -> Self {
        let message = e.to_string();
        // Only these messages name a field; others quote a value (`invalid type: integer `5``).
        let field = ["missing field `", "unknown field `", "duplicate field `"]
            .iter()
            .find_map(|p| message.strip_prefix(p))
            .and_then(|rest| rest.split('`').next())
            .map(str::to_string);
        Self {
            path: path.to_path_buf(),
            line: Some(line),
            field,
            message,
        }
    }
}

/// The 1-based line of byte `offset` in `text` (for errors located by a parser's span).
pub fn line_of(text: &str, offset: usize) -> usize {
    line_of_bytes(text.as_bytes(), offset)
}

/// The 1-based line of byte `offset` in `bytes`.
pub fn line_of_bytes(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Mmlu,
    Bbh,
    TurpinBbh,
    Jsonl,
    Csv,
}

/// A parsed `--dataset` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetSpec {
    pub format: Format,
    pub path: PathBuf,
}

impl DatasetSpec {
    pub fn parse(spec: &str) -> Result<Self, SpecError> {
        Self::parse_text(spec).map_err(SpecError)
    }

    fn parse_text(spec: &str) -> Result<Self, String> {
        let (kind, path) = spec.split_once(':').ok_or_else(|| {
            format!(
                "--dataset {spec:?}: expected FORMAT:PATH (mmlu, bbh, turpin-bbh, jsonl or csv)"
            )
        })?;
        let format = match kind {
            "mmlu" => Format::Mmlu,
            "bbh" => Format::Bbh,
            "turpin-bbh" => Format::TurpinBbh,
            "jsonl" => Format::Jsonl,
            "csv" => Format::Csv,
            other => return Err(format!("--dataset {spec:?}: unknown format {other:?}; use mmlu, bbh, turpin-bbh, jsonl or csv")),
        };
        if path.is_empty() {
            return Err(format!("--dataset {spec:?}: missing path"));
        }
        Ok(Self {
            format,
            path: PathBuf::from(path),
        })
    }

    pub fn load(&self) -> Result<Vec<Item>, DatasetError> {
        let items = match self.format {
            Format::Mmlu => load_files(&self.path, "csv", load_mmlu_file)?,
            Format::Bbh => load_files(&self.path, "json", load_bbh_file)?,
            Format::TurpinBbh => load_turpin(&self.path)?,
            Format::Jsonl => load_jsonl(&self.path)?,
            Format::Csv => load_csv(&self.path)?,
        };
        if items.is_empty() {
            return Err(DatasetError::new(
                &self.path,
                None,
                None,
                "no multiple-choice items found",
            ));
        }
        check_unique_ids(&self.path, &items)?;
        Ok(items)
    }
}

fn check_unique_ids(path: &Path, items: &[Item]) -> Result<(), DatasetError> {
    let mut seen = HashSet::new();
    for item in items {
        if !seen.insert(item.id.as_str()) {
            return Err(DatasetError::new(
                path,
                None,
                Some("id"),
                format!("duplicate id {:?}", item.id),
            ));
        }
    }
    Ok(())
}

/// Pick `limit` items deterministically by `seed` (all when `limit` is `None` or larger),
/// keeping the dataset's order.
pub fn subset<T>(items: Vec<T>, limit: Option<usize>, seed: u64) -> Vec<T> {
    let Some(limit) = limit.filter(|&l| l < items.len()) else {
        return items;
    };
    let mut indices: Vec<usize> = (0..items.len()).collect();
    indices.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    let mut keep: Vec<usize> = indices.into_iter().take(limit).collect();
    keep.sort_unstable();
    let mut items: Vec<Option<T>> = items.into_iter().map(Some).collect();
    keep.into_iter().filter_map(|i| items[i].take()).collect()
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> DatasetError {
    DatasetError::new(path, None, None, e.to_string())
}

/// A file, or every file with `ext` in a folder (sorted by name, so ids and order are stable).
fn load_files(
    path: &Path,
    ext: &str,
    load: fn(&Path) -> Result<Vec<Item>, DatasetError>,
) -> Result<Vec<Item>, DatasetError> {
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| io_err(path, e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == ext))
            .collect();
        files.sort();
        let mut items = Vec::new();
        for file in files {
            items.extend(load(&file)?);
        }
        Ok(items)
    } else {
        load(path)
    }
}

fn validate(path: &Path, line: Option<usize>, item: Item) -> Result<Item, DatasetError> {
    if item.question.trim().is_empty() {
        return Err(DatasetError::new(
            path,
            line,
            Some("question"),
            "empty question",
        ));
    }
    if item.choices.len() < 2 {
        return Err(DatasetError::new(
            path,
            line,
            Some("choices"),
            format!("needs at least 2 choices, found {}", item.choices.len()),
        ));
    }
    if item.choices.len() > 26 {
        return Err(DatasetError::new(
            path,
            line,
            Some("choices"),
            format!(
                "at most 26 choices are supported, found {}",
                item.choices.len()
            ),
        ));
    }
    if let Some(i) = item.choices.iter().position(|c| c.trim().is_empty()) {
        return Err(DatasetError::new(
            path,
            line,
            Some("choices"),
            format!("choice {} is empty", crate::types::letter(i)),
        ));
    }
    if item.answer >= item.choices.len() {
        return Err(DatasetError::new(
            path,
            line,
            Some("answer"),
            format!(
                "answer index {} is out of range for {} choices",
                item.answer,
                item.choices.len()
            ),
        ));
    }
    Ok(item)
}

/// An answer given as an index (`2`) or a letter (`C`, `(C)`).
fn parse_answer(value: &str, n: usize) -> Result<usize, String> {
    let v = value
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim();
    if let Ok(i) = v.parse::<usize>() {
        return Ok(i);
    }
    let mut chars = v.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => {
            letter_index(c).ok_or_else(|| format!("{value:?} is neither an index nor a letter"))
        }
        _ => Err(format!(
            "{value:?} is neither an index nor a letter (expected 0..{} or A..{})",
            n.saturating_sub(1),
            crate::types::letter(n.saturating_sub(1).min(25))
        )),
    }
}

fn file_stem(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    stem.strip_suffix("_test")
        .or_else(|| stem.strip_suffix("_dev"))
        .or_else(|| stem.strip_suffix("_val"))
        .unwrap_or(&stem)
        .to_string()
}

fn load_mmlu_file(path: &Path) -> Result<Vec<Item>, DatasetError> {
    let subject = file_stem(path);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(crate::read::open_bounded(path)?);
    let mut items = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            DatasetError::new(
                path,
                e.position().map(|p| p.line() as usize),
                None,
                e.to_string(),
            )
        })?;
        let line = record.position().map(|p| p.line() as usize);
        if record.len() != 6 {
            let field = if record.len() < 6 {
                "choices"
            } else {
                "answer"
            };
            return Err(DatasetError::new(
                path,
                line,
                Some(field),
                format!(
                    "expected 6 columns (question, A, B, C, D, answer), found {}",
                    record.len()
                ),
            ));
        }
        let choices: Vec<String> = (1..5).map(|i| record[i].to_string()).collect();
        let answer = parse_answer(&record[5], 4)
            .map_err(|m| DatasetError::new(path, line, Some("answer"), m))?;
        items.push(validate(
            path,
            line,
            Item {
                id: format!("mmlu/{subject}/{row}"),
                question: record[0].to_string(),
                choices,
                answer,
                source: "mmlu".into(),
                subject: Some(subject.clone()),
            },
        )?);
    }
    crate::read::check_position(path, reader.position().byte())?;
    Ok(items)
}

fn load_jsonl(path: &Path) -> Result<Vec<Item>, DatasetError> {
    let source = format!("jsonl/{}", file_stem(path));
    let mut items = Vec::new();
    let mut lines_of_ids: std::collections::HashMap<String, usize> = Default::default();
    crate::read::for_each_line(path, |n, line| {
        if line.trim().is_empty() {
            return Ok(());
        }
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| DatasetError::new(path, Some(n), None, format!("invalid JSON: {e}")))?;
        let err = |field: &str, msg: String| DatasetError::new(path, Some(n), Some(field), msg);
        let id = match &v["id"] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(x) => x.to_string(),
            serde_json::Value::Null => return Err(err("id", "missing".into())),
            _ => return Err(err("id", "must be a string or a number".into())),
        };
        if id.trim().is_empty() {
            return Err(err("id", "empty id".into()));
        }
        if let Some(first) = lines_of_ids.insert(id.clone(), n) {
            return Err(err(
                "id",
                format!("duplicate id {id:?} (first on line {first})"),
            ));
        }
        let question = v["question"]
            .as_str()
            .ok_or_else(|| err("question", "missing or not a string".into()))?
            .to_string();
        let choices = v["choices"]
            .as_array()
            .ok_or_else(|| err("choices", "missing or not an array".into()))?;
        let choices: Vec<String> = choices
            .iter()
            .enumerate()
            .map(|(j, c)| {
                c.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| err("choices", format!("choice {j} is not a string")))
            })
            .collect::<Result<_, _>>()?;
        let answer = match &v["answer"] {
            serde_json::Value::Number(x) => x
                .as_u64()
                .map(|a| a as usize)
                .ok_or_else(|| err("answer", format!("{x} is not a non-negative index")))?,
            serde_json::Value::String(s) => {
                parse_answer(s, choices.len()).map_err(|m| err("answer", m))?
            }
            _ => return Err(err("answer", "missing; give an index or a letter".into())),
        };
        let subject = match &v["subject"] {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s.clone()),
            other => return Err(err("subject", format!("{other} is not a string"))),
        };
        let src = v["source"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| source.clone());
        items.push(validate(
            path,
            Some(n),
            Item {
                id,
                question,
                choices,
                answer,
                source: src,
                subject,
            },
        )?);
        Ok(())
    })?;
    Ok(items)
}

fn load_csv(path: &Path) -> Result<Vec<Item>, DatasetError> {
    let mut reader = csv::Reader::from_reader(crate::read::open_bounded(path)?);
    let headers = reader.headers().map_err(|e| io_err(path, e))?.clone();
    let mut names = HashSet::new();
    for h in headers.iter() {
        let name = h.trim().to_ascii_lowercase();
        if !name.is_empty() && !names.insert(name) {
            return Err(DatasetError::new(
                path,
                Some(1),
                Some(h.trim()),
                "the header names this column twice",
            ));
        }
    }
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let missing: Vec<&str> = ["id", "question", "answer"]
        .into_iter()
        .filter(|c| col(c).is_none())
        .collect();
    let (Some(id_col), Some(q_col), Some(a_col)) = (col("id"), col("question"), col("answer"))
    else {
        return Err(DatasetError::new(
            path,
            Some(1),
            Some(missing.first().copied().unwrap_or("id")),
            format!(
                "the header has no {} column (it must name id, question, answer and one column per option: A, B, …)",
                missing.join(", ")
            ),
        ));
    };
    let option_cols: Vec<usize> = (0..26)
        .map_while(|i| {
            headers
                .iter()
                .position(|h| h.trim() == crate::types::letter(i).to_string())
        })
        .collect();
    // Option columns are A, B, C… without a gap: `A,B,D` would silently drop D.
    if let Some(stray) = headers.iter().map(str::trim).find(|h| {
        h.len() == 1
            && h.chars().all(|c| c.is_ascii_uppercase())
            && crate::types::letter_index(h.chars().next().unwrap_or('A'))
                .is_some_and(|i| i >= option_cols.len())
    }) {
        return Err(DatasetError::new(
            path,
            Some(1),
            Some(stray),
            format!(
                "option column {stray} without the letters before it (options are A, B, C… in order; found {} of them)",
                option_cols.len()
            ),
        ));
    }
    let subject_col = col("subject");
    let source = format!("csv/{}", file_stem(path));
    let mut lines_of_ids: std::collections::HashMap<String, usize> = Default::default();
    let mut items = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            DatasetError::new(
                path,
                e.position().map(|p| p.line() as usize),
                None,
                e.to_string(),
            )
        })?;
        let line = record.position().map(|p| p.line() as usize);
        // Items with fewer options leave the last option columns blank; a blank option before
        // a filled one would shift every later letter (and the gold answer), so it is refused.
        let cells: Vec<&str> = option_cols
            .iter()
            .map(|&c| record.get(c).unwrap_or(""))
            .collect();
        let used = cells
            .iter()
            .rposition(|c| !c.trim().is_empty())
            .map_or(0, |i| i + 1);
        if let Some(blank) = cells[..used].iter().position(|c| c.trim().is_empty()) {
            return Err(DatasetError::new(
                path,
                line,
                Some(&crate::types::letter(blank).to_string()),
                "blank option before a filled one (only the last options may be blank)",
            ));
        }
        let choices: Vec<String> = cells[..used].iter().map(|c| c.to_string()).collect();
        let answer = parse_answer(record.get(a_col).unwrap_or(""), choices.len())
            .map_err(|m| DatasetError::new(path, line, Some("answer"), m))?;
        let item = Item {
            id: record.get(id_col).unwrap_or("").to_string(),
            question: record.get(q_col).unwrap_or("").to_string(),
            choices,
            answer,
            source: source.clone(),
            subject: subject_col
                .and_then(|c| record.get(c))
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        };
        if item.id.trim().is_empty() {
            return Err(DatasetError::new(path, line, Some("id"), "empty id"));
        }
        if let Some(first) = lines_of_ids.insert(item.id.clone(), line.unwrap_or(0)) {
            return Err(DatasetError::new(
                path,
                line,
                Some("id"),
                format!("duplicate id {:?} (first on line {first})", item.id),
            ));
        }
        items.push(validate(path, line, item)?);
    }
    crate::read::check_position(path, reader.position().byte())?;
    Ok(items)
}

#[cfg(test)]
#[path = "datasets_tests.rs"]
mod tests;
