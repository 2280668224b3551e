use super::*;
use rand::{Rng, SeedableRng};

#[test]
fn words_scripts_and_apostrophes() {
    let lex = Lexicon::builtin();
    let mut s = Scanner::new(lex);
    let t = s.scan("Don't panic: it's 42, O'Brien's 'quoted' word.");
    // don't, panic, it's, o'brien's, quoted, word
    assert_eq!(t.words, 6, "{t:?}");
    assert_eq!(s.counts().get("don't"), 1);
    assert_eq!(s.counts().get("quoted"), 1);
    assert_eq!(s.counts().get("o'brien's"), 1);
    assert_eq!(t.dominant_script, Some("latin"));
    assert_eq!(t.foreign_script_share, 0.0);
    let t = s.scan("The answer is 四 because 四是正确的");
    assert_eq!(t.scripts, vec!["latin", "han"]);
    let han = 6.0;
    let latin = ("Theanswerisbecause".len()) as f64;
    assert!(
        (t.foreign_script_share - han / (han + latin)).abs() < 1e-12,
        "{t:?}"
    );
    let t = s.scan("Привет and hello world");
    assert_eq!(t.dominant_script, Some("latin"));
    assert!(t.scripts.contains(&"cyrillic"));
    assert_eq!(s.counts().get("привет"), 1, "lower-cased");
}

#[test]
fn oov_repetition_and_compression() {
    let lex = Lexicon::builtin();
    let mut s = Scanner::new(lex);
    let t = s.scan("the answer is clearly the second option");
    assert_eq!(t.oov_words, 0, "{t:?}");
    assert_eq!(t.repetition, 0.0);
    let t = s.scan("the zorblax frumious answer");
    assert_eq!((t.words, t.oov_words), (4, 2));
    assert_eq!(t.oov_share, 0.5);
    let loop_text = "we check the grader again. ".repeat(40);
    let t = s.scan(&loop_text);
    // 200 words, 197 4-grams, 5 distinct.
    assert!(
        (t.repetition - (1.0 - 5.0 / 197.0)).abs() < 1e-12,
        "{}",
        t.repetition
    );
    assert!(t.compression_ratio > 10.0, "{}", t.compression_ratio);
    assert!(t.legibility < 0.05);
    let empty = s.scan("");
    assert_eq!((empty.words, empty.legibility), (0, 1.0));
    assert_eq!(s.totals().traces, 4);
    assert_eq!(s.totals().empty_traces, 1);
}

/// Clean text drawn from the lexicon's 3000 most frequent words by frequency.
fn clean_text(seed: u64, words: usize) -> String {
    let text = include_str!("../../lexicon/en.tsv");
    let vocab: Vec<(&str, f64)> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .take(3000)
        .filter_map(|l| l.split_once('\t'))
        .map(|(w, f)| (w, f.parse::<f64>().expect("number")))
        .collect();
    let total: f64 = vocab.iter().map(|v| v.1).sum();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut out = String::new();
    for i in 0..words {
        let mut x = rng.random::<f64>() * total;
        let w = vocab.iter().find(|(_, f)| {
            x -= f;
            x <= 0.0
        });
        out.push_str(w.map_or("the", |w| w.0));
        out.push(if i % 12 == 11 { '.' } else { ' ' });
    }
    out
}

#[test]
fn injected_odd_words_rank_first() {
    let lex = Lexicon::builtin();
    let odd = ["watchers", "disclaim", "marinade"];
    let mut base = Scanner::new(lex);
    for k in 0..50 {
        base.scan(&clean_text(k, 400));
    }
    let mut run = Scanner::new(lex);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for k in 0..50 {
        let clean = clean_text(1000 + k, 400);
        let mut words: Vec<&str> = clean.split(' ').collect();
        // Each odd word at 2% of the tokens.
        let n = words.len();
        for w in odd {
            for _ in 0..(n / 50) {
                let at = rng.random_range(0..words.len());
                words.insert(at, w);
            }
        }
        run.scan(&words.join(" "));
    }
    let share = run.counts().get("marinade") as f64 / run.counts().total() as f64;
    assert!((0.015..0.025).contains(&share), "{share}");
    for reference in [Reference::Corpus(base.counts()), Reference::Lexicon(lex)] {
        let top = rising_words(run.counts(), &reference, 10, 3, &Default::default());
        let mut first: Vec<&str> = top.iter().take(3).map(|r| r.word.as_str()).collect();
        first.sort();
        assert_eq!(first, vec!["disclaim", "marinade", "watchers"], "{top:?}");
        assert!(top[0].kl_bits > 3.0 * top[3].kl_bits, "{top:?}");
    }
    // Against itself nothing rises much.
    let same = rising_words(
        base.counts(),
        &Reference::Corpus(base.counts()),
        5,
        3,
        &Default::default(),
    );
    assert!(same.is_empty(), "{same:?}");
}

#[test]
fn contractions_letters_and_prompt_words_are_not_drift() {
    // Ordinary English with contractions, possessives and option letters, against the lexicon.
    let text = "I don't think it's right. The book's author can't be sure, so we'll check (B) \
                and (C) again: option b says x, option c says y. "
        .repeat(40);
    let mut s = Scanner::new(Lexicon::builtin());
    s.scan(&text);
    let none = std::collections::HashSet::new();
    let top = rising_words(
        s.counts(),
        &Reference::Lexicon(Lexicon::builtin()),
        20,
        3,
        &none,
    );
    for r in &top {
        assert!(r.ratio < 1000.0, "{r:?} ranks as drift");
    }
    // Contractions and letters have real reference frequencies (not the placeholder or the
    // floor), and a possessive takes its noun's.
    for w in ["don't", "it's", "book's", "can't", "b", "c", "x"] {
        if let Some(r) = top.iter().find(|r| r.word == w) {
            assert!(r.reference_per_million > 100.0, "{w}: {r:?}");
        }
    }
    assert!(Lexicon::builtin().per_million("don't") > Some(1000.0));
    assert!(Lexicon::builtin().per_million("e") > Some(100.0));
    // The prompt's own words are left out.
    let mut prompt = std::collections::HashSet::new();
    words_of(
        "Which option, (B) or (C), says x or y? Check the author.",
        &mut prompt,
    );
    let top = rising_words(
        s.counts(),
        &Reference::Lexicon(Lexicon::builtin()),
        20,
        3,
        &prompt,
    );
    for w in ["b", "c", "x", "y", "option", "says", "author", "check"] {
        assert!(top.iter().all(|r| r.word != w), "{w} came from the prompt");
    }
}

#[test]
fn lexicon_files_are_checked() {
    assert!(Lexicon::parse("a\t1\nb\tx\n", "t").is_err_and(|(l, _)| l == 2));
    assert!(Lexicon::parse("# only comments\n", "t").is_err());
    let l = Lexicon::parse("Word\t2.5\n", "t").expect("ok");
    assert_eq!(l.per_million("word"), Some(2.5));
    assert!(Lexicon::builtin().len() > 40_000);
}

/// The word rule written plainly over chars: a word starts at a letter and runs over letters
/// and over apostrophes followed by an ASCII letter; lower-cased.
fn reference_words(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let (mut out, mut k) = (Vec::new(), 0);
    while k < chars.len() {
        if !chars[k].is_alphabetic() {
            k += 1;
            continue;
        }
        let mut w = String::new();
        while k < chars.len() {
            let c = chars[k];
            if c.is_alphabetic() {
                w.extend(c.to_lowercase());
            } else if c == '\'' && chars.get(k + 1).is_some_and(|n| n.is_ascii_alphabetic()) {
                w.push('\'');
            } else {
                break;
            }
            k += 1;
        }
        out.push(w);
    }
    out
}

/// Text from pieces that exercise the scanner's paths: words of every length around 8 and 16
/// bytes, apostrophes, non-ASCII letters and non-letters, runs that cross 64-byte blocks.
fn tricky_text() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let fixed = proptest::sample::select(vec![
        " ",
        ", ",
        "'",
        "don't",
        "O'",
        "é",
        "Straße",
        "ЖИЗНЬ",
        "中文",
        "→",
        "İ",
        "\n",
    ])
    .prop_map(String::from);
    let piece = prop_oneof![
        1 => "[a-zA-Z]{1,20}",
        12 => fixed,
        1 => "[0-9]{1,3}",
        1 => " {1,70}",
        1 => "[a-z]{30,90}",
    ];
    proptest::collection::vec(piece, 0..60).prop_map(|v| v.concat())
}

proptest::proptest! {
    #[test]
    fn words_match_the_plain_rule(text in tricky_text()) {
        let lex = Lexicon::builtin();
        let mut s = Scanner::new(lex);
        let t = s.scan(&text);
        let want = reference_words(&text);
        proptest::prop_assert_eq!(t.words, want.len());
        let mut counts = std::collections::HashMap::new();
        for w in &want {
            *counts.entry(w.as_str()).or_insert(0u64) += 1;
        }
        proptest::prop_assert_eq!(s.counts().distinct(), counts.len());
        for (w, c) in &counts {
            proptest::prop_assert_eq!(s.counts().get(w), *c, "{}", w);
        }
        let oov = want.iter().filter(|w| lex.per_million(w).is_none()).count();
        proptest::prop_assert_eq!(t.oov_words, oov);
        let grams: std::collections::HashSet<&[String]> = want.windows(4).collect();
        let total = want.len().saturating_sub(3);
        let rep = if total == 0 { 0.0 } else { 1.0 - grams.len() as f64 / total as f64 };
        proptest::prop_assert!((t.repetition - rep).abs() < 1e-12);
        // Every letter is in some word.
        proptest::prop_assert_eq!(t.letters, text.chars().filter(|c| c.is_alphabetic()).count());
    }
}

#[test]
fn compression_ratio_is_lz4_block_size_for_short_and_long_texts() {
    let lex = Lexicon::builtin();
    let mut s = Scanner::new(lex);
    // Short, long (past the 16-bit table's 64 KiB), then short again (tables reused).
    for (seed, words) in [(1, 300), (2, 30_000), (3, 20), (4, 300)] {
        let text = clean_text(seed, words);
        let mut out = vec![0u8; lz4_flex::block::get_maximum_output_size(text.len())];
        let want = lz4_flex::block::compress_into(text.as_bytes(), &mut out).expect("lz4");
        let t = s.scan(&text);
        assert_eq!(
            t.compression_ratio,
            text.len() as f64 / want as f64,
            "{words}"
        );
    }
}
