//! `cotlens horizon` end to end against a loopback server playing a model with a known
//! accuracy-vs-depth law per condition. The server knows each generated question (the test
//! generates the same items from the same seed) and answers item i of depth d correctly when
//! i < k(condition, d), so every count is exact:
//!
//! - no-cot: k = round(20·σ(2 − 1.5 ln d)), whose law crosses 50% at d = e^(2/1.5) ≈ 3.79;
//! - filler:10: the same law shifted up (σ(3 − 1.5 ln d));
//! - repeat:2: the no-cot law, except that one answer per depth comes with reasoning (left out);
//! - cot: always correct (so its horizon is undefined: accuracy never falls to 50%).

use crate::common;

use common::server::{self, Config};
use common::*;
use cotlens_core::horizon::tasks::generate;
use cotlens_core::horizon::{Family, FILLER_LEAD};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

const DEPTHS: [u32; 5] = [1, 2, 4, 8, 16];
const N: usize = 20;
const SEED: u64 = 4;

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn k(intercept: f64, d: u32) -> usize {
    (N as f64 * sigmoid(intercept - 1.5 * f64::from(d).ln())).round() as usize
}

/// question → (depth, index, gold)
fn questions() -> HashMap<String, (u32, usize, i64)> {
    let mut map = HashMap::new();
    for d in DEPTHS {
        for (i, item) in generate(Family::Arithmetic, d, N, SEED)
            .expect("generate")
            .into_iter()
            .enumerate()
        {
            let gold = item.answer.to_string().parse().expect("integer");
            map.insert(item.question, (d, i, gold));
        }
    }
    map
}

fn script() -> Arc<dyn Fn(&Value) -> Value + Send + Sync> {
    let questions = questions();
    Arc::new(move |req: &Value| {
        let messages = req["messages"].as_array().cloned().unwrap_or_default();
        let user = messages
            .iter()
            .find(|m| m["role"] == "user")
            .and_then(|m| m["content"].as_str())
            .unwrap_or("")
            .to_string();
        let question = user.split("\n\n").next().unwrap_or("");
        let Some(&(d, i, gold)) = questions.get(question) else {
            return server::chat_response("scripted", "I do not know this question.", None);
        };
        let repeated = user.matches(question).count() > 1;
        let cot = user.contains("Think it through");
        let (correct, reasoning) = if cot {
            (true, None)
        } else if user.contains(FILLER_LEAD) {
            (i < k(3.0, d), None)
        } else if repeated {
            (
                i < k(2.0, d),
                (i == N - 1).then_some("Let me think: the steps are..."),
            )
        } else {
            (i < k(2.0, d), None)
        };
        let answer = if correct { gold } else { gold + 1 };
        if cot {
            return server::chat_response(
                "scripted",
                &format!("Working through each step carefully.\nAnswer: {answer}"),
                None,
            );
        }
        let prefilled = messages.last().is_some_and(|m| m["role"] == "assistant");
        let text = if prefilled {
            format!(" {answer}")
        } else {
            format!("Answer: {answer}")
        };
        server::chat_response("scripted", &text, reasoning)
    })
}

fn est(v: &Value) -> (f64, f64, f64) {
    (
        v["value"].as_f64().unwrap_or(f64::NAN),
        v["ci_low"].as_f64().unwrap_or(f64::NAN),
        v["ci_high"].as_f64().unwrap_or(f64::NAN),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scripted_law_gives_exact_counts_and_its_horizon() {
    let srv = server::start(Config {
        fault_every: 0,
        faults: Vec::new(),
        unauthorized: false,
        delay: Duration::ZERO,
        script: script(),
    })
    .await;
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let out = tmp.path().join("run");
    let out_s = out.display().to_string();
    let seed = SEED.to_string();
    let limit = N.to_string();
    let args = [
        "horizon",
        "--model",
        "openai:scripted",
        "--base-url",
        &srv.url,
        "--families",
        "arithmetic",
        "--depths",
        "1,2,4,8,16",
        "--limit",
        &limit,
        "--seed",
        &seed,
        "--conditions",
        "no-cot,filler:10,repeat:2,cot",
        "--out",
        &out_s,
        "--quiet",
        "--no-cache",
        "--retry-base-ms",
        "5",
        "--timeout",
        "5",
        "--json",
    ];
    let o = run(&home, &args, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: Value = serde_json::from_slice(&o.stdout).expect("json summary");
    assert_eq!(summary, read_json(&out.join("summary.json")));
    assert_eq!(record_keys(&out).len(), DEPTHS.len() * N * 4);
    assert_eq!(summary["n_items"], DEPTHS.len() * N);
    let family = |c: &str| {
        summary["families"]
            .as_array()
            .expect("families")
            .iter()
            .find(|f| f["family"] == "arithmetic" && f["condition"] == c)
            .cloned()
            .expect(c)
    };
    // Exact counts at every depth.
    for (condition, intercept) in [("no-cot", 2.0), ("filler:10", 3.0), ("repeat:2", 2.0)] {
        let f = family(condition);
        let points = f["points"].as_array().expect("points");
        assert_eq!(points.len(), DEPTHS.len());
        for (p, d) in points.iter().zip(DEPTHS) {
            assert_eq!(p["depth"], d, "{p}");
            // The answer with reasoning is item N − 1's, which the law fails at every depth.
            assert!(k(intercept, d) < N);
            let n = N - usize::from(condition == "repeat:2");
            assert_eq!(p["n"], n, "{condition} d{d}: {p}");
            assert_eq!(
                p["n_correct"].as_u64(),
                Some(k(intercept, d) as u64),
                "{condition} d{d}: {p}"
            );
            assert_eq!(p["n_unparseable"], 0);
            let (v, lo, hi) = est(&p["accuracy"]);
            assert!((v - k(intercept, d) as f64 / n as f64).abs() < 1e-12);
            assert!(lo <= v && v <= hi);
        }
    }
    assert_eq!(family("repeat:2")["n_excluded_reasoning"], DEPTHS.len());
    // The no-CoT horizon: near the law's crossing, which its interval holds.
    let law = (2.0f64 / 1.5).exp();
    let h = &family("no-cot")["horizon"];
    let (v, lo, hi) = est(h);
    assert!(lo <= v && v <= hi, "{h}");
    assert!(lo <= law && law <= hi, "law {law} outside {h}");
    assert!((v - law).abs() / law < 0.1, "fitted {v} vs law {law}");
    assert_eq!(h["extrapolated"], false);
    // Filler lifts the curve: a later crossing, e^(3/1.5) ≈ 7.39.
    let (fv, _, _) = est(&family("filler:10")["horizon"]);
    assert!(
        (fv - 2f64.exp()).abs() / 2f64.exp() < 0.1,
        "filler horizon {fv}"
    );
    // CoT never fails: no horizon, and the reason.
    let cot = family("cot");
    assert!(cot["horizon"].is_null());
    assert!(
        cot["undefined_reason"]
            .as_str()
            .is_some_and(|r| r.contains("every outcome is a success")),
        "{cot}"
    );
    // Gains: filler over no-cot per depth is exactly (k_f − k_n) / 20, over the 20 pairs.
    let gains = summary["gains"].as_array().expect("gains");
    for d in DEPTHS {
        let g = gains
            .iter()
            .find(|g| g["condition"] == "filler:10" && g["depth"] == d)
            .expect("gain");
        assert_eq!(g["n_pairs"], N);
        let (v, lo, hi) = est(&g["gain"]);
        assert!(
            (v - (k(3.0, d) as f64 - k(2.0, d) as f64) / N as f64).abs() < 1e-12,
            "{g}"
        );
        assert!(lo <= v && v <= hi && lo >= -1.0 && hi <= 1.0);
    }
    let pooled = gains
        .iter()
        .find(|g| g["condition"] == "filler:10" && g["depth"].is_null())
        .expect("pooled gain");
    assert_eq!(pooled["n_pairs"], N * DEPTHS.len());
    // Repeat is no better than no-cot: every pair agrees, and the interval still has width.
    let r = gains
        .iter()
        .find(|g| g["condition"] == "repeat:2" && g["depth"].is_null())
        .expect("repeat gain");
    let (v, lo, hi) = est(&r["gain"]);
    assert_eq!(v, 0.0);
    assert!(lo < 0.0 && hi > 0.0);
    assert_eq!(r["n_pairs"], (N - 1) * DEPTHS.len());
    // Records say how reasoning was kept out.
    let records = std::fs::read_to_string(out.join("records.jsonl")).expect("records");
    for line in records.lines() {
        let r: Value = serde_json::from_str(line).expect("record");
        if r["reasoning_seen"] == true {
            // Left out of the accuracy, so no verdict either.
            assert!(r["correct"].is_null(), "{r}");
        }
        if r["condition"] == "cot" {
            assert!(r["no_cot_method"].is_null());
        } else {
            assert_eq!(r["no_cot_method"], "prefill");
            assert_eq!(r["assistant_prefix"], "Answer:");
        }
    }
    let manifest = read_json(&out.join("manifest.json"));
    assert_eq!(manifest["no_cot_method"], "prefill");
    assert_eq!(manifest["protocol"], "horizon");
    assert!(out.join("horizon.svg").exists());
    let report = std::fs::read_to_string(out.join("report.html")).expect("report");
    assert!(report.contains("no-CoT horizon") && report.contains("Gains over no-CoT"));
    // A resume asks nothing and gives the same summary.
    let before = srv.requests.load(std::sync::atomic::Ordering::SeqCst);
    let o = run(
        &home,
        &["horizon", "--resume", &out_s, "--quiet", "--json"],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        srv.requests.load(std::sync::atomic::Ordering::SeqCst),
        before
    );
    let again: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(again, summary);
}

#[test]
fn horizon_help_and_bad_flags() {
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let o = run(&home, &["horizon", "--help"], &[]);
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "--depths",
        "--conditions",
        "filler:N",
        "logistic fit",
        "--families",
    ] {
        assert!(help.contains(needle), "{needle} missing from help");
    }
    for (flag, value, says) in [
        ("--conditions", "no-cot,filler:0", "filler:0"),
        ("--conditions", "think", "unknown condition"),
        ("--families", "algebra", "unknown family"),
        ("--depths", "0,2", "--depths"),
        ("--dataset", "gsm8k:x.jsonl", "per-item depth or minutes"),
    ] {
        let out = tmp.path().join(format!("bad{}", flag.len() + value.len()));
        let o = run(
            &home,
            &[
                "horizon",
                flag,
                value,
                "--out",
                &out.display().to_string(),
                "--quiet",
            ],
            &[],
        );
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{flag} {value}: {}", stderr(&o));
        assert!(!out.exists(), "{flag} {value} wrote a run directory");
    }
}

#[test]
fn a_dataset_without_depth_or_minutes_names_file_line_and_field() {
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let path = tmp.path().join("timed.jsonl");
    std::fs::write(
        &path,
        "{\"id\":\"a\",\"question\":\"What is 2+2?\",\"answer\":4,\"depth\":1}\n{\"id\":\"b\",\"question\":\"What is 3+3?\",\"answer\":6}\n",
    )
    .expect("write");
    let out = tmp.path().join("run");
    let spec = format!("jsonl:{}", path.display());
    let o = run(
        &home,
        &[
            "horizon",
            "--dataset",
            &spec,
            "--out",
            &out.display().to_string(),
            "--quiet",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains(&format!("{}:2", path.display())) && e.contains("`depth`"),
        "{e}"
    );
    assert!(!out.exists());
    // The whole file is checked before --limit picks a subset: no seed lets it through.
    for seed in ["0", "1", "2", "3"] {
        let o = run(
            &home,
            &[
                "horizon",
                "--dataset",
                &spec,
                "--limit",
                "1",
                "--seed",
                seed,
                "--out",
                &out.display().to_string(),
                "--quiet",
            ],
            &[],
        );
        assert_eq!(o.status.code(), Some(2), "seed {seed}: {}", stderr(&o));
        assert!(!out.exists());
    }
    std::fs::write(
        &path,
        "{\"id\":\"a\",\"question\":\"Q\",\"answer\":4,\"depth\":0}\n",
    )
    .expect("write");
    let o = run(
        &home,
        &[
            "horizon",
            "--dataset",
            &spec,
            "--out",
            &out.display().to_string(),
            "--quiet",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("depth"), "{}", stderr(&o));
    assert!(!out.exists());
}

/// A dataset with human minutes: the curve is drawn against minutes, and the horizon is in
/// minutes. The scripted model solves "What is A plus B?" when A + B is even or the task takes
/// under 4 minutes, so success falls with minutes without being separated by them.
#[tokio::test(flavor = "multi_thread")]
async fn a_minutes_dataset_gives_a_horizon_in_minutes() {
    let srv = server::start(Config {
        fault_every: 0,
        faults: Vec::new(),
        unauthorized: false,
        delay: Duration::ZERO,
        script: Arc::new(|req: &Value| {
            let user = req["messages"][0]["content"].as_str().unwrap_or("");
            let nums: Vec<i64> = user
                .trim_start_matches("What is ")
                .split(['?', ' ', '(', ')'])
                .filter_map(|t| t.parse().ok())
                .collect();
            let [a, b, minutes] = nums[..] else {
                // Not a question of the protocol (the capability probe's).
                return server::chat_response("scripted", "One", None);
            };
            let answer = if (a + b) % 2 == 0 || minutes < 4 {
                a + b
            } else {
                a + b + 1
            };
            server::chat_response("scripted", &format!(" {answer}"), None)
        }),
    })
    .await;
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let path = tmp.path().join("timed.jsonl");
    let mut lines = Vec::new();
    for (i, minutes) in [1, 2, 2, 3, 4, 6, 8, 8, 16, 30, 30, 60].iter().enumerate() {
        for j in 0..4i64 {
            let (a, b) = (i as i64 + 1, j);
            lines.push(
                serde_json::json!({
                    "id": format!("t{i}-{j}"),
                    "question": format!("What is {a} plus {b}? (tag {minutes})"),
                    "answer": a + b,
                    "minutes": minutes,
                })
                .to_string(),
            );
        }
    }
    std::fs::write(&path, lines.join("\n") + "\n").expect("write");
    let out = tmp.path().join("run");
    let spec = format!("jsonl:{}", path.display());
    let o = run(
        &home,
        &[
            "horizon",
            "--model",
            "openai:scripted",
            "--base-url",
            &srv.url,
            "--dataset",
            &spec,
            "--limit",
            "100",
            "--conditions",
            "no-cot",
            "--out",
            &out.display().to_string(),
            "--quiet",
            "--no-cache",
            "--json",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: Value = serde_json::from_slice(&o.stdout).expect("json");
    let f = &summary["families"][0];
    assert_eq!(f["family"], "jsonl/timed");
    assert_eq!(f["axis"], "minutes");
    let points = f["points"].as_array().expect("points");
    assert_eq!(points.len(), 9, "distinct minutes");
    assert_eq!(points[0]["minutes"], 1.0);
    assert!(points[0]["depth"].is_null());
    assert_eq!(f["n"], 48);
    // Under 4 minutes all 4 of each are solved; from 4 on, only the even sums (2 of 4).
    let solved: u64 = points
        .iter()
        .map(|p| p["n_correct"].as_u64().expect("n"))
        .sum();
    assert_eq!(solved, 4 * 4 + 8 * 2);
    let (v, lo, hi) = est(&f["horizon"]);
    assert!(lo <= v && v <= hi && v > 4.0, "{}", f["horizon"]);
    assert!(summary["gains"].as_array().expect("gains").is_empty());
}
