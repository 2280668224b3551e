//! Hint, clue, pipeline and rule files (TOML) and lexicons (TSV): an error or a valid definition.
#![no_main]
use cotlens_core::clues::parse_clues;
use cotlens_core::hints::parse_hints;
use cotlens_core::legibility::Lexicon;
use cotlens_core::monitor::rules::{parse_rules, RuleMonitor};
use cotlens_core::selection::parse_pipeline;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let origin = Path::new("fuzz.toml");
    match which % 5 {
        0 => {
            if let Ok(hints) = parse_hints(text, origin) {
                for h in hints {
                    assert!(!h.name.is_empty());
                }
            }
        }
        1 => {
            let _ = parse_pipeline(text, origin);
        }
        2 => {
            if let Ok(rules) = parse_rules(text, origin) {
                // Rules that parse also compile, and scan any text.
                if let Ok(m) = RuleMonitor::new(vec![rules]) {
                    let f = m.scan(text);
                    assert!((0.0..=1.0).contains(&f.score));
                }
            }
        }
        4 => {
            if let Ok(clues) = parse_clues(text, origin) {
                // A clue that parses renders any target without leaving a placeholder.
                for c in clues {
                    let r = c.render(-1234567, 7, "item");
                    assert!(r.text.contains(&r.encoded.text));
                    assert!(!r.text.contains("{clue}") && !r.text.contains("{key}"));
                }
            }
        }
        _ => {
            if let Ok(l) = Lexicon::parse(text, "fuzz") {
                assert!(l.min_per_million() > 0.0);
            }
        }
    }
});
