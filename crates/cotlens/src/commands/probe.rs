//! `cotlens probe`: ask a server what it honours (continuation of a started turn,
//! log-probabilities and where, where reasoning comes back, which reasoning controls it
//! accepts) and print the findings as JSON. The report is stored in `$COTLENS_HOME/probes/`
//! and reused by runs on the same server and model for a day.

use crate::args::{EngineArgs, ModelArgs};
use crate::model::ResolvedModel;
use crate::model_spec::{probe_server, ModelSpec, ProbeTarget};
use crate::printer::Printer;
use cotlens_core::probe::CapabilityCheck;
use cotlens_core::{Backend, Capability};
use serde_json::json;

#[derive(Debug, Clone, clap::Args)]
pub struct ProbeArgs {
    #[command(flatten)]
    pub model: ModelArgs,
}

const CAPABILITIES: [Capability; 3] = [
    Capability::Chat,
    Capability::PrefixContinuation,
    Capability::CandidateLogprobs,
];

fn capabilities(backend: &dyn Backend) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for c in CAPABILITIES {
        let key = serde_json::to_value(c)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        map.insert(key, json!(backend.supports(c)));
    }
    serde_json::Value::Object(map)
}

fn reports_of(check: &CapabilityCheck) -> anyhow::Result<Vec<cotlens_core::probe::ProbeReport>> {
    match check {
        CapabilityCheck::Probed { reports, .. } => Ok(reports.clone()),
        CapabilityCheck::Trusted => anyhow::bail!("the probe returned no reports"),
    }
}

pub async fn run(args: ProbeArgs, printer: Printer) -> anyhow::Result<()> {
    let model = ResolvedModel::new(&args.model, &EngineArgs::defaults()?, printer)?;
    let out = match &model.spec {
        ModelSpec::OpenAi(name) => {
            let mut backend =
                cotlens_remote::OpenAiBackend::new(&model.text, name, &model.options.remote)?;
            let check = probe_server(ProbeTarget::OpenAi(&backend), &model.options, true).await?;
            let reports = reports_of(&check)?;
            backend.apply_check(check);
            let lenient = !reports.is_empty() && reports.iter().all(|r| r.lenient_space());
            json!({
                "model": model.text,
                "capability_check": "probed",
                "capabilities": capabilities(&backend),
                "candidate_matching": if lenient { "leading space ignored" } else { "exact" },
                "stored_in": model.options.probe_dir,
                "reports": reports,
            })
        }
        ModelSpec::Anthropic(name) => {
            let mut backend =
                cotlens_remote::AnthropicBackend::new(&model.text, name, &model.options.remote)?;
            let check =
                probe_server(ProbeTarget::Anthropic(&backend), &model.options, true).await?;
            let reports = reports_of(&check)?;
            backend.apply_check(check);
            json!({
                "model": model.text,
                "capability_check": "probed",
                "capabilities": capabilities(&backend),
                "stored_in": model.options.probe_dir,
                "reports": reports,
            })
        }
        _ => {
            let backend = model.open_backend().await?;
            json!({
                "model": model.text,
                "capability_check": "backend kind",
                "capabilities": capabilities(backend.as_ref()),
                "note": "a local model's capabilities follow from its backend: llama.cpp runs in this process",
            })
        }
    };
    printer.json(&out)
}
