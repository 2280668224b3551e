//! The report's highlighting and hint diff on any text: no panic, escaped output, and the
//! added text is part of the hinted prompt.
#![no_main]
use cotlens_core::markup::{added_text, esc, highlight};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.splitn(3, '\u{1}');
    let (a, b, c) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let added = added_text(a, b);
    assert!(b.contains(&added), "{added:?} not in {b:?}");
    let html = highlight(b, &[(a, "hint"), (c, "cue")]);
    let bare = html
        .replace("<mark class=\"hint\">", "")
        .replace("<mark class=\"cue\">", "")
        .replace("</mark>", "");
    assert!(!bare.contains('<') && !bare.contains('>'), "{html}");
    let plain = esc(b);
    assert!(!plain.contains('<') && !plain.contains('>'));
});
