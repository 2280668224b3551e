//! A `--model` resolved once per run: the spec parsed, the flags checked, the options to open
//! it and the engine configuration derived, and one response-cache handle that every engine of
//! the run shares (the policy's, a judge's, a helper's). Judges and helpers are
//! [`ResolvedModel::secondary`] models of the same flags.

use crate::args::{EngineArgs, ModelArgs};
use crate::cache::Cache;
use crate::engine::{Engine, EngineConfig};
use crate::error::bad_input;
use crate::model_spec::{open_backend, BackendOptions, ModelSpec};
use crate::printer::Printer;
use cotlens_core::Backend;
use cotlens_local::LocalConfig;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The response cache of a run, opened on first use and shared by every engine.
struct SharedCache {
    /// `None`: `--no-cache`.
    path: Option<PathBuf>,
    opened: Mutex<Option<Arc<Cache>>>,
}

impl SharedCache {
    fn handle(&self) -> anyhow::Result<Option<Arc<Cache>>> {
        let Some(path) = &self.path else {
            return Ok(None);
        };
        let mut opened = self
            .opened
            .lock()
            .map_err(|_| anyhow::anyhow!("cache handle lock poisoned"))?;
        if let Some(c) = opened.as_ref() {
            return Ok(Some(c.clone()));
        }
        let cache = Arc::new(Cache::open(path)?);
        *opened = Some(cache.clone());
        Ok(Some(cache))
    }
}

#[derive(Clone)]
pub struct ResolvedModel {
    /// The spec as the user wrote it (what manifests and records name).
    pub text: String,
    pub spec: ModelSpec,
    pub options: BackendOptions,
    pub engine: EngineConfig,
    flags: ModelArgs,
    engine_flags: EngineArgs,
    cache: Arc<SharedCache>,
}

impl ResolvedModel {
    /// `--model` and its flags.
    pub fn new(model: &ModelArgs, engine: &EngineArgs, printer: Printer) -> anyhow::Result<Self> {
        Self::resolve(model.clone(), engine, printer, None)
    }

    /// The flags of `model`, but the model `spec` (e.g. the one a resumed run's manifest names).
    pub fn with_spec(
        spec: &str,
        model: &ModelArgs,
        engine: &EngineArgs,
        printer: Printer,
    ) -> anyhow::Result<Self> {
        let mut flags = model.clone();
        flags.model = spec.to_string();
        Self::resolve(flags, engine, printer, None)
    }

    fn resolve(
        flags: ModelArgs,
        engine_flags: &EngineArgs,
        printer: Printer,
        cache: Option<Arc<SharedCache>>,
    ) -> anyhow::Result<Self> {
        let spec = ModelSpec::parse(&flags.model)?;
        let options = backend_options(&flags, &spec, printer)?;
        let engine = engine_config(engine_flags, &spec, &options)?;
        let cache = cache.unwrap_or_else(|| {
            Arc::new(SharedCache {
                path: (!engine_flags.no_cache).then(|| {
                    engine_flags
                        .cache
                        .clone()
                        .unwrap_or_else(Cache::default_path)
                }),
                opened: Mutex::new(None),
            })
        });
        Ok(Self {
            text: flags.model.clone(),
            spec,
            options,
            engine,
            flags,
            engine_flags: engine_flags.clone(),
            cache,
        })
    }

    /// Another model `spec` with exactly this model's flags and cache.
    pub fn with_model(&self, spec: &str) -> anyhow::Result<Self> {
        let flags = ModelArgs {
            model: spec.to_string(),
            ..self.flags.clone()
        };
        Self::resolve(
            flags,
            &self.engine_flags,
            self.options.printer,
            Some(self.cache.clone()),
        )
    }

    /// A judge or helper model `spec` with this model's flags and cache. A local one gets the
    /// local defaults (no base URL, default threads and parallelism); a remote one shares the
    /// server flags.
    pub fn secondary(&self, spec: &str) -> anyhow::Result<Self> {
        let parsed = ModelSpec::parse(spec)?;
        let flags = ModelArgs {
            model: spec.to_string(),
            base_url: if parsed.is_local() {
                Vec::new()
            } else {
                self.flags.base_url.clone()
            },
            threads: None,
            parallel: None,
            ..self.flags.clone()
        };
        Self::resolve(
            flags,
            &self.engine_flags,
            self.options.printer,
            Some(self.cache.clone()),
        )
    }

    pub fn is_local(&self) -> bool {
        self.spec.is_local()
    }

    /// Load (local) or configure (remote) the backend. The run's response cache is opened
    /// first, so that a bad `--cache` fails before a model loads.
    pub async fn open_backend(&self) -> anyhow::Result<Arc<dyn Backend>> {
        self.cache.handle()?;
        open_backend(&self.spec, &self.text, &self.options).await
    }

    /// An engine for `backend` (opened from this model) on the run's shared cache.
    pub fn engine_for(&self, backend: Arc<dyn Backend>) -> anyhow::Result<Arc<Engine>> {
        Ok(Arc::new(Engine::new(
            backend,
            self.cache.handle()?,
            self.engine.clone(),
        )))
    }

    /// Open the backend and its engine.
    pub async fn open_engine(&self) -> anyhow::Result<Arc<Engine>> {
        let backend = self.open_backend().await?;
        self.engine_for(backend)
    }
}

fn backend_options(
    args: &ModelArgs,
    spec: &ModelSpec,
    printer: Printer,
) -> anyhow::Result<BackendOptions> {
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
    let json_object = |flag: &str,
                       text: &Option<String>|
     -> anyhow::Result<Option<serde_json::Map<String, serde_json::Value>>> {
        let Some(text) = text else { return Ok(None) };
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(map)) => Ok(Some(map)),
            Ok(_) => Err(bad_input(format!(
                "{flag}: must be a JSON object, e.g. '{{\"key\": 1}}'"
            ))),
            Err(e) => Err(bad_input(format!("{flag}: not JSON ({e})"))),
        }
    };
    let chat_template_kwargs = json_object("--chat-template-kwargs", &args.chat_template_kwargs)?;
    let extra_body = json_object("--extra-body", &args.extra_body)?;
    let controls =
        args.reasoning_effort.is_some() || chat_template_kwargs.is_some() || extra_body.is_some();
    if controls && !matches!(spec, ModelSpec::OpenAi(_)) {
        return Err(bad_input(
            "--reasoning-effort, --chat-template-kwargs and --extra-body apply to openai: models only",
        ));
    }
    if let Some(budget) = args.thinking_budget {
        if !matches!(spec, ModelSpec::Anthropic(_)) {
            return Err(bad_input(
                "--thinking-budget applies to anthropic: models (OpenRouter: --extra-body '{\"reasoning\": {\"max_tokens\": N}}')",
            ));
        }
        if budget < cotlens_remote::MIN_THINKING_BUDGET {
            return Err(bad_input(format!(
                "--thinking-budget {budget}: Anthropic's smallest thinking budget is {} tokens",
                cotlens_remote::MIN_THINKING_BUDGET
            )));
        }
    }
    if let Some(extra) = &extra_body {
        // Fields cotlens sets itself (a protocol's sampling, continuation and log-probability
        // requests depend on them) and the controls that have their own, probed, flags.
        const RESERVED: [&str; 19] = [
            "model",
            "messages",
            "continue_final_message",
            "add_generation_prompt",
            "logprobs",
            "top_logprobs",
            "stream",
            "n",
            "max_tokens",
            "max_completion_tokens",
            "temperature",
            "top_p",
            "seed",
            "stop",
            "echo",
            "reasoning_effort",
            "chat_template_kwargs",
            // They would skew the candidate log-probabilities protocols read answers from.
            "logit_bias",
            "prompt_logprobs",
        ];
        if let Some(key) = RESERVED.iter().find(|k| extra.contains_key(**k)) {
            return Err(bad_input(format!(
                "--extra-body: may not set {key:?}: cotlens sets it from the command's own flags (--model, --max-tokens, --temperature, --top-p, --seed, --reasoning-effort, --chat-template-kwargs) or needs it as it is"
            )));
        }
    }
    let remote = cotlens_remote::RemoteOptions {
        base_urls: args.base_url.clone(),
        api_key_env: args.api_key_env.clone(),
        timeout: Duration::from_secs_f64(args.timeout),
        reasoning_effort: args.reasoning_effort.map(|e| e.as_str().to_string()),
        chat_template_kwargs: chat_template_kwargs.map(serde_json::Value::Object),
        extra_body,
        thinking_budget: args.thinking_budget,
    };
    // Validate remote configuration now, so that flag mistakes fail before any work.
    match spec {
        ModelSpec::OpenAi(name) => {
            cotlens_remote::OpenAiBackend::new(&args.model, name, &remote)?;
        }
        ModelSpec::Anthropic(name) => {
            cotlens_remote::AnthropicBackend::new(&args.model, name, &remote)?;
        }
        _ => {}
    }
    Ok(BackendOptions {
        local,
        remote,
        printer,
        trust_capabilities: args.trust_capabilities,
        probe_dir: crate::probe_cache::default_dir(),
    })
}

fn engine_config(
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
        cache_scope: args.cache_scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        engine: EngineArgs,
    }

    fn flags(args: &[&str]) -> Flags {
        Flags::parse_from(std::iter::once("t").chain(args.iter().copied()))
    }

    #[test]
    fn secondary_models_share_the_cache_and_drop_local_only_flags() {
        let dir = tempfile::tempdir().expect("tmp");
        let cache = dir.path().join("c.sqlite");
        let f = flags(&[
            "--model",
            "openai:policy",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--cache",
            cache.to_str().expect("utf-8"),
            "--concurrency",
            "3",
        ]);
        let policy = ResolvedModel::new(&f.model, &f.engine, Printer::new(true)).expect("ok");
        assert!(!policy.is_local());
        assert_eq!(policy.engine.concurrency, 3);
        let judge = policy.secondary("openai:judge").expect("judge");
        assert_eq!(
            judge.options.remote.base_urls,
            vec!["http://127.0.0.1:9/v1"]
        );
        let local_judge = policy.secondary("smollm2-135m").expect("local judge");
        assert!(local_judge.options.remote.base_urls.is_empty());
        let a = policy.cache.handle().expect("open").expect("cache");
        let b = judge.cache.handle().expect("open").expect("cache");
        assert!(Arc::ptr_eq(&a, &b), "one SQLite handle per run");
    }

    #[test]
    fn bad_flags_are_bad_input() {
        for args in [
            vec!["--timeout", "0"],
            vec!["--model", "openai:x", "--threads", "2"],
            vec!["--base-url", "http://127.0.0.1:1"],
            vec!["--concurrency", "0"],
            vec!["--max-attempts", "0"],
            vec!["--rpm", "0"],
        ] {
            let f = flags(&args);
            let err = ResolvedModel::new(&f.model, &f.engine, Printer::new(true))
                .err()
                .expect("refused");
            assert_eq!(crate::error::exit_code(&err), 2, "{args:?}: {err}");
        }
    }
}
