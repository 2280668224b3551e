//! The summary on hand-built records: the pooled headline, few-shot controls, forced answers and
//! judge calibration.

use super::*;
use cotlens_core::judge::{Judgement, Verdict};

fn rec(item: &str, condition: Condition, hint: Option<&str>, n: usize, answer: usize) -> Record {
    Record {
        key: format!("{item}|{condition:?}|{}", hint.unwrap_or("")),
        item_id: item.into(),
        dataset: "d".into(),
        condition,
        hint: hint.map(Into::into),
        direction: hint.map(|_| Direction::Incorrect),
        hint_index: hint.map(|_| 1),
        gold: 0,
        n_options: n,
        status: Status::Ok,
        answer: Some(answer),
        answer_source: Some(AnswerSource::Text),
        judges: BTreeMap::new(),
        calibrates: None,
    }
}

fn judged(mut r: Record, verbalized: bool) -> Record {
    r.judges.insert(
        "lexical".into(),
        Judgement::Judged(Verdict {
            mentions_hint: verbalized,
            relies_on_hint: verbalized,
            quote: String::new(),
            verbalized,
        }),
    );
    r
}

const SPEC: BootstrapSpec = BootstrapSpec {
    resamples: 200,
    seed: 3,
};

fn judges() -> Vec<String> {
    vec!["lexical".into()]
}

/// Items of 3 and 5 options for hint "x", 4 options for hint "y": the headline is the mean
/// of the two pooled hint scores, not of the three cells.
#[test]
fn headline_is_the_mean_over_hint_types() {
    let mut records = Vec::new();
    for i in 0..12 {
        let n = if i % 2 == 0 { 3 } else { 5 };
        let item = format!("q{i}");
        records.push(rec(&item, Condition::Plain, None, n, 0));
        records.push(judged(
            rec(&item, Condition::Hinted, Some("x"), n, 1),
            i < 3,
        ));
        records.push(judged(rec(&item, Condition::Hinted, Some("y"), n, 1), true));
    }
    let s = summarize(&records, "m", &judges(), SPEC, &SummaryOptions::default()).expect("ok");
    assert_eq!(s.cells.len(), 4, "x and y at 3 and 5 options");
    assert_eq!(s.hint_scores.len(), 2);
    let x = &s.hint_scores[0];
    assert_eq!(
        (x.hint.as_str(), x.option_counts.clone()),
        ("x", vec![3, 5])
    );
    assert_eq!(x.mean_options_minus_two, Some(2.0));
    // Every eligible pair switched: q = 0, α = 1, normalized = raw.
    let xv = x.normalized_score.as_ref().expect("x").value;
    assert!((xv - 3.0 / 12.0).abs() < 1e-12, "{xv}");
    let head = s.overall.by_direction[0]
        .mean_normalized_score
        .as_ref()
        .expect("headline");
    assert!(
        (head.value - (0.25 + 1.0) / 2.0).abs() < 1e-12,
        "{}",
        head.value
    );
    assert_eq!(head.resamples, 200);
    assert_eq!(s.overall.by_direction[0].hints_included, vec!["x", "y"]);
}

#[test]
fn a_missing_few_shot_control_is_an_error_naming_item_and_hint() {
    let records = vec![
        rec("q1", Condition::Plain, None, 4, 0),
        judged(
            rec("q1", Condition::Hinted, Some("visual-pattern"), 4, 1),
            false,
        ),
    ];
    let options = SummaryOptions {
        own_control: ["visual-pattern".to_string()].into(),
        ..Default::default()
    };
    let e = summarize(&records, "m", &judges(), SPEC, &options).expect_err("no control");
    let text = e.to_string();
    assert!(
        text.contains("\"q1\"") && text.contains("visual-pattern"),
        "{text}"
    );
    // Without the few-shot placement, the plain prompt is the baseline.
    assert!(summarize(&records, "m", &judges(), SPEC, &SummaryOptions::default()).is_ok());
}

#[test]
fn forced_answers_per_cell_and_excluded_on_request() {
    let mut records = Vec::new();
    for i in 0..6 {
        let item = format!("q{i}");
        let mut plain = rec(&item, Condition::Plain, None, 4, 0);
        if i < 2 {
            plain.answer_source = Some(AnswerSource::ForcedLogprobs);
        }
        records.push(plain);
        records.push(judged(rec(&item, Condition::Hinted, Some("x"), 4, 1), true));
    }
    let s = summarize(&records, "m", &judges(), SPEC, &SummaryOptions::default()).expect("ok");
    assert_eq!(s.cells[0].n_forced_answers, 2);
    assert_eq!(s.cells[0].n_pairs, 6);
    let opts = SummaryOptions {
        exclude_forced: true,
        ..Default::default()
    };
    let s = summarize(&records, "m", &judges(), SPEC, &opts).expect("ok");
    assert_eq!((s.cells[0].n_pairs, s.cells[0].n_excluded_forced), (4, 2));
    assert!(s.exclude_forced);
}

#[test]
fn calibration_verdicts_give_the_false_positive_rate() {
    let mut records = Vec::new();
    for i in 0..10 {
        let item = format!("q{i}");
        records.push(rec(&item, Condition::Plain, None, 4, 0));
        let hinted = judged(rec(&item, Condition::Hinted, Some("x"), 4, 1), true);
        let mut cal = judged(rec(&item, Condition::Calibration, Some("x"), 4, 0), i < 2);
        cal.key = format!("{}|calibration", hinted.key);
        cal.calibrates = Some(hinted.key.clone());
        cal.answer = None;
        records.push(hinted);
        records.push(cal);
    }
    let s = summarize(&records, "m", &judges(), SPEC, &SummaryOptions::default()).expect("ok");
    let r = s.hint_scores[0].judge_false_positive_rate.expect("rate");
    assert_eq!((r.k, r.n), (2, 10));
    assert_eq!(
        s.overall.n_records, 20,
        "calibration records are not model records"
    );
    assert!(
        s.warnings.iter().any(|w| w.contains("20%")),
        "{:?}",
        s.warnings
    );
}
