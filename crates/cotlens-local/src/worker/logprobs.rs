//! Log-probabilities on the inference thread: the next-token distribution and the summed
//! log-probability of candidate continuations (decoded in batches of at most `batch` tokens).

use super::{model_error, Worker};
use cotlens_core::types::{CandidateLogprobs, LogprobRequest, Message};
use cotlens_core::BackendError;
use llama_cpp_2::llama_batch::LlamaBatch;

impl Worker<'_> {
    pub(super) fn log_softmax(&self, idx: i32) -> Vec<f64> {
        let logits = self.ctx.get_logits_ith(idx);
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let sum: f64 = logits.iter().map(|&l| (l as f64 - max).exp()).sum();
        let log_z = max + sum.ln();
        logits.iter().map(|&l| l as f64 - log_z).collect()
    }

    pub(super) fn distribution(
        &mut self,
        messages: &[Message],
        prefix: Option<&str>,
    ) -> Result<Vec<f64>, BackendError> {
        let tokens = self.tokenize_prompt(messages, prefix)?;
        let idx = self.place(self.scratch_seq(), &tokens)?;
        Ok(self.log_softmax(idx))
    }

    pub(super) fn candidate_logprobs(
        &mut self,
        request: &LogprobRequest,
    ) -> Result<CandidateLogprobs, BackendError> {
        let tokens =
            self.tokenize_prompt(&request.messages, request.assistant_prefix.as_deref())?;
        let idx = self.place(self.scratch_seq(), &tokens)?;
        let first = self.log_softmax(idx);
        let vocab = self.model.vocab();
        let seq = self.scratch_seq();
        let mut logprobs = Vec::with_capacity(request.candidates.len());
        let mut counts = Vec::with_capacity(request.candidates.len());
        for candidate in &request.candidates {
            let ctoks = vocab.tokenize(candidate.as_bytes(), false, false);
            if ctoks.is_empty() {
                return Err(BackendError::InvalidRequest(format!(
                    "candidate {candidate:?} has no tokens"
                )));
            }
            let n = tokens.len();
            if n + ctoks.len() > self.config.context_per_slot as usize {
                return Err(BackendError::InvalidRequest(format!(
                    "prompt ({n} tokens) and candidate ({} tokens) exceed the context of {} tokens",
                    ctoks.len(),
                    self.config.context_per_slot
                )));
            }
            let mut total = first[ctoks[0].0 as usize];
            // Evaluate all but the last candidate token after the prompt, in batches of at most
            // `batch` tokens (llama.cpp's limit per decode), then drop them.
            // boundary: a Vec of tokens
            let rest = &ctoks[..ctoks.len() - 1];
            let step = (self.config.batch as usize).max(1);
            for (c, chunk) in rest.chunks(step).enumerate() {
                let offset = n + c * step;
                let mut batch = LlamaBatch::new(chunk.len(), 1);
                for (i, &t) in chunk.iter().enumerate() {
                    batch
                        .add(t, (offset + i) as i32, &[seq], true)
                        .map_err(model_error)?;
                }
                self.ctx.decode(&mut batch).map_err(model_error)?;
                for i in 0..chunk.len() {
                    let next = ctoks[c * step + i + 1];
                    total += self.log_softmax(i as i32)[next.0 as usize];
                }
            }
            if !rest.is_empty() {
                self.ctx
                    .kv_cache_seq_rm(seq, Some(n as u32), None)
                    .map_err(model_error)?;
            }
            logprobs.push(total);
            counts.push(ctoks.len() as u32);
        }
        Ok(CandidateLogprobs {
            logprobs,
            token_counts: counts,
        })
    }
}
