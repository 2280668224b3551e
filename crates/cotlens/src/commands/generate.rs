//! `cotlens generate`: one prompt, one completion.

use crate::args::{EngineArgs, ModelArgs};
use crate::model::ResolvedModel;
use crate::printer::Printer;
use cotlens_core::types::{ChatRequest, Message, Sampling};
use cotlens_core::Capability;

#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Maximum tokens to generate.
    #[arg(long, default_value_t = 256)]
    pub max_tokens: u32,
    /// Sampling temperature (0 = greedy).
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    /// Nucleus sampling probability mass.
    #[arg(long)]
    pub top_p: Option<f64>,
    /// Sampling seed (same seed, same output).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Stop sequence (repeatable).
    #[arg(long)]
    pub stop: Vec<String>,
    /// System message.
    #[arg(long)]
    pub system: Option<String>,
    /// Start the assistant turn with this text; the model continues it.
    #[arg(long)]
    pub prefix: Option<String>,
    /// Print the full completion record as JSON.
    #[arg(long)]
    pub json: bool,
    /// The user message.
    pub prompt: String,
}

pub async fn run(args: GenerateArgs, printer: Printer) -> anyhow::Result<()> {
    let model = ResolvedModel::new(&args.model, &EngineArgs::defaults()?, printer)?;
    if let Some(p) = args.top_p {
        if !(p > 0.0 && p <= 1.0) {
            return Err(crate::error::bad_input("--top-p must be in (0, 1]"));
        }
    }
    let backend = model.open_backend().await?;
    if args.prefix.is_some() {
        backend.require(Capability::PrefixContinuation, "--prefix")?;
    }
    let mut messages = Vec::new();
    if let Some(system) = &args.system {
        messages.push(Message::system(system.clone()));
    }
    messages.push(Message::user(args.prompt.clone()));
    let request = ChatRequest {
        messages,
        assistant_prefix: args.prefix.clone(),
        sampling: Sampling {
            temperature: args.temperature,
            top_p: args.top_p,
            seed: Some(args.seed),
            max_tokens: args.max_tokens,
            stop: args.stop.clone(),
        },
    };
    let completion = backend.chat(&request).await?;
    if args.json {
        let record = serde_json::json!({"request": request, "completion": completion, "model": backend.info()});
        printer.json(&record)?;
    } else {
        let mut text = String::new();
        if let Some(r) = &completion.reasoning {
            text.push_str(&format!("<think>\n{}\n</think>\n", r.reasoning));
        }
        text.push_str(&completion.output);
        text.push('\n');
        printer.out(&text);
    }
    Ok(())
}
