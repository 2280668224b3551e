//! Flags → resolved settings, before any work starts.

use crate::cli::{EngineArgs, ModelArgs};
use crate::engine::EngineConfig;
use crate::error::bad_input;
use crate::model_spec::{BackendOptions, ModelSpec};
use cotlens_local::LocalConfig;
use std::time::Duration;

pub fn backend_options(
    args: &ModelArgs,
    quiet: bool,
) -> anyhow::Result<(ModelSpec, BackendOptions)> {
    let spec = ModelSpec::parse(&args.model)?;
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return Err(bad_input(format!(
            "--timeout {}: must be a positive number of seconds",
            args.timeout
        )));
    }
    if !spec.is_local() && (args.threads.is_some() || args.parallel.is_some()) {
        return Err(bad_input(
            "--threads and --parallel apply to local models only",
        ));
    }
    if spec.is_local() && !args.base_url.is_empty() {
        return Err(bad_input(
            "--base-url applies to openai: and anthropic: models only",
        ));
    }
    let mut local = LocalConfig::default();
    if let Some(t) = args.threads {
        if t == 0 {
            return Err(bad_input("--threads must be at least 1"));
        }
        local.threads = t;
    }
    if let Some(p) = args.parallel {
        if p == 0 || p > 64 {
            return Err(bad_input("--parallel must be between 1 and 64"));
        }
        local.parallel = p;
    }
    local.context = args.context;
    local.prefix_cache = !args.no_prefix_cache;
    let remote = cotlens_remote::RemoteOptions {
        base_urls: args.base_url.clone(),
        api_key_env: args.api_key_env.clone(),
        timeout: Duration::from_secs_f64(args.timeout),
    };
    // Validate remote configuration now, so that flag mistakes fail before any work.
    match &spec {
        ModelSpec::OpenAi(name) => {
            cotlens_remote::OpenAiBackend::new(&args.model, name, &remote)?;
        }
        ModelSpec::Anthropic(name) => {
            cotlens_remote::AnthropicBackend::new(&args.model, name, &remote)?;
        }
        _ => {}
    }
    Ok((
        spec,
        BackendOptions {
            local,
            remote,
            quiet,
        },
    ))
}

pub fn engine_config(
    args: &EngineArgs,
    spec: &ModelSpec,
    options: &BackendOptions,
) -> anyhow::Result<EngineConfig> {
    let concurrency = match args.concurrency {
        Some(0) => return Err(bad_input("--concurrency must be at least 1")),
        Some(c) => c,
        None if spec.is_local() => options.local.parallel,
        None => 32,
    };
    for (name, v) in [("--rpm", args.rpm), ("--tpm", args.tpm)] {
        if let Some(v) = v {
            if !(v.is_finite() && v > 0.0) {
                return Err(bad_input(format!("{name} must be a positive number")));
            }
        }
    }
    if args.max_attempts == 0 {
        return Err(bad_input("--max-attempts must be at least 1"));
    }
    Ok(EngineConfig {
        concurrency,
        requests_per_minute: args.rpm,
        tokens_per_minute: args.tpm,
        max_attempts: args.max_attempts,
        retry_budget: args.retry_budget,
        backoff_base_ms: args.retry_base_ms,
        backoff_max_ms: 60_000,
        use_cache: !args.no_cache,
    })
}

/// Open the response cache unless disabled.
pub fn open_cache(
    args: &EngineArgs,
) -> anyhow::Result<Option<std::sync::Arc<crate::cache::Cache>>> {
    if args.no_cache {
        return Ok(None);
    }
    let path = args
        .cache
        .clone()
        .unwrap_or_else(crate::cache::Cache::default_path);
    Ok(Some(std::sync::Arc::new(crate::cache::Cache::open(&path)?)))
}

/// `--shard i/n` → (i, n), 1-based.
pub fn parse_shard(text: &str) -> anyhow::Result<(u32, u32)> {
    let err = || {
        bad_input(format!(
            "--shard {text:?}: expected i/n with 1 <= i <= n, e.g. 2/4"
        ))
    };
    let (i, n) = text.split_once('/').ok_or_else(err)?;
    let (i, n): (u32, u32) = (
        i.trim().parse().map_err(|_| err())?,
        n.trim().parse().map_err(|_| err())?,
    );
    if n == 0 || i == 0 || i > n {
        return Err(err());
    }
    Ok((i, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards() {
        assert_eq!(parse_shard("2/4").expect("ok"), (2, 4));
        for bad in ["0/4", "5/4", "x", "1/0", "1-2"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }
}
