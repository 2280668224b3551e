//! The reference lexicon: words with frequencies per million (lexicon/en.tsv by default).

use std::collections::HashMap;

pub struct Lexicon {
    freq: HashMap<Box<str>, f64, foldhash::fast::RandomState>,
    min: f64,
    pub origin: String,
}

const BUILTIN: &str = include_str!("../../lexicon/en.tsv");
/// Real frequencies for the contractions and single letters `en.tsv` gets wrong; overrides it.
const SUPPLEMENT: &str = include_str!("../../lexicon/en-supplement.tsv");

impl Lexicon {
    /// The built-in English lexicon (SymSpell's Google Books word counts; MIT).
    pub fn builtin() -> &'static Lexicon {
        static L: std::sync::LazyLock<Lexicon> = std::sync::LazyLock::new(|| {
            Lexicon::parse(
                &format!("{BUILTIN}\n{SUPPLEMENT}"),
                "builtin:en (SymSpell frequency_dictionary_en_82_765, symspellpy 6.10.1, MIT; contractions and letters from wordfreq 3.1.1, CC BY-SA 4.0)",
            )
            .unwrap_or_else(|_| Lexicon {
                freq: HashMap::default(),
                min: 1.0,
                origin: "empty".into(),
            })
        });
        &L
    }

    /// `word<TAB>per_million` lines; `#` comments. Errors give the 1-based line.
    pub fn parse(text: &str, origin: &str) -> Result<Self, (usize, String)> {
        let mut freq = HashMap::default();
        let mut min = f64::INFINITY;
        for (i, line) in crate::read::strip_bom(text).lines().enumerate() {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (w, f) = line
                .split_once('\t')
                .ok_or((i + 1, "expected word<TAB>per_million".to_string()))?;
            if w.trim().is_empty() {
                return Err((i + 1, "empty word before the tab".into()));
            }
            let f: f64 = f
                .trim()
                .parse()
                .map_err(|_| (i + 1, format!("frequency {f:?} is not a number")))?;
            if !(f > 0.0 && f.is_finite()) {
                return Err((i + 1, "frequency must be positive".into()));
            }
            min = min.min(f);
            freq.insert(w.trim().to_lowercase().into_boxed_str(), f);
        }
        if freq.is_empty() {
            return Err((0, "empty lexicon".into()));
        }
        Ok(Self {
            freq,
            min,
            origin: origin.to_string(),
        })
    }

    pub fn per_million(&self, word: &str) -> Option<f64> {
        self.freq.get(word).copied()
    }

    pub fn min_per_million(&self) -> f64 {
        self.min
    }

    pub fn len(&self) -> usize {
        self.freq.len()
    }

    pub fn is_empty(&self) -> bool {
        self.freq.is_empty()
    }
}
