//! `cotlens select` on a sample run written by the test (real binary, no model): SFT output and
//! its formats, ledger values against the closed forms, the verbatim refusal of an edited trace,
//! pipeline errors with file:line (exit 2), and budgets (exit 3 unless allowed).

use crate::common;

use common::*;
use cotlens::protocols::sample::SampleRecord;
use cotlens_core::selection::pressure;
use cotlens_core::selection::verbatim::{content_hash, split};
use cotlens_core::types::{ChatRequest, Completion, FinishReason, Message, Sampling, Usage};
use serde_json::json;
use std::path::Path;

/// 3 prompts × 4 samples of scripted text: prompt p0 has 2 correct samples, p1 one, p2 none.
fn write_sample_run(dir: &Path) {
    std::fs::create_dir_all(dir).expect("dir");
    let manifest = json!({"protocol": "sample", "settings": {"n": 4, "temperature": 0.8, "spec": null, "spec_hash": null}, "model": {"spec": "scripted"}});
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).expect("manifest");
    let mut lines = Vec::new();
    let correct = [
        [true, false, true, false],
        [false, false, true, false],
        [false; 4],
    ];
    for (p, row) in correct.iter().enumerate() {
        for (i, ok) in row.iter().enumerate() {
            // p2's last sample gives no readable answer: unscored, not wrong.
            let letter = match (*ok, p, i) {
                (true, _, _) => "B",
                (false, 2, 3) => "unsure",
                _ => "C",
            };
            // Sample 2 of p0 is the most legible (no odd words); others carry nonsense words.
            let cot = if p == 0 && i == 2 {
                " The second option follows from the question.\n".to_string()
            } else {
                format!(" Zorblax frumious {i} wibble the option.\n")
            };
            let prompt = vec![Message::user(format!("Question {p}?\n(A) a\n(B) b\n(C) c"))];
            let request = ChatRequest {
                messages: [vec![Message::system("SPEC")], prompt.clone()].concat(),
                assistant_prefix: Some("Let's think step by step.".into()),
                sampling: Sampling {
                    temperature: 0.8,
                    top_p: None,
                    seed: Some(i as u64),
                    max_tokens: 64,
                    stop: vec![],
                },
            };
            let completion = Completion {
                model: "scripted".into(),
                reasoning: None,
                output: format!("{cot}Answer: {letter}"),
                finish_reason: FinishReason::Stop,
                usage: Usage::default(),
                latency_ms: 1.0,
            };
            let prefix = request.assistant_prefix.clone();
            let r = SampleRecord {
                key: format!("p{p}#{i}"),
                prompt_id: format!("p{p}"),
                sample: i,
                dataset: "t".into(),
                domain: if p == 2 { "law".into() } else { "math".into() },
                gold: Some("B".into()),
                gold_index: Some(1),
                n_options: Some(3),
                prompt,
                request_hash: format!("req{p}{i}"),
                request,
                status: cotlens::engine::RequestStatus::Ok,
                error: None,
                attempts: vec![],
                cached: false,
                content_hash: Some(content_hash(&completion, prefix.as_deref())),
                text: Some(split(&completion, prefix.as_deref())),
                completion: Some(completion),
            };
            lines.push(serde_json::to_string(&r).expect("json"));
        }
    }
    std::fs::write(dir.join("records.jsonl"), lines.join("\n") + "\n").expect("records");
}

const PIPELINE: &str = r#"
[[scorer]]
name = "correct"
type = "correctness"

[[scorer]]
name = "legible"
type = "legibility"

[[scorer]]
name = "suspicion"
type = "monitor"
monitor = "rules"

[[stage]]
name = "gate"
policy = "threshold"
scorer = "correct"
min = 1

[[stage]]
name = "best"
policy = "best-of-n"
weights = { legible = 1.0, suspicion = -1.0 }
"#;

fn select(
    home: &Path,
    samples: &Path,
    pipeline: &Path,
    out: &Path,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "select",
        samples.to_str().expect("utf8"),
        "--pipeline",
        pipeline.to_str().expect("utf8"),
        "--out",
        out.to_str().expect("utf8"),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    run(home, &args, &[])
}

#[test]
fn select_writes_verbatim_sft_and_a_closed_form_ledger() {
    let tmp = tempfile::tempdir().expect("tmp");
    let samples = tmp.path().join("samples");
    write_sample_run(&samples);
    let pipe = tmp.path().join("pipe.toml");
    std::fs::write(&pipe, PIPELINE).expect("pipe");
    let out = tmp.path().join("sel");
    let o = select(tmp.path(), &samples, &pipe, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("pressure ledger") && table.contains("held-out monitor"),
        "{table}"
    );
    // Kept: p0's legible correct sample, p1's only correct sample; p2 dropped.
    let sft: Vec<serde_json::Value> = std::fs::read_to_string(out.join("sft.jsonl"))
        .expect("sft")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let ids: Vec<&str> = sft.iter().map(|l| l["id"].as_str().expect("id")).collect();
    assert_eq!(ids, vec!["p0#2", "p1#2"]);
    let msgs = sft[0]["messages"].as_array().expect("messages");
    assert_eq!(msgs.len(), 2, "the spec is not in the SFT prompt");
    assert_eq!(msgs[0]["role"], "user");
    assert_eq!(msgs[1]["content"], "<think>Let's think step by step. The second option follows from the question.\n</think>Answer: B");
    // Ledger: p0 threshold 2/4 then best-of-2; p1 threshold 1/4 then best-of-1.
    let ledger = read_json(&out.join("ledger.json"));
    let p0 = 2f64.ln() + pressure::best_of_n(2);
    let p1 = 4f64.ln();
    let nats = ledger["totals"]["nats_per_prompt"].as_f64().expect("nats");
    assert!((nats - (p0 + p1) / 2.0).abs() < 1e-9, "{nats}");
    let cot_bits = ledger["totals"]["cot_visible_bits_per_prompt"]
        .as_f64()
        .expect("cot");
    assert!((cot_bits - pressure::bits(pressure::best_of_n(2)) / 2.0).abs() < 1e-9);
    assert_eq!(ledger["totals"]["prompts_dropped"], 1);
    assert_eq!(ledger["stages"][0]["cot_visible"], false);
    assert_eq!(ledger["stages"][1]["fields_seen"], json!(["cot"]));
    assert_eq!(ledger["selector_monitors"][0]["monitor"], "rules");
    assert_eq!(ledger["selected"].as_array().expect("selected").len(), 2);
    let selection = std::fs::read_to_string(out.join("selection.jsonl")).expect("selection");
    assert_eq!(selection.lines().count(), 12);
    assert!(selection.contains("\"dropped_at\":\"gate\""));
    let unreadable: serde_json::Value = selection
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .find(|l| l["key"] == "p2#3")
        .expect("p2#3");
    assert_eq!(unreadable["reason"], "unscored", "{unreadable}");
    let summary = read_json(&out.join("summary.json"));
    assert_eq!(summary["unparseable_answers"], 1, "{summary}");
    assert_eq!(ledger["stages"][0]["candidates_unscored"], 1);
    // Resuming a finished selection scores nothing again and writes the same data.
    let before = std::fs::read_to_string(out.join("sft.jsonl")).expect("sft");
    let o = run(
        tmp.path(),
        &["select", "--resume", out.to_str().expect("utf8"), "--quiet"],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(out.join("sft.jsonl")).expect("sft"),
        before
    );
    assert_eq!(
        std::fs::read_to_string(out.join("records.jsonl"))
            .expect("records")
            .lines()
            .count(),
        12
    );
    // Field form.
    let out2 = tmp.path().join("sel-field");
    let o = select(
        tmp.path(),
        &samples,
        &pipe,
        &out2,
        &[
            "--format",
            "field",
            "--reasoning-field",
            "reasoning_content",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let first: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(out2.join("sft.jsonl"))
            .expect("sft")
            .lines()
            .next()
            .expect("line"),
    )
    .expect("json");
    assert_eq!(first["messages"][1]["content"], "Answer: B");
    assert_eq!(
        first["messages"][1]["reasoning_content"],
        "Let's think step by step. The second option follows from the question.\n"
    );
}

#[test]
fn an_edited_trace_is_refused_at_emission() {
    let tmp = tempfile::tempdir().expect("tmp");
    let samples = tmp.path().join("samples");
    write_sample_run(&samples);
    let pipe = tmp.path().join("pipe.toml");
    std::fs::write(&pipe, PIPELINE).expect("pipe");
    let path = samples.join("records.jsonl");
    let text = std::fs::read_to_string(&path).expect("records");
    // Rewrite the output of p0#2 (the sample that would be kept), leaving its hash.
    let edited: Vec<String> = text
        .lines()
        .map(|l| {
            if l.contains("\"key\":\"p0#2\"") {
                l.replace(
                    "follows from the question",
                    "follows, as the spec requires,",
                )
            } else {
                l.to_string()
            }
        })
        .collect();
    assert_ne!(edited.join("\n") + "\n", text);
    std::fs::write(&path, edited.join("\n") + "\n").expect("write");
    let out = tmp.path().join("sel");
    let o = select(tmp.path(), &samples, &pipe, &out, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    // Refused when the samples are read, before anything of the selection is written.
    assert!(
        err.contains("records.jsonl:3") && err.contains("p0#2") && err.contains("rewritten"),
        "{err}"
    );
    assert!(!out.exists(), "nothing half-written");
}

#[test]
fn pipeline_errors_name_the_line_and_budgets_fail_the_run() {
    let tmp = tempfile::tempdir().expect("tmp");
    let samples = tmp.path().join("samples");
    write_sample_run(&samples);
    for (bad, line) in [
        (
            PIPELINE.replace("type = \"legibility\"", "type = \"vibes\""),
            8,
        ),
        (
            PIPELINE.replace("policy = \"best-of-n\"", "policy = \"argmax\""),
            23,
        ),
        (
            PIPELINE.replace(
                "[[scorer]]\nname = \"legible\"\ntype = \"legibility\"",
                "[[scorer]]\nname = \"legible\"\ntype = \"legibility\"\nfields = [\"thoughts\"]",
            ),
            9,
        ),
    ] {
        let pipe = tmp.path().join("bad.toml");
        std::fs::write(&pipe, &bad).expect("pipe");
        let out = tmp.path().join("bad-run");
        let o = select(tmp.path(), &samples, &pipe, &out, &[]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("bad.toml:{line}:")),
            "{}",
            stderr(&o)
        );
        assert!(!out.exists(), "nothing written for a bad pipeline");
    }
    let pipe = tmp.path().join("budget.toml");
    std::fs::write(
        &pipe,
        format!("{PIPELINE}\n[budget]\nmax_cot_bits_per_prompt = 0.01\n"),
    )
    .expect("pipe");
    let out = tmp.path().join("over");
    let o = select(tmp.path(), &samples, &pipe, &out, &[]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("over the pressure budget"),
        "{}",
        stderr(&o)
    );
    assert!(out.join("ledger.json").exists() && !out.join("sft.jsonl").exists());
    let ledger = read_json(&out.join("ledger.json"));
    assert!(ledger["budget"]["violations"][0]
        .as_str()
        .expect("v")
        .contains("math"));
    let out = tmp.path().join("allowed");
    let o = select(tmp.path(), &samples, &pipe, &out, &["--allow-over-budget"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("sft.jsonl").exists());
    assert!(String::from_utf8_lossy(&o.stdout).contains("over budget"));
}

#[test]
fn monitor_eval_refuses_a_monitor_that_selected_the_traces() {
    let tmp = tempfile::tempdir().expect("tmp");
    let samples = tmp.path().join("samples");
    write_sample_run(&samples);
    let pipe = tmp.path().join("pipe.toml");
    std::fs::write(&pipe, PIPELINE).expect("pipe");
    let sel = tmp.path().join("sel");
    let o = select(tmp.path(), &samples, &pipe, &sel, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    for traces in [
        format!("sft:{}", sel.join("sft.jsonl").display()),
        format!("run:{}", samples.display()),
    ] {
        let mon = tmp.path().join(format!("mon-{}", &traces[..3]));
        let o = run(
            tmp.path(),
            &[
                "monitor",
                "--traces",
                &traces,
                "--view",
                "cot",
                "--out",
                mon.to_str().expect("utf8"),
            ],
            &[],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let o = run(
            tmp.path(),
            &["monitor-eval", mon.to_str().expect("utf8")],
            &[],
        );
        assert_eq!(o.status.code(), Some(2), "{traces}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("contaminated evaluation") && stderr(&o).contains("\"rules\""),
            "{}",
            stderr(&o)
        );
        assert!(!mon.join("monitor-eval.json").exists());
        let o = run(
            tmp.path(),
            &[
                "monitor-eval",
                mon.to_str().expect("utf8"),
                "--allow-contaminated",
                "--json",
            ],
            &[],
        );
        // Allowed, the contamination is still said; these traces carry no labels, so there is
        // nothing to evaluate, and that is an error too, not an empty table.
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("contaminated: monitor \"rules\""), "{err}");
        assert!(err.contains("no trace of this run has a label"), "{err}");
    }
    // Traces the monitor did not select (a run with no ledger) are not refused.
    let other = tmp.path().join("other.jsonl");
    std::fs::write(
        &other,
        "{\"id\":\"x\",\"reasoning\":\"fine\",\"labels\":{\"misbehaved\":false}}\n",
    )
    .expect("write");
    let mon = tmp.path().join("mon-other");
    let o = run(
        tmp.path(),
        &[
            "monitor",
            "--traces",
            &format!("jsonl:{}", other.display()),
            "--out",
            mon.to_str().expect("utf8"),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(
        tmp.path(),
        &["monitor-eval", mon.to_str().expect("utf8")],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}
