//! The HTML report and the viewer's router (no socket): escaping, charts, size at 10,000
//! records, filters, item pages, and that nothing outside the run directories is served.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use tower::ServiceExt;

#[test]
fn report_escapes_model_text_draws_charts_and_stays_small() {
    let tmp = tempfile::tempdir().expect("tmp");
    let run_dir = tmp.path().join("run");
    write_faithfulness_run(&run_dir, 6);
    let o = run(
        tmp.path(),
        &["report", run_dir.to_str().expect("utf8")],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(run_dir.join("report.html")).expect("report");
    assert!(!html.contains("<script"), "no script at all");
    assert!(!html.contains("<img src=x"), "canary escaped");
    assert!(
        html.contains("&lt;script&gt;document.body.setAttribute"),
        "canary shown as text"
    );
    assert!(html.contains("<svg") && html.contains("<rect"), "bar chart");
    assert!(html.contains("metadata &lt;b&gt;"), "labels escaped");
    assert!(
        html.contains("<mark class=\"hint\">A Stanford professor thinks the answer is (C).</mark>"),
        "hint highlighted"
    );
    assert!(
        html.contains("<mark class=\"quote\">The professor says C</mark>"),
        "quote highlighted"
    );
    assert!(html.contains("Content-Security-Policy"));
    for external in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(
            !html.contains(external),
            "offline: no external resource ({external})"
        );
    }
    // 10,000 records: aggregate and sample.
    let big = tmp.path().join("big");
    write_faithfulness_run(&big, 5_000);
    let o = run(tmp.path(), &["report", big.to_str().expect("utf8")], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let size = std::fs::metadata(big.join("report.html"))
        .expect("report")
        .len();
    assert!(size < 5_000_000, "{size} bytes");
    // Missing and foreign directories.
    let o = run(
        tmp.path(),
        &["report", tmp.path().join("nope").to_str().expect("utf8")],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    let o = run(
        tmp.path(),
        &["report", tmp.path().to_str().expect("utf8")],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a cotlens run directory"),
        "{}",
        stderr(&o)
    );
}

const PORT: u16 = 4711;

async fn get_as(app: &axum::Router, uri: &str, host: &str) -> (StatusCode, String) {
    let res = app
        .clone()
        .oneshot(
            Request::builder()
                .uri(uri)
                .header("host", host)
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    let status = res.status();
    assert_eq!(
        res.headers()
            .get("x-content-type-options")
            .map(|v| v.as_bytes()),
        Some(&b"nosniff"[..]),
        "{uri}"
    );
    let csp = res
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script"),
        "{uri}: {csp}"
    );
    let bytes = axum::body::to_bytes(res.into_body(), 50 << 20)
        .await
        .expect("body");
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    get_as(app, uri, &format!("127.0.0.1:{PORT}")).await
}

#[tokio::test]
async fn viewer_routes_filter_and_serve_nothing_outside_the_runs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let a = tmp.path().join("runs/a");
    let b = tmp.path().join("runs/b");
    write_faithfulness_run(&a, 4);
    write_faithfulness_run(&b, 2);
    std::fs::write(tmp.path().join("runs/secret.txt"), "TOP SECRET").expect("secret");
    let runs = cotlens::view::open_runs(&[a.clone(), b.clone()]).expect("runs");
    // A symbolic link inside a run is not served, nor read into a page.
    std::os::unix::fs::symlink(tmp.path().join("runs/secret.txt"), a.join("ledger.json"))
        .expect("symlink");
    let app = cotlens::view::router(runs, PORT);
    // Only requests for the loopback name at this port are answered (DNS rebinding).
    for host in ["evil.example", "evil.example:4711", "127.0.0.1:80", ""] {
        let (s, body) = get_as(&app, "/api/run/0/records", host).await;
        assert_eq!(s, StatusCode::MISDIRECTED_REQUEST, "{host}");
        assert!(!body.contains("sycophancy"), "{host}: {body}");
    }
    let (s, _) = get_as(&app, "/", &format!("localhost:{PORT}")).await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = get(&app, "/run/0/file/ledger.json").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(!body.contains("TOP SECRET"));
    let (s, body) = get(&app, "/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("/run/0") && body.contains("/compare"),
        "{body}"
    );
    let (s, body) = get(&app, "/run/0").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("<svg") && !body.contains("<script"));
    let (_, body) = get(
        &app,
        "/api/run/0/records?condition=hinted&verdict=verbalized",
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["total"], 2, "{v}");
    // Records appended while the viewer runs (a resume) are seen: the index is rebuilt when
    // the file changes.
    let (_, body) = get(&app, "/api/run/0/records").await;
    let before = serde_json::from_str::<serde_json::Value>(&body).expect("json")["total"]
        .as_u64()
        .expect("total");
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(a.join("records.jsonl"))
            .expect("open");
        writeln!(
            f,
            "{}",
            serde_json::json!({"key": "late|plain", "item_id": "late", "condition": "plain"})
        )
        .expect("append");
    }
    let (_, body) = get(&app, "/api/run/0/records").await;
    let after = serde_json::from_str::<serde_json::Value>(&body).expect("json")["total"]
        .as_u64()
        .expect("total");
    assert_eq!(after, before + 1);
    let (s, _) = get(&app, "/run/0/item/late").await;
    assert_eq!(s, StatusCode::OK);
    let (_, body) = get(&app, "/api/run/0/records?followed=yes&limit=1").await;
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        (v["total"].as_u64(), v["records"].as_array().map(Vec::len)),
        (Some(4), Some(1))
    );
    let (s, body) = get(&app, "/run/0/records?hint=sycophancy&q=professor").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("4 of 4 matching"), "{body}");
    let (_, body) = get(&app, "/run/0/records?condition=hinted&limit=1").await;
    assert!(
        body.contains("/run/0/records?condition=hinted&amp;limit=1&amp;offset=1"),
        "next page keeps the filters: {body}"
    );
    let (s, body) = get(&app, "/run/0/item/q0").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("unhinted CoT")
            && body.contains("hinted CoT")
            && body.contains("<mark class=\"hint\">"),
        "{body}"
    );
    assert!(!body.contains("<script") && body.contains("&lt;script&gt;"));
    let (s, body) = get(&app, "/compare?a=0&b=1").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("runs/a") || body.contains(">a<"), "{body}");
    let (s, body) = get(&app, "/run/1/file/summary.json").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("sycophancy"));
    for bad in [
        "/run/0/file/records.jsonl",
        "/run/0/file/..%2Fsecret.txt",
        "/run/0/file/../secret.txt",
        "/run/0/file/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/run/0/file/..%2F..%2F..%2Fetc%2Fpasswd",
        "/run/2/file/summary.json",
        "/run/-1",
        "/run/0/item/..%2F..%2Fsecret.txt",
        "/../runs/secret.txt",
        "/runs/secret.txt",
        "/secret.txt",
    ] {
        let (s, body) = get(&app, bad).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{bad}");
        assert!(
            !body.contains("TOP SECRET") && !body.contains("root:"),
            "{bad}"
        );
    }
    assert!(
        cotlens::view::open_runs(&[tmp.path().join("runs")]).is_err(),
        "a foreign directory is refused"
    );
}
