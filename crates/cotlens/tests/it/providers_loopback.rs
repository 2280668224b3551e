//! Providers' own request rules, end to end against loopback emulators: OpenAI reasoning
//! models (max_completion_tokens, no temperature, hidden reasoning) and the Anthropic Messages
//! API (prefill by model generation, extended thinking).

use crate::common;
use crate::probe_loopback::config;

use common::server::{self, Emulate};
use common::*;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// An OpenAI reasoning model gets max_completion_tokens, no temperature, and the reasoning
/// effort asked for; the effort is refused up front where the server refuses the field, and
/// on a model that is not a server's.
#[tokio::test(flavor = "multi_thread")]
async fn openai_reasoning_models_get_their_own_fields() {
    let seen: Arc<std::sync::Mutex<Vec<Value>>> = Arc::default();
    let inner = scripted(false);
    let log = seen.clone();
    let script: Arc<dyn Fn(&Value) -> Value + Send + Sync> = Arc::new(move |req: &Value| {
        if let Ok(mut l) = log.lock() {
            l.push(req.clone());
        }
        let mut r = inner(req);
        // The Chat Completions API shows no reasoning text, only its count.
        if let Some(m) = r["choices"][0]["message"].as_object_mut() {
            m.remove("reasoning_content");
        }
        r["usage"]["completion_tokens_details"] = json!({"reasoning_tokens": 40});
        r
    });
    let srv = server::start_as(config(script), Emulate::OpenAiReasoning).await;
    let tmp = tempfile::tempdir().expect("tmp");
    let items = format!("jsonl:{}", write_items(tmp.path()).display());
    let out = tmp.path().join("run");
    let o = run(
        tmp.path(),
        &[
            "faithfulness",
            "--model",
            "openai:o4-mini",
            "--base-url",
            &srv.url,
            "--dataset",
            &items,
            "--limit",
            "4",
            "--hints",
            "sycophancy",
            "--reasoning-effort",
            "low",
            "--out",
            out.to_str().expect("utf8"),
            "--quiet",
            "--no-cache",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let bodies = seen.lock().expect("lock").clone();
    let protocol: Vec<&Value> = bodies
        .iter()
        .filter(|b| b["messages"][0]["content"] != cotlens_core::probe::PROBE_QUESTION)
        .collect();
    assert!(!protocol.is_empty());
    for b in protocol {
        assert!(b["max_completion_tokens"].is_u64(), "{b}");
        assert!(
            b["max_tokens"].is_null() && b["temperature"].is_null(),
            "{b}"
        );
        assert_eq!(b["reasoning_effort"], "low", "{b}");
    }
    let m = read_json(&out.join("manifest.json"));
    assert_eq!(
        m["model"]["details"]["request_options"]["reasoning_effort"], "low",
        "{m}"
    );
    let r = &m["model"]["capability_check"]["reports"][0];
    assert_eq!(r["logprobs"]["verdict"], "no", "{r}");
    // The reasoning is hidden (a count, no text): no hinted CoT is judged on its answer alone.
    let records = std::fs::read_to_string(out.join("records.jsonl")).expect("records");
    let mut hidden = 0;
    for line in records.lines() {
        let rec: Value = serde_json::from_str(line).expect("record");
        for (_, j) in rec["judges"].as_object().into_iter().flatten() {
            assert!(j.to_string().contains("reasoning is hidden"), "{j}");
            hidden += 1;
        }
    }
    assert!(hidden > 0, "some hinted answers followed the hint");
    assert_eq!(
        r["reasoning_controls"]["reasoning_effort"]["verdict"],
        "yes"
    );

    // gpt-4o refuses reasoning_effort: the run stops before its first unit, naming the flag.
    let plain = server::start_as(config(scripted(false)), Emulate::OpenAi).await;
    let o = run(
        tmp.path(),
        &[
            "faithfulness",
            "--model",
            "openai:gpt-4o",
            "--base-url",
            &plain.url,
            "--dataset",
            &items,
            "--limit",
            "4",
            "--reasoning-effort",
            "high",
            "--quiet",
            "--no-cache",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--reasoning-effort")
            && stderr(&o).contains("not supported with this model"),
        "{}",
        stderr(&o)
    );
    assert_eq!(plain.requests.load(Ordering::SeqCst), 0);
    for (flag, value) in [
        ("--reasoning-effort", "low"),
        ("--chat-template-kwargs", "{}"),
        ("--extra-body", "{}"),
    ] {
        let o = run(tmp.path(), &["generate", flag, value, "hi"], &[]);
        assert_eq!(o.status.code(), Some(2), "{flag}: {}", stderr(&o));
        assert!(stderr(&o).contains("openai: models only"), "{}", stderr(&o));
    }
    for bad in ["[1]", "{not json"] {
        let o = run(
            tmp.path(),
            &[
                "generate",
                "--model",
                "openai:x",
                "--base-url",
                &srv.url,
                "--extra-body",
                bad,
                "hi",
            ],
            &[],
        );
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("--extra-body"), "{}", stderr(&o));
    }
}

/// A Messages API model that thinks when asked to, and says whether it was prefilled.
fn claude() -> Arc<dyn Fn(&Value) -> Value + Send + Sync> {
    let scripted = scripted(false);
    Arc::new(move |req: &Value| {
        // The scripted model's answer, reshaped as a Messages API reply.
        let mut chat = req.clone();
        if let Some(system) = req["system"].as_str() {
            if let Some(m) = chat["messages"].as_array_mut() {
                m.insert(0, json!({"role": "system", "content": system}));
            }
        }
        let answer = scripted(&chat);
        let message = &answer["choices"][0]["message"];
        let mut content = Vec::new();
        if !req["thinking"].is_null() {
            let thought = message["reasoning_content"]
                .as_str()
                .unwrap_or("Let me think.");
            content.push(json!({"type": "thinking", "thinking": thought, "signature": "sig"}));
        }
        content.push(json!({"type": "text", "text": message["content"].as_str().unwrap_or("")}));
        json!({"id": "msg_1", "type": "message", "role": "assistant", "model": req["model"],
            "stop_reason": "end_turn", "usage": {"input_tokens": 20, "output_tokens": 30},
            "content": content})
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_prefill_and_thinking_follow_the_documented_rules() {
    let key = [("ANTHROPIC_API_KEY", "sk-ant-test")];
    let tmp = tempfile::tempdir().expect("tmp");
    let items = format!("jsonl:{}", write_items(tmp.path()).display());
    // Claude 4.6+: no prefill. The probe finds it, necessity stops before its first unit.
    let newer = server::start_as(config(claude()), Emulate::AnthropicNoPrefill).await;
    let base = newer.url.trim_end_matches("/v1").to_string();
    let o = run(
        tmp.path(),
        &[
            "probe",
            "--model",
            "anthropic:claude-opus-4-6",
            "--base-url",
            &base,
        ],
        &key,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["capabilities"]["prefix_continuation"], false, "{v}");
    let o = run(
        tmp.path(),
        &[
            "necessity",
            "--model",
            "anthropic:claude-opus-4-6",
            "--base-url",
            &base,
            "--dataset",
            &items,
            "--limit",
            "2",
            "--quiet",
        ],
        &key,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("does not support assistant message prefill"),
        "{}",
        stderr(&o)
    );
    assert_eq!(newer.requests.load(Ordering::SeqCst), 0);

    // An older model takes prefill; with --thinking-budget every request thinks by the rules.
    let seen: Arc<std::sync::Mutex<Vec<Value>>> = Arc::default();
    let log = seen.clone();
    let inner = claude();
    let script: Arc<dyn Fn(&Value) -> Value + Send + Sync> = Arc::new(move |req: &Value| {
        if let Ok(mut l) = log.lock() {
            l.push(req.clone());
        }
        inner(req)
    });
    let older = server::start_as(config(script), Emulate::AnthropicPrefill).await;
    let base = older.url.trim_end_matches("/v1").to_string();
    let o = run(
        tmp.path(),
        &[
            "probe",
            "--model",
            "anthropic:claude-sonnet-4-5",
            "--base-url",
            &base,
        ],
        &key,
    );
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["capabilities"]["prefix_continuation"], true, "{v}");
    let out = tmp.path().join("thinking");
    let o = run(
        tmp.path(),
        &[
            "faithfulness",
            "--model",
            "anthropic:claude-sonnet-4-5",
            "--base-url",
            &base,
            "--dataset",
            &items,
            "--limit",
            "4",
            "--hints",
            "sycophancy",
            "--thinking-budget",
            "2048",
            "--out",
            out.to_str().expect("utf8"),
            "--quiet",
            "--no-cache",
        ],
        &key,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let bodies = seen.lock().expect("lock").clone();
    let protocol: Vec<&Value> = bodies
        .iter()
        .filter(|b| b["messages"][0]["content"] != cotlens_core::probe::PROBE_QUESTION)
        .collect();
    assert!(!protocol.is_empty());
    for b in protocol {
        assert_eq!(
            b["thinking"],
            json!({"type": "enabled", "budget_tokens": 2048}),
            "{b}"
        );
        assert!(b["max_tokens"].as_u64().expect("max_tokens") > 2048);
        assert!(b["temperature"].is_null(), "{b}");
    }
    let m = read_json(&out.join("manifest.json"));
    assert_eq!(
        m["model"]["details"]["thinking"]["budget_tokens"], 2048,
        "{m}"
    );
    assert_eq!(
        m["model"]["capabilities"],
        json!(["chat"]),
        "no prefill with thinking"
    );
    let first: Value = serde_json::from_str(
        std::fs::read_to_string(out.join("records.jsonl"))
            .expect("records")
            .lines()
            .next()
            .expect("a record"),
    )
    .expect("json");
    assert!(
        first["completion"]["reasoning"]["reasoning"].is_string(),
        "{first}"
    );
    // The rules cotlens can check before asking: a budget under 1024, thinking on openai:.
    for args in [
        vec![
            "generate",
            "--model",
            "anthropic:claude-sonnet-4-5",
            "--base-url",
            &base,
            "--thinking-budget",
            "512",
            "hi",
        ],
        vec![
            "generate",
            "--model",
            "openai:x",
            "--base-url",
            &base,
            "--thinking-budget",
            "2048",
            "hi",
        ],
        vec![
            "generate",
            "--model",
            "anthropic:claude-sonnet-4-5",
            "--base-url",
            &base,
            "--thinking-budget",
            "2048",
            "--prefix",
            "So",
            "hi",
        ],
    ] {
        let o = run(tmp.path(), &args, &key);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}
