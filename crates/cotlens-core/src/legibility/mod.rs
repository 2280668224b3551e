//! Legibility and drift of reasoning language (docs/protocols.md §5), measured per trace and per
//! corpus in one pass over the text:
//!
//! - words: maximal runs of letters (inner apostrophes kept: "don't"), lower-cased;
//! - `oov_share`: share of words absent from the reference lexicon (lexicon/en.tsv, from SymSpell,
//!   MIT; see lexicon/ATTRIBUTION.md);
//! - script mixing: letters per writing system; `foreign_script_share` = 1 − the dominant
//!   script's share;
//! - `repetition`: share of repeated word 4-grams, 1 − distinct/total;
//! - `compression_ratio`: bytes / LZ4-block-compressed bytes (repetitive text compresses more;
//!   LZ4 rather than gzip or zstd because it keeps the scan above 200 MB/s on one core);
//! - `legibility` (legibility/2) = (1 − oov_share)·(1 − foreign_script_share)·(1 − repetition).
//!
//! Per corpus, [`rising_words`] ranks the words whose use rose most against a reference (the
//! lexicon or a baseline corpus) by their contribution to KL(corpus ‖ reference), in bits.

mod grams;
pub mod input;
mod lexicon;
pub mod script;
mod tokenize;
mod words;

pub use lexicon::Lexicon;
use script::SCRIPTS;
use serde::Serialize;
pub use words::Counts;

pub const LEGIBILITY_VERSION: &str = "legibility/2";
const NGRAM: usize = 4;

/// Per-trace measurements.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TraceStats {
    pub bytes: usize,
    pub words: usize,
    pub oov_words: usize,
    pub oov_share: f64,
    pub letters: usize,
    pub dominant_script: Option<&'static str>,
    pub foreign_script_share: f64,
    /// Scripts holding at least 1% of the letters.
    pub scripts: Vec<&'static str>,
    pub repetition: f64,
    pub compression_ratio: f64,
    pub legibility: f64,
}

/// Scans texts one by one, keeping corpus totals.
pub struct Scanner<'l> {
    lexicon: &'l Lexicon,
    counts: Counts,
    ngrams: grams::GramSet,
    word_buf: Vec<u8>,
    compressed: Vec<u8>,
    /// LZ4's hash tables, kept from text to text (cleared, not allocated, per text): 16-bit
    /// entries for texts under 64 KiB, 32-bit ones for longer texts (made when first needed).
    lz4_small: lz4_flex::block::CompressTable,
    lz4_large: Option<lz4_flex::block::CompressTable>,
    corpus: CorpusTotals,
}

/// Sums over the traces scanned so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CorpusTotals {
    pub traces: usize,
    pub empty_traces: usize,
    pub bytes: u64,
    pub compressed_bytes: u64,
    pub words: u64,
    pub oov_words: u64,
    pub ngrams: u64,
    pub repeated_ngrams: u64,
    /// Letters per script.
    pub letters: std::collections::BTreeMap<&'static str, u64>,
    /// Sum of per-trace legibility (for the mean).
    pub legibility_sum: f64,
}

impl<'l> Scanner<'l> {
    /// A scanner for a corpus (room for 16K distinct words before the table grows).
    pub fn new(lexicon: &'l Lexicon) -> Self {
        Self::with_capacity(lexicon, 1 << 14)
    }

    /// A scanner sized for about `words` distinct words (e.g. one short text).
    pub fn with_capacity(lexicon: &'l Lexicon, words: usize) -> Self {
        Self {
            lexicon,
            counts: Counts::with_capacity(words),
            ngrams: grams::GramSet::new(),
            word_buf: Vec::with_capacity(64),
            compressed: Vec::new(),
            lz4_small: lz4_flex::block::CompressTable::small(),
            lz4_large: None,
            corpus: CorpusTotals::default(),
        }
    }

    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    pub fn totals(&self) -> &CorpusTotals {
        &self.corpus
    }

    /// Measure one text and add it to the corpus.
    pub fn scan(&mut self, text: &str) -> TraceStats {
        let bytes = text.as_bytes();
        let mut scripts = [0usize; SCRIPTS.len()];
        self.ngrams.start();
        let tokenize::Tally {
            words,
            oov,
            ngrams: ngrams_total,
        } = self.words(text, &mut scripts);
        self.counts.total += words as u64;
        let compressed = self.compressed_len(bytes);
        let letters: usize = scripts.iter().sum();
        let (dom_i, dom) = scripts
            .iter()
            .enumerate()
            .max_by_key(|(_, c)| **c)
            .map(|(i, c)| (i, *c))
            .unwrap_or((0, 0));
        let foreign = if letters == 0 {
            0.0
        } else {
            1.0 - dom as f64 / letters as f64
        };
        let present: Vec<&'static str> = SCRIPTS
            .iter()
            .zip(scripts.iter())
            .filter(|(_, c)| **c > 0 && **c * 100 >= letters)
            .map(|(s, _)| s.name())
            .collect();
        let distinct = self.ngrams.len();
        let repetition = if ngrams_total == 0 {
            0.0
        } else {
            1.0 - distinct as f64 / ngrams_total as f64
        };
        let oov_share = if words == 0 {
            0.0
        } else {
            oov as f64 / words as f64
        };
        let legibility = (1.0 - oov_share) * (1.0 - foreign) * (1.0 - repetition);
        let c = &mut self.corpus;
        c.traces += 1;
        if words == 0 {
            c.empty_traces += 1;
        }
        c.bytes += bytes.len() as u64;
        c.compressed_bytes += compressed as u64;
        c.words += words as u64;
        c.oov_words += oov as u64;
        c.ngrams += ngrams_total as u64;
        c.repeated_ngrams += (ngrams_total - distinct) as u64;
        for (s, k) in SCRIPTS.iter().zip(scripts.iter()) {
            if *k > 0 {
                *c.letters.entry(s.name()).or_default() += *k as u64;
            }
        }
        c.legibility_sum += legibility;
        TraceStats {
            bytes: bytes.len(),
            words,
            oov_words: oov,
            oov_share,
            letters,
            dominant_script: (letters > 0).then(|| SCRIPTS[dom_i].name()),
            foreign_script_share: foreign,
            scripts: present,
            repetition,
            compression_ratio: if compressed == 0 {
                1.0
            } else {
                bytes.len() as f64 / compressed as f64
            },
            legibility,
        }
    }

    fn compressed_len(&mut self, bytes: &[u8]) -> usize {
        if bytes.is_empty() {
            return 0;
        }
        let bound = lz4_flex::block::get_maximum_output_size(bytes.len());
        if self.compressed.len() < bound {
            self.compressed.resize(bound, 0);
        }
        let table = if bytes.len() < u16::MAX as usize {
            &mut self.lz4_small
        } else {
            self.lz4_large
                .get_or_insert_with(lz4_flex::block::CompressTable::large)
        };
        lz4_flex::block::compress_into_with_table(bytes, &mut self.compressed[..], table)
            .unwrap_or(bytes.len())
    }
}

fn decode_at(text: &str, i: usize) -> char {
    text[i..].chars().next().unwrap_or('\u{FFFD}')
}

/// What the corpus is compared against.
pub enum Reference<'a> {
    Lexicon(&'a Lexicon),
    Corpus(&'a Counts),
}

type PandQ<'a> = dyn Fn(&str, u64) -> (f64, f64) + 'a;

/// A word whose use rose against the reference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RisingWord {
    pub word: String,
    pub count: u64,
    pub per_million: f64,
    pub reference_per_million: f64,
    /// p / q (smoothed).
    pub ratio: f64,
    /// p·log2(p/q): the word's contribution to KL(corpus ‖ reference).
    pub kl_bits: f64,
}

/// The words of `text` as the scanner counts them (maximal runs of letters with inner
/// apostrophes, lower-cased), for the set of words a prompt already contains.
pub fn words_of(text: &str, into: &mut std::collections::HashSet<String>) {
    for w in text.split(|c: char| !(c.is_alphabetic() || c == '\'')) {
        let w = w.trim_matches('\'');
        if !w.is_empty() {
            into.insert(w.to_lowercase());
        }
    }
}

/// The `top` words ranked by contribution to KL(corpus ‖ reference), counting words seen at
/// least `min_count` times and leaving out the words in `exclude` (e.g. the prompts' own words,
/// which a CoT is expected to use). Reference frequencies are smoothed: a baseline corpus adds
/// 0.5 to every count of both; against the lexicon, a word with an apostrophe that the lexicon
/// lacks (a possessive, "book's") takes the frequency of its part before the apostrophe, and
/// any other word outside it gets half the lexicon's smallest frequency.
pub fn rising_words(
    corpus: &Counts,
    reference: &Reference,
    top: usize,
    min_count: u64,
    exclude: &std::collections::HashSet<String>,
) -> Vec<RisingWord> {
    if corpus.total == 0 {
        return Vec::new();
    }
    let n = corpus.total as f64;
    // p and q of a word; against a baseline both are smoothed alike, so that a corpus
    // compared with itself shows no rise.
    let pq: Box<PandQ> = match reference {
        Reference::Lexicon(l) => {
            let floor = l.min_per_million() / 2.0;
            Box::new(move |w: &str, c: u64| {
                let q = l
                    .per_million(w)
                    .or_else(|| w.split_once('\'').and_then(|(stem, _)| l.per_million(stem)))
                    .unwrap_or(floor);
                (c as f64 / n, q / 1e6)
            })
        }
        Reference::Corpus(b) => {
            let vocab = (b.distinct() + corpus.distinct()) as f64;
            let (dp, dq) = (n + 0.5 * vocab, b.total as f64 + 0.5 * vocab);
            Box::new(move |w: &str, c: u64| ((c as f64 + 0.5) / dp, (b.get(w) as f64 + 0.5) / dq))
        }
    };
    let mut out: Vec<RisingWord> = corpus
        .iter()
        .filter(|(w, c)| {
            // A prompt word's possessive ("pronoun's" for "pronoun") is the prompt's word too.
            let stem = w.split_once('\'').map_or(*w, |(stem, _)| stem);
            *c >= min_count && !exclude.contains(*w) && !exclude.contains(stem)
        })
        .map(|(w, c)| {
            let (p, q) = pq(w, c);
            RisingWord {
                word: w.to_string(),
                count: c,
                per_million: c as f64 / n * 1e6,
                reference_per_million: q * 1e6,
                ratio: p / q,
                kl_bits: p * (p / q).log2(),
            }
        })
        .filter(|r| r.ratio > 1.0 + 1e-9)
        .collect();
    out.sort_by(|a, b| {
        b.kl_bits
            .total_cmp(&a.kl_bits)
            .then_with(|| a.word.cmp(&b.word))
    });
    // boundary: a Vec of words
    out.truncate(top);
    out
}

#[cfg(test)]
mod tests;
