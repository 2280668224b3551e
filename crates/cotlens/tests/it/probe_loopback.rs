//! `cotlens probe` and the capability check against loopback servers that play vLLM,
//! llama-cpp-python's server and the official OpenAI API by their documented request rules
//! (tests/it/common/server.rs): what each honours is found, stored and recorded, and a protocol
//! that needs what a server lacks stops before its first unit.

use crate::common;

use common::server::{self, Config, Emulate};
use common::*;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

fn counting_model() -> Arc<dyn Fn(&Value) -> Value + Send + Sync> {
    Arc::new(server::counting)
}

pub(crate) fn config(script: Arc<dyn Fn(&Value) -> Value + Send + Sync>) -> Config {
    Config {
        fault_every: 0,
        faults: Vec::new(),
        unauthorized: false,
        delay: Duration::ZERO,
        script,
    }
}

fn probe(home: &std::path::Path, url: &str) -> (std::process::Output, Value) {
    let o = run(
        home,
        &[
            "probe",
            "--model",
            "openai:counter",
            "--base-url",
            url,
            "--quiet",
        ],
        &[],
    );
    let v = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (o, v)
}

#[tokio::test(flavor = "multi_thread")]
async fn probe_finds_what_each_server_honours() {
    let tmp = tempfile::tempdir().expect("tmp");
    // vLLM: continues the turn, log-probabilities at the continued position with their spaces.
    let vllm = server::start_as(config(counting_model()), Emulate::Vllm).await;
    let (o, v) = probe(tmp.path(), &vllm.url);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        v["capabilities"],
        json!({"chat": true, "prefix_continuation": true, "candidate_logprobs": true}),
        "{v}"
    );
    assert_eq!(v["candidate_matching"], "exact");
    let r = &v["reports"][0];
    assert_eq!(r["base_url"], vllm.url.as_str());
    assert_eq!(r["logprobs_at_continued_position"]["verdict"], "yes");
    assert_eq!(r["space_prefixed_tokens"]["verdict"], "yes");
    assert_eq!(
        r["reasoning_controls"]["chat_template_kwargs"]["verdict"],
        "yes"
    );
    assert_eq!(
        vllm.requests.load(Ordering::SeqCst),
        0,
        "probe requests are not counted"
    );
    let stored: Vec<_> = std::fs::read_dir(tmp.path().join("probes"))
        .expect("probes stored in COTLENS_HOME")
        .collect();
    assert_eq!(stored.len(), 1);

    // vLLM with a reasoning parser: the same, and the reasoning comes back in `reasoning`.
    let parser = server::start_as(config(counting_model()), Emulate::VllmReasoning).await;
    let (o, v) = probe(tmp.path(), &parser.url);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(v["capabilities"]["prefix_continuation"], true, "{v}");
    assert_eq!(v["reports"][0]["reasoning"]["location"], "reasoning", "{v}");

    // llama-cpp-python: the flags are dropped and a new turn starts; equal prompt counts say so.
    let llama = server::start_as(config(counting_model()), Emulate::LlamaCppPython).await;
    let (o, v) = probe(tmp.path(), &llama.url);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(v["capabilities"]["prefix_continuation"], false, "{v}");
    assert_eq!(v["capabilities"]["candidate_logprobs"], true);
    let r = &v["reports"][0];
    let evidence = r["prefix_continuation"]["evidence"].as_str().unwrap_or("");
    assert!(
        evidence.contains("ignores continue_final_message"),
        "{evidence}"
    );
    assert_eq!(r["logprobs_at_continued_position"]["verdict"], "no");

    // OpenAI: the unknown fields are a 400, and so is reasoning_effort on a non-reasoning model.
    let openai = server::start_as(config(counting_model()), Emulate::OpenAi).await;
    let (o, v) = probe(tmp.path(), &openai.url);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(v["capabilities"]["prefix_continuation"], false, "{v}");
    let r = &v["reports"][0];
    assert!(r["prefix_continuation"]["evidence"]
        .as_str()
        .unwrap_or("")
        .contains("Unrecognized request argument supplied: continue_final_message"));
    assert_eq!(r["reasoning_controls"]["reasoning_effort"]["verdict"], "no");
    assert_eq!(
        r["reasoning_controls"]["chat_template_kwargs"]["verdict"],
        "no"
    );
    assert_eq!(r["reasoning"]["location"], "none");
}

#[tokio::test(flavor = "multi_thread")]
async fn necessity_stops_before_any_unit_where_continuation_is_ignored() {
    let srv = server::start_as(config(counting_model()), Emulate::LlamaCppPython).await;
    let tmp = tempfile::tempdir().expect("tmp");
    let items = format!("jsonl:{}", write_items(tmp.path()).display());
    let out = tmp.path().join("run");
    let o = run(
        tmp.path(),
        &[
            "necessity",
            "--model",
            "openai:counter",
            "--base-url",
            &srv.url,
            "--dataset",
            &items,
            "--limit",
            "3",
            "--out",
            out.to_str().expect("utf8"),
            "--quiet",
        ],
        &[],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for needle in [
        "prefix continuation",
        "ignores continue_final_message",
        "vLLM or SGLang",
        "--trust-capabilities",
    ] {
        assert!(err.contains(needle), "{needle:?} missing from: {err}");
    }
    assert_eq!(
        srv.requests.load(Ordering::SeqCst),
        0,
        "no unit's request was sent"
    );
    assert!(!out.join("records.jsonl").exists());

    // generate --prefix is refused the same way; a plain generate runs on the stored report.
    let o = run(
        tmp.path(),
        &[
            "generate",
            "--model",
            "openai:counter",
            "--base-url",
            &srv.url,
            "--prefix",
            "One,",
            "Count.",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("ignores continue_final_message"),
        "{}",
        stderr(&o)
    );
    let o = run(
        tmp.path(),
        &[
            "generate",
            "--model",
            "openai:counter",
            "--base-url",
            &srv.url,
            "--json",
            "Count.",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("probing"),
        "the stored report was reused: {}",
        stderr(&o)
    );
    // -vv shows each request body as sent; the key (in a header) never appears.
    let o = run(
        tmp.path(),
        &[
            "-vv",
            "generate",
            "--model",
            "openai:counter",
            "--base-url",
            &srv.url,
            "--api-key-env",
            "COTLENS_TEST_KEY",
            "--json",
            "Count.",
        ],
        &[("COTLENS_TEST_KEY", "sk-test-never-logged")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("request") && err.contains("\"messages\""),
        "{err}"
    );
    assert!(!err.contains("sk-test-never-logged"));
}

/// The probe's findings are in the manifest, and a second run reuses the stored report.
#[tokio::test(flavor = "multi_thread")]
async fn the_manifest_records_the_probe() {
    let srv = server::start_as(config(scripted(false)), Emulate::LlamaCppPython).await;
    let tmp = tempfile::tempdir().expect("tmp");
    let items = format!("jsonl:{}", write_items(tmp.path()).display());
    for (i, from_cache) in [(0, false), (1, true)] {
        let out = tmp.path().join(format!("run{i}"));
        let o = run(
            tmp.path(),
            &[
                "faithfulness",
                "--model",
                "openai:scripted",
                "--base-url",
                &srv.url,
                "--dataset",
                &items,
                "--limit",
                "4",
                "--hints",
                "sycophancy",
                "--out",
                out.to_str().expect("utf8"),
                "--quiet",
                "--no-cache",
            ],
            &[],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let m = read_json(&out.join("manifest.json"));
        let check = &m["model"]["capability_check"];
        assert_eq!(check["mode"], "probed", "{m}");
        assert_eq!(check["from_cache"], from_cache);
        assert_eq!(check["reports"][0]["prefix_continuation"]["verdict"], "no");
        assert_eq!(
            m["model"]["capabilities"],
            json!(["chat", "candidate_logprobs"]),
            "what the probe did not find is not claimed"
        );
    }
}

/// An older vLLM honours add_generation_prompt but not continue_final_message: fewer tokens
/// than a plain request, yet a closed turn. The third request tells them apart.
#[tokio::test(flavor = "multi_thread")]
async fn a_closed_turn_without_a_header_is_not_taken_for_a_continuation() {
    let srv = server::start_as(config(counting_model()), Emulate::VllmNoContinue).await;
    let tmp = tempfile::tempdir().expect("tmp");
    let (o, v) = probe(tmp.path(), &srv.url);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(v["capabilities"]["prefix_continuation"], false, "{v}");
    assert_eq!(v["candidate_matching"], "exact");
    let evidence = v["reports"][0]["prefix_continuation"]["evidence"].to_string();
    assert!(
        evidence.contains("ignores continue_final_message"),
        "{evidence}"
    );
}

/// A stored report serves a run only while the server says it serves the same models, and
/// only for the same request options; reserved fields cannot be overridden by --extra-body.
#[tokio::test(flavor = "multi_thread")]
async fn stored_reports_are_reused_only_for_the_same_server_and_options() {
    let srv = server::start_as(config(counting_model()), Emulate::Vllm).await;
    let tmp = tempfile::tempdir().expect("tmp");
    let generate = |extra: &[&str]| {
        let mut args = vec![
            "generate",
            "--model",
            "openai:counter",
            "--base-url",
            &srv.url,
        ];
        args.extend_from_slice(extra);
        args.push("Count.");
        run(tmp.path(), &args, &[])
    };
    let o = generate(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("probing"), "{}", stderr(&o));
    let o = generate(&[]);
    assert!(
        stderr(&o).contains("using the probe report"),
        "{}",
        stderr(&o)
    );
    // Other options: probed again with them.
    let o = generate(&["--extra-body", r#"{"repetition_penalty": 1.1}"#]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("probing"), "{}", stderr(&o));
    // Another server on the same URL.
    *srv.models.lock().expect("lock") =
        json!({"object": "list", "data": [{"id": "counter", "owned_by": "someone-else"}]});
    let o = generate(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("serves something else"),
        "{}",
        stderr(&o)
    );
    for key in [
        "max_tokens",
        "continue_final_message",
        "logprobs",
        "stream",
        "reasoning_effort",
        "logit_bias",
    ] {
        let body = format!("{{\"{key}\": 1}}");
        let o = generate(&["--extra-body", &body]);
        assert_eq!(o.status.code(), Some(2), "{key}: {}", stderr(&o));
        assert!(stderr(&o).contains(key), "{}", stderr(&o));
    }
}
