//! The run store: a run directory that survives being killed.
//!
//! - `manifest.json` is written first (atomically), before any work.
//! - `records.jsonl` gets one line per finished unit of work, appended and flushed as each unit
//!   finishes. On `--resume`, the keys already stored are skipped; a last line cut off by a kill
//!   is dropped (and truncated away), so no unit is lost or duplicated.
//! - Summaries and reports are written with [`write_atomic`] (temp file + rename).
//! - A lock file keeps two processes from writing the same directory.

use anyhow::Context;
use fs2::FileExt;
use serde::Serialize;
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const MANIFEST: &str = "manifest.json";
pub const RECORDS: &str = "records.jsonl";
pub const SUMMARY: &str = "summary.json";
/// Records of failed units that `--resume` asked again, moved out of `records.jsonl` (kept for
/// the audit trail: what failed, and why).
pub const RETRIED: &str = "retried.jsonl";
const LOCK: &str = ".lock";

/// May a new run be created in `dir`? Only when it does not exist yet (a dangling symlink counts
/// as existing: cotlens would write through it) or is an empty folder. Anything else is refused
/// with exit 2 before a byte is written: a folder that holds a run (resume it), a folder with
/// other files (cotlens never writes into files it did not create), a regular file.
pub fn check_new_run_dir(dir: &Path) -> anyhow::Result<()> {
    let refuse = |why: String| -> anyhow::Result<()> {
        Err(crate::error::bad_input(format!(
            "--out {}: {why}",
            dir.display()
        )))
    };
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return refuse(format!("cannot be inspected ({e})")),
    };
    if meta.file_type().is_symlink() && std::fs::metadata(dir).is_err() {
        return refuse("is a symbolic link to nothing; remove it or choose another --out".into());
    }
    if !dir.is_dir() {
        return refuse("exists and is not a folder; choose another --out".into());
    }
    if dir.join(MANIFEST).exists() {
        return refuse(format!(
            "already holds a run; continue it with --resume {} or choose another --out",
            dir.display()
        ));
    }
    let mut entries = std::fs::read_dir(dir)
        .map_err(|e| crate::error::bad_input(format!("--out {}: {e}", dir.display())))?;
    if entries.next().is_some() {
        return refuse(
            "is a folder with files in it but no cotlens run; choose a new or empty folder (cotlens never writes into files it did not create)"
                .into(),
        );
    }
    Ok(())
}

/// Write `bytes` to `path` atomically: a temporary file in the same directory, synced, renamed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .with_context(|| format!("writing in {}", dir.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("syncing {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

pub fn write_json_atomic(path: &Path, value: &impl Serialize) -> anyhow::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// An open run directory.
pub struct RunStore {
    dir: PathBuf,
    records: Mutex<File>,
    done: HashSet<String>,
    /// Units recorded as failed (counted as done until [`RunStore::retry_failed`]).
    failed: HashSet<String>,
    _lock: File,
}

impl RunStore {
    /// Start a new run in `dir` (which must not hold a run yet), writing the manifest first.
    pub fn create(dir: &Path, manifest: &serde_json::Value) -> anyhow::Result<Self> {
        check_new_run_dir(dir)?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let lock = lock(dir)?;
        write_json_atomic(&dir.join(MANIFEST), manifest)?;
        Self::open_records(dir, lock, HashSet::new())
    }

    /// Reopen a run to continue it. Returns the store and the stored manifest. Units recorded
    /// as failed count as done until [`RunStore::retry_failed`] (called only once the resume is
    /// known to be allowed: a refused resume changes nothing).
    pub fn resume(dir: &Path) -> anyhow::Result<(Self, serde_json::Value)> {
        let manifest_path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&manifest_path).map_err(|_| {
            crate::error::bad_input(format!(
                "{}: not a cotlens run directory (no {MANIFEST})",
                dir.display()
            ))
        })?;
        let manifest: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            crate::error::bad_input(format!(
                "{}:{}: not valid JSON ({e}); the run directory is damaged",
                manifest_path.display(),
                e.line()
            ))
        })?;
        let lock = lock(dir)?;
        let (mut done, failed) = repair_and_read_keys(&dir.join(RECORDS))?;
        let failed: HashSet<String> = failed.into_iter().filter(|k| !done.contains(k)).collect();
        done.extend(failed.iter().cloned());
        let mut store = Self::open_records(dir, lock, done)?;
        store.failed = failed;
        Ok((store, manifest))
    }

    /// Ask the units recorded as failed again: their records move to [`RETRIED`] (appended and
    /// synced first, then `records.jsonl` is rewritten atomically without them and reopened),
    /// so each unit keeps one record. Returns how many.
    pub fn retry_failed(&mut self) -> anyhow::Result<usize> {
        if self.failed.is_empty() {
            return Ok(0);
        }
        move_failed(&self.dir, &self.failed)?;
        let path = self.dir.join(RECORDS);
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        *self
            .records
            .lock()
            .map_err(|_| anyhow::anyhow!("records lock poisoned"))? = file;
        let n = self.failed.len();
        for k in self.failed.drain() {
            self.done.remove(&k);
        }
        Ok(n)
    }

    fn open_records(dir: &Path, lock: File, done: HashSet<String>) -> anyhow::Result<Self> {
        let path = dir.join(RECORDS);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            records: Mutex::new(file),
            done,
            failed: HashSet::new(),
            _lock: lock,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Keys of units already stored (skipped on resume).
    pub fn is_done(&self, key: &str) -> bool {
        self.done.contains(key)
    }

    pub fn done_count(&self) -> usize {
        self.done.len()
    }

    /// Append one finished unit. Each record is one line with a `key` field, written with a
    /// single `write` call and flushed, so a kill leaves at most one partial last line.
    pub fn append(&self, record: &serde_json::Value) -> anyhow::Result<()> {
        debug_assert!(
            record.get("key").and_then(|k| k.as_str()).is_some(),
            "records carry a key"
        );
        let mut line = serde_json::to_vec(record)?;
        line.push(b'\n');
        let mut file = self
            .records
            .lock()
            .map_err(|_| anyhow::anyhow!("records lock poisoned"))?;
        file.write_all(&line)
            .with_context(|| format!("appending to {}", self.dir.join(RECORDS).display()))?;
        file.flush()?;
        Ok(())
    }

    /// Make what was appended durable (called at the end and periodically).
    pub fn sync(&self) -> anyhow::Result<()> {
        let file = self
            .records
            .lock()
            .map_err(|_| anyhow::anyhow!("records lock poisoned"))?;
        file.sync_data()?;
        Ok(())
    }
}

fn lock(dir: &Path) -> anyhow::Result<File> {
    let path = dir.join(LOCK);
    let file = OpenOptions::new()
        .create(true)
        // boundary: OpenOptions::truncate, not a cut
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.try_lock_exclusive().map_err(|_| {
        crate::error::bad_input(format!(
            "{} is in use by another cotlens process",
            dir.display()
        ))
    })?;
    Ok(file)
}

/// Move the records of the units `failed` from `records.jsonl` to [`RETRIED`].
fn move_failed(dir: &Path, failed: &HashSet<String>) -> anyhow::Result<()> {
    let path = dir.join(RECORDS);
    let text = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let (mut keep, mut moved) = (Vec::new(), Vec::new());
    for line in text.split_inclusive(|b| *b == b'\n') {
        let key = serde_json::from_slice::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v.get("key").and_then(|k| k.as_str()).map(str::to_string));
        if key.is_some_and(|k| failed.contains(&k)) {
            moved.extend_from_slice(line);
        } else {
            keep.extend_from_slice(line);
        }
    }
    let retried = dir.join(RETRIED);
    let mut out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&retried)
        .with_context(|| format!("opening {}", retried.display()))?;
    out.write_all(&moved)
        .and_then(|()| out.sync_all())
        .with_context(|| format!("writing {}", retried.display()))?;
    write_atomic(&path, &keep)
}

/// Whether a record is of a unit that failed (`"status": "failed"`).
fn is_failed(record: &serde_json::Value) -> bool {
    record.get("status").and_then(|s| s.as_str()) == Some("failed")
}

/// Read the keys of complete records, those of failed units apart; cut off a partial last line
/// left by a kill.
fn repair_and_read_keys(path: &Path) -> anyhow::Result<(HashSet<String>, HashSet<String>)> {
    let mut keys = HashSet::new();
    let mut failed = HashSet::new();
    let Ok(file) = File::open(path) else {
        return Ok((keys, failed));
    };
    let mut reader = BufReader::new(file);
    let mut good_len: u64 = 0;
    let mut line_no = 0usize;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let complete = line.ends_with(b"\n");
        let parsed: Option<serde_json::Value> = serde_json::from_slice(&line).ok();
        match (complete, parsed) {
            (true, Some(v)) => {
                if let Some(k) = v.get("key").and_then(|k| k.as_str()) {
                    if is_failed(&v) {
                        failed.insert(k.to_string());
                    } else {
                        keys.insert(k.to_string());
                    }
                }
                good_len += n as u64;
            }
            (false, _) => break,
            (true, None) => {
                return Err(crate::error::bad_input(format!(
                    "{}:{}: not valid JSON; the run directory is damaged",
                    path.display(),
                    line_no
                )))
            }
        }
    }
    let file = OpenOptions::new().write(true).open(path)?;
    if file.metadata()?.len() != good_len {
        tracing::warn!(
            "{}: dropping a partial last record left by an interrupted run",
            path.display()
        );
        file.set_len(good_len)?;
        let mut f = file;
        f.seek(SeekFrom::End(0))?;
    }
    Ok((keys, failed))
}

/// The records of a run as `T`: errors name `records.jsonl`, the line and the field, and a key
/// recorded twice is refused (exit 2: a damaged or hand-edited run).
pub fn read_typed<T: serde::de::DeserializeOwned>(
    dir: &Path,
    what: &str,
) -> anyhow::Result<Vec<T>> {
    let path = dir.join(RECORDS);
    let mut out = Vec::new();
    let mut keys = HashSet::new();
    #[derive(serde::Deserialize)]
    struct Key {
        #[serde(default)]
        key: Option<String>,
    }
    cotlens_core::read::for_each_line(&path, |n, line| {
        if line.trim().is_empty() {
            return Ok(());
        }
        let record: T = cotlens_core::read::json_line(&path, n, line).map_err(|mut e| {
            e.message = format!("not a {what} record: {}", e.message);
            e
        })?;
        if let Ok(Key { key: Some(k) }) = serde_json::from_str::<Key>(line) {
            check_key(&path, n, &k, &mut keys)?;
        }
        out.push(record);
        Ok(())
    })?;
    Ok(out)
}

fn check_key(
    path: &Path,
    n: usize,
    key: &str,
    keys: &mut HashSet<String>,
) -> Result<(), cotlens_core::datasets::DatasetError> {
    if !keys.insert(key.to_string()) {
        return Err(cotlens_core::datasets::DatasetError::new(
            path,
            Some(n),
            Some("key"),
            format!("key {key:?} is recorded twice (a damaged or hand-edited run)"),
        ));
    }
    Ok(())
}

pub fn read_records(dir: &Path) -> anyhow::Result<Vec<serde_json::Value>> {
    let path = dir.join(RECORDS);
    let mut out = Vec::new();
    let mut keys = HashSet::new();
    cotlens_core::read::for_each_line(&path, |n, line| {
        if !line.trim().is_empty() {
            let v: serde_json::Value = serde_json::from_str(line).map_err(|e| {
                cotlens_core::datasets::DatasetError::new(&path, Some(n), None, e.to_string())
            })?;
            if let Some(k) = v.get("key").and_then(|k| k.as_str()) {
                check_key(&path, n, k, &mut keys)?;
            }
            out.push(v);
        }
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resume_skips_done_and_drops_a_partial_line() {
        let dir = tempfile::tempdir().expect("tmp");
        let run = dir.path().join("run");
        {
            let store = RunStore::create(&run, &json!({"v": 1})).expect("create");
            store.append(&json!({"key": "a"})).expect("append");
            store.append(&json!({"key": "b"})).expect("append");
        }
        // Simulate a kill mid-write.
        let mut f = OpenOptions::new()
            .append(true)
            .open(run.join(RECORDS))
            .expect("open");
        f.write_all(b"{\"key\": \"c\", \"trunc").expect("write");
        drop(f);
        let (store, manifest) = RunStore::resume(&run).expect("resume");
        assert_eq!(manifest, json!({"v": 1}));
        assert!(store.is_done("a") && store.is_done("b") && !store.is_done("c"));
        store.append(&json!({"key": "c"})).expect("append");
        drop(store);
        let keys: Vec<String> = read_records(&run)
            .expect("read")
            .iter()
            .map(|r| r["key"].as_str().unwrap_or("").to_string())
            .collect();
        assert_eq!(keys, vec!["a", "b", "c"]);
        assert!(
            RunStore::create(&run, &json!({})).is_err(),
            "refuses to overwrite a run"
        );
    }

    #[test]
    fn failed_units_are_retried_once_unless_told_not_to() {
        let dir = tempfile::tempdir().expect("tmp");
        let run = dir.path().join("run");
        {
            let store = RunStore::create(&run, &json!({})).expect("create");
            store
                .append(&json!({"key": "a", "status": "ok"}))
                .expect("append");
            store
                .append(&json!({"key": "b", "status": "failed", "error": "503"}))
                .expect("append");
            store.append(&json!({"key": "c"})).expect("append");
        }
        {
            let (store, _) = RunStore::resume(&run).expect("resume");
            assert!(store.is_done("b"), "--no-retry-failed keeps the failure");
        }
        let (mut store, _) = RunStore::resume(&run).expect("resume");
        assert!(
            store.is_done("b"),
            "nothing moves until the resume is allowed"
        );
        assert!(!run.join(RETRIED).exists());
        assert_eq!(store.retry_failed().expect("retry"), 1);
        assert!(store.is_done("a") && store.is_done("c") && !store.is_done("b"));
        store
            .append(&json!({"key": "b", "status": "ok"}))
            .expect("append");
        drop(store);
        let records = read_records(&run).expect("read");
        let keys: Vec<&str> = records.iter().filter_map(|r| r["key"].as_str()).collect();
        assert_eq!(keys, vec!["a", "c", "b"], "one record per unit");
        let moved = std::fs::read_to_string(run.join(RETRIED)).expect("retried");
        assert!(
            moved.contains("503") && moved.lines().count() == 1,
            "{moved}"
        );
    }

    #[test]
    fn second_writer_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let _a = RunStore::create(dir.path(), &json!({})).expect("create");
        let err = RunStore::resume(dir.path()).err().expect("locked");
        assert!(err.to_string().contains("in use"), "{err}");
    }
}
