//! `hf:owner/repo/file.gguf[@revision]`: fetch a GGUF file from a Hugging Face–style model hub.
//!
//! The file is streamed to a temporary file in the cache and renamed into place when complete,
//! so an interrupted download never leaves a partial model. `HF_ENDPOINT` overrides the hub
//! (mirrors, tests); `HF_TOKEN`, when set, is sent as a bearer token and never recorded.

use crate::error::bad_input;
use anyhow::Context;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::PathBuf;

pub async fn fetch(
    repo: &str,
    file: &str,
    revision: &str,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<(PathBuf, String)> {
    let dir = cotlens_local::resolve::cache_dir()
        .join("models")
        .join("hub")
        .join(repo.replace('/', "--"))
        .join(revision);
    let dest = dir.join(file);
    let sha_file = dest.with_extension("gguf.sha256");
    if dest.exists() {
        if let Ok(sha) = std::fs::read_to_string(&sha_file) {
            return Ok((
                dest,
                format!("hf:{repo}/{file}@{revision}@sha256:{}", sha.trim()),
            ));
        }
    }
    let endpoint = std::env::var("HF_ENDPOINT").unwrap_or_else(|_| "https://huggingface.co".into());
    let url = format!(
        "{}/{repo}/resolve/{revision}/{file}",
        endpoint.trim_end_matches('/')
    );
    progress(&format!("downloading {url}"));
    let client = reqwest::Client::new();
    let mut request = client.get(&url);
    if let Ok(token) = std::env::var("HF_TOKEN") {
        request = request.bearer_auth(token);
    }
    let mut response = request.send().await.map_err(|e| {
        bad_input(format!(
            "cannot reach the model hub for hf:{repo}/{file} ({e}); download the file elsewhere and pass it with --model local:/path/to/{file}"
        ))
    })?;
    if !response.status().is_success() {
        return Err(bad_input(format!(
            "hf:{repo}/{file}@{revision}: the hub answered {}",
            response.status()
        )));
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(&dir)
        .with_context(|| format!("writing in {}", dir.display()))?;
    let mut hasher = Sha256::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .with_context(|| format!("downloading {url}"))?
    {
        hasher.update(&chunk);
        tmp.write_all(&chunk)
            .with_context(|| format!("writing {}", tmp.path().display()))?;
    }
    let sha = hex::encode(hasher.finalize());
    tmp.as_file().sync_all()?;
    tmp.persist(&dest)
        .with_context(|| format!("moving the download to {}", dest.display()))?;
    crate::store::write_atomic(&sha_file, sha.as_bytes())?;
    cotlens_local::check_gguf(&dest)?;
    Ok((dest, format!("hf:{repo}/{file}@{revision}@sha256:{sha}")))
}
