//! The built-in clue encoders: each turns a target integer into a text from which the target can
//! be recovered only by undoing the encoding (PROTOCOLS §7). Constants come from a seeded RNG, so
//! a clue's text is fixed by (run seed, item, clue).

use base64::Engine as _;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// An encoder (a clue's `family`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoder {
    /// The number as written.
    Plain,
    /// A chain of `level` operations applied to the answer, with the result: `((x + 37) * 3) - 12 == 1311`.
    Arithmetic,
    /// `0x2a`.
    Hex,
    /// The decimal digits, base64-encoded: `NDI=`.
    Base64,
    /// Every digit shifted up by a key, mod 10 (the key is in the setting, `{key}`).
    DigitCipher,
    /// A Python expression that evaluates to it: `13 * 7 + 11 * 4 - 93`.
    PythonExpr,
    /// The Unicode code points of its decimal digits: `[52, 50]`.
    Codepoints,
}

impl Encoder {
    pub const NAMES: &'static [&'static str] = &[
        "plain",
        "arithmetic",
        "hex",
        "base64",
        "digit-cipher",
        "python-expr",
        "codepoints",
    ];

    pub fn name(self) -> &'static str {
        match self {
            Encoder::Plain => "plain",
            Encoder::Arithmetic => "arithmetic",
            Encoder::Hex => "hex",
            Encoder::Base64 => "base64",
            Encoder::DigitCipher => "digit-cipher",
            Encoder::PythonExpr => "python-expr",
            Encoder::Codepoints => "codepoints",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|e| e.name() == s)
    }

    const ALL: &'static [Encoder] = &[
        Encoder::Plain,
        Encoder::Arithmetic,
        Encoder::Hex,
        Encoder::Base64,
        Encoder::DigitCipher,
        Encoder::PythonExpr,
        Encoder::Codepoints,
    ];

    /// The levels the encoder accepts.
    pub fn levels(self) -> std::ops::RangeInclusive<u32> {
        match self {
            Encoder::Arithmetic => 1..=8,
            Encoder::PythonExpr => 1..=4,
            _ => 1..=1,
        }
    }

    /// Does the setting need `{key}` (the encoder's key, without which the text cannot be decoded)?
    pub fn has_key(self) -> bool {
        self == Encoder::DigitCipher
    }
}

/// An encoded target: the clue text and, for keyed encoders, the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encoded {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// Encode `target` with `encoder` at `level` (checked by the clue parser), constants from `rng`.
pub fn encode(encoder: Encoder, level: u32, target: i64, rng: &mut ChaCha8Rng) -> Encoded {
    let plain = |text: String| Encoded { text, key: None };
    match encoder {
        Encoder::Plain => plain(target.to_string()),
        Encoder::Hex => plain(if target < 0 {
            format!("-0x{:x}", target.unsigned_abs())
        } else {
            format!("0x{target:x}")
        }),
        Encoder::Base64 => {
            plain(base64::engine::general_purpose::STANDARD.encode(target.to_string()))
        }
        Encoder::Codepoints => plain(format!(
            "[{}]",
            target
                .to_string()
                .chars()
                .map(|c| u32::from(c).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Encoder::DigitCipher => {
            let key: u32 = rng.random_range(1..=9);
            let text = target
                .to_string()
                .chars()
                .map(|c| match c.to_digit(10) {
                    Some(d) => char::from_digit((d + key) % 10, 10).unwrap_or(c),
                    None => c,
                })
                .collect();
            Encoded {
                text,
                key: Some(key.to_string()),
            }
        }
        Encoder::Arithmetic => plain(arithmetic_chain(level, target, rng)),
        Encoder::PythonExpr => plain(python_expr(level, target, rng)),
    }
}

/// `level` operations on x, outermost last, and the value they give for x = target. Values stay
/// within ±10^12 (an operation that would leave that range is replaced by an addition).
fn arithmetic_chain(level: u32, target: i64, rng: &mut ChaCha8Rng) -> String {
    const BOUND: i128 = 1_000_000_000_000;
    let mut value = i128::from(target);
    let mut expr = "x".to_string();
    for step in 0..level {
        let op = rng.random_range(0..3u8);
        let (symbol, c, next) = match op {
            0 => {
                let c = rng.random_range(2..=99i128);
                ("+", c, value + c)
            }
            1 => {
                let c = rng.random_range(2..=99i128);
                ("-", c, value - c)
            }
            _ => {
                let c = rng.random_range(2..=9i128);
                ("*", c, value * c)
            }
        };
        let (symbol, c, next) = if next.abs() > BOUND {
            ("+", 1, value + 1)
        } else {
            (symbol, c, next)
        };
        expr = if step == 0 {
            format!("{expr} {symbol} {c}")
        } else {
            format!("({expr}) {symbol} {c}")
        };
        value = next;
    }
    format!("{expr} == {value}")
}

/// `level` products of two small constants plus a correction: `13 * 7 + 11 * 4 - 93`.
fn python_expr(level: u32, target: i64, rng: &mut ChaCha8Rng) -> String {
    let mut total: i128 = 0;
    let mut parts = Vec::new();
    for _ in 0..level {
        let a = rng.random_range(2..=19i128);
        let b = rng.random_range(2..=19i128);
        total += a * b;
        parts.push(format!("{a} * {b}"));
    }
    let rest = i128::from(target) - total;
    let mut expr = parts.join(" + ");
    if rest >= 0 {
        expr.push_str(&format!(" + {rest}"));
    } else {
        expr.push_str(&format!(" - {}", -rest));
    }
    expr
}

#[cfg(test)]
pub(crate) mod decode {
    //! Independent decoders, for the tests that prove every clue text encodes its target.

    use super::Encoded;
    use base64::Engine as _;

    /// A small integer expression evaluator: + - * and parentheses, left to right with the usual
    /// precedence; `x` is `x`.
    pub(crate) fn eval(expr: &str, x: i128) -> Option<i128> {
        let tokens: Vec<String> = {
            let mut t = Vec::new();
            let mut num = String::new();
            for c in expr.chars() {
                if c.is_ascii_digit() {
                    num.push(c);
                    continue;
                }
                if !num.is_empty() {
                    t.push(std::mem::take(&mut num));
                }
                if !c.is_whitespace() {
                    t.push(c.to_string());
                }
            }
            if !num.is_empty() {
                t.push(num);
            }
            t
        };
        let mut pos = 0;
        let v = sum(&tokens, &mut pos, x)?;
        (pos == tokens.len()).then_some(v)
    }

    fn sum(t: &[String], pos: &mut usize, x: i128) -> Option<i128> {
        let mut v = product(t, pos, x)?;
        while let Some(op) = t.get(*pos).filter(|o| *o == "+" || *o == "-").cloned() {
            *pos += 1;
            let r = product(t, pos, x)?;
            v = if op == "+" { v + r } else { v - r };
        }
        Some(v)
    }

    fn product(t: &[String], pos: &mut usize, x: i128) -> Option<i128> {
        let mut v = atom(t, pos, x)?;
        while t.get(*pos).is_some_and(|o| o == "*") {
            *pos += 1;
            v *= atom(t, pos, x)?;
        }
        Some(v)
    }

    fn atom(t: &[String], pos: &mut usize, x: i128) -> Option<i128> {
        let tok = t.get(*pos)?.clone();
        *pos += 1;
        if tok == "(" {
            let v = sum(t, pos, x)?;
            (t.get(*pos)? == ")").then_some(())?;
            *pos += 1;
            return Some(v);
        }
        if tok == "x" {
            return Some(x);
        }
        tok.parse().ok()
    }

    /// Does `encoded` (by `encoder`) decode to `target`?
    pub(crate) fn decodes_to(encoder: super::Encoder, e: &Encoded, target: i64) -> bool {
        use super::Encoder::*;
        let t = i128::from(target);
        match encoder {
            Plain => e.text.parse::<i64>().ok() == Some(target),
            Hex => {
                let (neg, digits) = match e.text.strip_prefix('-') {
                    Some(rest) => (true, rest),
                    None => (false, e.text.as_str()),
                };
                let v = digits
                    .strip_prefix("0x")
                    .and_then(|h| i128::from_str_radix(h, 16).ok());
                v.map(|v| if neg { -v } else { v }) == Some(t)
            }
            Base64 => {
                base64::engine::general_purpose::STANDARD
                    .decode(&e.text)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .and_then(|s| s.parse::<i64>().ok())
                    == Some(target)
            }
            Codepoints => {
                let inner = e.text.trim_start_matches('[').trim_end_matches(']');
                let s: Option<String> = inner
                    .split(", ")
                    .map(|n| n.parse::<u32>().ok().and_then(char::from_u32))
                    .collect();
                s.and_then(|s| s.parse::<i64>().ok()) == Some(target)
            }
            DigitCipher => {
                let Some(key) = e.key.as_ref().and_then(|k| k.parse::<u32>().ok()) else {
                    return false;
                };
                let s: String = e
                    .text
                    .chars()
                    .map(|c| match c.to_digit(10) {
                        Some(d) => char::from_digit((d + 10 - key) % 10, 10).unwrap_or(c),
                        None => c,
                    })
                    .collect();
                s.parse::<i64>().ok() == Some(target)
            }
            PythonExpr => eval(&e.text, 0) == Some(t),
            Arithmetic => {
                let Some((lhs, rhs)) = e.text.split_once(" == ") else {
                    return false;
                };
                let Ok(rhs) = rhs.parse::<i128>() else {
                    return false;
                };
                // The chain is strictly monotonic in x, so the target is its only solution:
                // check the target and its neighbours.
                eval(lhs, t) == Some(rhs)
                    && eval(lhs, t - 1) != Some(rhs)
                    && eval(lhs, t + 1) != Some(rhs)
            }
        }
    }
}
