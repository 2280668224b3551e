//! The report and the viewer in a real browser: headless Chromium (Debian's `chromium`, which
//! scripts/setup.sh installs) loads them, the charts render, an XSS canary in a CoT stays inert,
//! and screenshots are saved under target/screenshots/.

use crate::common;

use common::*;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn chromium() -> Option<PathBuf> {
    if std::env::var_os("COTLENS_SKIP_BROWSER").is_some() {
        eprintln!("COTLENS_SKIP_BROWSER set: browser tests skipped");
        return None;
    }
    let candidates = [
        std::env::var("COTLENS_CHROMIUM").unwrap_or_default(),
        "/usr/bin/chromium".into(),
        "/usr/bin/chromium-browser".into(),
        "/usr/bin/google-chrome".into(),
    ];
    let found = candidates
        .iter()
        .find(|c| !c.is_empty() && Path::new(c).exists())
        .map(PathBuf::from);
    assert!(found.is_some(), "no Chromium: install the Debian package `chromium` (bash scripts/setup.sh does), or set COTLENS_SKIP_BROWSER=1 to skip the browser tests");
    found
}

fn shots() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&d).expect("screenshots dir");
    d
}

/// Run headless Chromium on `url`: `--dump-dom` (the DOM after load, scripts run) or a screenshot.
fn chrome(bin: &Path, profile: &Path, url: &str, screenshot: Option<&Path>) -> String {
    let mut cmd = Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--window-size=1200,1600",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    match screenshot {
        Some(p) => cmd.arg(format!("--screenshot={}", p.display())),
        None => cmd.arg("--dump-dom"),
    };
    let out = cmd
        .arg(url)
        .stderr(Stdio::null())
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium failed on {url}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_inert(dom: &str, what: &str) {
    assert!(!dom.contains("data-pwned=\""), "{what}: the canary ran");
    assert!(
        dom.contains("&lt;script&gt;document.body.setAttribute"),
        "{what}: the canary is shown as text"
    );
}

#[test]
fn report_renders_in_chromium_and_the_canary_stays_inert() {
    let Some(bin) = chromium() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let profile = tmp.path().join("profile");
    // The detector works: an unescaped canary in a plain page does run.
    let control = tmp.path().join("control.html");
    std::fs::write(&control, format!("<html><body>{CANARY}</body></html>")).expect("control");
    let dom = chrome(
        &bin,
        &profile,
        &format!("file://{}", control.display()),
        None,
    );
    assert!(
        dom.contains("data-pwned=\""),
        "control: Chromium should run an unescaped canary: {dom}"
    );
    let run_dir = tmp.path().join("faithfulness-run");
    write_faithfulness_run(&run_dir, 6);
    let o = run(
        tmp.path(),
        &["report", run_dir.to_str().expect("utf8")],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let url = format!("file://{}", run_dir.join("report.html").display());
    let dom = chrome(&bin, &profile, &url, None);
    assert_inert(&dom, "report");
    assert!(
        dom.matches("<svg").count() >= 1 && dom.contains("<rect"),
        "the bar chart rendered"
    );
    assert!(dom.contains("<mark class=\"hint\">"));
    let shot = shots().join("report-faithfulness.png");
    chrome(&bin, &profile, &url, Some(&shot));
    assert!(
        std::fs::metadata(&shot)
            .map(|m| m.len() > 10_000)
            .unwrap_or(false),
        "screenshot written"
    );
    // A monitor run with its ROC curves (no model: the bundled ImpossibleBench transcripts).
    let mon = tmp.path().join("monitor-run");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/impossiblebench");
    let o = run(
        tmp.path(),
        &[
            "monitor",
            "--traces",
            &format!("impossiblebench:{}", data.display()),
            "--out",
            mon.to_str().expect("utf8"),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(
        tmp.path(),
        &[
            "monitor-eval",
            mon.to_str().expect("utf8"),
            "--bootstrap",
            "100",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let url = format!("file://{}", mon.join("report.html").display());
    let dom = chrome(&bin, &profile, &url, None);
    assert!(
        dom.contains("data:image/svg+xml;base64,"),
        "ROC curves embedded"
    );
    assert!(
        dom.contains("<td>0.747 ["),
        "the action view's AUROC (0.747 on these transcripts) is in the table"
    );
    chrome(
        &bin,
        &profile,
        &url,
        Some(&shots().join("report-monitor.png")),
    );
}

#[test]
fn viewer_renders_in_chromium() {
    let Some(bin) = chromium() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let profile = tmp.path().join("profile");
    let (a, b) = (tmp.path().join("run-a"), tmp.path().join("run-b"));
    write_faithfulness_run(&a, 4);
    write_faithfulness_run(&b, 3);
    let mut child = cotlens()
        .args(["view", a.to_str().expect("utf8"), b.to_str().expect("utf8")])
        .env("COTLENS_HOME", tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the viewer");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .expect("printed URL")
        .to_string();
    let result = std::panic::catch_unwind(|| {
        let dom = chrome(&bin, &profile, &format!("{base}run/0"), None);
        assert!(
            dom.contains("<svg") && dom.contains("<rect"),
            "chart in the run page"
        );
        assert_inert(&dom, "run page");
        let dom = chrome(&bin, &profile, &format!("{base}run/0/item/q0"), None);
        assert_inert(&dom, "item page");
        assert!(dom.contains("unhinted CoT") && dom.contains("<mark class=\"hint\">"));
        let dom = chrome(
            &bin,
            &profile,
            &format!("{base}run/0/records?condition=hinted&verdict=verbalized"),
            None,
        );
        assert!(dom.contains("2 of 2 matching"), "filters work in the page");
        for (path, name) in [
            ("", "viewer-index"),
            ("run/0/records?condition=hinted", "viewer-records"),
            ("run/0/item/q0", "viewer-item"),
            ("compare?a=0&b=1", "viewer-compare"),
        ] {
            let shot = shots().join(format!("{name}.png"));
            chrome(&bin, &profile, &format!("{base}{path}"), Some(&shot));
            assert!(shot.exists(), "{name}");
        }
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
