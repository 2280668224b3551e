//! The generators against independent readers of their own text, the fit against statsmodels
//! and hand-derived cases, and the prompts against golden files.

use super::fit::{fit_logistic, horizon, horizon_point, Undefined};
use super::tasks::generate;
use super::*;
use crate::free_response::Gold;
use crate::stats::BootstrapSpec;
use regex::Regex;
use std::collections::HashMap;
use std::path::Path;

/// Evaluate a generated question from its text alone.
fn evaluate(family: Family, text: &str) -> Option<i64> {
    match family {
        Family::Arithmetic => {
            let start = Regex::new(r"^Start with (\d+)\.").ok()?;
            let step = Regex::new(r" (Add|Subtract|Multiply by) (\d+)\.").ok()?;
            let mut v: i64 = start.captures(text)?[1].parse().ok()?;
            for c in step.captures_iter(text) {
                let k: i64 = c[2].parse().ok()?;
                v = match &c[1] {
                    "Add" => v + k,
                    "Subtract" => v - k,
                    _ => v * k,
                };
            }
            text.ends_with(" What number do you end with?").then_some(v)
        }
        Family::Variables => {
            let line = Regex::new(r"(?m)^([a-z]+) = ([a-z]+|\d+) ([-+*]) (\d+)$").ok()?;
            let defs: HashMap<String, (String, String, i64)> = line
                .captures_iter(text)
                .map(|c| {
                    (
                        c[1].to_string(),
                        (
                            c[2].to_string(),
                            c[3].to_string(),
                            c[4].parse().unwrap_or(0),
                        ),
                    )
                })
                .collect();
            fn value(
                name: &str,
                defs: &HashMap<String, (String, String, i64)>,
                depth: usize,
            ) -> Option<i64> {
                if depth > 1000 {
                    return None;
                }
                let (operand, op, k) = defs.get(name)?;
                let x = match operand.parse::<i64>() {
                    Ok(n) => n,
                    Err(_) => value(operand, defs, depth + 1)?,
                };
                Some(match op.as_str() {
                    "+" => x + k,
                    "-" => x - k,
                    _ => x * k,
                })
            }
            let asked = Regex::new(r"What is the value of ([a-z]+)\?$").ok()?;
            value(&asked.captures(text)?[1], &defs, 0)
        }
        Family::Hops => {
            let mentor_re = Regex::new(r"(?m)^(\w+)'s mentor is (\w+)\.$").ok()?;
            let locker_re = Regex::new(r"(?m)^(\w+)'s locker number is (\d+)\.$").ok()?;
            let mentor: HashMap<&str, &str> = mentor_re
                .captures_iter(text)
                .map(|c| {
                    (
                        c.get(1).map_or("", |m| m.as_str()),
                        c.get(2).map_or("", |m| m.as_str()),
                    )
                })
                .collect();
            let locker: HashMap<&str, i64> = locker_re
                .captures_iter(text)
                .map(|c| {
                    (
                        c.get(1).map_or("", |m| m.as_str()),
                        c[2].parse().unwrap_or(-1),
                    )
                })
                .collect();
            let q =
                Regex::new(r"What is the locker number of ((?:the mentor of )*)(\w+)\?$").ok()?;
            let c = q.captures(text)?;
            let hops = c[1].matches("the mentor of ").count();
            let mut who = c.get(2)?.as_str();
            for _ in 0..hops {
                who = mentor.get(who)?;
            }
            locker.get(who).copied()
        }
        Family::Pointers => {
            let arrow = Regex::new(r"(?m)^(\d+) -> (\d+)$").ok()?;
            let next: HashMap<i64, i64> = arrow
                .captures_iter(text)
                .map(|c| (c[1].parse().unwrap_or(0), c[2].parse().unwrap_or(0)))
                .collect();
            let q = Regex::new(r"Start at position (\d+) and follow the pointers (\d+) times?\.")
                .ok()?;
            let c = q.captures(text)?;
            let mut at: i64 = c[1].parse().ok()?;
            for _ in 0..c[2].parse::<usize>().ok()? {
                at = *next.get(&at)?;
            }
            Some(at)
        }
    }
}

/// Every person is someone's mentor, every position some pointer's target, exactly once.
fn in_degrees_are_one(family: Family, text: &str) -> Option<bool> {
    let re = match family {
        Family::Hops => Regex::new(r"(?m)^\w+'s mentor is (\w+)\.$").ok()?,
        _ => Regex::new(r"(?m)^\d+ -> (\d+)$").ok()?,
    };
    let targets: Vec<&str> = re
        .captures_iter(text)
        .filter_map(|c| c.get(1).map(|m| m.as_str()))
        .collect();
    let distinct: std::collections::HashSet<&&str> = targets.iter().collect();
    Some(!targets.is_empty() && distinct.len() == targets.len())
}

fn gold(item: &HorizonItem) -> i64 {
    match &item.answer {
        Gold::Number(n) => n.as_i64().expect("integer"),
        Gold::Text(t) => panic!("text answer {t}"),
    }
}

#[test]
fn every_family_and_depth_reads_back_as_its_answer() {
    for family in Family::ALL {
        for depth in [1, 2, 3, 4, 8, 16, 32, 87, tasks::MAX_DEPTH] {
            let count = if depth > 32 { 2 } else { 12 };
            let items = generate(family, depth, count, 5).expect("generate");
            assert_eq!(items.len(), count);
            for item in &items {
                assert_eq!(
                    evaluate(family, &item.question),
                    Some(gold(item)),
                    "{}:\n{}",
                    item.id,
                    item.question
                );
                assert_eq!(item.depth, Some(depth));
                assert!((0..=999).contains(&gold(item)));
                if matches!(family, Family::Hops | Family::Pointers) {
                    assert_eq!(
                        in_degrees_are_one(family, &item.question),
                        Some(true),
                        "{}",
                        item.id
                    );
                }
            }
            let distinct: std::collections::HashSet<&str> =
                items.iter().map(|i| i.question.as_str()).collect();
            assert_eq!(distinct.len(), items.len(), "{family:?} d{depth} repeats");
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_items_and_another_seed_others() {
    for family in Family::ALL {
        let a = generate(family, 4, 6, 11).expect("a");
        assert_eq!(a, generate(family, 4, 6, 11).expect("again"));
        let b = generate(family, 4, 6, 12).expect("b");
        assert_ne!(a, b);
        // A larger count extends, never reshuffles, the smaller one.
        assert_eq!(a[..], generate(family, 4, 9, 11).expect("more")[..6]);
    }
}

#[test]
fn depth_is_the_number_of_serial_steps() {
    let a = &generate(Family::Arithmetic, 5, 1, 0).expect("a")[0].question;
    assert_eq!(a.matches(['.']).count() - 1, 5, "{a}");
    let v = &generate(Family::Variables, 5, 1, 0).expect("v")[0].question;
    assert_eq!(v.lines().count(), 5 + 2, "{v}");
    let h = &generate(Family::Hops, 5, 1, 0).expect("h")[0].question;
    assert_eq!(h.matches("the mentor of ").count(), 4, "{h}");
    let p = &generate(Family::Pointers, 1, 1, 0).expect("p")[0].question;
    assert!(p.contains("follow the pointers 1 time."), "{p}");
    assert!(generate(Family::Hops, 0, 1, 0).is_err());
    assert!(generate(Family::Hops, tasks::MAX_DEPTH + 1, 1, 0).is_err());
}

#[test]
fn an_exhausted_family_is_an_error_not_a_repeat() {
    // Arithmetic at depth 1 has at most 29 starts × 42 operations; ask for more than exist.
    let err = generate(Family::Arithmetic, 1, 5000, 0).expect_err("exhausted");
    assert!(err.contains("lower --limit"), "{err}");
}

proptest::proptest! {
    #[test]
    fn generated_items_read_back_for_any_seed(seed in 0u64..u64::MAX, depth in 1u32..24, f in 0usize..4) {
        let family = Family::ALL[f];
        let items = generate(family, depth, 2, seed).expect("generate");
        for item in &items {
            proptest::prop_assert_eq!(evaluate(family, &item.question), Some(gold(item)));
        }
    }
}

#[test]
fn conditions_parse_and_print_round_trip() {
    for text in ["no-cot", "cot", "filler:64", "repeat:3", "filler:1"] {
        let c = Condition::parse(text).expect(text);
        assert_eq!(c.to_string(), text);
        let json = serde_json::to_string(&c).expect("json");
        assert_eq!(serde_json::from_str::<Condition>(&json).expect("back"), c);
    }
    for bad in [
        "",
        "filler",
        "filler:0",
        "filler:-3",
        "repeat:x",
        "repeat:33",
        "nocot",
        "filler:1:2",
    ] {
        assert!(Condition::parse(bad).is_err(), "{bad}");
    }
    assert!(Condition::NoCot.answers_at_once() && !Condition::Cot.answers_at_once());
}

fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/horizon")
        .join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_GOLDEN").is_some()
        || !path.exists() && std::env::var_os("CI").is_none()
    {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden file {}", path.display()));
    assert_eq!(
        actual, expected,
        "{name} changed; rerun with UPDATE_GOLDEN=1 if intended (and bump the version)"
    );
}

#[test]
fn golden_items_and_prompts() {
    for family in Family::ALL {
        let item = &generate(family, 3, 1, 0).expect("generate")[0];
        golden(
            &format!("{}-d3", family.name()),
            &format!("{}\n--- answer: {}\n", item.question, item.answer),
        );
    }
    let q = &generate(Family::Arithmetic, 2, 1, 0).expect("generate")[0].question;
    for c in ["no-cot", "filler:12", "repeat:2", "cot"] {
        let messages = render_prompt(q, Condition::parse(c).expect(c));
        assert_eq!(messages.len(), 1);
        golden(
            &format!("prompt-{}", c.replace(':', "-")),
            &messages[0].content,
        );
    }
    assert_eq!(filler(5), "1 2 3 4 5");
}

// The fit.

fn outcomes(counts: &[(f64, usize, usize)]) -> Vec<(f64, bool)> {
    let mut out = Vec::new();
    for &(t, k, n) in counts {
        out.extend(std::iter::repeat_n((t, true), k));
        out.extend(std::iter::repeat_n((t, false), n - k));
    }
    out
}

#[test]
fn two_depths_fit_their_proportions_exactly() {
    // Two depths: the fit is saturated, so σ(a) = 0.8 at t = 1 and σ(a + b ln 4) = 0.2 at
    // t = 4. Then a = logit 0.8 = ln 4, b = (logit 0.2 − logit 0.8) / ln 4 = −2, and the
    // crossing is ln t* = −a/b = ln 2: t* = 2.
    let o = outcomes(&[(1.0, 8, 10), (4.0, 2, 10)]);
    let (t, fit) = horizon_point(&o).expect("defined");
    assert!((t - 2.0).abs() < 1e-9, "{t}");
    assert!((fit.intercept - 4f64.ln()).abs() < 1e-9);
    assert!((fit.slope + 2.0).abs() < 1e-9);
    assert!((fit.predict(1.0) - 0.8).abs() < 1e-9 && (fit.predict(4.0) - 0.2).abs() < 1e-9);
}

#[test]
fn the_fit_equals_statsmodels() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/horizon-fit/statsmodels.json");
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    let cases = fixture["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 3);
    for case in cases {
        let o: Vec<(f64, bool)> = case["outcomes"]
            .as_array()
            .expect("outcomes")
            .iter()
            .map(|p| (p[0].as_f64().expect("t"), p[1].as_bool().expect("y")))
            .collect();
        let (t, fit) = horizon_point(&o).expect("defined");
        let close = |a: f64, key: &str| {
            let b = case[key].as_f64().expect(key);
            assert!(
                (a - b).abs() < 1e-6,
                "{}: {key} {a} vs statsmodels {b}",
                case["name"]
            );
        };
        close(fit.intercept, "intercept");
        close(fit.slope, "slope");
        close(t, "horizon");
        let h = horizon(
            &o,
            BootstrapSpec {
                resamples: 400,
                seed: 3,
            },
            2.0,
        )
        .expect("horizon");
        assert!(h.ci_low <= h.value && h.value <= h.ci_high, "{h:?}");
        assert!(h.ci_low < h.ci_high);
    }
}

#[test]
fn undefined_horizons_say_why() {
    let all = outcomes(&[(1.0, 5, 5), (2.0, 5, 5)]);
    assert_eq!(fit_logistic(&all), Err(Undefined::AllSuccess));
    let none = outcomes(&[(1.0, 0, 5), (2.0, 0, 5)]);
    assert_eq!(fit_logistic(&none), Err(Undefined::AllFailure));
    let one = outcomes(&[(4.0, 2, 5)]);
    assert_eq!(fit_logistic(&one), Err(Undefined::OneDepth(4.0)));
    let separated = outcomes(&[(1.0, 5, 5), (2.0, 3, 5), (4.0, 0, 5)]);
    assert_eq!(
        fit_logistic(&separated),
        Err(Undefined::Separated {
            below: 2.0,
            above: 4.0
        })
    );
    assert_eq!(
        fit_logistic(&outcomes(&[(1.0, 0, 5), (2.0, 5, 5)])),
        Err(Undefined::Rising {
            below: 1.0,
            above: 2.0
        })
    );
    // One success at depth 1 and nothing else: below 50% everywhere, not "separated at 1".
    assert_eq!(
        fit_logistic(&outcomes(&[(1.0, 1, 10), (2.0, 0, 10), (4.0, 0, 10)])),
        Err(Undefined::AlwaysBelow)
    );
    assert_eq!(
        fit_logistic(&outcomes(&[
            (1.0, 10, 10),
            (2.0, 10, 10),
            (4.0, 9, 10),
            (16.0, 0, 1)
        ])),
        Err(Undefined::Separated {
            below: 4.0,
            above: 16.0
        })
    );
    // A sharp clean curve, 100/100/60/0/0%: the crossing lies between 4 and 8.
    assert_eq!(
        fit_logistic(&outcomes(&[
            (1.0, 5, 5),
            (2.0, 5, 5),
            (4.0, 3, 5),
            (8.0, 0, 5),
            (16.0, 0, 5)
        ])),
        Err(Undefined::Separated {
            below: 4.0,
            above: 8.0
        })
    );
    // Exactly flat (20%, 10%, 20%): the slope is 0 up to rounding, never a crossing.
    let flat = outcomes(&[(1.0, 2, 10), (2.0, 1, 10), (4.0, 2, 10)]);
    assert!(matches!(horizon_point(&flat), Err(Undefined::NoDecline(b)) if b == 0.0));
    let rising = outcomes(&[(1.0, 1, 5), (2.0, 2, 5), (4.0, 4, 5)]);
    assert!(matches!(horizon_point(&rising), Err(Undefined::NoDecline(b)) if b > 0.0));
    assert_eq!(fit_logistic(&[]), Err(Undefined::NoData));
    assert!(matches!(
        fit_logistic(&[(0.0, true), (1.0, false)]),
        Err(Undefined::BadDepth(_))
    ));
    for e in [
        Undefined::AllSuccess,
        Undefined::Separated {
            below: 2.0,
            above: 4.0,
        },
    ] {
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn crossings_outside_the_depths_are_marked_or_undefined() {
    let spec = BootstrapSpec {
        resamples: 200,
        seed: 1,
    };
    // Flat and low, as the embedded model's curves are: the fitted curve crosses far below the
    // smallest depth; accuracy never reaches 50% where it was measured.
    let flat = outcomes(&[(1.0, 3, 10), (2.0, 2, 10), (4.0, 2, 10)]);
    match horizon(&flat, spec, 2.0) {
        Err(Undefined::OutsideRange { crossing, side, .. }) => {
            assert!(crossing < 0.5 && side == "is below", "{crossing} {side}")
        }
        other => panic!("{other:?}"),
    }
    // High and slowly falling: the crossing is past the largest depth; within the factor it is
    // reported as extrapolated, beyond it undefined.
    let high = outcomes(&[(1.0, 9, 10), (2.0, 8, 10), (4.0, 7, 10)]);
    let (t, _) = horizon_point(&high).expect("point");
    assert!(t > 8.0, "{t}");
    assert!(matches!(
        horizon(&high, spec, 2.0),
        Err(Undefined::OutsideRange {
            side: "is above",
            ..
        })
    ));
    let h = horizon(&high, spec, t / 4.0 + 1.0).expect("within the factor");
    assert!(
        h.extrapolated && h.ci_low <= h.value && h.value <= h.ci_high,
        "{h:?}"
    );
    let o = outcomes(&[(1.0, 9, 10), (2.0, 5, 10), (4.0, 1, 10)]);
    let h = horizon(&o, spec, 2.0).expect("horizon");
    assert!(!h.extrapolated && (h.value - 2.0).abs() < 0.05, "{h:?}");
}

proptest::proptest! {
    #[test]
    fn the_fit_is_a_maximum(ks in proptest::collection::vec(0usize..=8, 3..6)) {
        let counts: Vec<(f64, usize, usize)> = ks.iter().enumerate().map(|(i, &k)| (f64::from(1u32 << i), k, 8)).collect();
        let o = outcomes(&counts);
        if let Ok(fit) = fit_logistic(&o) {
            // The score equations hold at the maximum: Σ(y − p) = 0 and Σ(y − p)·x = 0.
            let (mut g0, mut g1) = (0.0, 0.0);
            for &(t, y) in &o {
                let r = f64::from(u8::from(y)) - fit.predict(t);
                g0 += r;
                g1 += r * t.ln();
            }
            proptest::prop_assert!(g0.abs() < 1e-7 && g1.abs() < 1e-7, "{} {}", g0, g1);
        }
    }
}
