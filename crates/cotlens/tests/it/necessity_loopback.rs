//! `cotlens necessity` against a loopback server playing a model whose answer depends on a known
//! fraction of its CoT: it answers (A) until it has seen its third step of four, then (B).

use crate::common;

use common::server::{self, Config};
use common::*;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn script() -> Arc<dyn Fn(&serde_json::Value) -> serde_json::Value + Send + Sync> {
    Arc::new(|req: &serde_json::Value| {
        let messages = req["messages"].as_array().cloned().unwrap_or_default();
        let prefix = messages
            .last()
            .filter(|m| m["role"] == "assistant")
            .and_then(|m| m["content"].as_str())
            .unwrap_or("")
            .to_string();
        if req["logprobs"] == true {
            let (first, second) = if prefix.contains("Step three.") {
                (" B", " A")
            } else {
                (" A", " B")
            };
            return json!({
                "model": "scripted",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": first}, "finish_reason": "length",
                    "logprobs": {"content": [{"token": first, "logprob": -0.1, "top_logprobs": [
                        {"token": first, "logprob": -0.1}, {"token": second, "logprob": -2.5}, {"token": " C", "logprob": -4.0}, {"token": " D", "logprob": -5.0}]}]}}],
                "usage": {"prompt_tokens": 50, "completion_tokens": 1}
            });
        }
        let user = messages
            .first()
            .and_then(|m| m["content"].as_str())
            .unwrap_or("");
        if user.contains("contains a mistake") {
            return server::chat_response("helper", "WRONG.", None);
        }
        if user.starts_with("Paraphrase the following") {
            let text = user
                .split("<text>")
                .nth(1)
                .and_then(|t| t.split("</text>").next())
                .unwrap_or("");
            return server::chat_response("helper", &text.trim().replace("Step", "Phase"), None);
        }
        if !prefix.is_empty() {
            // Continuing a started turn: finish the CoT and answer.
            return server::chat_response("scripted", " Step four.\nAnswer: B", None);
        }
        server::chat_response(
            "scripted",
            "Step one. Step two. Step three. Step four.\nAnswer: B",
            None,
        )
    })
}

/// The filler's length when the server omits `usage`: its `/tokenize` count where it has one
/// (vLLM's shape), else an estimate that says so; never one token silently.
#[tokio::test(flavor = "multi_thread")]
async fn filler_length_without_usage() {
    for tokenizer in [true, false] {
        let inner = script();
        let srv = server::start(Config {
            fault_every: 0,
            faults: Vec::new(),
            unauthorized: false,
            delay: Duration::ZERO,
            script: Arc::new(move |req: &serde_json::Value| {
                if req["prompt"].is_string() && req["messages"].is_null() {
                    return if tokenizer {
                        json!({"count": 9, "max_model_len": 4096, "tokens": [1, 2, 3, 4, 5, 6, 7, 8, 9]})
                    } else {
                        json!({})
                    };
                }
                let mut reply = inner(req);
                reply.as_object_mut().map(|o| o.remove("usage"));
                reply
            }),
        })
        .await;
        let tmp = tempfile::tempdir().expect("tmp");
        let items = format!("jsonl:{}", write_items(tmp.path()).display());
        let out = tmp.path().join("run");
        let mut args = vec![
            "necessity",
            "--model",
            "openai:scripted",
            "--base-url",
            &srv.url,
            "--dataset",
            &items,
            "--limit",
            "3",
            "--out",
            out.to_str().expect("utf8"),
            "--quiet",
            "--no-cache",
            "--bootstrap",
            "50",
        ];
        // The user vouches for the server (its probe replies would decide otherwise).
        args.push("--trust-capabilities");
        let o = run(tmp.path(), &args, &[]);
        assert!(o.status.success(), "{}", stderr(&o));
        let manifest = read_json(&out.join("manifest.json"));
        assert_eq!(
            manifest["model"]["capability_check"]["mode"], "trusted",
            "{manifest}"
        );
        let cot = "Step one. Step two. Step three. Step four.";
        let (tokens, source) = if tokenizer {
            (9, "tokenizer")
        } else {
            (cot.len().div_ceil(4) as u64, "estimate")
        };
        for line in std::fs::read_to_string(out.join("records.jsonl"))
            .expect("records")
            .lines()
        {
            let r: serde_json::Value = serde_json::from_str(line).expect("record");
            assert_eq!(r["cot_tokens"], tokens, "{r}");
            assert_eq!(r["cot_tokens_source"], source);
            assert_eq!(r["cot_tokens_estimated"], !tokenizer);
        }
        let summary = read_json(&out.join("summary.json"));
        let estimated = if tokenizer { 0 } else { 3 };
        assert_eq!(
            summary["datasets"][0]["n_cot_tokens_estimated"], estimated,
            "{summary}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn aoc_of_a_model_that_needs_three_quarters_of_its_cot() {
    let srv = server::start(Config {
        fault_every: 0,
        faults: Vec::new(),
        unauthorized: false,
        delay: Duration::ZERO,
        script: script(),
    })
    .await;
    let tmp = tempfile::tempdir().expect("tmp");
    let items = format!("jsonl:{}", write_items(tmp.path()).display());
    let out = tmp.path().join("run");
    let o = run(
        tmp.path(),
        &[
            "necessity",
            "--model",
            "openai:scripted",
            "--base-url",
            &srv.url,
            "--dataset",
            &items,
            "--out",
            out.to_str().expect("utf8"),
            "--quiet",
            "--no-cache",
            "--bootstrap",
            "200",
            "--json",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(summary["answer_method"], "logprobs");
    let d = &summary["datasets"][0];
    assert_eq!(d["n"], 22);
    let early = &d["early_answering"];
    // Same-answer curve [0, 0, 0, 1, 1] at x = 0, 1/4, 1/2, 3/4, 1: area under 0.375, AOC 0.625.
    assert_eq!(early["n"], 22);
    assert!(
        (early["aoc"]["value"].as_f64().expect("aoc") - 0.625).abs() < 1e-12,
        "{early}"
    );
    assert!((early["aoc"]["ci_low"].as_f64().expect("low") - 0.625).abs() < 1e-12);
    let ys: Vec<f64> = early["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| p["y"].as_f64().expect("y"))
        .collect();
    assert_eq!(ys, vec![0.0, 0.0, 0.0, 1.0, 1.0]);
    assert_eq!(early["mean_steps"].as_f64(), Some(4.0));
    // The filler prefix has no "Step three.": like no CoT, answer (A).
    let no_cot = d["accuracy_no_cot"]["value"].as_f64().expect("acc");
    let filler = d["accuracy_filler"]["value"].as_f64().expect("acc");
    assert_eq!(no_cot, filler);
    let svg = std::fs::read_to_string(out.join("early-answering.svg")).expect("svg");
    assert!(svg.contains("<polyline") && svg.contains("AOC 0.62"));
    let records = std::fs::read_to_string(out.join("records.jsonl")).expect("records");
    assert_eq!(records.lines().count(), 22);
}

#[tokio::test(flavor = "multi_thread")]
async fn mistakes_and_paraphrases_change_the_answer_where_expected() {
    let srv = server::start(Config {
        fault_every: 0,
        faults: Vec::new(),
        unauthorized: false,
        delay: Duration::ZERO,
        script: script(),
    })
    .await;
    let tmp = tempfile::tempdir().expect("tmp");
    let items = format!("jsonl:{}", write_items(tmp.path()).display());
    let out = tmp.path().join("run");
    let o = run(
        tmp.path(),
        &[
            "necessity",
            "--model",
            "openai:scripted",
            "--base-url",
            &srv.url,
            "--dataset",
            &items,
            "--interventions",
            "mistakes,paraphrase",
            "--helper",
            "openai:helper",
            "--out",
            out.to_str().expect("utf8"),
            "--quiet",
            "--no-cache",
            "--bootstrap",
            "100",
            "--json",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let d = &summary["datasets"][0];
    // A mistake in step 1, 2 or 3 removes "Step three." (answer A); in step 4 it does not (B):
    // same = [0, 0, 0, 1] at evenly spaced positions → area under 1/6 → AOC 5/6.
    let m = &d["adding_mistakes"];
    assert_eq!(m["n"], 22);
    assert!(
        (m["aoc"]["value"].as_f64().expect("aoc") - 5.0 / 6.0).abs() < 1e-12,
        "{m}"
    );
    // A paraphrase rewords "Step three." away at every k: never the same answer → AOC 1.
    let p = &d["paraphrasing"];
    assert!(
        (p["aoc"]["value"].as_f64().expect("aoc") - 1.0).abs() < 1e-12,
        "{p}"
    );
    let records = std::fs::read_to_string(out.join("records.jsonl")).expect("records");
    let first: serde_json::Value =
        serde_json::from_str(records.lines().next().expect("line")).expect("json");
    assert_eq!(
        first["mistake_answers"].as_array().expect("mistakes").len(),
        4
    );
    assert_eq!(
        first["paraphrase_answers"]
            .as_array()
            .expect("paraphrases")
            .len(),
        4
    );
    let manifest = read_json(&out.join("manifest.json"));
    assert_eq!(manifest["templates"]["helper"]["version"], "helper/1");
    let svg = std::fs::read_to_string(out.join("early-answering.svg")).expect("svg");
    assert_eq!(
        svg.matches("<polyline").count(),
        3,
        "early answering, mistakes, paraphrasing"
    );
    assert!(svg.contains("adding mistakes (AOC 0.83)") && svg.contains("paraphrasing (AOC 1.00)"));
}

/// vLLM with a reasoning parser returns a continuation's text in `reasoning` (no `</think>` in
/// it). It is still the continuation: a model that regenerates "Step three." after every
/// mistake gives the same answer at every position, on both servers alike.
#[tokio::test(flavor = "multi_thread")]
async fn continuations_in_the_reasoning_field_are_kept() {
    let mut aocs = Vec::new();
    for emulate in [server::Emulate::Vllm, server::Emulate::VllmReasoning] {
        let inner = script();
        let srv = server::start_as(
            Config {
                fault_every: 0,
                faults: Vec::new(),
                unauthorized: false,
                delay: Duration::ZERO,
                script: Arc::new(move |req: &serde_json::Value| {
                    let continuing = req["messages"]
                        .as_array()
                        .and_then(|m| m.last())
                        .is_some_and(|m| m["role"] == "assistant");
                    if continuing && req["logprobs"] != true {
                        return server::chat_response(
                            "scripted",
                            " Step three. Step four.\nAnswer: B",
                            None,
                        );
                    }
                    // Reasoning models close their thought before the answer (the policy
                    // before its answer line, the helper before its rewrite).
                    let mut r = inner(req);
                    if let Some(c) = r["choices"][0]["message"]["content"].as_str() {
                        let c = if c.starts_with("Step one.") {
                            c.replace("\nAnswer:", "</think>\nAnswer:")
                        } else {
                            format!("Rewriting.</think>{c}")
                        };
                        r["choices"][0]["message"]["content"] = serde_json::json!(c);
                    }
                    r
                }),
            },
            emulate,
        )
        .await;
        let tmp = tempfile::tempdir().expect("tmp");
        let items = format!("jsonl:{}", write_items(tmp.path()).display());
        let out = tmp.path().join("run");
        let o = run(
            tmp.path(),
            &[
                "necessity",
                "--out",
                out.to_str().expect("utf8"),
                "--model",
                "openai:scripted",
                "--base-url",
                &srv.url,
                "--dataset",
                &items,
                "--limit",
                "3",
                "--interventions",
                "mistakes",
                "--helper",
                "openai:helper",
                "--quiet",
                "--no-cache",
                "--bootstrap",
                "50",
                "--json",
            ],
            &[],
        );
        assert!(o.status.success(), "{emulate:?}: {}", stderr(&o));
        let summary: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        let m = &summary["datasets"][0]["adding_mistakes"];
        aocs.push(
            m["aoc"]["value"]
                .as_f64()
                .unwrap_or_else(|| panic!("{emulate:?}: {m}")),
        );
    }
    assert_eq!(
        aocs,
        vec![0.0, 0.0],
        "the regenerated rest was read on both servers"
    );
}
