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

/// The text of a field: a string, or a list of strings joined by blank lines; `None` when it is
/// absent or null. Escaped strings are decoded into `scratch`, reused from line to line.
fn text_of<'a>(
    raw: Option<&'a RawValue>,
    scratch: &'a mut String,
) -> Result<Option<&'a str>, String> {
    let Some(raw) = raw else { return Ok(None) };
    let s = raw.get();
    match s.as_bytes().first() {
        Some(b'"') => {
            match unescape(s, scratch) {
                // boundary: inside the ASCII quotes of a JSON string
                Some(false) => Ok(Some(&s[1..s.len() - 1])),
                Some(true) => Ok(Some(scratch.as_str())),
                None => {
                    // A lone surrogate: serde_json decides (and says why).
                    *scratch = serde_json::from_str(s).map_err(|e| e.to_string())?;
                    Ok(Some(scratch.as_str()))
                }
            }
        }
        Some(b'[') => {
            let parts: Vec<Cow<str>> = serde_json::from_str(s)
                .map_err(|e| format!("expected a string or a list of strings ({e})"))?;
            *scratch = parts.join("\n\n");
            Ok(Some(scratch.as_str()))
        }
        Some(b'n') => Ok(None),
        _ => Err("expected a string or a list of strings".into()),
    }
}

/// The value of a JSON string literal (`lit` with its quotes) that serde_json has already
/// checked as a raw value, or `None` for a lone surrogate escape: the decoder [`for_each_text`]
/// uses, exposed so that it can be fuzzed against serde_json.
pub fn decode_json_string(lit: &str) -> Option<String> {
    let mut scratch = String::new();
    match unescape(lit, &mut scratch)? {
        // boundary: inside the ASCII quotes of a JSON string
        false => Some(lit[1..lit.len() - 1].to_string()),
        true => Some(scratch),
    }
}

/// Decode a JSON string literal that serde_json has already checked as a raw value (so its
/// escapes are well formed and it has no control characters): `Some(false)` when it has no
/// escapes (its text is the literal without the quotes), `Some(true)` when decoded into
/// `scratch`, `None` for a lone surrogate escape, which that check lets by.
fn unescape(lit: &str, scratch: &mut String) -> Option<bool> {
    let body = lit.get(1..lit.len().checked_sub(1)?)?;
    let b = body.as_bytes();
    let Some(mut p) = memchr::memchr(b'\\', b) else {
        return Some(false);
    };
    scratch.clear();
    let mut i = 0;
    loop {
        scratch.push_str(body.get(i..p)?);
        i = p + 2;
        let c = match *b.get(p + 1)? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = hex4(b.get(p + 2..p + 6)?)?;
                i = p + 6;
                match hi {
                    0xD800..=0xDBFF => {
                        if b.get(i..i + 2)? != b"\\u" {
                            return None;
                        }
                        let lo = hex4(b.get(i + 2..i + 6)?)?;
                        if !(0xDC00..=0xDFFF).contains(&lo) {
                            return None;
                        }
                        i += 6;
                        char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                    }
                    0xDC00..=0xDFFF => return None,
                    _ => char::from_u32(hi)?,
                }
            }
            _ => return None,
        };
        scratch.push(c);
        match memchr::memchr(b'\\', b.get(i..)?) {
            Some(q) => p = i + q,
            None => break,
        }
    }
    scratch.push_str(body.get(i..)?);
    Some(true)
}

/// Four hex digits.
fn hex4(d: &[u8]) -> Option<u32> {
    let s = std::str::from_utf8(d).ok()?;
    u32::from_str_radix(s, 16).ok()
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
    let (mut scratch, mut scratch2) = (String::new(), String::new());
    loop {
        if filled == chunk.len() {
            if filled as u64 > crate::read::max_line_bytes() {
                return Err(DatasetError::new(
                    path,
                    Some(n + 1),
                    None,
                    format!(
                        "line longer than {} MiB (the limit; --max-line-mb raises it)",
                        crate::read::max_line_bytes() >> 20
                    ),
                ));
            }
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
            let mut buf = &chunk[from..to];
            from = to;
            n += 1;
            if n == 1 {
                buf = buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(buf);
            }
            if buf.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            count += 1;
            parse_line(
                path,
                n,
                buf,
                field,
                &mut each,
                (&mut scratch, &mut scratch2),
            )?;
        }
        if eof {
            break;
        }
        chunk.copy_within(usable..filled, 0);
        filled -= usable;
    }
    Ok(count)
}

/// Call `each(text)` with the prompt text of every line that has one: the contents of
/// `messages` or `prompt` (a list of `{role, content}` turns, or a string) other than the
/// assistant's, and `question`. Lines that are not JSON are skipped here ([`for_each_text`]
/// reports them).
pub fn for_each_prompt(path: &Path, mut each: impl FnMut(&str)) -> Result<(), DatasetError> {
    #[derive(Deserialize)]
    struct Prompt {
        #[serde(default)]
        messages: Option<serde_json::Value>,
        #[serde(default)]
        prompt: Option<serde_json::Value>,
        #[serde(default)]
        question: Option<String>,
    }
    crate::read::for_each_line(path, |_, line| {
        let Ok(p) = serde_json::from_str::<Prompt>(line) else {
            return Ok(());
        };
        for turns in [p.messages, p.prompt].into_iter().flatten() {
            match turns {
                serde_json::Value::String(s) => each(&s),
                serde_json::Value::Array(list) => {
                    for m in list {
                        if m["role"] != "assistant" {
                            if let Some(c) = m["content"].as_str() {
                                each(c);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(q) = p.question {
            each(&q);
        }
        Ok(())
    })?;
    Ok(())
}

fn parse_line(
    path: &Path,
    n: usize,
    buf: &[u8],
    field: TextField,
    each: &mut impl FnMut(&str, &str),
    (scratch, scratch2): (&mut String, &mut String),
) -> Result<(), DatasetError> {
    let line: Line = serde_json::from_slice(buf)
        .map_err(|e| DatasetError::new(path, Some(n), None, format!("not a JSON object: {e}")))?;
    let (first, second, name) = match field {
        TextField::Cot => (line.reasoning, line.cot, "reasoning"),
        TextField::Output => (line.output, line.answer, "output"),
    };
    let bad = |m| DatasetError::new(path, Some(n), Some(name), m);
    let text = match text_of(first, scratch).map_err(bad)? {
        Some(t) => Some(t),
        None => text_of(second, scratch2).map_err(bad)?,
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
    each(id, text.unwrap_or(""));
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

    /// `s` as Python's json.dumps writes it (ensure_ascii): every non-ASCII character escaped,
    /// astral ones as surrogate pairs.
    fn ascii_json(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{u:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    proptest::proptest! {
        #[test]
        fn unescape_agrees_with_serde_json(s in "(.|\\PC|[\\x00-\\x1f\"\\\\/]|\u{1F600}){0,40}") {
            for lit in [serde_json::to_string(&s).expect("json"), ascii_json(&s)] {
                let mut scratch = String::from("left over");
                let got = match unescape(&lit, &mut scratch) {
                    Some(false) => lit[1..lit.len() - 1].to_string(),
                    Some(true) => scratch.clone(),
                    None => panic!("{lit}"),
                };
                proptest::prop_assert_eq!(&got, &s, "{}", lit);
            }
        }
    }

    #[test]
    fn unescape_leaves_lone_surrogates_and_slashes_to_serde() {
        let mut scratch = String::new();
        assert_eq!(unescape(r#""a\ud800b""#, &mut scratch), None);
        assert_eq!(unescape(r#""a\udc00""#, &mut scratch), None);
        assert_eq!(unescape(r#""\ud83d\u0041""#, &mut scratch), None);
        assert_eq!(unescape(r#""\/\b\f\r\t""#, &mut scratch), Some(true));
        assert_eq!(scratch, "/\u{8}\u{c}\r\t");
        assert_eq!(unescape(r#""\ud83d\ude00!""#, &mut scratch), Some(true));
        assert_eq!(scratch, "😀!");
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("cotlens-leg-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("dir");
        d
    }
}
