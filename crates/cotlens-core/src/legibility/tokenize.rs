//! The word pass of the scanner. Text is classified 64 bytes at a time into bit masks (ASCII
//! letters; bytes that need a closer look: non-ASCII and apostrophes), so that word starts and
//! ends are found with bit scans instead of a branch per byte. A word of up to 16 ASCII letters
//! ended by plain ASCII (the common case) is loaded and lower-cased 8 bytes at a time; any other
//! word goes letter by letter through [`Scanner::slow_word`]. Both paths give the same words:
//! maximal runs of letters with inner apostrophes ("don't"), lower-cased.

use super::script::{script_of, SCRIPTS};
use super::words::Counts;
use super::words::{hash_key, unpack};
use super::{decode_at, grams::GramSet, Lexicon, Scanner, NGRAM};

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

/// ASCII letters and special bytes (>= 0x80, or an apostrophe) of 64 bytes, as bit masks,
/// 8 bytes at a time within a u64 (SWAR; plain integer code, no unsafe, the same on every
/// target). Checked against [`classify_bytes`] in the tests.
#[inline(always)]
fn classify(chunk: &[u8; 64]) -> (u64, u64) {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const EACH: u64 = 0x0101_0101_0101_0101;
    /// The high bit of each byte of `m` (other bits clear), gathered into 8 bits.
    #[inline(always)]
    fn gather(m: u64) -> u64 {
        (m >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
    }
    let (mut alpha, mut special) = (0u64, 0u64);
    for (q, part) in chunk.chunks_exact(8).enumerate() {
        let x = u64::from_le_bytes(part.try_into().unwrap_or_default());
        let high = x & HIGH;
        // Lower-cased, high bits cleared: adding to a byte cannot carry into the next one.
        let l = (x | (0x20 * EACH)) & LOW7;
        let at_least_a = (l + (0x80 - b'a' as u64) * EACH) & HIGH;
        let past_z = (l + (0x80 - b'z' as u64 - 1) * EACH) & HIGH;
        let letter = at_least_a & !past_z & !high;
        // Bytes equal to an apostrophe: the exact zero-byte test on x ^ '\''.
        let y = x ^ (b'\'' as u64 * EACH);
        let apostrophe = !(((y & LOW7) + LOW7) | y | LOW7);
        alpha |= gather(letter) << (8 * q);
        special |= gather(high | apostrophe) << (8 * q);
    }
    (alpha, special)
}

/// The byte-by-byte definition of [`classify`].
#[cfg(test)]
fn classify_bytes(chunk: &[u8; 64]) -> (u64, u64) {
    let (mut alpha, mut special) = (0u64, 0u64);
    for (k, &b) in chunk.iter().enumerate() {
        alpha |= (b.is_ascii_alphabetic() as u64) << k;
        special |= ((b >= 0x80 || b == b'\'') as u64) << k;
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
    const LOWER: u64 = 0x2020_2020_2020_2020;
    let [lo_mask, hi_mask] = LEN_MASKS[len.min(16)];
    [(lo | LOWER) & lo_mask, (hi | LOWER) & hi_mask]
}

/// The masks that keep the first `len` bytes of two little-endian u64s, for `len` 0 to 16.
const LEN_MASKS: [[u64; 2]; 17] = {
    let mut m = [[0u64; 2]; 17];
    let mut len = 1;
    while len <= 16 {
        m[len][0] = if len >= 8 {
            u64::MAX
        } else {
            u64::MAX >> (64 - 8 * len)
        };
        m[len][1] = if len > 8 {
            u64::MAX >> (64 - 8 * (len - 8))
        } else {
            0
        };
        len += 1;
    }
    m
};

/// What the word pass adds up for one text.
pub(super) struct Tally {
    pub(super) words: usize,
    pub(super) oov: usize,
    pub(super) ngrams: usize,
}

/// Count one word (`key`: its lower-cased bytes; `packed`: their first 16) in the corpus
/// counts and this text's 4-grams.
#[inline(always)]
fn add(
    counts: &mut Counts,
    recent: &mut [u64; NGRAM],
    grams: &mut GramSet,
    lexicon: &Lexicon,
    t: &mut Tally,
    packed: [u64; 2],
    key: &[u8],
) {
    let h = hash_key(packed, key);
    let slot = counts.slot(h, packed, key, |w| lexicon.per_million(w).is_none());
    slot.count += 1;
    t.oov += slot.is_oov() as usize;
    // The last four word hashes, oldest first (shifted, so that they stay in registers).
    *recent = [recent[1], recent[2], recent[3], h];
    t.words += 1;
    if t.words >= NGRAM {
        t.ngrams += 1;
        grams.insert(GramSet::gram(*recent));
    }
}

impl Scanner<'_> {
    /// Count the words of `text` (corpus counts, this trace's 4-grams, letters per script).
    pub(super) fn words(&mut self, text: &str, scripts: &mut [usize; SCRIPTS.len()]) -> Tally {
        let bytes = text.as_bytes();
        let n = bytes.len();
        let lexicon = self.lexicon;
        let mut t = Tally {
            words: 0,
            oov: 0,
            ngrams: 0,
        };
        // Letters of the fast path's words, kept in a register and added to `scripts` at the end.
        let mut ascii_letters = 0usize;
        let mut recent = [0u64; NGRAM];
        // Count a word: its packed first 16 bytes and its lower-cased bytes.
        macro_rules! count {
            ($packed:expr, $key:expr) => {
                add(
                    &mut self.counts,
                    &mut recent,
                    &mut self.ngrams,
                    lexicon,
                    &mut t,
                    $packed,
                    $key,
                )
            };
        }
        macro_rules! add_fast {
            ($start:expr, $len:expr) => {{
                let (start, len) = ($start, $len);
                let packed = load_lower(bytes, start, len);
                let short = unpack(packed);
                ascii_letters += len;
                count!(packed, &short[..len]);
            }};
        }
        macro_rules! add_slow {
            ($i:expr) => {{
                let packed = self.slow_word(text, $i, scripts);
                count!(packed, &self.word_buf);
            }};
        }
        let mut blk = Block::at(bytes, 0);
        // Invariant: `i` is never inside a word (at most at its first letter).
        let mut i = 0;
        while i < n {
            let base = i & !63;
            if blk.base != base {
                blk = Block::at(bytes, base);
            }
            if blk.special == 0 {
                // Plain ASCII block: every word that starts here from `i` on, by bit scans;
                // a word ending inside the block ends at a plain byte.
                let from = i - base;
                let a = blk.alpha;
                let mut starts = (a & !(a << 1) | a & (1 << from)) & (u64::MAX << from);
                let ends = !a & (a << 1);
                i = base + 64;
                while starts != 0 {
                    let s = starts.trailing_zeros() as usize;
                    starts &= starts - 1;
                    let after = ends & (u64::MAX << s);
                    if after == 0 {
                        // Runs into the next block: the word-by-word path below takes it.
                        i = base + s;
                        break;
                    }
                    let (start, end) = (base + s, base + after.trailing_zeros() as usize);
                    if end - start <= 16 {
                        add_fast!(start, end - start);
                    } else {
                        let mut at = start;
                        add_slow!(&mut at);
                    }
                }
                if i == base + 64 {
                    continue;
                }
            }
            // Word by word: the next word's start, then its end.
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
            if fast {
                add_fast!(start, end - start);
                i = end;
            } else {
                i = start;
                add_slow!(&mut i);
            }
        }
        scripts[0] += ascii_letters;
        t
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

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn classify_is_the_byte_rule(bytes in proptest::collection::vec(proptest::num::u8::ANY, 64)) {
            let chunk: &[u8; 64] = bytes.as_slice().try_into().expect("64");
            proptest::prop_assert_eq!(classify(chunk), classify_bytes(chunk));
        }
    }

    #[test]
    fn classify_every_byte_value() {
        for b in 0..=255u8 {
            let chunk = [b; 64];
            assert_eq!(classify(&chunk), classify_bytes(&chunk), "byte {b:#x}");
        }
    }
}
