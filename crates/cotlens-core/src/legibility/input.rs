//! Streaming the texts to measure out of JSONL: trace files (docs/traces.md) and the
//! `records.jsonl` of cotlens runs. Only the fields needed are parsed (borrowed where possible).

use crate::datasets::DatasetError;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::path::Path;

/// Which text of a line to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TextField {
    /// `reasoning` (string or list of strings), else `cot`.
    Cot,
    /// `output`, else `answer`.
    Output,
}

use serde::Serialize;

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    key: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    reasoning: Option<&'a RawValue>,
    #[serde(borrow, default)]
    cot: Option<&'a RawValue>,
    #[serde(borrow, default)]
    output: Option<&'a RawValue>,
    #[serde(borrow, default)]
    answer: Option<&'a RawValue>,
}

fn text_of(raw: Option<&RawValue>) -> Result<Option<Cow<'_, str>>, String> {
    let Some(raw) = raw else { return Ok(None) };
    let s = raw.get();
    match s.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<Cow<str>>(s)
            .map(Some)
            .map_err(|e| e.to_string()),
        Some(b'[') => serde_json::from_str::<Vec<Cow<str>>>(s)
            .map(|v| Some(Cow::Owned(v.join("\n\n"))))
            .map_err(|e| format!("expected a string or a list of strings ({e})")),
        Some(b'n') => Ok(None),
        _ => Err("expected a string or a list of strings".into()),
    }
}

/// Call `each(id, text)` for every line of `path`; a line without the text gets `""` (and is
/// counted as an empty trace). Returns the number of lines read.
pub fn for_each_text(
    path: &Path,
    field: TextField,
    mut each: impl FnMut(&str, &str),
) -> Result<usize, DatasetError> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)
        .map_err(|e| DatasetError::new(path, None, None, e.to_string()))?;
    // Lines are parsed in place from a 256 KiB buffer (it stays in cache); a line cut by the
    // buffer's end is moved to its front, and the buffer grows for lines longer than it.
    let mut chunk: Vec<u8> = vec![0; 256 << 10];
    let (mut filled, mut n, mut count) = (0usize, 0usize, 0usize);
    loop {
        if filled == chunk.len() {
            chunk.resize(chunk.len() * 2, 0);
        }
        let read = file
            .read(&mut chunk[filled..])
            .map_err(|e| DatasetError::new(path, Some(n + 1), None, e.to_string()))?;
        filled += read;
        let eof = read == 0;
        let usable = if eof {
            filled
        } else {
            match memchr::memrchr(b'\n', &chunk[..filled]) {
                Some(p) => p + 1,
                None => continue,
            }
        };
        let mut from = 0;
        while from < usable {
            let to = memchr::memchr(b'\n', &chunk[from..usable]).map_or(usable, |p| from + p + 1);
            let buf = &chunk[from..to];
            from = to;
            n += 1;
            if buf.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            count += 1;
            parse_line(path, n, buf, field, &mut each)?;
        }
        if eof {
            break;
        }
        chunk.copy_within(usable..filled, 0);
        filled -= usable;
    }
    Ok(count)
}

fn parse_line(
    path: &Path,
    n: usize,
    buf: &[u8],
    field: TextField,
    each: &mut impl FnMut(&str, &str),
) -> Result<(), DatasetError> {
    let line: Line = serde_json::from_slice(buf)
        .map_err(|e| DatasetError::new(path, Some(n), None, format!("not a JSON object: {e}")))?;
    let (first, second, name) = match field {
        TextField::Cot => (line.reasoning, line.cot, "reasoning"),
        TextField::Output => (line.output, line.answer, "output"),
    };
    let text = match text_of(first).map_err(|m| DatasetError::new(path, Some(n), Some(name), m))? {
        Some(t) => Some(t),
        None => text_of(second).map_err(|m| DatasetError::new(path, Some(n), Some(name), m))?,
    };
    let fallback;
    let id: &str = match (&line.id, &line.key) {
        (Some(id), _) => id,
        (None, Some(k)) => k,
        (None, None) => {
            fallback = format!("line{n}");
            &fallback
        }
    };
    each(id, text.as_deref().unwrap_or(""));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_strings_lists_and_records() {
        let dir = tempfile_dir();
        let p = dir.join("t.jsonl");
        std::fs::write(
            &p,
            "{\"id\":\"a\",\"reasoning\":\"one \\\"two\\\"\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}\n\n{\"id\":\"b\",\"reasoning\":[\"p\",\"q\"],\"output\":\"O\"}\n{\"key\":\"c\",\"cot\":\"from a run\",\"answer\":\"A\"}\n{\"id\":\"d\"}\n",
        )
        .expect("write");
        let mut got = Vec::new();
        let n = for_each_text(&p, TextField::Cot, |id, t| {
            got.push((id.to_string(), t.to_string()))
        })
        .expect("ok");
        assert_eq!(n, 4);
        assert_eq!(got[0], ("a".into(), "one \"two\"".into()));
        assert_eq!(got[1], ("b".into(), "p\n\nq".into()));
        assert_eq!(got[2], ("c".into(), "from a run".into()));
        assert_eq!(got[3], ("d".into(), "".into()));
        let mut outs = Vec::new();
        for_each_text(&p, TextField::Output, |_, t| outs.push(t.to_string())).expect("ok");
        assert_eq!(outs, vec!["", "O", "A", ""]);
        std::fs::write(
            &p,
            "{\"id\":\"a\",\"reasoning\":\"x\"}\n{\"id\":\"b\",\"reasoning\":5}\n",
        )
        .expect("write");
        let e = for_each_text(&p, TextField::Cot, |_, _| {}).expect_err("bad");
        assert_eq!((e.line, e.field.as_deref()), (Some(2), Some("reasoning")));
        std::fs::write(
            &p,
            "{\"id\":\"a\",\"reasoning\":\"x\"}\n{\"id\":\"b\",\"reas",
        )
        .expect("write");
        let e = for_each_text(&p, TextField::Cot, |_, _| {}).expect_err("truncated");
        assert_eq!(e.line, Some(2));
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("cotlens-leg-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("dir");
        d
    }
}
