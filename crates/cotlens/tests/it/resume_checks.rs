//! `--resume` keeps a run one run: flags that change results, another server, and failed units.

use crate::common;

use common::server::{self, Config, Fault};
use common::*;
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

fn config(fault_every: u64) -> Config {
    Config {
        fault_every,
        faults: vec![Fault::Internal],
        unauthorized: false,
        delay: Duration::ZERO,
        script: scripted(false),
    }
}

fn start_args<'a>(url: &'a str, items: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "faithfulness",
        "--model",
        "openai:scripted",
        "--base-url",
        url,
        "--dataset",
        items,
        "--hints",
        "sycophancy",
        "--out",
        out,
        "--quiet",
        "--no-cache",
        "--retry-base-ms",
        "5",
        "--concurrency",
        "1",
    ]
}

fn resume<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["faithfulness", "--resume", out, "--no-cache"];
    args.extend_from_slice(extra);
    args
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_refuses_changed_flags_and_servers() {
    let (a, b) = (
        server::start(config(0)).await,
        server::start(config(0)).await,
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let items = format!("jsonl:{}", write_items(tmp.path()).display());
    let out = tmp.path().join("run");
    let out_s = out.to_str().expect("utf8");
    let o = run(tmp.path(), &start_args(&a.url, &items, out_s), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let asked = a.requests.load(Ordering::SeqCst);
    // Each of these would change the results: refused, naming the flag and both values.
    for (extra, names) in [
        (
            vec!["--temperature", "0.7"],
            "--temperature \"0.7\" (the run has \"0\")",
        ),
        (
            vec!["--hints", "metadata"],
            "--hints \"metadata\" (the run has \"sycophancy\")",
        ),
        (
            vec!["--limit", "3"],
            "--limit \"3\" (the run was started without it)",
        ),
        (vec!["--direction", "correct"], "--direction"),
        (vec!["--seed", "4"], "--seed"),
    ] {
        let o = run(tmp.path(), &resume(out_s, &extra), &[]);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(names), "{extra:?}: {}", stderr(&o));
    }
    // Another server is another model, as far as the results go.
    let o = run(tmp.path(), &resume(out_s, &["--base-url", &b.url]), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("model or server"), "{}", stderr(&o));
    assert_eq!(b.requests.load(Ordering::SeqCst), 0, "B was never asked");
    // Scheduling flags may change (and are noted); the run's own server is used when none is
    // given, and nothing is asked twice.
    let o = run(
        tmp.path(),
        &resume(
            out_s,
            &[
                "--concurrency",
                "3",
                "--timeout",
                "5",
                "--hints",
                "sycophancy",
            ],
        ),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("resumed with --concurrency \"3\""),
        "{}",
        stderr(&o)
    );
    assert_eq!(a.requests.load(Ordering::SeqCst), asked);
    let keys = asked_keys(&out);
    assert_eq!(keys.len(), keys.iter().collect::<HashSet<_>>().len());
    assert!(
        read_json(&out.join("manifest.json"))["command_line"]["given"]
            .as_array()
            .is_some_and(|g| g.iter().any(|f| f == "hints"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replicas_of_one_deployment_may_serve_a_resume() {
    let (a, b) = (
        server::start(config(0)).await,
        server::start(config(0)).await,
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let items = format!("jsonl:{}", write_items(tmp.path()).display());
    let out = tmp.path().join("run");
    let out_s = out.to_str().expect("utf8");
    let mut args = start_args(&a.url, &items, out_s);
    args.extend(["--cache-scope", "model", "--limit", "4"]);
    let o = run(tmp.path(), &args, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Lose the last records, as a kill would.
    let text = std::fs::read_to_string(out.join("records.jsonl")).expect("records");
    let kept: Vec<&str> = text.lines().take(3).collect();
    std::fs::write(out.join("records.jsonl"), kept.join("\n") + "\n").expect("write");
    let o = run(tmp.path(), &resume(out_s, &["--base-url", &b.url]), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("other replicas"), "{}", stderr(&o));
    assert!(b.requests.load(Ordering::SeqCst) > 0, "B answered the rest");
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_retries_failed_units_once_each() {
    // Every other request fails with 500 and one attempt is allowed: about half the units fail.
    let srv = server::start(config(2)).await;
    let tmp = tempfile::tempdir().expect("tmp");
    let items = format!("jsonl:{}", write_items(tmp.path()).display());
    let out = tmp.path().join("run");
    let out_s = out.to_str().expect("utf8");
    let mut args = start_args(&srv.url, &items, out_s);
    args.extend(["--max-attempts", "1"]);
    let o = run(tmp.path(), &args, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let failed = |dir: &std::path::Path| {
        std::fs::read_to_string(dir.join("records.jsonl"))
            .expect("records")
            .lines()
            .filter(|l| l.contains("\"status\":\"failed\""))
            .count()
    };
    let failed_before = failed(&out);
    assert!(failed_before > 3, "{failed_before}");
    let asked = srv.requests.load(Ordering::SeqCst);
    // A resume refused for another server changes nothing, failed units included.
    let other = server::start(config(0)).await;
    let o = run(tmp.path(), &resume(out_s, &["--base-url", &other.url]), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        failed(&out),
        failed_before,
        "a refused resume moved failed records"
    );
    assert!(!out.join("retried.jsonl").exists());
    let o = run(tmp.path(), &resume(out_s, &["--no-retry-failed"]), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        srv.requests.load(Ordering::SeqCst),
        asked,
        "nothing asked again"
    );
    assert_eq!(failed(&out), failed_before);
    let o = run(tmp.path(), &resume(out_s, &[]), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("{failed_before} units recorded as failed")),
        "{}",
        stderr(&o)
    );
    assert!(srv.requests.load(Ordering::SeqCst) >= asked + failed_before as u64);
    assert!(failed(&out) < failed_before, "some of them succeed now");
    let keys = record_keys(&out);
    assert_eq!(
        keys.len(),
        keys.iter().collect::<HashSet<_>>().len(),
        "one record per unit"
    );
    let moved = std::fs::read_to_string(out.join("retried.jsonl")).expect("retried.jsonl");
    assert_eq!(moved.lines().count(), failed_before);
}
