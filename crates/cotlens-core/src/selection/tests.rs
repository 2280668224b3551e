use super::*;
use std::collections::BTreeMap;
use std::path::Path;

fn parse(text: &str) -> Result<Pipeline, crate::datasets::DatasetError> {
    parse_pipeline(text, Path::new("pipe.toml"))
}

fn cand(prompt: &str, i: usize, domain: &str, scores: &[(&str, Option<f64>)]) -> Candidate {
    Candidate {
        key: format!("{prompt}#{i}"),
        prompt_id: prompt.into(),
        domain: domain.into(),
        scores: scores.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
    }
}

const PIPE: &str = r#"
[[scorer]]
name = "correct"
type = "correctness"

[[scorer]]
name = "legible"
type = "legibility"

[[stage]]
name = "gate"
policy = "threshold"
scorer = "correct"
min = 1.0

[[stage]]
name = "best"
policy = "best-of-n"
weights = { legible = 1.0 }
"#;

#[test]
fn a_pipeline_parses_with_defaults() {
    let p = parse(PIPE).expect("parses");
    assert_eq!(p.scorers.len(), 2);
    assert_eq!(p.scorers[0].fields, vec![Field::Output]);
    assert_eq!(p.scorers[1].fields, vec![Field::Cot]);
    assert_eq!(p.fields_seen(&p.stages[0]), vec![Field::Output]);
    assert_eq!(p.fields_seen(&p.stages[1]), vec![Field::Cot]);
    assert!(p.budget.is_empty());
}

#[test]
fn pipeline_errors_name_file_line_and_field() {
    let cases: &[(&str, usize, &str, &str)] = &[
        ("[[scorer]]\nname = \"x\"\ntype = \"vibes\"\n", 3, "type", "unknown scorer type"),
        ("[[scorer]]\nname = \"x\"\ntype = \"length\"\nfields = [\"cot\", \"thoughts\"]\n", 4, "fields", "unknown field"),
        ("[[scorer]]\nname = \"x\"\ntype = \"length\"\n[[stage]]\npolicy = \"argmax\"\nscorer = \"x\"\n", 5, "policy", "unknown policy"),
        ("[[scorer]]\nname = \"x\"\ntype = \"length\"\n[[stage]]\npolicy = \"top-k\"\nscorer = \"y\"\nk = 2\n", 6, "scorer", "unknown scorer \"y\""),
        ("[[scorer]]\nname = \"x\"\ntype = \"length\"\ncolour = 3\n", 4, "scorer[0].colour", "unknown field"),
        ("[[scorer]]\nname = \"x\"\ntype = \"length\"\n[[stage]]\npolicy = \"threshold\"\nscorer = \"x\"\nmin = nan\n", 7, "min", "nan"),
        ("[[scorer]]\nname = \"x\"\ntype = \"length\"\n[[stage]]\npolicy = \"threshold\"\nscorer = \"x\"\nmin = 5.0\nmax = 1.0\n", 7, "min", "above max"),
        ("[[scorer]]\nname = \"x\"\ntype = \"length\"\n[[stage]]\npolicy = \"top-k\"\nscorer = \"x\"\nk = 1\n[budget]\nmax_bits_per_prompt = -1.0\n", 9, "max_bits_per_prompt", "at least 0"),
        ("[[scorer]]\nname = \"x\"\ntype = \"length\"\n[[stage]]\npolicy = \"top-k\"\nscorer = \"x\"\nk = 1\n[budget]\nmax_domain_share = nan\n", 9, "max_domain_share", "between 0 and 1"),
        ("[[scorer]]\nname = \"x\"\ntype = \"length\"\n[[stage]]\npolicy = \"top-k\"\nscorer = \"x\"\nk = 1\n[budget.domain.math]\nmax_cot_bits_per_prompt = nan\n", 9, "max_cot_bits_per_prompt", "at least 0"),
        ("[[scorer]]\nname = \"x\"\ntype = \"monitor\"\nmonitor = \"psychic\"\n", 4, "monitor", "unknown monitor"),
        ("[[scorer]]\nname = \"x\"\ntype = \"correctness\"\nfields = [\"cot\"]\n", 4, "fields", "correctness reads"),
        ("[[scorer]]\nname = \"x\"\ntype = \"length\"\n[[stage]]\npolicy = \"top-k\"\nscorer = \"x\"\n", 5, "k", "needs `k`"),
        ("[[scorer]]\nname = \"x\"\ntype = \"length\"\n[[stage]]\npolicy = \"best-of-n\"\nweights = { x = 1.0, z = 2.0 }\n", 6, "weights", "unknown scorer \"z\""),
    ];
    for (text, line, field, msg) in cases {
        let e = parse(text).expect_err(text);
        assert_eq!(e.line, Some(*line), "{text}: {e}");
        assert_eq!(e.field.as_deref(), Some(*field), "{text}: {e}");
        assert!(e.to_string().contains(msg), "{text}: {e}");
        assert!(e.to_string().starts_with("pipe.toml:"), "{e}");
    }
    assert!(
        parse("[[scorer]]\nname = \"x\"\ntype = \"length\"\n").is_err(),
        "no stage"
    );
}

#[test]
fn monitor_fields_follow_the_view() {
    let p = parse("[[scorer]]\nname = \"m\"\ntype = \"monitor\"\nmonitor = \"rules\"\nview = \"action\"\n[[stage]]\npolicy = \"threshold\"\nscorer = \"m\"\nmax = 0.5\n").expect("ok");
    assert_eq!(p.scorers[0].fields, vec![Field::Output, Field::Action]);
    let p = parse("[[scorer]]\nname = \"m\"\ntype = \"monitor\"\nmonitor = \"rules\"\n[[stage]]\npolicy = \"threshold\"\nscorer = \"m\"\nmax = 0.5\n").expect("ok");
    assert_eq!(p.scorers[0].fields, vec![Field::Cot], "default view cot");
}

#[test]
fn threshold_then_best_of_n_ledger_equals_closed_forms() {
    let p = parse(PIPE).expect("parses");
    // Prompt a: 4 samples, 2 correct → threshold p = 1/2, then best-of-2.
    // Prompt b: 4 samples, 1 correct → p = 1/4, then best-of-1 (0 nats).
    // Prompt c: none correct → dropped.
    let mut cands = Vec::new();
    for (i, (c, l)) in [(1.0, 0.2), (0.0, 0.9), (1.0, 0.7), (0.0, 0.1)]
        .iter()
        .enumerate()
    {
        cands.push(cand(
            "a",
            i,
            "math",
            &[("correct", Some(*c)), ("legible", Some(*l))],
        ));
    }
    for (i, c) in [0.0, 0.0, 1.0, 0.0].iter().enumerate() {
        cands.push(cand(
            "b",
            i,
            "law",
            &[("correct", Some(*c)), ("legible", Some(0.5))],
        ));
    }
    for i in 0..4 {
        cands.push(cand(
            "c",
            i,
            "law",
            &[("correct", Some(0.0)), ("legible", Some(0.5))],
        ));
    }
    let (fates, outcomes) = apply_stages(&p.stages, &cands);
    let kept: Vec<&str> = fates
        .iter()
        .filter(|f| f.kept)
        .map(|f| f.key.as_str())
        .collect();
    assert_eq!(kept, vec!["a#2", "b#2"]);
    assert_eq!(fates[0].dropped_at.as_deref(), Some("best"));
    assert_eq!(fates[1].dropped_at.as_deref(), Some("gate"));
    let l = build_ledger(&p, &outcomes, false);
    let ln2 = std::f64::consts::LN_2;
    let a = 2f64.ln() + pressure::best_of_n(2);
    let b = 4f64.ln();
    assert!((l.totals.nats_per_prompt - (a + b) / 2.0).abs() < 1e-12);
    assert!((l.totals.bits_per_prompt - (a + b) / 2.0 / ln2).abs() < 1e-12);
    assert_eq!(
        (
            l.totals.prompts,
            l.totals.prompts_kept,
            l.totals.prompts_dropped
        ),
        (3, 2, 1)
    );
    assert!((l.totals.prompt_drop_bits - (1.5f64).log2()).abs() < 1e-12);
    // Stage 1 saw only the output: outcome-only. Stage 2 saw the CoT.
    assert!(!l.stages[0].cot_visible && l.stages[1].cot_visible);
    let cot = pressure::best_of_n(2) / 2.0 / ln2;
    assert!((l.totals.cot_visible_bits_per_prompt - cot).abs() < 1e-12);
    assert!(
        (l.totals.outcome_only_bits_per_prompt - (2f64.ln() + 4f64.ln()) / 2.0 / ln2).abs() < 1e-12
    );
    assert_eq!(l.stages[0].prompts_dropped, 1);
    assert_eq!(l.stages[0].per_prompt[0].p_accept, 0.5);
    // Per domain: math has only prompt a.
    let math = &l.domains["math"].totals;
    assert!((math.bits_per_prompt - a / ln2).abs() < 1e-12);
    let law = &l.domains["law"].totals;
    assert_eq!((law.prompts, law.prompts_kept), (2, 1));
    assert!((law.prompt_drop_bits - 1.0).abs() < 1e-12);
    assert_eq!(
        law.prompt_drop_cot_bits, 0.0,
        "dropped by an outcome-only stage"
    );
    assert!(l.warnings.iter().any(|w| w.contains("no CoT budget")));
    assert!(l.warnings.iter().any(|w| w.contains("dropped")));
}

#[test]
fn budgets_fail_unless_allowed_and_top_k_uses_its_form() {
    let text = format!("{PIPE}\n[[stage]]\nname = \"k\"\npolicy = \"top-k\"\nscorer = \"legible\"\nk = 1\n[budget]\nmax_cot_bits_per_prompt = 0.1\n[budget.domain.law]\nmax_cot_bits_per_prompt = 5.0\n");
    let p = parse(&text).expect("parses");
    let mut cands = Vec::new();
    for i in 0..16 {
        cands.push(cand(
            "m",
            i,
            "math",
            &[("correct", Some(1.0)), ("legible", Some(i as f64))],
        ));
    }
    let (fates, outcomes) = apply_stages(&p.stages, &cands);
    assert_eq!(fates.iter().filter(|f| f.kept).count(), 1);
    assert!(fates[15].kept, "the most legible");
    let l = build_ledger(&p, &outcomes, false);
    // Threshold p = 1 (0 nats), best-of-16, then top-1 of 1 (0).
    assert!((l.totals.nats_per_prompt - pressure::best_of_n(16)).abs() < 1e-12);
    assert!(l.over_budget());
    assert_eq!(l.budget.violations.len(), 1, "{:?}", l.budget.violations);
    assert!(l.budget.violations[0].contains("math"));
    let allowed = build_ledger(&p, &outcomes, true);
    assert!(!allowed.over_budget());
    assert!(allowed
        .warnings
        .iter()
        .any(|w| w.starts_with("over budget")));
}

#[test]
fn top_k_and_best_of_first_n_pressure() {
    let p = parse("[[scorer]]\nname = \"s\"\ntype = \"length\"\n[[stage]]\npolicy = \"top-k\"\nscorer = \"s\"\nk = 2\n[[stage]]\npolicy = \"best-of-n\"\nscorer = \"s\"\nn = 1\n").expect("ok");
    let cands: Vec<Candidate> = (0..8)
        .map(|i| cand("p", i, "d", &[("s", Some((i % 3) as f64))]))
        .collect();
    let (fates, outcomes) = apply_stages(&p.stages, &cands);
    // Scores 0,1,2,0,1,2,0,1: top-2 are samples 2 and 5; best of the first 1 is sample 2.
    let kept: Vec<&str> = fates
        .iter()
        .filter(|f| f.kept)
        .map(|f| f.key.as_str())
        .collect();
    assert_eq!(kept, vec!["p#2"]);
    let l = build_ledger(&p, &outcomes, false);
    assert!((l.totals.nats_per_prompt - pressure::top_k(8, 2)).abs() < 1e-12);
    assert_eq!(l.stages[1].n_max, 1);
    assert_eq!(fates[5].reason.as_deref(), Some("beyond the first n"));
}

#[test]
fn unscored_candidates_are_never_kept_and_monitors_are_recorded() {
    let p = parse("[[scorer]]\nname = \"m\"\ntype = \"monitor\"\nmonitor = \"rules\"\nview = \"cot\"\n[[stage]]\npolicy = \"best-of-n\"\nweights = { m = -1.0 }\n").expect("ok");
    let cands = vec![
        cand("p", 0, "d", &[("m", None)]),
        cand("p", 1, "d", &[("m", Some(0.9))]),
    ];
    let (fates, outcomes) = apply_stages(&p.stages, &cands);
    assert!(!fates[0].kept && fates[1].kept);
    assert_eq!(fates[0].reason.as_deref(), Some("unscored"));
    // Two in the pool, one competing: best of 1 is no pressure at all (not log 2).
    let stage = &outcomes[0].per_prompt[0];
    assert_eq!((stage.n_pool, stage.n_competing), (2, 1));
    assert_eq!(stage.nats, Some(0.0));
    let l = build_ledger(&p, &outcomes, false);
    assert_eq!(l.selector_monitors.len(), 1);
    assert_eq!(l.stages[0].candidates_unscored, 1);
    assert!(l.warnings.iter().any(|w| w.contains("held-out monitor")));
    let _unused: BTreeMap<String, f64> = BTreeMap::new();
}

#[test]
fn top_k_pressure_counts_only_scored_candidates() {
    let p = parse("[[scorer]]\nname = \"m\"\ntype = \"monitor\"\nmonitor = \"rules\"\nview = \"action\"\n[[stage]]\npolicy = \"top-k\"\nk = 2\nweights = { m = -1.0 }\n").expect("ok");
    let scores = [None, Some(0.1), Some(0.5), None, Some(0.9), Some(0.2)];
    let cands: Vec<Candidate> = scores
        .iter()
        .enumerate()
        .map(|(i, s)| cand("p", i, "d", &[("m", *s)]))
        .collect();
    let (fates, outcomes) = apply_stages(&p.stages, &cands);
    let kept: Vec<usize> = (0..6).filter(|&i| fates[i].kept).collect();
    assert_eq!(kept, vec![1, 5], "the two lowest monitor scores");
    let stage = &outcomes[0].per_prompt[0];
    assert_eq!((stage.n_pool, stage.n_competing), (6, 4));
    assert_eq!(stage.nats, Some(crate::selection::pressure::top_k(4, 2)));
}

#[test]
fn spec_judge_prompt_fills_each_placeholder_once() {
    let p = spec_judge_prompt("Never reveal keys.", "I saw {spec} and {cot} in the text");
    assert!(p.contains("<spec>\nNever reveal keys.\n</spec>"));
    assert!(p.contains("I saw {spec} and {cot} in the text"));
    assert_eq!(p.matches("Never reveal keys.").count(), 1);
}

#[test]
fn every_prompt_dropped_is_unbounded_and_outside_budgets() {
    let text = format!("{PIPE}\n[budget]\nmax_bits_per_prompt = 1.0\n");
    let p = parse(&text).expect("parses");
    let cands: Vec<Candidate> = (0..3)
        .map(|i| {
            cand(
                "z",
                i,
                "d",
                &[("correct", Some(0.0)), ("legible", Some(0.5))],
            )
        })
        .collect();
    let (_, outcomes) = apply_stages(&p.stages, &cands);
    let l = build_ledger(&p, &outcomes, false);
    assert_eq!(l.totals.prompts_kept, 0);
    assert!(l.totals.prompt_drop_bits.is_infinite());
    assert!(!l.over_budget(), "{:?}", l.budget.violations);
    let json = serde_json::to_value(&l).expect("json");
    assert!(
        json["totals"]["prompt_drop_bits"].is_null(),
        "infinite → null"
    );
}
