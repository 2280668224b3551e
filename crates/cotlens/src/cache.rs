//! The response cache: a SQLite database (WAL) shared across runs.
//!
//! Key = sha256 of the canonical JSON (object keys sorted) of exactly what changes the output:
//! the cache version, the kind of request, the backend's identity ([`backend_identity`]: its kind,
//! the model, and, unless `--cache-scope model`, the endpoint) and the request (messages,
//! started assistant turn, sampling parameters including the seed, or the candidates). Secrets
//! are never part of a request, so never part of a key or a value.

use anyhow::Context;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Bump when the meaning of cached values or keys changes (2: keys name the backend kind and
/// endpoint, not only the model name).
pub const CACHE_VERSION: u32 = 2;

pub struct Cache {
    conn: Mutex<Connection>,
    /// Writes not yet committed: (key, kind, value). Committed together in one transaction, so
    /// that a 10,000-request run does not pay one SQLite commit per response; read too.
    pending: Mutex<Vec<(String, String, String)>>,
    path: PathBuf,
}

/// Writes buffered before one transaction commits them.
const BATCH: usize = 256;

/// Recursively sort object keys, so equal values always serialize to equal bytes.
pub fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for k in keys {
                out.insert(k.clone(), canonical(&map[k]));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// sha256 hex of the canonical JSON of `value`.
pub fn hash_json(value: &impl Serialize) -> String {
    let v = serde_json::to_value(value).unwrap_or(Value::Null);
    let bytes = serde_json::to_vec(&canonical(&v)).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

/// A base URL in canonical form: scheme and host lower-cased, no trailing slash.
pub fn canonical_url(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            format!("{}://{}{path}", scheme.to_lowercase(), host.to_lowercase())
        }
        None => url.to_string(),
    }
}

/// Who answers a request, as far as the cache is concerned: the backend kind (its `backend`
/// detail, e.g. `openai-chat-completions`, `anthropic-messages`, or llama.cpp with its
/// version), the model (a local model's id is its file's sha256), and with `--cache-scope
/// endpoint` (the default) the sorted canonical base URLs of a server (every replica of the
/// run).
pub fn backend_identity(info: &cotlens_core::BackendInfo, scope: crate::args::CacheScope) -> Value {
    let mut id = serde_json::json!({
        "backend": info.details.get("backend").cloned().unwrap_or(Value::Null),
        "spec_kind": info.spec.split_once(':').map_or(info.spec.as_str(), |(k, _)| k),
        "model": info.model_id,
    });
    // Request fields the user set (reasoning effort, template kwargs, extra body) change the
    // answers: a cached answer must have been asked with the same ones.
    // (The hash of the options as sent: the recorded copy has its secrets redacted.)
    if let Some(options) = info.details.get("request_options_sha256") {
        id["request_options"] = options.clone();
    }
    if scope == crate::args::CacheScope::Endpoint {
        let mut urls: Vec<String> = info
            .details
            .get("base_urls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(canonical_url)
            .collect();
        urls.sort();
        urls.dedup();
        // A local model's id is its file's sha256: the content is the endpoint.
        if !urls.is_empty() {
            id["endpoint"] = serde_json::json!(urls);
        }
    }
    id
}

/// The cache key of a request of `kind` to the backend `identity` ([`backend_identity`]).
pub fn cache_key(kind: &str, identity: &Value, request: &impl Serialize) -> String {
    hash_json(
        &serde_json::json!({"cache_version": CACHE_VERSION, "kind": kind, "backend": identity, "request": request}),
    )
}

impl Cache {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        // A file that is not a cache, or a folder, is the user's to fix (exit 2, naming it).
        let unusable = |e: rusqlite::Error| {
            crate::error::bad_input(format!(
                "--cache {}: not a usable cache file ({e}); remove it or choose another --cache",
                path.display()
            ))
        };
        let conn = Connection::open(path).map_err(unusable)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(unusable)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(unusable)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(unusable)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, kind TEXT NOT NULL, value TEXT NOT NULL, created_at INTEGER NOT NULL)",
        )
        .map_err(unusable)?;
        Ok(Self {
            conn: Mutex::new(conn),
            pending: Mutex::new(Vec::new()),
            path: path.to_path_buf(),
        })
    }

    /// `$COTLENS_HOME/cache.sqlite` (or the XDG cache directory).
    pub fn default_path() -> PathBuf {
        cotlens_local::resolve::cache_dir().join("cache.sqlite")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        if let Ok(pending) = self.pending.lock() {
            if let Some((_, _, v)) = pending.iter().rev().find(|(k, _, _)| k == key) {
                return serde_json::from_str(v).ok();
            }
        }
        let conn = self.conn.lock().ok()?;
        let text: Option<String> = conn
            .query_row(
                "SELECT value FROM responses WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()
            .ok()?;
        text.and_then(|t| serde_json::from_str(&t).ok())
    }

    pub fn put<T: Serialize>(&self, key: &str, kind: &str, value: &T) -> anyhow::Result<()> {
        let text = serde_json::to_string(value)?;
        let full = {
            let mut pending = self
                .pending
                .lock()
                .map_err(|_| anyhow::anyhow!("cache lock poisoned"))?;
            pending.push((key.to_string(), kind.to_string(), text));
            pending.len() >= BATCH
        };
        if full {
            self.flush()?;
        }
        Ok(())
    }

    /// Commit buffered writes (also done when the cache is dropped).
    pub fn flush(&self) -> anyhow::Result<()> {
        let batch = std::mem::take(
            &mut *self
                .pending
                .lock()
                .map_err(|_| anyhow::anyhow!("cache lock poisoned"))?,
        );
        if batch.is_empty() {
            return Ok(());
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| anyhow::anyhow!("cache lock poisoned"))?;
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached("INSERT OR REPLACE INTO responses (key, kind, value, created_at) VALUES (?1, ?2, ?3, ?4)")?;
            for (k, kind, v) in &batch {
                stmt.execute(params![k, kind, v, now])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::warn!(
                "could not write the last cached responses to {}: {e:#}",
                self.path.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_ignore_field_order_but_not_values() {
        let m = json!({"model": "m"});
        let a = cache_key("chat", &m, &json!({"x": 1, "y": [1, {"b": 2, "a": 1}]}));
        let b = cache_key("chat", &m, &json!({"y": [1, {"a": 1, "b": 2}], "x": 1}));
        let c = cache_key("chat", &m, &json!({"x": 2, "y": [1, {"a": 1, "b": 2}]}));
        let d = cache_key(
            "chat",
            &json!({"model": "other"}),
            &json!({"x": 1, "y": [1, {"a": 1, "b": 2}]}),
        );
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    fn info(spec: &str, backend: &str, urls: &[&str]) -> cotlens_core::BackendInfo {
        let mut details = serde_json::Map::new();
        details.insert("backend".into(), json!(backend));
        details.insert("base_urls".into(), json!(urls));
        cotlens_core::BackendInfo {
            spec: spec.into(),
            model_id: "fake".into(),
            capabilities: Vec::new(),
            details,
            capability_check: None,
        }
    }

    /// An answer asked with one reasoning effort (or thinking budget) never serves another;
    /// without request options the identity is what it always was.
    #[test]
    fn identity_names_request_options() {
        use crate::args::CacheScope::Model;
        let plain = info("openai:m", "openai-chat-completions", &["http://h/v1"]);
        let mut low = plain.clone();
        low.details
            .insert("request_options_sha256".into(), json!("aaaa"));
        let mut high = plain.clone();
        high.details
            .insert("request_options_sha256".into(), json!("bbbb"));
        let ids: Vec<_> = [&plain, &low, &high]
            .iter()
            .map(|i| backend_identity(i, Model))
            .collect();
        assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
        assert!(ids[0].get("request_options").is_none());
    }

    /// Server A's answers never serve server B, nor an OpenAI-style server an Anthropic one;
    /// `--cache-scope model` shares across endpoints of one backend kind on purpose.
    #[test]
    fn identity_names_backend_kind_and_endpoint() {
        use crate::args::CacheScope::{Endpoint, Model};
        let a = info(
            "openai:fake",
            "openai-chat-completions",
            &["http://127.0.0.1:8000/v1"],
        );
        let a2 = info(
            "openai:fake",
            "openai-chat-completions",
            &["HTTP://127.0.0.1:8000/v1/"],
        );
        let b = info(
            "openai:fake",
            "openai-chat-completions",
            &["http://127.0.0.1:9000/v1"],
        );
        let anth = info(
            "anthropic:fake",
            "anthropic-messages",
            &["http://127.0.0.1:8000/v1"],
        );
        let req = json!({"messages": []});
        let key =
            |i: &cotlens_core::BackendInfo, s| cache_key("chat", &backend_identity(i, s), &req);
        assert_eq!(key(&a, Endpoint), key(&a2, Endpoint), "canonical URLs");
        assert_ne!(key(&a, Endpoint), key(&b, Endpoint));
        assert_ne!(key(&a, Model), key(&anth, Model));
        assert_eq!(key(&a, Model), key(&b, Model));
        assert_ne!(key(&a, Model), key(&a, Endpoint));
        // Replicas in any order are one endpoint.
        let ab = info(
            "openai:fake",
            "openai-chat-completions",
            &["http://x/v1", "http://y/v1"],
        );
        let ba = info(
            "openai:fake",
            "openai-chat-completions",
            &["http://y/v1", "http://x/v1"],
        );
        assert_eq!(key(&ab, Endpoint), key(&ba, Endpoint));
    }

    #[test]
    fn round_trip_across_opens() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("c.sqlite");
        Cache::open(&path)
            .expect("open")
            .put("k", "chat", &json!({"v": 1}))
            .expect("put");
        let cache = Cache::open(&path).expect("reopen");
        assert_eq!(cache.get::<Value>("k"), Some(json!({"v": 1})));
        assert_eq!(cache.get::<Value>("missing"), None);
    }
}
