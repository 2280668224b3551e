//! Marking up text for HTML pages (the report and the viewer): escaping, highlighting of
//! phrases, and the text a hint added to a prompt. Pure functions on `&str`, fuzzed
//! (`fuzz/fuzz_targets/markup.rs`): they never cut inside a character.

/// Escape text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escaped `text` with every occurrence of the needles (case-insensitive, at least 3
/// characters) wrapped in `<mark class="CLASS">`.
pub fn highlight(text: &str, needles: &[(&str, &str)]) -> String {
    let lower = text.to_lowercase();
    // Byte ranges to mark, only when lower-casing kept every character's byte length (then
    // offsets in `lower` are offsets in `text`; "İ" grows, "ẞ" shrinks).
    let same_offsets = text
        .chars()
        .all(|c| c.to_lowercase().map(char::len_utf8).sum::<usize>() == c.len_utf8());
    let mut spans: Vec<(usize, usize, &str)> = Vec::new();
    if same_offsets {
        for (needle, class) in needles {
            let n = needle.trim().to_lowercase();
            if n.chars().count() < 3 {
                continue;
            }
            let mut from = 0;
            while let Some(at) = lower[from..].find(&n) {
                let s = from + at;
                spans.push((s, s + n.len(), class));
                from = s + n.len();
            }
        }
    }
    spans.sort();
    let mut out = String::new();
    let mut pos = 0;
    for (s, e, class) in spans {
        if s < pos || !text.is_char_boundary(s) || !text.is_char_boundary(e) {
            continue;
        }
        out.push_str(&esc(&text[pos..s]));
        out.push_str(&format!(
            "<mark class=\"{}\">{}</mark>",
            esc(class),
            esc(&text[s..e])
        ));
        pos = e;
    }
    out.push_str(&esc(&text[pos..]));
    out
}

/// The text of `hinted` that `plain` lacks: what the hint added to the prompt.
pub fn added_text(plain: &str, hinted: &str) -> String {
    let mut pre = plain
        .bytes()
        .zip(hinted.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    // The common prefix can end inside a character both texts start alike ("é" and "è" share
    // their lead byte): back off to a boundary of both before slicing.
    while pre > 0 && !(plain.is_char_boundary(pre) && hinted.is_char_boundary(pre)) {
        pre -= 1;
    }
    let suf = plain[pre..]
        .bytes()
        .rev()
        .zip(hinted[pre..].bytes().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (mut s, mut e) = (pre, hinted.len() - suf);
    while s < e && !hinted.is_char_boundary(s) {
        s -= 1;
    }
    while e < hinted.len() && !hinted.is_char_boundary(e) {
        e += 1;
    }
    hinted.get(s..e).unwrap_or("").trim().to_string()
}
