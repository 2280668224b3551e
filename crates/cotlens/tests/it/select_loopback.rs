//! sample → select against a real loopback OpenAI-compatible server: the policy model reasons
//! in a `reasoning_content` field, the spec-reasoning judge (spec-reasoning/1) scores whether a
//! CoT uses the spec, and selection keeps the samples that do, verbatim.

use crate::common;

use common::*;
use serde_json::Value;
use std::sync::Arc;

fn last_user(req: &Value) -> String {
    req["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|x| x["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_string()
}

const CITES: &str = "Per policy section 2, the unsafe part is refused; the rest is fine.";

fn script() -> Arc<dyn Fn(&Value) -> Value + Send + Sync> {
    Arc::new(|req: &Value| {
        let model = req["model"].as_str().unwrap_or("m").to_string();
        let user = last_user(req);
        if user.contains("<spec>") {
            // The judge: does the CoT between <cot> tags cite the policy?
            let cot = user
                .split("<cot>")
                .nth(1)
                .and_then(|c| c.split("</cot>").next())
                .unwrap_or("");
            let score = if cot.contains("policy section 2") {
                90
            } else {
                10
            };
            return server::chat_response(&model, &format!("{{\"score\": {score}, \"reason\": \"judged\", \"quote\": \"policy section 2\"}}"), None);
        }
        let has_spec = req["messages"][0]["role"] == "system"
            && req["messages"][0]["content"]
                .as_str()
                .is_some_and(|c| c.contains("POLICY"));
        let seed = req["seed"].as_u64().unwrap_or(1);
        let reasoning = if has_spec && seed.is_multiple_of(2) {
            CITES
        } else {
            "Just answer directly."
        };
        server::chat_response(&model, "Answer: B", Some(reasoning))
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn spec_judge_keeps_the_samples_that_reason_about_the_spec() {
    let srv = server::start(server::Config {
        fault_every: 0,
        faults: vec![],
        unauthorized: false,
        delay: std::time::Duration::ZERO,
        script: script(),
    })
    .await;
    let tmp = tempfile::tempdir().expect("tmp");
    let prompts = tmp.path().join("prompts.jsonl");
    std::fs::write(&prompts, (0..3).map(|i| format!("{{\"id\": \"p{i}\", \"prompt\": \"Request {i}: help with a task.\", \"gold\": \"B\", \"domain\": \"d{}\"}}\n", i % 2)).collect::<String>()).expect("prompts");
    let spec = tmp.path().join("spec.md");
    std::fs::write(
        &spec,
        "POLICY. Section 2: refuse the unsafe part of a request, help with the rest.\n",
    )
    .expect("spec");
    let samples = tmp.path().join("samples");
    let o = run(
        tmp.path(),
        &[
            "sample",
            "--model",
            "openai:policy",
            "--base-url",
            &srv.url,
            "--prompts",
            prompts.to_str().expect("utf8"),
            "-n",
            "4",
            "--spec",
            spec.to_str().expect("utf8"),
            "--out",
            samples.to_str().expect("utf8"),
            "--quiet",
        ],
        &[("OPENAI_API_KEY", "sk-test")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let pipe = tmp.path().join("pipe.toml");
    std::fs::write(
        &pipe,
        "[[scorer]]\nname = \"correct\"\ntype = \"correctness\"\n\n[[scorer]]\nname = \"about_spec\"\ntype = \"spec-judge\"\n\n[[stage]]\nname = \"correct\"\npolicy = \"threshold\"\nscorer = \"correct\"\nmin = 1\n\n[[stage]]\nname = \"spec\"\npolicy = \"best-of-n\"\nscorer = \"about_spec\"\n",
    )
    .expect("pipe");
    let out = tmp.path().join("select");
    let o = run(
        tmp.path(),
        &[
            "select",
            samples.to_str().expect("utf8"),
            "--pipeline",
            pipe.to_str().expect("utf8"),
            "--model",
            "openai:judge",
            "--base-url",
            &srv.url,
            "--format",
            "field",
            "--out",
            out.to_str().expect("utf8"),
            "--quiet",
        ],
        &[("OPENAI_API_KEY", "sk-test")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let sft: Vec<Value> = std::fs::read_to_string(out.join("sft.jsonl"))
        .expect("sft")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(sft.len(), 3);
    for ex in &sft {
        let msgs = ex["messages"].as_array().expect("messages");
        assert_eq!(msgs.len(), 2, "no spec in the SFT prompt: {ex}");
        assert_eq!(
            msgs[1]["reasoning_content"], CITES,
            "the kept CoT reasons about the spec, verbatim"
        );
        assert_eq!(msgs[1]["content"], "Answer: B");
        assert!(
            ex["id"].as_str().expect("id").ends_with("#0"),
            "ties go to the first sample: {ex}"
        );
    }
    let ledger = read_json(&out.join("ledger.json"));
    assert_eq!(
        ledger["stages"][0]["cot_visible"], false,
        "correctness sees the answer only"
    );
    assert_eq!(ledger["stages"][1]["cot_visible"], true);
    assert_eq!(ledger["stages"][1]["selector"][0]["type"], "spec-judge");
    let best_of_4 = 4f64.ln() - 0.75;
    assert!(
        (ledger["totals"]["nats_per_prompt"].as_f64().expect("nats") - best_of_4).abs() < 1e-9,
        "{ledger}"
    );
    let manifest = read_json(&out.join("manifest.json"));
    assert_eq!(
        manifest["templates"]["spec_judge"]["version"],
        "spec-reasoning/1"
    );
    assert!(manifest["judges"]["openai:judge"].is_object(), "{manifest}");
    let scores = std::fs::read_to_string(out.join("records.jsonl")).expect("scores");
    assert_eq!(scores.lines().count(), 12);
    assert!(
        scores.contains("\"about_spec\":0.9") && scores.contains("\"about_spec\":0.1"),
        "{scores}"
    );
    for f in [
        "manifest.json",
        "records.jsonl",
        "ledger.json",
        "sft.jsonl",
        "report.html",
    ] {
        assert!(
            !std::fs::read_to_string(out.join(f))
                .expect("file")
                .contains("sk-test"),
            "{f} holds the key"
        );
    }
}
