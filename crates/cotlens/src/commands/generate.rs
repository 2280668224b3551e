//! `cotlens generate`: one prompt, one completion.

use crate::cli::GenerateArgs;
use crate::model_spec::open_backend;
use crate::settings::backend_options;
use cotlens_core::types::{ChatRequest, Message, Sampling};
use cotlens_core::Capability;

pub async fn run(args: GenerateArgs, quiet: bool) -> anyhow::Result<()> {
    let (_, options) = backend_options(&args.model, quiet)?;
    if let Some(p) = args.top_p {
        if !(p > 0.0 && p <= 1.0) {
            return Err(crate::error::bad_input("--top-p must be in (0, 1]"));
        }
    }
    let backend = open_backend(&args.model.model, &options).await?;
    if args.prefix.is_some() && !backend.supports(Capability::PrefixContinuation) {
        return Err(
            anyhow::Error::new(backend.unsupported(Capability::PrefixContinuation))
                .context("--prefix"),
        );
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
        crate::printer::stdout(&format!("{}\n", serde_json::to_string_pretty(&record)?));
    } else {
        let mut text = String::new();
        if let Some(r) = &completion.reasoning {
            text.push_str(&format!("<think>\n{}\n</think>\n", r.reasoning));
        }
        text.push_str(&completion.output);
        text.push('\n');
        crate::printer::stdout(&text);
    }
    Ok(())
}
