use super::*;

fn steps(text: &str) -> Vec<&str> {
    let ends = split_steps(text);
    let mut start = 0;
    ends.iter()
        .map(|&e| {
            let s = text[start..e].trim();
            start = e;
            s
        })
        .collect()
}

#[test]
fn prose_numbers_lists_and_code() {
    assert_eq!(
        steps("Let's think step by step. Water boils at 100 C. So the answer is B."),
        [
            "Let's think step by step.",
            "Water boils at 100 C.",
            "So the answer is B."
        ]
    );
    // Decimals, abbreviations and initials do not split.
    assert_eq!(
        steps("Pi is about 3.14 and e.g. Dr. Smith agrees. So does Ms. Jones."),
        [
            "Pi is about 3.14 and e.g. Dr. Smith agrees.",
            "So does Ms. Jones."
        ]
    );
    // Lists: one step per item; a numbered item is not cut at its "1.".
    assert_eq!(
        steps("We need:\n1. Compute 12 * 3 = 36.\n2. Add 4 to get 40.\n- Check it."),
        [
            "We need:",
            "1. Compute 12 * 3 = 36.",
            "2. Add 4 to get 40.",
            "- Check it."
        ]
    );
    // A fenced code block is one step.
    assert_eq!(
        steps("First, the code:\n```python\nx = 1\ny = x + 1\n```\nThen y is 2."),
        [
            "First, the code:",
            "```python\nx = 1\ny = x + 1\n```",
            "Then y is 2."
        ]
    );
    assert!(split_steps("").is_empty() && split_steps("  \n\n").is_empty());
    // Prefixes are exact: concatenating all steps gives the CoT back (up to trailing space).
    let cot = "A first idea. Then 2.5 + 1.5 = 4! Is that right? Yes.\n\nDone.";
    let ends = split_steps(cot);
    assert_eq!(ends.len(), 5);
    assert_eq!(&cot[..*ends.last().expect("steps")], cot);
}

#[test]
fn aoc_hand_computed() {
    // One CoT of 2 steps, answer only settles at the end: y = [0, 0, 1] → under 0.25 → AOC 0.75.
    assert!((area_over(&[0.0, 0.0, 1.0]) - 0.75).abs() < 1e-12);
    // Answer known before any step: AOC 0.
    assert!((area_over(&[1.0, 1.0, 1.0, 1.0]) - 0.0).abs() < 1e-12);
    // Unequal lengths: a 1-step CoT with y = [0, 1] (AOC 0.5) and two 3-step CoTs with
    // y = [0, 0, 1, 1] and [0, 1, 1, 1]: mean curve [0, .5, 1, 1], under = (.25 + .75 + 1)/3,
    // AOC = 1/3. Weighted: 1/3 · 0.5 + 2/3 · 1/3 = 7/18.
    let c = |v: &[u8]| EarlyCurve {
        same: v.iter().map(|&x| x == 1).collect(),
    };
    let curves = [c(&[0, 1]), c(&[0, 0, 1, 1]), c(&[0, 1, 1, 1]), c(&[1])];
    let aoc = weighted_aoc(curves.iter()).expect("defined");
    assert!((aoc - 7.0 / 18.0).abs() < 1e-12, "{aoc}");
    let by = curves_by_length(curves.iter());
    assert_eq!(by[&3], (2, vec![0.0, 0.5, 1.0, 1.0]));
    assert!(!by.contains_key(&0), "zero-step CoTs carry no curve");
    let est = aoc_with_interval(
        &curves,
        BootstrapSpec {
            resamples: 200,
            seed: 1,
        },
    )
    .expect("defined");
    assert!((est.estimate.value - 7.0 / 18.0).abs() < 1e-12);
    assert!(
        est.estimate.ci_low <= est.estimate.value && est.estimate.value <= est.estimate.ci_high
    );
}

proptest::proptest! {
    #[test]
    fn steps_are_increasing_nonempty_prefixes(text in "[A-Za-z0-9 .!?\n()-]{0,300}") {
        let ends = split_steps(&text);
        let mut prev = 0;
        for &e in &ends {
            proptest::prop_assert!(e > prev && e <= text.len());
            proptest::prop_assert!(!text[prev..e].trim().is_empty());
            prev = e;
        }
        if !text.trim().is_empty() {
            proptest::prop_assert!(!ends.is_empty());
            proptest::prop_assert!(text[prev..].trim().is_empty(), "nothing after the last step");
        }
    }

    #[test]
    fn aoc_in_unit_interval(curves in proptest::collection::vec(proptest::collection::vec(proptest::bool::ANY, 1..8), 1..20)) {
        let curves: Vec<EarlyCurve> = curves.into_iter().map(|mut s| { if let Some(l) = s.last_mut() { *l = true; } EarlyCurve { same: s } }).collect();
        if let Some(a) = weighted_aoc(curves.iter()) {
            proptest::prop_assert!((0.0..=1.0).contains(&a));
        }
    }
}

#[test]
fn n_in_aoc_leaves_out_one_point_curves() {
    let curves = vec![
        EarlyCurve { same: vec![true] },
        EarlyCurve {
            same: vec![false, true],
        },
        EarlyCurve {
            same: vec![false, false, true],
        },
    ];
    assert_eq!(n_in_aoc(&curves), 2);
    assert_eq!(estimate_tokens(""), 1);
    assert_eq!(estimate_tokens("abcdefghi"), 3);
}
