//! Legibility and drift of reasoning language (PROTOCOLS.md §5), measured per trace and per
//! corpus in one pass over the text:
//!
//! - words: maximal runs of letters (inner apostrophes kept: "don't"), lower-cased;
//! - `oov_share`: share of words absent from the reference lexicon (lexicon/en.tsv, from zxcvbn,
//!   MIT; see lexicon/ATTRIBUTION.md);
//! - script mixing: letters per writing system; `foreign_script_share` = 1 − the dominant
//!   script's share;
//! - `repetition`: share of repeated word 4-grams, 1 − distinct/total;
//! - `compression_ratio`: bytes / zstd-level-1 bytes (repetitive text compresses more);
//! - `legibility` (legibility/1) = (1 − oov_share)·(1 − foreign_script_share)·(1 − repetition).
//!
//! Per corpus, [`rising_words`] ranks the words whose use rose most against a reference (the
//! lexicon or a baseline corpus) by their contribution to KL(corpus ‖ reference), in bits.

mod lexicon;
pub mod script;

pub use lexicon::Lexicon;
use script::{script_of, SCRIPTS};
use serde::Serialize;
use std::hash::BuildHasher;

pub const LEGIBILITY_VERSION: &str = "legibility/1";
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

struct WordEntry {
    word: Box<str>,
    hash: u64,
    count: u64,
    /// Reference frequency per million (0: not in the lexicon).
    reference: f32,
}

/// Word counts of a corpus, as the scanner collects them.
pub struct Counts {
    table: hashbrown::HashTable<WordEntry>,
    total: u64,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.total
    }
    pub fn distinct(&self) -> usize {
        self.table.len()
    }
    pub fn get(&self, word: &str) -> u64 {
        let h = hash_word(word.as_bytes());
        self.table
            .find(h, |e| &*e.word == word)
            .map_or(0, |e| e.count)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.table.iter().map(|e| (&*e.word, e.count))
    }
}

fn hash_word(bytes: &[u8]) -> u64 {
    foldhash::fast::FixedState::with_seed(0x0063_6f74_6c65_6e73).hash_one(bytes)
}

/// Scans texts one by one, keeping corpus totals.
pub struct Scanner<'l> {
    lexicon: &'l Lexicon,
    counts: Counts,
    ngrams: hashbrown::HashTable<u64>,
    word_buf: Vec<u8>,
    recent: [u64; NGRAM],
    compressor: Option<zstd::bulk::Compressor<'static>>,
    compressed: Vec<u8>,
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
    pub fn new(lexicon: &'l Lexicon) -> Self {
        Self {
            lexicon,
            counts: Counts {
                table: hashbrown::HashTable::with_capacity(1 << 14),
                total: 0,
            },
            ngrams: hashbrown::HashTable::with_capacity(1 << 12),
            word_buf: Vec::with_capacity(64),
            recent: [0; NGRAM],
            compressor: zstd::bulk::Compressor::new(1).ok(),
            compressed: Vec::new(),
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
        let (mut words, mut oov, mut ngrams_total) = (0usize, 0usize, 0usize);
        self.ngrams.clear();
        let mut i = 0;
        let n = bytes.len();
        while i < n {
            let b = bytes[i];
            let starts = if b.is_ascii_alphabetic() {
                true
            } else if b < 0x80 {
                i += 1;
                continue;
            } else {
                let c = decode_at(text, i);
                if c.is_alphabetic() {
                    true
                } else {
                    i += c.len_utf8();
                    continue;
                }
            };
            debug_assert!(starts);
            // One word: letters, and apostrophes between letters.
            self.word_buf.clear();
            loop {
                if i >= n {
                    break;
                }
                let b = bytes[i];
                if b.is_ascii_alphabetic() {
                    self.word_buf.push(b.to_ascii_lowercase());
                    scripts[0] += 1;
                    i += 1;
                } else if b == b'\''
                    && i + 1 < n
                    && bytes[i + 1].is_ascii_alphabetic()
                    && !self.word_buf.is_empty()
                {
                    self.word_buf.push(b'\'');
                    i += 1;
                } else if b >= 0x80 {
                    let c = decode_at(text, i);
                    if !c.is_alphabetic() {
                        break;
                    }
                    scripts[script_of(c) as usize] += 1;
                    let mut tmp = [0u8; 4];
                    for l in c.to_lowercase() {
                        self.word_buf
                            .extend_from_slice(l.encode_utf8(&mut tmp).as_bytes());
                    }
                    i += c.len_utf8();
                } else {
                    break;
                }
            }
            let h = hash_word(&self.word_buf);
            let buf = &self.word_buf;
            let entry = match self
                .counts
                .table
                .find_mut(h, |e| e.hash == h && e.word.as_bytes() == buf.as_slice())
            {
                Some(e) => e,
                None => {
                    let word: Box<str> = String::from_utf8_lossy(buf).into();
                    let reference = self.lexicon.per_million(&word).unwrap_or(0.0) as f32;
                    self.counts
                        .table
                        .insert_unique(
                            h,
                            WordEntry {
                                word,
                                hash: h,
                                count: 0,
                                reference,
                            },
                            |e| e.hash,
                        )
                        .into_mut()
                }
            };
            entry.count += 1;
            if entry.reference == 0.0 {
                oov += 1;
            }
            self.recent[words % NGRAM] = h;
            words += 1;
            if words >= NGRAM {
                ngrams_total += 1;
                let mut g: u64 = 0x9e37_79b9_7f4a_7c15;
                for k in 0..NGRAM {
                    let w = self.recent[(words - NGRAM + k) % NGRAM];
                    g = (g ^ w).wrapping_mul(0x100_0000_01b3).rotate_left(23);
                }
                if self.ngrams.find(g, |x| *x == g).is_none() {
                    self.ngrams.insert_unique(g, g, |x| *x);
                }
            }
        }
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
        let Some(c) = self.compressor.as_mut() else {
            return bytes.len();
        };
        let bound = zstd::zstd_safe::compress_bound(bytes.len());
        if self.compressed.len() < bound {
            self.compressed.resize(bound, 0);
        }
        c.compress_to_buffer(bytes, &mut self.compressed[..])
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

/// The `top` words ranked by contribution to KL(corpus ‖ reference), counting words seen at
/// least `min_count` times. Reference frequencies are smoothed: a baseline corpus adds 0.5 to
/// every count of both; a word outside the lexicon gets half the lexicon's smallest frequency.
pub fn rising_words(
    corpus: &Counts,
    reference: &Reference,
    top: usize,
    min_count: u64,
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
            Box::new(move |w: &str, c: u64| (c as f64 / n, l.per_million(w).unwrap_or(floor) / 1e6))
        }
        Reference::Corpus(b) => {
            let vocab = (b.distinct() + corpus.distinct()) as f64;
            let (dp, dq) = (n + 0.5 * vocab, b.total as f64 + 0.5 * vocab);
            Box::new(move |w: &str, c: u64| ((c as f64 + 0.5) / dp, (b.get(w) as f64 + 0.5) / dq))
        }
    };
    let mut out: Vec<RisingWord> = corpus
        .iter()
        .filter(|(_, c)| *c >= min_count)
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
    out.truncate(top);
    out
}

#[cfg(test)]
mod tests;
