//! The corpus's word counts: an open-addressing table (linear probing, at most half full) whose
//! 32-byte slots hold the word's first 16 bytes packed into two integers, so that a lookup of a
//! word of up to 16 bytes reads one slot and no string.

use std::hash::BuildHasher;

/// A table slot: the word's first 16 bytes, zero-padded (words hold no zero byte, so this alone
/// tells words of up to 16 bytes apart), its count, its index in `words`, and its length with
/// an out-of-lexicon flag. `len_oov == 0` marks an empty slot (words are never empty).
#[derive(Clone, Copy, Default)]
#[repr(C, align(32))]
pub(super) struct Slot {
    pub(super) packed: [u64; 2],
    pub(super) count: u64,
    index: u32,
    len_oov: u32,
}

pub(super) const OOV_BIT: u32 = 1 << 31;

impl Slot {
    #[inline(always)]
    pub(super) fn is_oov(&self) -> bool {
        self.len_oov & OOV_BIT != 0
    }
}

/// Word counts of a corpus, as the scanner collects them.
pub struct Counts {
    slots: Vec<Slot>,
    shift: u32,
    len: usize,
    words: Vec<Box<str>>,
    pub(super) total: u64,
}

/// The packed first 16 bytes of a word.
pub(super) fn pack(b: &[u8]) -> [u64; 2] {
    let mut packed = [0u64; 2];
    for (k, &x) in b.iter().take(16).enumerate() {
        packed[k / 8] |= (x as u64) << (8 * (k % 8));
    }
    packed
}

/// The bytes of a packed word (zero-padded).
#[inline(always)]
pub(super) fn unpack(packed: [u64; 2]) -> [u8; 16] {
    let mut out = [0u8; 16];
    // boundary: a byte array
    out[..8].copy_from_slice(&packed[0].to_le_bytes());
    // boundary: a byte array
    out[8..].copy_from_slice(&packed[1].to_le_bytes());
    out
}

const SEED: [u64; 2] = [0x0063_6f74_6c65_6e73, 0x243f_6a88_85a3_08d3];

/// The word's hash: words of up to 16 bytes hash their packed form (one folded multiply, no
/// memory read); longer ones their bytes.
#[inline(always)]
pub(super) fn hash_key(packed: [u64; 2], bytes: &[u8]) -> u64 {
    if bytes.len() <= 16 {
        let m = ((packed[0] ^ SEED[0]) as u128) * ((packed[1] ^ SEED[1]) as u128);
        ((m >> 64) as u64) ^ (m as u64)
    } else {
        foldhash::fast::FixedState::with_seed(SEED[0]).hash_one(bytes)
    }
}

impl Counts {
    pub(super) fn with_capacity(words: usize) -> Self {
        let size = (words * 2).next_power_of_two().max(16);
        Self {
            slots: vec![Slot::default(); size],
            shift: 64 - size.trailing_zeros(),
            len: 0,
            words: Vec::new(),
            total: 0,
        }
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn distinct(&self) -> usize {
        self.len
    }

    pub fn get(&self, word: &str) -> u64 {
        let b = word.as_bytes();
        if b.is_empty() {
            return 0;
        }
        let packed = pack(b);
        let i = self.find(hash_key(packed, b), packed, b);
        self.slots[i].count
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.slots
            .iter()
            .filter(|s| s.len_oov != 0)
            .map(|s| (&*self.words[s.index as usize], s.count))
    }

    /// The slot holding the word, or the empty slot where it would go.
    #[inline(always)]
    fn find(&self, h: u64, packed: [u64; 2], bytes: &[u8]) -> usize {
        let mask = self.slots.len() - 1;
        let len = bytes.len() as u32;
        let mut i = (h >> self.shift) as usize;
        loop {
            let s = &self.slots[i];
            if s.len_oov == 0
                || (s.packed == packed
                    && s.len_oov & !OOV_BIT == len
                    && (len <= 16 || self.words[s.index as usize].as_bytes() == bytes))
            {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    /// The word's slot, added (uncounted) when new; `oov` tells whether a new word is outside
    /// the lexicon. `bytes` is the lower-cased word, `packed` and `h` its key and hash.
    #[inline(always)]
    pub(super) fn slot(
        &mut self,
        h: u64,
        packed: [u64; 2],
        bytes: &[u8],
        oov: impl FnOnce(&str) -> bool,
    ) -> &mut Slot {
        let i = self.find(h, packed, bytes);
        if self.slots[i].len_oov == 0 {
            return self.insert(i, h, packed, bytes, oov);
        }
        &mut self.slots[i]
    }

    #[inline(never)]
    fn insert(
        &mut self,
        mut i: usize,
        h: u64,
        packed: [u64; 2],
        bytes: &[u8],
        oov: impl FnOnce(&str) -> bool,
    ) -> &mut Slot {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
            i = self.find(h, packed, bytes);
        }
        let word: Box<str> = String::from_utf8_lossy(bytes).into();
        let flag = if oov(&word) { OOV_BIT } else { 0 };
        self.slots[i] = Slot {
            packed,
            count: 0,
            index: self.words.len() as u32,
            len_oov: bytes.len() as u32 | flag,
        };
        self.words.push(word);
        self.len += 1;
        &mut self.slots[i]
    }

    #[cold]
    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        let size = old.len() * 2;
        self.slots = vec![Slot::default(); size];
        self.shift -= 1;
        let mask = size - 1;
        for s in old.into_iter().filter(|s| s.len_oov != 0) {
            let w = self.words[s.index as usize].as_bytes();
            let mut i = (hash_key(s.packed, w) >> self.shift) as usize;
            while self.slots[i].len_oov != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_grow_and_tell_long_words_apart() {
        let mut c = Counts::with_capacity(4);
        let long_a = "abcdefghijklmnopqrstuvwxyz-a";
        let long_b = "abcdefghijklmnopqrstuvwxyz-b";
        let mut words: Vec<String> = (0..5000).map(|i| format!("w{i}")).collect();
        words.push(long_a.into());
        words.push(long_b.into());
        for (k, w) in words.iter().enumerate() {
            for _ in 0..(k % 3 + 1) {
                let b = w.as_bytes();
                let p = pack(b);
                c.slot(hash_key(p, b), p, b, |w| w.starts_with('w')).count += 1;
            }
        }
        assert_eq!(c.distinct(), words.len());
        for (k, w) in words.iter().enumerate() {
            assert_eq!(c.get(w), (k % 3 + 1) as u64, "{w}");
        }
        assert_eq!(c.get("absent"), 0);
        assert_eq!(c.get(""), 0);
        assert_eq!(c.iter().count(), words.len());
        let b = long_a.as_bytes();
        assert!(!c.slot(hash_key(pack(b), b), pack(b), b, |_| true).is_oov());
    }
}
