//! The word pass of the scanner. Text is classified 64 bytes at a time into bit masks (ASCII
//! letters; bytes that need a closer look: non-ASCII and apostrophes), so that word starts and
//! ends are found with bit scans instead of a branch per byte. A word of up to 16 ASCII letters
//! ended by plain ASCII (the common case) is loaded and lower-cased 8 bytes at a time; any other
//! word goes letter by letter through [`Scanner::slow_word`]. Both paths give the same words:
//! maximal runs of letters with inner apostrophes ("don't"), lower-cased.

use super::script::{script_of, SCRIPTS};
use super::words::{hash_key, unpack};
use super::{decode_at, grams::GramSet, Scanner, NGRAM};

/// Masks of one 64-byte block of the text (bit k: byte `base + k`); past the text's end the
/// block reads as zero bytes, which are neither letters nor special.
struct Block {
    base: usize,
    alpha: u64,
    special: u64,
}

impl Block {
    #[inline(always)]
    fn at(bytes: &[u8], base: usize) -> Block {
        let mut pad = [0u8; 64];
        let chunk: &[u8; 64] = match bytes.get(base..base + 64) {
            Some(c) => c.try_into().unwrap_or(&pad),
            None => {
                let rest = &bytes[base.min(bytes.len())..];
                pad[..rest.len()].copy_from_slice(rest);
                &pad
            }
        };
        let (alpha, special) = classify(chunk);
        Block {
            base,
            alpha,
            special,
        }
    }
}

/// ASCII letters and special bytes (>= 0x80, or an apostrophe) of 64 bytes, as bit masks.
/// Written 16 bytes at a time with 16-bit masks, a shape the compiler turns into vector
/// comparisons and a byte mask move (pcmpgtb + pmovmskb on x86-64).
#[inline(always)]
fn classify(chunk: &[u8; 64]) -> (u64, u64) {
    let (mut alpha, mut special) = (0u64, 0u64);
    for (q, part) in chunk.chunks_exact(16).enumerate() {
        let (mut a, mut s) = (0u16, 0u16);
        for (k, &b) in part.iter().enumerate() {
            a |= (((b | 0x20).wrapping_sub(b'a') < 26) as u16) << k;
            s |= ((b >= 0x80 || b == b'\'') as u16) << k;
        }
        alpha |= (a as u64) << (16 * q);
        special |= (s as u64) << (16 * q);
    }
    (alpha, special)
}

/// The `len` (1 to 16) ASCII letters at `bytes[i..]`, lower-cased and packed, zero-padded.
#[inline(always)]
fn load_lower(bytes: &[u8], i: usize, len: usize) -> [u64; 2] {
    debug_assert!((1..=16).contains(&len));
    let mut tmp = [0u8; 16];
    let src: &[u8] = match bytes.get(i..i + 16) {
        Some(s) => s,
        None => {
            tmp[..len].copy_from_slice(&bytes[i..i + len]);
            &tmp
        }
    };
    let lo = u64::from_le_bytes(src[..8].try_into().unwrap_or_default());
    let hi = u64::from_le_bytes(src[8..16].try_into().unwrap_or_default());
    let lo_mask = if len >= 8 {
        u64::MAX
    } else {
        u64::MAX >> (64 - 8 * len)
    };
    let hi_mask = if len > 8 {
        u64::MAX >> (64 - 8 * (len - 8))
    } else {
        0
    };
    const LOWER: u64 = 0x2020_2020_2020_2020;
    [(lo | LOWER) & lo_mask, (hi | LOWER) & hi_mask]
}

impl Scanner<'_> {
    /// Count the words of `text` (corpus counts, this trace's 4-grams, letters per script).
    /// Returns (words, words outside the lexicon, 4-grams).
    pub(super) fn words(
        &mut self,
        text: &str,
        scripts: &mut [usize; SCRIPTS.len()],
    ) -> (usize, usize, usize) {
        let bytes = text.as_bytes();
        let n = bytes.len();
        let lexicon = self.lexicon;
        let (mut words, mut oov, mut ngrams) = (0usize, 0usize, 0usize);
        let mut blk = Block::at(bytes, 0);
        let mut i = 0;
        while i < n {
            let base = i & !63;
            if blk.base != base {
                blk = Block::at(bytes, base);
            }
            let m = (blk.alpha | blk.special) & (u64::MAX << (i - base));
            if m == 0 {
                i = base + 64;
                continue;
            }
            let start = base + m.trailing_zeros() as usize;
            if start >= n {
                break;
            }
            let mut fast = blk.special >> (start - base) & 1 == 0;
            let mut end = start;
            if fast {
                // The first non-letter at or after `start` (the zero padding stops it at n).
                let mut rest = !blk.alpha & (u64::MAX << (start - base));
                while rest == 0 {
                    blk = Block::at(bytes, blk.base + 64);
                    rest = !blk.alpha;
                }
                end = blk.base + rest.trailing_zeros() as usize;
                fast = end - start <= 16
                    && (end == n
                        || blk.special >> (end - blk.base) & 1 == 0
                        || !continues_word(text, end));
            } else if bytes[start] == b'\'' {
                i = start + 1;
                continue;
            } else {
                let c = decode_at(text, start);
                if !c.is_alphabetic() {
                    i = start + c.len_utf8();
                    continue;
                }
            }
            let short: [u8; 16];
            let (packed, key): ([u64; 2], &[u8]) = if fast {
                let packed = load_lower(bytes, start, end - start);
                scripts[0] += end - start;
                i = end;
                short = unpack(packed);
                (packed, &short[..end - start])
            } else {
                i = start;
                let packed = self.slow_word(text, &mut i, scripts);
                (packed, &self.word_buf[..])
            };
            let h = hash_key(packed, key);
            let slot = self
                .counts
                .slot(h, packed, key, |w| lexicon.per_million(w).is_none());
            slot.count += 1;
            oov += slot.is_oov() as usize;
            self.recent[words % NGRAM] = h;
            words += 1;
            if words >= NGRAM {
                ngrams += 1;
                let (r, w) = (&self.recent, words);
                self.ngrams.insert(GramSet::gram([
                    r[w % 4],
                    r[(w + 1) % 4],
                    r[(w + 2) % 4],
                    r[(w + 3) % 4],
                ]));
            }
        }
        (words, oov, ngrams)
    }

    /// One word from `*i` on, letter by letter: letters, and apostrophes between letters,
    /// lower-cased into `word_buf`, with the first 16 bytes packed as they come. Moves `*i` past
    /// the word.
    fn slow_word(
        &mut self,
        text: &str,
        i: &mut usize,
        scripts: &mut [usize; SCRIPTS.len()],
    ) -> [u64; 2] {
        let bytes = text.as_bytes();
        let n = bytes.len();
        self.word_buf.clear();
        let (mut lo, mut hi) = (0u64, 0u64);
        let mut push = |buf: &mut Vec<u8>, x: u8| {
            let k = buf.len();
            if k < 8 {
                lo |= (x as u64) << (8 * k);
            } else if k < 16 {
                hi |= (x as u64) << (8 * (k - 8));
            }
            buf.push(x);
        };
        loop {
            let start = *i;
            while *i < n && bytes[*i].is_ascii_alphabetic() {
                push(&mut self.word_buf, bytes[*i] | 0x20);
                *i += 1;
            }
            scripts[0] += *i - start;
            if *i >= n {
                break;
            }
            let b = bytes[*i];
            if b == b'\'' && !self.word_buf.is_empty() && continues_word(text, *i) {
                push(&mut self.word_buf, b'\'');
                *i += 1;
            } else if b >= 0x80 {
                let c = decode_at(text, *i);
                if !c.is_alphabetic() {
                    break;
                }
                scripts[script_of(c) as usize] += 1;
                let mut tmp = [0u8; 4];
                for l in c.to_lowercase() {
                    for &x in l.encode_utf8(&mut tmp).as_bytes() {
                        push(&mut self.word_buf, x);
                    }
                }
                *i += c.len_utf8();
            } else {
                break;
            }
        }
        [lo, hi]
    }
}

/// Whether the special byte at `i`, just after some letters, carries the word on: an apostrophe
/// before an ASCII letter, or a non-ASCII letter.
fn continues_word(text: &str, i: usize) -> bool {
    let bytes = text.as_bytes();
    if bytes[i] == b'\'' {
        bytes.get(i + 1).is_some_and(|b| b.is_ascii_alphabetic())
    } else {
        decode_at(text, i).is_alphabetic()
    }
}
