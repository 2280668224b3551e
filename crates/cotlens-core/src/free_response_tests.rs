use super::*;
use proptest::prelude::*;

fn n(s: &str) -> Option<Number> {
    extract_number(s)
}

fn num(s: &str) -> Option<Number> {
    Number::parse(s)
}

#[test]
fn canonical_forms() {
    for (text, canonical) in [
        ("42", "42"),
        ("42.0", "42"),
        ("042", "42"),
        ("1,234", "1234"),
        ("1,234,567.50", "1234567.5"),
        ("-3.50", "-3.5"),
        ("-0", "0"),
        ("-0.0", "0"),
        ("$12", "12"),
        ("  7 ", "7"),
        ("−5", "-5"),
        ("0.25", "0.25"),
    ] {
        assert_eq!(
            num(text).map(|x| x.0),
            Some(canonical.to_string()),
            "{text}"
        );
    }
    for bad in [
        "",
        "abc",
        "1,23",
        "12,34,567",
        "4 5",
        "3/4",
        "1e5",
        "42x",
        "--4",
    ] {
        assert_eq!(num(bad), None, "{bad}");
    }
    assert_eq!(num("42").and_then(|x| x.as_i64()), Some(42));
    assert_eq!(num("4.5").and_then(|x| x.as_i64()), None);
}

#[test]
fn marked_answers_are_read() {
    let cases = [
        ("So the total is 18.\nAnswer: 18", "18"),
        ("Answer: 42 apples", "42"),
        ("The answer is $1,234.", "1234"),
        ("the answer is: **42**", "42"),
        ("Final answer = 7", "7"),
        ("Janet makes 9 * 2 = 18.\n#### 18", "18"),
        ("We get \\boxed{42}.", "42"),
        ("$\\boxed{\\$1{,}000}$", "1000"),
        ("\\boxed{12\\text{ apples}}", "12"),
        ("Answer: 50%", "50"),
        ("Answer: -12", "-12"),
        (
            "I first thought the answer is 40, but no.\nAnswer: 42",
            "42",
        ),
        ("42", "42"),
        (" 42 dollars", "42"),
        ("Answer: 42.0", "42"),
        (
            "The answer is 1.\n\nThe answer is correct.\n\nThe answer is correct.",
            "1",
        ),
        ("Answer: 7\nThe answer is above.", "7"),
    ];
    for (text, want) in cases {
        assert_eq!(n(text).map(|x| x.0), Some(want.to_string()), "{text:?}");
    }
}

#[test]
fn unmarked_or_ambiguous_answers_are_unparseable() {
    for text in [
        "",
        "Let me think. 3 + 4 = 7 so it is seven.",
        "Answer: 42 or 43",
        "Answer: 3/4",
        "Answer: x = 4",
        "Answer: forty-two",
        "Answer: 42nd",
        "\\boxed{42",
        "\\boxed{6 \\times 7}",
        "7\n8",
        "The total is 18 dollars and 5 cents",
        "#### ",
        "The answer is correct.",
        "Answer: 42 or 43\nThe answer is right.",
        "So, the answer is 21.\n\nThe answer is not possible.",
        "Answer: 12\nWait, that answer is wrong.",
    ] {
        assert_eq!(n(text), None, "{text:?}");
    }
}

#[test]
fn text_answers() {
    assert_eq!(
        extract_text_answer("so\nAnswer: **Paris**."),
        Some("paris".into())
    );
    assert_eq!(extract_text_answer("Paris"), None);
    let gold = Gold::Text("paris".into());
    assert!(matches_gold(&None, &Some("paris".into()), &gold));
    assert!(!matches_gold(&num("3"), &None, &gold));
    assert!(matches_gold(
        &num("3.0"),
        &None,
        &Gold::Number(Number::from_i64(3))
    ));
}

#[test]
fn specs_and_loaders() {
    let dir = tempfile::tempdir().expect("tmp");
    let g = dir.path().join("test.jsonl");
    std::fs::write(
        &g,
        "{\"question\": \"Q1?\", \"answer\": \"work\\n#### 1,000\"}\n\n{\"question\": \"Q2?\", \"answer\": \"#### -3\"}\n",
    )
    .expect("write");
    let items = load_free(&format!("gsm8k:{}", g.display())).expect("load");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].id, "gsm8k/test/1");
    assert_eq!(items[1].id, "gsm8k/test/3");
    assert_eq!(items[0].answer, Gold::Number(Number::from_i64(1000)));
    let j = dir.path().join("mine.jsonl");
    std::fs::write(
        &j,
        "{\"id\": \"a\", \"question\": \"2+2?\", \"answer\": 4, \"depth\": 2}\n{\"id\": 7, \"question\": \"Capital?\", \"answer\": \" Paris \", \"extra\": 1}\n",
    )
    .expect("write");
    let items = load_free(&format!("jsonl:{}", j.display())).expect("load");
    assert_eq!(items[0].depth, Some(2));
    assert_eq!(items[1].id, "7");
    assert_eq!(items[1].answer, Gold::Text("paris".into()));
    for (line, field) in [
        ("{\"id\": \"a\", \"question\": \"q\"}", "answer"),
        ("{\"id\": \"\", \"question\": \"q\", \"answer\": 1}", "id"),
        (
            "{\"id\": \"a\", \"question\": \"q\", \"answer\": [1]}",
            "answer",
        ),
        (
            "{\"id\": \"a\", \"question\": \" \", \"answer\": 1}",
            "question",
        ),
        (
            "{\"id\": \"a\", \"question\": \"q\", \"answer\": 1, \"minutes\": -1}",
            "minutes",
        ),
        (
            "{\"id\": \"a\", \"question\": \"q\", \"answer\": 1, \"depth\": \"x\"}",
            "depth",
        ),
    ] {
        std::fs::write(
            &j,
            format!("{{\"id\": \"z\", \"question\": \"q\", \"answer\": 1}}\n{line}\n"),
        )
        .expect("write");
        let e = load_free(&format!("jsonl:{}", j.display())).expect_err(line);
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(2), Some(field)),
            "{line}: {e}"
        );
    }
    std::fs::write(&j, "{\"id\": 1, \"question\": \"q\", \"answer\": 1}\n{\"id\": \"1\", \"question\": \"q\", \"answer\": 2}\n").expect("write");
    let e = load_free(&format!("jsonl:{}", j.display())).expect_err("dup");
    assert!(e.to_string().contains("duplicate id"), "{e}");
    std::fs::write(&g, "{\"question\": \"Q\", \"answer\": \"no marker\"}\n").expect("write");
    let e = load_free(&format!("gsm8k:{}", g.display())).expect_err("no ####");
    assert_eq!((e.line, e.field.as_deref()), (Some(1), Some("answer")));
    assert!(parse_free_spec("mmlu:x").is_err());
    assert!(parse_free_spec("gsm8k:").is_err());
}

proptest! {
    #[test]
    fn every_marked_integer_reads_back(v in any::<i64>(), style in 0usize..7, unit in prop::sample::select(vec!["", " apples", "%", ".", " dollars.", "**"])) {
        let plain = v.to_string();
        let grouped = {
            let digits = v.unsigned_abs().to_string();
            let mut out = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 { out.push(','); }
                out.push(c);
            }
            if v < 0 { format!("-{out}") } else { out }
        };
        let text = match style {
            0 => format!("Some work.\nAnswer: {plain}{unit}"),
            1 => format!("so \\boxed{{{plain}}}"),
            2 => format!("steps\n#### {grouped}"),
            3 => format!("The answer is {grouped}{unit}"),
            4 => format!("Answer: {plain}.0{unit}"),
            5 => format!("{plain}{unit}"),
            _ => format!("Answer: **{grouped}**"),
        };
        prop_assert_eq!(extract_number(&text), Some(Number::from_i64(v)), "{}", text);
    }

    #[test]
    fn text_without_digits_is_unparseable(s in "[^0-9]{0,80}") {
        prop_assert_eq!(extract_number(&s), None);
    }

    #[test]
    fn never_panics_and_is_canonical(s in "\\PC{0,120}") {
        if let Some(x) = extract_number(&s) {
            // A canonical number parses to itself.
            prop_assert_eq!(Number::parse(x.as_str()), Some(x.clone()));
            prop_assert!(!x.as_str().contains(','));
        }
    }

    #[test]
    fn two_numbers_after_the_marker_are_unparseable(a in 0u32..10000, b in 0u32..10000, sep in prop::sample::select(vec![" or ", " and ", "/", " - ", ", maybe "])) {
        let text = format!("Answer: {a}{sep}{b}");
        prop_assert_eq!(extract_number(&text), None);
    }
}

#[test]
fn scale_words_and_non_ascii_digits_are_not_read() {
    assert_eq!(extract_number("The answer is $1.5 million."), None);
    assert_eq!(extract_number("Answer: 3 thousand"), None);
    assert_eq!(extract_number("Answer: 12k"), None);
    assert_eq!(extract_number("Answer: 42 m"), Some(Number::from_i64(42)));
    assert_eq!(extract_number("Answer: 5 km"), Some(Number::from_i64(5)));
    assert_eq!(extract_number("١٢٣"), None);
    assert_eq!(extract_number("Answer: ١٢٣"), None);
    assert_eq!(Number::parse("١٢٣"), None);
}
