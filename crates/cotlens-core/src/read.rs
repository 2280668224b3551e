//! Reading input files within limits: every line-based input streams its lines (linear time,
//! one line in memory), each at most [`max_line_bytes`] long; every whole-file input (JSON,
//! TOML, a member of an archive) is at most [`max_file_bytes`]. A UTF-8 byte-order mark at the
//! start of a file is skipped, the same way in every format. Errors name the file, the line,
//! the limit and the flag that raises it.
//!
//! The limits are process-wide, set once by the binary from `--max-line-mb` / `--max-file-mb`.

use crate::datasets::DatasetError;
use serde::de::DeserializeOwned;
use std::io::{BufRead, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Default longest line: 64 MiB (an agent transcript with long tool outputs fits).
pub const DEFAULT_MAX_LINE_MB: u64 = 64;
/// Default largest whole file or archive member: 1 GiB.
pub const DEFAULT_MAX_FILE_MB: u64 = 1024;

static MAX_LINE: AtomicU64 = AtomicU64::new(DEFAULT_MAX_LINE_MB << 20);
static MAX_FILE: AtomicU64 = AtomicU64::new(DEFAULT_MAX_FILE_MB << 20);

/// Set the limits, in MiB (the binary's `--max-line-mb` and `--max-file-mb`).
pub fn set_limits(max_line_mb: u64, max_file_mb: u64) {
    MAX_LINE.store(max_line_mb.saturating_mul(1 << 20), Ordering::Relaxed);
    MAX_FILE.store(max_file_mb.saturating_mul(1 << 20), Ordering::Relaxed);
}

pub fn max_line_bytes() -> u64 {
    MAX_LINE.load(Ordering::Relaxed)
}

pub fn max_file_bytes() -> u64 {
    MAX_FILE.load(Ordering::Relaxed)
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `text` without a leading byte-order mark.
pub fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{FEFF}').unwrap_or(text)
}

fn line_too_long(path: &Path, line: usize) -> DatasetError {
    DatasetError::new(
        path,
        Some(line),
        None,
        format!(
            "line longer than {} MiB (the limit; --max-line-mb raises it)",
            max_line_bytes() >> 20
        ),
    )
}

/// Call `each(line_number, line)` for every line of the file at `path` (1-based numbers; the
/// newline and a `\r` before it removed; the BOM skipped). Lines may be empty. Stops at the
/// first error: a line over the limit, a line that is not UTF-8, or `each`'s.
pub fn for_each_line(
    path: &Path,
    mut each: impl FnMut(usize, &str) -> Result<(), DatasetError>,
) -> Result<usize, DatasetError> {
    let file = open_file(path)?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let limit = max_line_bytes();
    let mut buf = Vec::new();
    let mut n = 0;
    loop {
        buf.clear();
        // One byte over the limit tells a line at the limit from a longer one.
        let read = (&mut reader)
            .take(limit.saturating_add(2))
            .read_until(b'\n', &mut buf)
            .map_err(|e| DatasetError::new(path, Some(n + 1), None, e.to_string()))?;
        if read == 0 {
            break;
        }
        n += 1;
        let mut line = buf.as_slice();
        if let Some(l) = line.strip_suffix(b"\n") {
            line = l.strip_suffix(b"\r").unwrap_or(l);
        } else if read as u64 > limit {
            return Err(line_too_long(path, n));
        }
        if line.len() as u64 > limit {
            return Err(line_too_long(path, n));
        }
        if n == 1 {
            line = line.strip_prefix(BOM).unwrap_or(line);
        }
        let text = std::str::from_utf8(line).map_err(|e| {
            DatasetError::new(
                path,
                Some(n),
                None,
                format!("not UTF-8 text (byte {} of the line)", e.valid_up_to() + 1),
            )
        })?;
        each(n, text)?;
    }
    Ok(n)
}

/// Parse one JSON line as `T`. The error names the field by its path (`choices[2]`,
/// `actions[0].tool`), and the field a missing or unknown key names.
pub fn json_line<T: DeserializeOwned>(
    path: &Path,
    line: usize,
    text: &str,
) -> Result<T, DatasetError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = parsed.map_err(|e| {
        let message = e.inner().to_string();
        let field = field_of(&message, &e.path().to_string());
        DatasetError {
            path: path.to_path_buf(),
            line: Some(line),
            field,
            message,
        }
    })?;
    de.end()
        .map_err(|e| DatasetError::new(path, Some(line), None, e.to_string()))?;
    Ok(value)
}

/// The field a serde message names ("missing field `x`", "unknown field `x`"), joined to the
/// path where it happened; otherwise the path itself (`rule[2].weight`). Messages that quote
/// a value (``invalid type: integer `5` ``) do not name a field.
fn field_of(message: &str, at: &str) -> Option<String> {
    // toml's `Spanned<T>` and untyped map keys add path segments of their own.
    let cleaned = at
        .replace(".$__serde_spanned_private_value", "")
        .replace("$__serde_spanned_private_value", "")
        .replace(".?", "");
    let at = if cleaned.is_empty() {
        "."
    } else {
        cleaned.as_str()
    };
    let named = [
        "missing field `",
        "unknown field `",
        "duplicate field `",
        "duplicate key `",
    ]
    .iter()
    .find_map(|p| message.strip_prefix(p))
    .and_then(|rest| rest.split('`').next())
    .map(|f| {
        if at == "." || at.is_empty() {
            f.to_string()
        } else if at == f || at.ends_with(&format!(".{f}")) {
            at.to_string()
        } else {
            format!("{at}.{f}")
        }
    });
    named.or_else(|| (at != "." && !at.is_empty()).then(|| at.to_string()))
}

/// Parse TOML `text` (from `origin`) as `T`: errors name the line and the field by its path.
pub fn toml_text<T: DeserializeOwned>(origin: &Path, text: &str) -> Result<T, DatasetError> {
    let text = strip_bom(text);
    let syntax = |e: toml::de::Error| DatasetError {
        path: origin.to_path_buf(),
        line: e.span().map(|s| crate::datasets::line_of(text, s.start)),
        field: field_of(e.message(), "."),
        message: e.message().to_string(),
    };
    let de = toml::de::Deserializer::parse(text).map_err(syntax)?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let at = e.path().to_string();
        let inner = e.into_inner();
        DatasetError {
            path: origin.to_path_buf(),
            line: inner
                .span()
                .map(|s| crate::datasets::line_of(text, s.start)),
            field: field_of(inner.message(), &at),
            message: inner.message().to_string(),
        }
    })
}

/// The whole file at `path` as text, within [`max_file_bytes`], without a BOM.
pub fn read_text(path: &Path) -> Result<String, DatasetError> {
    let file = open_file(path)?;
    let bytes = read_bounded(file, path)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = crate::datasets::line_of_bytes(e.as_bytes(), at);
        DatasetError::new(path, Some(line), None, "not UTF-8 text")
    })?;
    Ok(match text.strip_prefix('\u{FEFF}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// Everything `reader` gives, refused past [`max_file_bytes`] (checked while reading: a
/// compressed member cannot expand past it). `what` names it in the error.
pub fn read_bounded(reader: impl Read, what: &Path) -> Result<Vec<u8>, DatasetError> {
    let limit = max_file_bytes();
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(what, e))?;
    if bytes.len() as u64 > limit {
        return Err(DatasetError::new(
            what,
            None,
            None,
            format!(
                "larger than {} MiB (the limit; --max-file-mb raises it)",
                limit >> 20
            ),
        ));
    }
    Ok(bytes)
}

/// The file at `path`, opened to be read at most [`max_file_bytes`] (and one byte more, so
/// that [`check_position`] can tell a file at the limit from a larger one). A UTF-8 BOM at its
/// start is skipped.
pub fn open_bounded(path: &Path) -> Result<impl Read, DatasetError> {
    let file = open_file(path)?;
    let limited = LineLimited {
        inner: file.take(max_file_bytes().saturating_add(1)),
        limit: max_line_bytes(),
        run: 0,
    };
    let mut reader = std::io::BufReader::new(limited);
    let start = reader.fill_buf().map_err(|e| io_error(path, e))?;
    if start.starts_with(BOM) {
        reader.consume(BOM.len());
    }
    Ok(reader)
}

/// A reader that fails once a line (bytes between newlines) grows past `limit`: record-based
/// parsers (CSV) then stop at the limit instead of buffering an endless record.
struct LineLimited<R> {
    inner: R,
    limit: u64,
    run: u64,
}

impl<R: Read> Read for LineLimited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            if b == b'\n' {
                self.run = 0;
            } else {
                self.run += 1;
            }
        }
        if self.run > self.limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "a line longer than {} MiB (the limit; --max-line-mb raises it)",
                    self.limit >> 20
                ),
            ));
        }
        Ok(n)
    }
}

/// Refuse a reader of [`open_bounded`] that has read past the limit (`position`: the byte
/// offset reached).
pub fn check_position(path: &Path, position: u64) -> Result<(), DatasetError> {
    if position > max_file_bytes() {
        return Err(DatasetError::new(
            path,
            None,
            None,
            format!(
                "larger than {} MiB (the limit; --max-file-mb raises it)",
                max_file_bytes() >> 20
            ),
        ));
    }
    Ok(())
}

/// The file at `path`, open for reading; a folder is refused by name.
fn open_file(path: &Path) -> Result<std::fs::File, DatasetError> {
    let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(DatasetError::new(
            path,
            None,
            None,
            "is a folder, not a file",
        ));
    }
    Ok(file)
}

fn io_error(path: &Path, e: std::io::Error) -> DatasetError {
    DatasetError::new(path, None, None, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("f.jsonl");
        std::fs::write(&path, bytes).expect("write");
        (dir, path)
    }

    fn lines(path: &Path) -> Result<Vec<(usize, String)>, DatasetError> {
        let mut out = Vec::new();
        for_each_line(path, |n, l| {
            out.push((n, l.to_string()));
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn lines_skip_the_bom_and_carriage_returns() {
        let (_d, p) = write(b"\xEF\xBB\xBF{\"a\":1}\r\n\n{\"b\":2}");
        let got = lines(&p).expect("lines");
        assert_eq!(
            got,
            [
                (1, "{\"a\":1}".into()),
                (2, String::new()),
                (3, "{\"b\":2}".into())
            ]
        );
        let (_d, p) = write(b"ok\n\xFF\xFE\n");
        let e = lines(&p).expect_err("not utf-8");
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn a_line_over_the_limit_is_refused_without_reading_it_all() {
        // The limit is process-wide; 1 MiB here, restored after.
        set_limits(1, DEFAULT_MAX_FILE_MB);
        let mut big = b"short\n".to_vec();
        big.extend(std::iter::repeat_n(b'x', (1 << 20) + 5));
        let (_d, p) = write(&big);
        let e = lines(&p).expect_err("too long");
        set_limits(DEFAULT_MAX_LINE_MB, DEFAULT_MAX_FILE_MB);
        assert_eq!(e.line, Some(2));
        assert!(e.to_string().contains("--max-line-mb"), "{e}");
    }

    #[test]
    fn json_errors_name_the_field_not_the_value() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct T {
            id: String,
            xs: Vec<String>,
        }
        let p = Path::new("t.jsonl");
        let e = json_line::<T>(p, 3, r#"{"id": 5, "xs": []}"#).expect_err("type");
        assert_eq!((e.line, e.field.as_deref()), (Some(3), Some("id")), "{e}");
        let e = json_line::<T>(p, 1, r#"{"id": "a", "xs": ["x", 2]}"#).expect_err("type");
        assert_eq!(e.field.as_deref(), Some("xs[1]"), "{e}");
        let e = json_line::<T>(p, 1, r#"{"id": "a"}"#).expect_err("missing");
        assert_eq!(e.field.as_deref(), Some("xs"), "{e}");
        let e = json_line::<T>(p, 1, r#"{"id": "a", "xs": [], "y": 1}"#).expect_err("unknown");
        assert_eq!(e.field.as_deref(), Some("y"), "{e}");
        let e = json_line::<T>(p, 1, r#"{"id": "a", "xs": []} trailing"#).expect_err("trailing");
        assert_eq!(e.line, Some(1));
    }
}
