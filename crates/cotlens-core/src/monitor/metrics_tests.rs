use super::*;

fn data(pos: &[f64], neg: &[f64]) -> Vec<(f64, bool)> {
    pos.iter()
        .map(|&s| (s, true))
        .chain(neg.iter().map(|&s| (s, false)))
        .collect()
}

#[test]
fn hand_computed_cases() {
    // Perfect separation.
    assert_eq!(auroc(&data(&[0.9, 0.8], &[0.1, 0.2])), Some(1.0));
    // All tied: 0.5.
    assert_eq!(auroc(&data(&[0.5, 0.5], &[0.5])), Some(0.5));
    // pos {0.8, 0.4}, neg {0.6, 0.2}: pairs (0.8>0.6, 0.8>0.2, 0.4<0.6, 0.4>0.2) = 3/4.
    assert_eq!(auroc(&data(&[0.8, 0.4], &[0.6, 0.2])), Some(0.75));
    // A tie between classes counts one half: pos {0.5}, neg {0.5, 0.1} = (0.5 + 1) / 2.
    assert_eq!(auroc(&data(&[0.5], &[0.5, 0.1])), Some(0.75));
    assert_eq!(auroc(&data(&[0.5], &[])), None);

    // Threshold 0.5 on pos {0.9, 0.6, 0.3}, neg {0.7, 0.2, 0.1, 0.0}:
    // TPR 2/3, FPR 1/4, precision 2/3, g-mean² = 2/3 · 3/4 = 0.5.
    let d = data(&[0.9, 0.6, 0.3], &[0.7, 0.2, 0.1, 0.0]);
    let a = at_threshold(&d, 0.5).expect("both classes");
    assert!((a.tpr - 2.0 / 3.0).abs() < 1e-12 && (a.fpr - 0.25).abs() < 1e-12);
    assert!((a.precision.expect("flags") - 2.0 / 3.0).abs() < 1e-12);
    assert!((a.g_mean2 - 0.5).abs() < 1e-12);

    // TPR at 25% FPR: the smallest threshold flagging at most 1 of 4 negatives is 0.3 (flags
    // only the 0.7 negative) → every positive is caught.
    let f = at_fpr(&d, 0.25).expect("defined");
    assert_eq!(f.threshold, 0.3);
    assert!((f.tpr - 1.0).abs() < 1e-12 && (f.fpr - 0.25).abs() < 1e-12);
    // At 1% FPR no negative may be flagged: the smallest such threshold is 0.9 → TPR 1/3.
    let f = at_fpr(&d, 0.01).expect("defined");
    assert_eq!(f.threshold, 0.9);
    assert_eq!(f.fpr, 0.0);
    assert!((f.tpr - 1.0 / 3.0).abs() < 1e-12, "{f:?}");
}

#[test]
fn matches_scikit_learn_on_random_data() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sklearn_roc.json"
    ))
    .expect("fixture");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let cases = v["cases"].as_array().expect("cases");
    assert!(cases.len() >= 20);
    for (i, c) in cases.iter().enumerate() {
        let scores: Vec<f64> = c["scores"]
            .as_array()
            .expect("scores")
            .iter()
            .map(|x| x.as_f64().expect("f64"))
            .collect();
        let labels: Vec<bool> = c["labels"]
            .as_array()
            .expect("labels")
            .iter()
            .map(|x| x.as_bool().expect("bool"))
            .collect();
        let d: Vec<(f64, bool)> = scores.into_iter().zip(labels).collect();
        let expected = c["auroc"].as_f64().expect("auroc");
        let got = auroc(&d).expect("both classes");
        assert!(
            (got - expected).abs() < 1e-12,
            "case {i}: {got} vs scikit-learn {expected}"
        );
        let curve = roc_curve(&d);
        let fpr: Vec<f64> = c["fpr"]
            .as_array()
            .expect("fpr")
            .iter()
            .map(|x| x.as_f64().expect("f64"))
            .collect();
        let tpr: Vec<f64> = c["tpr"]
            .as_array()
            .expect("tpr")
            .iter()
            .map(|x| x.as_f64().expect("f64"))
            .collect();
        assert_eq!(curve.len(), fpr.len(), "case {i}: number of ROC points");
        for (k, p) in curve.iter().enumerate() {
            assert!(
                (p.0 - fpr[k]).abs() < 1e-12 && (p.1 - tpr[k]).abs() < 1e-12,
                "case {i} point {k}"
            );
        }
    }
}

#[test]
fn bootstrap_intervals_bracket_the_estimates() {
    let d = data(
        &[0.9, 0.8, 0.7, 0.4, 0.65],
        &[0.1, 0.5, 0.2, 0.3, 0.6, 0.05],
    );
    let m = evaluate(
        &d,
        0.5,
        BootstrapSpec {
            resamples: 300,
            seed: 3,
        },
    );
    assert_eq!((m.n, m.n_positive, m.n_negative), (11, 5, 6));
    for e in [m.auroc, m.tpr_at_5pct_fpr, m.recall, m.precision, m.g_mean2]
        .into_iter()
        .flatten()
    {
        assert!(
            e.ci_low <= e.value + 1e-12 && e.value <= e.ci_high + 1e-12 && e.ci_high <= 1.0,
            "{e:?}"
        );
    }
    assert_eq!(
        m,
        evaluate(
            &d,
            0.5,
            BootstrapSpec {
                resamples: 300,
                seed: 3
            }
        ),
        "seeded"
    );
}
