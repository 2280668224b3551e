//! Optional perplexity of texts under a reference model (by default the embedded one): each
//! text is scored as the assistant's reply to a fixed one-line user turn, from the candidate
//! log-probabilities of the backend; perplexity = exp(−log p / tokens).

use crate::engine::Engine;
use crate::model::ResolvedModel;
use crate::printer::Printer;
use cotlens_core::types::{LogprobRequest, Message};
use cotlens_core::Capability;
use std::sync::Arc;

/// The user turn every text answers (recorded in the manifest).
pub const FRAME: &str = "Think it through step by step.";

pub struct Perplexity {
    engine: Arc<Engine>,
    max_chars: usize,
}

impl Perplexity {
    pub async fn open(model: &ResolvedModel, max_chars: usize) -> anyhow::Result<Self> {
        let backend = model.open_backend().await?;
        backend.require(
            Capability::CandidateLogprobs,
            "--perplexity scores each text with candidate log-probabilities",
        )?;
        Ok(Self {
            engine: model.engine_for(backend)?,
            max_chars: max_chars.max(1),
        })
    }

    pub fn manifest(&self) -> serde_json::Value {
        serde_json::json!({
            "model": self.engine.backend().info(),
            "frame": FRAME,
            "max_chars": self.max_chars,
        })
    }

    /// Perplexity of each text (None: empty text, or the request failed; counted by the caller).
    pub async fn measure<'a>(
        &self,
        texts: impl Iterator<Item = &'a str>,
        printer: Printer,
    ) -> anyhow::Result<Vec<Option<f64>>> {
        let texts: Vec<String> = texts
            .map(|t| t.chars().take(self.max_chars).collect::<String>())
            .collect();
        let mut out = vec![None; texts.len()];
        let progress =
            crate::progress::Progress::new(texts.len() as u64, "perplexity", printer.is_quiet());
        let engine = self.engine.clone();
        let work = |(i, text): (usize, String)| {
            let engine = engine.clone();
            async move {
                if text.trim().is_empty() {
                    return Ok((i, None));
                }
                let request = LogprobRequest {
                    messages: vec![Message::user(FRAME)],
                    assistant_prefix: None,
                    candidates: vec![text],
                };
                let outcome = engine.candidate_logprobs(&request).await?;
                Ok((
                    i,
                    outcome.result.ok().and_then(|r| {
                        let (lp, n) = (*r.logprobs.first()?, *r.token_counts.first()?);
                        (lp.is_finite() && n > 0).then(|| (-lp / n as f64).exp())
                    }),
                ))
            }
        };
        let done = |(i, v): (usize, Option<f64>)| -> anyhow::Result<()> {
            out[i] = v;
            progress.inc(&engine.counters);
            Ok(())
        };
        let limit = engine.config().concurrency;
        crate::runner::run_bounded(
            texts.into_iter().enumerate(),
            limit,
            work,
            done,
            || {},
            printer,
        )
        .await?;
        progress.finish();
        Ok(out)
    }
}
