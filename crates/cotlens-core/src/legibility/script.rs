//! Writing systems of letters, by Unicode block (enough to see a CoT drift between scripts).

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Script {
    Latin,
    Greek,
    Cyrillic,
    Armenian,
    Hebrew,
    Arabic,
    Devanagari,
    Bengali,
    Thai,
    Georgian,
    Hangul,
    Hiragana,
    Katakana,
    Han,
    Other,
}

pub const SCRIPTS: [Script; 15] = [
    Script::Latin,
    Script::Greek,
    Script::Cyrillic,
    Script::Armenian,
    Script::Hebrew,
    Script::Arabic,
    Script::Devanagari,
    Script::Bengali,
    Script::Thai,
    Script::Georgian,
    Script::Hangul,
    Script::Hiragana,
    Script::Katakana,
    Script::Han,
    Script::Other,
];

impl Script {
    pub fn name(self) -> &'static str {
        match self {
            Script::Latin => "latin",
            Script::Greek => "greek",
            Script::Cyrillic => "cyrillic",
            Script::Armenian => "armenian",
            Script::Hebrew => "hebrew",
            Script::Arabic => "arabic",
            Script::Devanagari => "devanagari",
            Script::Bengali => "bengali",
            Script::Thai => "thai",
            Script::Georgian => "georgian",
            Script::Hangul => "hangul",
            Script::Hiragana => "hiragana",
            Script::Katakana => "katakana",
            Script::Han => "han",
            Script::Other => "other",
        }
    }
}

/// The script of a letter (`c.is_alphabetic()`), by block.
pub fn script_of(c: char) -> Script {
    let u = c as u32;
    match u {
        0x41..=0x5A
        | 0x61..=0x7A
        | 0xAA
        | 0xBA
        | 0xC0..=0x24F
        | 0x1E00..=0x1EFF
        | 0x2C60..=0x2C7F
        | 0xA720..=0xA7FF
        | 0xFF21..=0xFF3A
        | 0xFF41..=0xFF5A => Script::Latin,
        0x370..=0x3FF | 0x1F00..=0x1FFF => Script::Greek,
        0x400..=0x52F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => Script::Cyrillic,
        0x530..=0x58F => Script::Armenian,
        0x590..=0x5FF => Script::Hebrew,
        0x600..=0x6FF | 0x750..=0x77F | 0x8A0..=0x8FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => {
            Script::Arabic
        }
        0x900..=0x97F => Script::Devanagari,
        0x980..=0x9FF => Script::Bengali,
        0xE00..=0xE7F => Script::Thai,
        0x10A0..=0x10FF => Script::Georgian,
        0x1100..=0x11FF | 0x3130..=0x318F | 0xAC00..=0xD7AF => Script::Hangul,
        0x3040..=0x309F => Script::Hiragana,
        0x30A0..=0x30FF | 0x31F0..=0x31FF => Script::Katakana,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2EBEF => Script::Han,
        _ => Script::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_of_common_letters() {
        for (c, s) in [
            ('a', Script::Latin),
            ('é', Script::Latin),
            ('ß', Script::Latin),
            ('λ', Script::Greek),
            ('ж', Script::Cyrillic),
            ('ש', Script::Hebrew),
            ('ع', Script::Arabic),
            ('न', Script::Devanagari),
            ('ก', Script::Thai),
            ('한', Script::Hangul),
            ('ひ', Script::Hiragana),
            ('カ', Script::Katakana),
            ('中', Script::Han),
        ] {
            assert_eq!(script_of(c), s, "{c}");
            assert!(c.is_alphabetic(), "{c}");
        }
    }
}
