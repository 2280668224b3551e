//! The distinct word 4-grams of one trace: a set of 64-bit hashes with open addressing, reused
//! from trace to trace without clearing (each slot remembers the trace that filled it).

pub(super) struct GramSet {
    slots: Vec<(u64, u32)>,
    generation: u32,
    len: usize,
    /// Grams a trace may hold before the table grows (half the slots).
    limit: usize,
    shift: u32,
}

impl GramSet {
    pub(super) fn new() -> Self {
        Self {
            slots: vec![(0, 0); 1 << 12],
            generation: 0,
            len: 0,
            limit: 1 << 11,
            shift: 64 - 12,
        }
    }

    /// Start a new trace: forget the last one's grams.
    pub(super) fn start(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.slots.fill((0, 0));
            self.generation = 1;
        }
        self.len = 0;
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The order-sensitive hash of four word hashes (oldest first).
    #[inline(always)]
    pub(super) fn gram(h: [u64; 4]) -> u64 {
        h[0] ^ h[1].rotate_left(16) ^ h[2].rotate_left(32) ^ h[3].rotate_left(48)
    }

    #[inline(always)]
    fn index(&self, g: u64) -> usize {
        (g.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// Add a gram; true when it was new in this trace.
    #[inline(always)]
    pub(super) fn insert(&mut self, g: u64) -> bool {
        if self.len >= self.limit {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = self.index(g);
        loop {
            let (key, generation) = self.slots[i];
            if generation != self.generation {
                self.slots[i] = (g, self.generation);
                self.len += 1;
                return true;
            }
            if key == g {
                return false;
            }
            i = (i + 1) & mask;
        }
    }

    #[inline(never)]
    fn grow(&mut self) {
        let live: Vec<u64> = self
            .slots
            .iter()
            .filter(|s| s.1 == self.generation)
            .map(|s| s.0)
            .collect();
        let size = self.slots.len() * 2;
        self.slots = vec![(0, 0); size];
        self.limit = size / 2;
        self.shift -= 1;
        self.generation = 1;
        self.len = 0;
        for g in live {
            self.insert(g);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_distinct_per_trace_and_grows() {
        let mut s = GramSet::new();
        s.start();
        for i in 0..10_000u64 {
            assert!(s.insert(i.wrapping_mul(0x1234_5678_9abc_def1)));
        }
        assert!(!s.insert(0));
        assert_eq!(s.len(), 10_000);
        s.start();
        assert_eq!(s.len(), 0);
        assert!(s.insert(5) && !s.insert(5) && s.insert(6));
        assert_eq!(s.len(), 2);
        assert_ne!(GramSet::gram([1, 2, 3, 4]), GramSet::gram([4, 3, 2, 1]));
    }
}
