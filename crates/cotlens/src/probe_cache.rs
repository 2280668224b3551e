//! Capability probe reports kept in `$COTLENS_HOME/probes/`, one JSON file per base URL and
//! model, reused for [`cotlens_core::probe::PROBE_TTL_SECS`] so that a run does not ask a
//! server again what it honours. A file that cannot be read is ignored (the server is probed
//! again); one that cannot be written is a warning, never a failed run.

use cotlens_core::probe::ProbeReport;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// `$COTLENS_HOME/probes`.
pub fn default_dir() -> PathBuf {
    cotlens_local::resolve::cache_dir().join("probes")
}

fn file(dir: &Path, backend: &str, base_url: &str, model: &str, options: Option<&str>) -> PathBuf {
    let options = options.unwrap_or("");
    let key = Sha256::digest(format!("{backend}\n{base_url}\n{model}\n{options}").as_bytes());
    // boundary: `key` is a 32-byte digest, not text.
    dir.join(format!("{}.json", hex::encode(&key[..12])))
}

pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The stored report for this server, model and request options (their hash), when it is
/// fresh.
pub fn load(
    dir: &Path,
    backend: &str,
    base_url: &str,
    model: &str,
    options: Option<&str>,
) -> Option<ProbeReport> {
    let text = std::fs::read_to_string(file(dir, backend, base_url, model, options)).ok()?;
    let report: ProbeReport = serde_json::from_str(&text).ok()?;
    (report.fresh(now_unix())
        && report.backend == backend
        && report.base_url == base_url
        && report.model == model
        && report.request_options_sha256.as_deref() == options)
        .then_some(report)
}

/// Store `report` (written whole, then renamed into place).
pub fn store(dir: &Path, report: &ProbeReport) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = file(
        dir,
        &report.backend,
        &report.base_url,
        &report.model,
        report.request_options_sha256.as_deref(),
    );
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let text = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, text + "\n")?;
    std::fs::rename(&tmp, &path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cotlens_core::probe::{assess, Answer, Observations, Reply, PROBE_TTL_SECS};

    fn report(url: &str, at: u64) -> ProbeReport {
        let a = |n| {
            Reply::Answered(Answer {
                prompt_tokens: Some(n),
                ..Default::default()
            })
        };
        assess(
            "openai-chat-completions",
            url,
            "m",
            &Observations {
                continued: a(3),
                unfinished: a(4),
                closed: a(5),
                logprobs: a(3),
                logprobs_continued: true,
                plain: a(3),
                controls: Default::default(),
            },
            at,
        )
    }

    #[test]
    fn fresh_reports_come_back_stale_ones_do_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = report("http://a/v1", now_unix());
        store(dir.path(), &r).expect("store");
        assert_eq!(
            load(
                dir.path(),
                "openai-chat-completions",
                "http://a/v1",
                "m",
                None
            ),
            Some(r)
        );
        assert_eq!(
            load(
                dir.path(),
                "openai-chat-completions",
                "http://b/v1",
                "m",
                None
            ),
            None
        );
        assert_eq!(
            load(
                dir.path(),
                "openai-chat-completions",
                "http://a/v1",
                "n",
                None
            ),
            None
        );
        store(
            dir.path(),
            &report("http://a/v1", now_unix() - PROBE_TTL_SECS),
        )
        .expect("store");
        assert_eq!(
            load(
                dir.path(),
                "openai-chat-completions",
                "http://a/v1",
                "m",
                None
            ),
            None
        );
        let f = file(
            dir.path(),
            "openai-chat-completions",
            "http://a/v1",
            "m",
            None,
        );
        std::fs::write(&f, "{not json").expect("write");
        assert_eq!(
            load(
                dir.path(),
                "openai-chat-completions",
                "http://a/v1",
                "m",
                None
            ),
            None
        );
    }
}
