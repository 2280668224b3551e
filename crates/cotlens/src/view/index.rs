//! A run's records, indexed once: each record's byte range in the file and the few fields the
//! filters read, so that a page of a 100,000-record run reads only its own records. Built on
//! first use (off the async threads) and kept for the viewer's life.

use super::pages::Filter;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// What the filters test, per record (the text search `q` reads the record itself).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields {
    pub condition: Option<String>,
    pub hint: Option<String>,
    pub monitor: Option<String>,
    pub view: Option<String>,
    /// The answer is the hinted letter.
    pub followed: bool,
    /// Some judge said verbalized / not verbalized / nothing.
    pub verbalized: bool,
    pub not_verbalized: bool,
    pub unjudged: bool,
    pub score: Option<f64>,
    pub kept: Option<bool>,
}

impl Fields {
    pub fn of(r: &Value) -> Self {
        let s = |k: &str| r[k].as_str().map(str::to_string);
        let mut verdicts: Vec<Option<bool>> = r["judges"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, j)| j["verbalized"].as_bool())
            .collect();
        // A clues record: its clue is the hint, answering the target is following it.
        if r["faithfulness"].is_object() {
            verdicts.push(r["faithfulness"]["acknowledged"].as_bool());
        }
        let used_clue = r["target"].is_i64()
            && r["answer"].as_str() == r["target"].as_i64().map(|t| t.to_string()).as_deref();
        Self {
            condition: s("condition"),
            hint: s("hint").or_else(|| s("clue")),
            monitor: s("monitor"),
            view: s("view"),
            followed: used_clue
                || r["answer_letter"].is_string() && r["answer_letter"] == r["hint_letter"],
            verbalized: verdicts.contains(&Some(true)),
            not_verbalized: verdicts.contains(&Some(false)),
            unjudged: verdicts.contains(&None),
            score: r["score"].as_f64().or(r["monitor"]["score"].as_f64()),
            kept: r["kept"].as_bool(),
        }
    }
}

struct Entry {
    offset: u64,
    len: usize,
    fields: Fields,
}

pub struct RecordIndex {
    path: PathBuf,
    entries: Vec<Entry>,
    /// Records by `item_id`, `key` and `trace_id` (an item has several records).
    by_id: HashMap<String, Vec<usize>>,
}

impl RecordIndex {
    /// Index `path` (a regular file; a symbolic link or a missing file is an empty index).
    /// Lines that are not JSON are skipped, as the report skips them.
    pub fn build(path: &Path) -> Self {
        let mut index = Self {
            path: path.to_path_buf(),
            entries: Vec::new(),
            by_id: HashMap::new(),
        };
        if !crate::report::is_regular_file(path) {
            return index;
        }
        let Ok(file) = std::fs::File::open(path) else {
            return index;
        };
        let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
        let (mut offset, mut line) = (0u64, Vec::new());
        loop {
            line.clear();
            let Ok(n) = reader.read_until(b'\n', &mut line) else {
                break;
            };
            if n == 0 {
                break;
            }
            if let Ok(v) = serde_json::from_slice::<Value>(&line) {
                let at = index.entries.len();
                for id in [&v["item_id"], &v["key"], &v["trace_id"]] {
                    if let Some(id) = id.as_str() {
                        let ids = index.by_id.entry(id.to_string()).or_default();
                        if ids.last() != Some(&at) {
                            ids.push(at);
                        }
                    }
                }
                index.entries.push(Entry {
                    offset,
                    len: n,
                    fields: Fields::of(&v),
                });
            }
            offset += n as u64;
        }
        index
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn read(&self, file: &mut std::fs::File, e: &Entry) -> Option<Value> {
        file.seek(SeekFrom::Start(e.offset)).ok()?;
        let mut buf = vec![0; e.len];
        file.read_exact(&mut buf).ok()?;
        serde_json::from_slice(&buf).ok()
    }

    /// The page of records `f` selects (from `f.offset`, at most `f.limit`) and how many match.
    pub fn filtered(&self, f: &Filter) -> (Vec<Value>, usize) {
        let (mut rows, mut total) = (Vec::new(), 0);
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return (rows, 0);
        };
        for e in &self.entries {
            if !f.matches_fields(&e.fields) {
                continue;
            }
            let in_page = total >= f.offset && rows.len() < f.limit;
            if f.q.is_some() || in_page {
                let Some(r) = self.read(&mut file, e) else {
                    continue;
                };
                if !f.matches_text(&r) {
                    continue;
                }
                if in_page {
                    rows.push(r);
                }
            }
            total += 1;
        }
        (rows, total)
    }

    /// The records of an item, key or trace id (at most `max`), in file order.
    pub fn records_of(&self, id: &str, max: usize) -> Vec<Value> {
        let Some(ids) = self.by_id.get(id) else {
            return Vec::new();
        };
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        ids.iter()
            .take(max)
            .filter_map(|&i| self.read(&mut file, &self.entries[i]))
            .collect()
    }
}
