//! Generated task families of controlled serial depth (PROTOCOLS §8), each item with its exact
//! answer. An item is fixed by (seed, family, depth, index): the same seed gives the same items,
//! and no question repeats within a family and depth.
//!
//! - `arithmetic`: "Start with 12. Add 7. Multiply by 3. …": d operations on one running value.
//! - `variables`: d definitions `b = 4 + 3`, `k = b * 2`, …, each from the one before, listed in
//!   shuffled order; the question asks for the last one, so the chain must be tracked.
//! - `hops`: a table of invented people, their mentors and locker numbers; the question asks for
//!   the locker number of "the mentor of the mentor of … X": d lookups.
//! - `pointers`: a numbered list where each position points to another; follow d links.
//!
//! In `hops` and `pointers` the links form one random cycle through everyone: each person is
//! the mentor of exactly one other, each position the target of exactly one pointer. So no
//! answer can be guessed from how often it is pointed to; it takes the d lookups.
//!
//! Values stay within 0..=999, so every answer is a small non-negative integer.

use super::{Family, HorizonItem};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;

/// Recorded in manifests; bump when a generator's output for a seed changes.
pub const GENERATOR_VERSION: &str = "horizon-tasks/2";

/// The largest depth a generator accepts.
pub const MAX_DEPTH: u32 = 256;

/// Draws tried for one item before a family × depth is declared exhausted.
const ATTEMPTS: u32 = 200;

const MAX_VALUE: i64 = 999;

fn rng(seed: u64, family: Family, depth: u32, index: usize, attempt: u32) -> ChaCha8Rng {
    crate::clues::item_rng(
        seed,
        &format!("{}/d{depth}/{index}/{attempt}", family.name()),
        "horizon",
    )
}

/// `count` distinct items of `family` at `depth`.
pub fn generate(
    family: Family,
    depth: u32,
    count: usize,
    seed: u64,
) -> Result<Vec<HorizonItem>, String> {
    if depth == 0 || depth > MAX_DEPTH {
        return Err(format!(
            "depth {depth}: generated families take depths 1..={MAX_DEPTH}"
        ));
    }
    let mut seen = HashSet::new();
    let mut items = Vec::with_capacity(count);
    for index in 0..count {
        let mut made = None;
        for attempt in 0..ATTEMPTS {
            let mut r = rng(seed, family, depth, index, attempt);
            let (question, answer) = match family {
                Family::Arithmetic => arithmetic(&mut r, depth),
                Family::Variables => variables(&mut r, depth),
                Family::Hops => hops(&mut r, depth),
                Family::Pointers => pointers(&mut r, depth),
            };
            if seen.insert(question.clone()) {
                made = Some((question, answer));
                break;
            }
        }
        let (question, answer) = made.ok_or_else(|| {
            format!(
                "{} at depth {depth}: only {index} distinct items could be drawn; lower --limit",
                family.name()
            )
        })?;
        items.push(HorizonItem {
            id: format!("{}/d{depth}/{index}", family.name()),
            family: family.name().to_string(),
            depth: Some(depth),
            minutes: None,
            question,
            answer: crate::free_response::Gold::Number(crate::free_response::Number::from_i64(
                answer,
            )),
        });
    }
    Ok(items)
}

/// One operation on a running value, kept within 0..=MAX_VALUE.
#[derive(Debug, Clone, Copy)]
enum Op {
    Add(i64),
    Sub(i64),
    Mul(i64),
}

impl Op {
    fn apply(self, v: i64) -> i64 {
        match self {
            Op::Add(k) => v + k,
            Op::Sub(k) => v - k,
            Op::Mul(k) => v * k,
        }
    }
}

fn op(r: &mut ChaCha8Rng, v: i64) -> Op {
    loop {
        let o = match r.random_range(0..5) {
            0 | 1 => Op::Add(r.random_range(1..=20)),
            2 | 3 => Op::Sub(r.random_range(1..=20)),
            _ => Op::Mul(r.random_range(2..=3)),
        };
        if (0..=MAX_VALUE).contains(&o.apply(v)) {
            return o;
        }
    }
}

fn arithmetic(r: &mut ChaCha8Rng, depth: u32) -> (String, i64) {
    let mut v = r.random_range(2..=30);
    let mut text = format!("Start with {v}.");
    for _ in 0..depth {
        let o = op(r, v);
        text.push_str(&match o {
            Op::Add(k) => format!(" Add {k}."),
            Op::Sub(k) => format!(" Subtract {k}."),
            Op::Mul(k) => format!(" Multiply by {k}."),
        });
        v = o.apply(v);
    }
    text.push_str(" What number do you end with?");
    (text, v)
}

/// `n` distinct variable names: single letters while they last, then letter pairs.
fn names(r: &mut ChaCha8Rng, n: usize) -> Vec<String> {
    let letters: Vec<char> = ('a'..='z').collect();
    let mut pool: Vec<String> = if n <= letters.len() {
        letters.iter().map(|c| c.to_string()).collect()
    } else {
        letters
            .iter()
            .flat_map(|a| letters.iter().map(move |b| format!("{a}{b}")))
            .collect()
    };
    pool.shuffle(r);
    // boundary: a Vec of names, not a string.
    pool.truncate(n);
    pool
}

fn op_text(o: Op) -> (char, i64) {
    match o {
        Op::Add(k) => ('+', k),
        Op::Sub(k) => ('-', k),
        Op::Mul(k) => ('*', k),
    }
}

fn variables(r: &mut ChaCha8Rng, depth: u32) -> (String, i64) {
    let names = names(r, depth as usize);
    let mut v = r.random_range(2..=30);
    let mut lines = Vec::with_capacity(depth as usize);
    let first = op(r, v);
    let (sym, k) = op_text(first);
    lines.push(format!("{} = {v} {sym} {k}", names[0]));
    v = first.apply(v);
    for w in names.windows(2) {
        let o = op(r, v);
        let (sym, k) = op_text(o);
        lines.push(format!("{} = {} {sym} {k}", w[1], w[0]));
        v = o.apply(v);
    }
    lines.shuffle(r);
    let text = format!(
        "Each line defines a variable.\n{}\nWhat is the value of {}?",
        lines.join("\n"),
        names[names.len() - 1]
    );
    (text, v)
}

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ru", "ze", "vo", "ta", "ni", "sa", "do", "fe", "gu", "ha", "jo", "pe",
    "qui", "bra", "tor", "vel", "mar", "shi", "nu", "ori", "ela",
];

/// `n` distinct invented names of two or three syllables.
fn people(r: &mut ChaCha8Rng, n: usize) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let k = r.random_range(2..=3);
        let lower: String = (0..k)
            .map(|_| SYLLABLES[r.random_range(0..SYLLABLES.len())])
            .collect();
        let mut chars = lower.chars();
        let name: String = chars
            .next()
            .map(|c| c.to_ascii_uppercase())
            .into_iter()
            .chain(chars)
            .collect();
        if seen.insert(name.clone()) {
            out.push(name);
        }
    }
    out
}

/// A random cycle through 0..n: `next[i]` is the one after i, every index the next of exactly
/// one other.
fn cycle(r: &mut ChaCha8Rng, n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(r);
    let mut next = vec![0usize; n];
    for (k, &i) in order.iter().enumerate() {
        next[i] = order[(k + 1) % n];
    }
    next
}

fn hops(r: &mut ChaCha8Rng, depth: u32) -> (String, i64) {
    let d = depth as usize;
    let n = d + 4;
    let who = people(r, n);
    // Everyone's mentor is the next person on one cycle; the question starts at who[0].
    let mentor = cycle(r, n);
    let mut at = 0;
    for _ in 1..d {
        at = mentor[at];
    }
    let mut lockers: Vec<i64> = (10..=999).collect();
    lockers.shuffle(r);
    let mut facts = Vec::with_capacity(2 * n);
    for i in 0..n {
        facts.push(format!("{}'s mentor is {}.", who[i], who[mentor[i]]));
        facts.push(format!("{}'s locker number is {}.", who[i], lockers[i]));
    }
    facts.shuffle(r);
    let chain = "the mentor of ".repeat(d - 1);
    let text = format!(
        "Facts:\n{}\nWhat is the locker number of {chain}{}?",
        facts.join("\n"),
        who[0]
    );
    (text, lockers[at])
}

fn pointers(r: &mut ChaCha8Rng, depth: u32) -> (String, i64) {
    let d = depth as usize;
    let len = (2 * d + 2).max(10);
    // One cycle through every position (0-based here, 1-based in the text): longer than d, so
    // the d links never come back to the start.
    let next = cycle(r, len);
    let start = r.random_range(0..len);
    let mut at = start;
    for _ in 0..d {
        at = next[at];
    }
    let lines: Vec<String> = (0..len)
        .map(|p| format!("{} -> {}", p + 1, next[p] + 1))
        .collect();
    let text = format!(
        "Each line \"A -> B\" means that position A points to position B.\n{}\nStart at position {} and follow the pointers {d} time{}. At which position do you end?",
        lines.join("\n"),
        start + 1,
        if d == 1 { "" } else { "s" }
    );
    (text, at as i64 + 1)
}
