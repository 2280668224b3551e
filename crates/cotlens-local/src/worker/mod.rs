//! The inference thread. llama.cpp contexts cannot move between threads, so one thread owns the
//! model and a context with several sequence slots, and serves jobs sent over a channel.
//!
//! Generation uses continuous batching: every decode step advances all active sequences by one
//! token in a single batch, and new requests join between steps (their prompts are prefilled on
//! their own first). With one slot the batch layout is always the same, so greedy and seeded
//! output is bit-reproducible; with several slots, which requests share a batch depends on timing
//! and the last bits of the logits can differ (see design/local-inference.md).
//!
//! Prefix cache: every sequence keeps its KV entries after its request finishes, and a new
//! prompt starts from the longest common prefix cached in any sequence (copied within the
//! unified KV buffer), so hinted variants of one question, or a forced answer after a CoT, only
//! evaluate what is new. Log-probability jobs run on a separate scratch sequence.

use cotlens_core::types::{
    CandidateLogprobs, ChatRequest, Completion, FinishReason, LogprobRequest, Message, Usage,
};
use cotlens_core::BackendError;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::OnceLock;
use std::time::Instant;
use tokio::sync::oneshot;

mod logprobs;

pub(crate) type Reply<T> = oneshot::Sender<Result<T, BackendError>>;

pub(crate) enum Job {
    Chat(ChatRequest, Reply<Completion>),
    Logprobs(LogprobRequest, Reply<CandidateLogprobs>),
    /// The full next-token log-probability distribution after a prompt.
    Distribution(Vec<Message>, Option<String>, Reply<Vec<f64>>),
    /// Tokenize text with the model's vocabulary (no special tokens added).
    Tokenize(String, Reply<Vec<i32>>),
}

/// What the worker learned while loading; sent back once.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub(crate) architecture: String,
    pub(crate) n_vocab: i32,
    pub(crate) n_ctx_train: u32,
    pub(crate) chat_template: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct WorkerConfig {
    pub(crate) path: PathBuf,
    pub(crate) model_name: String,
    pub(crate) threads: i32,
    pub(crate) slots: u32,
    pub(crate) context_per_slot: u32,
    pub(crate) batch: u32,
    /// Reuse the KV entries of the longest cached common prefix (any sequence) for new prompts.
    pub(crate) prefix_cache: bool,
}

/// llama.cpp's global state may be initialized once per process.
fn llama_backend() -> Result<&'static LlamaBackend, String> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            let logs = std::env::var_os("COTLENS_LLAMA_LOG").is_some();
            llama_cpp_2::send_logs_to_tracing(
                llama_cpp_2::LogOptions::default().with_logs_enabled(logs),
            );
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

pub(crate) fn run(
    config: WorkerConfig,
    jobs: Receiver<Job>,
    ready: std::sync::mpsc::Sender<Result<Loaded, String>>,
) {
    let backend = match llama_backend() {
        Ok(b) => b,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let model =
        match LlamaModel::load_from_file(backend, &config.path, &LlamaModelParams::default()) {
            Ok(m) => m,
            Err(_) => {
                let _ = ready.send(Err(
                    "llama.cpp could not load it (truncated file or unsupported architecture)"
                        .into(),
                ));
                return;
            }
        };
    let n_seq = config.slots + 1; // + the scratch sequence for log-probabilities
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(config.context_per_slot * n_seq))
        .with_n_batch(config.batch)
        .with_n_ubatch(config.batch)
        .with_n_seq_max(n_seq)
        // One shared KV buffer, so that a prefix can be copied between sequences cheaply.
        .with_kv_unified(true)
        .with_n_threads(config.threads)
        .with_n_threads_batch(config.threads);
    let ctx = match model.new_context(backend, params) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(format!("cannot create a llama.cpp context: {e}")));
            return;
        }
    };
    let template = model.chat_template(None).ok();
    let loaded = Loaded {
        architecture: model
            .meta_val_str("general.architecture")
            .unwrap_or_else(|_| "unknown".into()),
        n_vocab: model.n_vocab(),
        n_ctx_train: model.n_ctx_train(),
        chat_template: template.is_some(),
    };
    if ready.send(Ok(loaded)).is_err() {
        return;
    }
    let cached = vec![Vec::new(); n_seq as usize];
    let mut worker = Worker {
        config,
        model: &model,
        ctx,
        template,
        slots: Vec::new(),
        cached,
    };
    worker.serve(&jobs);
}

struct Slot {
    seq: i32,
    reply: Reply<Completion>,
    started: Instant,
    stop: Vec<String>,
    max_tokens: u32,
    sampler: LlamaSampler,
    prompt_tokens: u32,
    n_past: i32,
    generated: Vec<u8>,
    n_generated: u32,
    pending: LlamaToken,
    finish: Option<FinishReason>,
}

struct Worker<'m> {
    config: WorkerConfig,
    model: &'m LlamaModel,
    ctx: LlamaContext<'m>,
    template: Option<LlamaChatTemplate>,
    slots: Vec<Slot>,
    /// Per sequence: the tokens whose KV entries it holds (kept after a request finishes, so
    /// that the next prompt sharing a prefix skips re-evaluating it).
    cached: Vec<Vec<LlamaToken>>,
}

fn model_error(e: impl std::fmt::Display) -> BackendError {
    BackendError::Model(e.to_string())
}

impl<'m> Worker<'m> {
    fn scratch_seq(&self) -> i32 {
        self.config.slots as i32
    }

    fn serve(&mut self, jobs: &Receiver<Job>) {
        loop {
            // Admit work: block when idle, otherwise take what is waiting without blocking.
            let job = if self.slots.is_empty() {
                match jobs.recv() {
                    Ok(job) => Some(job),
                    Err(_) => return,
                }
            } else if self.slots.len() < self.config.slots as usize {
                match jobs.try_recv() {
                    Ok(job) => Some(job),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) if self.slots.is_empty() => return,
                    Err(TryRecvError::Disconnected) => None,
                }
            } else {
                None
            };
            if let Some(job) = job {
                self.handle(job);
                // Keep admitting while slots are free and jobs wait.
                if self.slots.len() < self.config.slots as usize {
                    continue;
                }
            }
            if !self.slots.is_empty() {
                self.step();
            }
        }
    }

    fn handle(&mut self, job: Job) {
        match job {
            Job::Chat(request, reply) => {
                let started = Instant::now();
                if let Err(e) = self.start_chat(request, reply, started) {
                    // start_chat only fails before the reply moved into a slot; it sent the error.
                    tracing::debug!("chat request failed to start: {e}");
                }
            }
            Job::Logprobs(request, reply) => {
                let result = self.candidate_logprobs(&request);
                let _ = reply.send(result);
            }
            Job::Distribution(messages, prefix, reply) => {
                let result = self.distribution(&messages, prefix.as_deref());
                let _ = reply.send(result);
            }
            Job::Tokenize(text, reply) => {
                let tokens = self.model.vocab().tokenize(text.as_bytes(), false, false);
                let _ = reply.send(Ok(tokens.into_iter().map(|t| t.0).collect()));
            }
        }
    }

    /// The prompt text: the chat template from the GGUF applied to the messages, then the
    /// started assistant turn if any.
    fn render(&self, messages: &[Message], prefix: Option<&str>) -> Result<String, BackendError> {
        let template = self.template.as_ref().ok_or_else(|| {
            BackendError::InvalidRequest(
                "this GGUF has no chat template (tokenizer.chat_template)".into(),
            )
        })?;
        let chat = messages
            .iter()
            .map(|m| LlamaChatMessage::new(m.role.as_str().into(), m.content.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(model_error)?;
        let mut text = self
            .model
            .apply_chat_template(template, &chat, true)
            .map_err(model_error)?;
        if let Some(prefix) = prefix {
            text.push_str(prefix);
        }
        Ok(text)
    }

    fn tokenize_prompt(
        &self,
        messages: &[Message],
        prefix: Option<&str>,
    ) -> Result<Vec<LlamaToken>, BackendError> {
        let text = self.render(messages, prefix)?;
        let vocab = self.model.vocab();
        let tokens = vocab.tokenize(text.as_bytes(), vocab.should_add_bos(), true);
        if tokens.len() as u32 >= self.config.context_per_slot {
            return Err(BackendError::InvalidRequest(format!(
                "prompt of {} tokens does not fit the context of {} tokens per sequence (--context)",
                tokens.len(),
                self.config.context_per_slot
            )));
        }
        Ok(tokens)
    }

    /// Evaluate `tokens` at positions `start..` of `seq` in chunks of the batch size. Returns
    /// the batch index of the last token's logits in the final chunk.
    fn prefill(
        &mut self,
        seq: i32,
        tokens: &[LlamaToken],
        start: i32,
        all_logits: bool,
    ) -> Result<i32, BackendError> {
        let chunk = self.config.batch as usize;
        let mut batch = LlamaBatch::new(chunk, 1);
        let mut last = 0;
        for (c, part) in tokens.chunks(chunk).enumerate() {
            batch.clear();
            let is_last_chunk = (c + 1) * chunk >= tokens.len();
            for (i, &t) in part.iter().enumerate() {
                let pos = start + (c * chunk + i) as i32;
                let logits = all_logits || (is_last_chunk && i + 1 == part.len());
                batch.add(t, pos, &[seq], logits).map_err(model_error)?;
            }
            self.ctx.decode(&mut batch).map_err(model_error)?;
            last = part.len() as i32 - 1;
        }
        Ok(last)
    }

    fn start_chat(
        &mut self,
        request: ChatRequest,
        reply: Reply<Completion>,
        started: Instant,
    ) -> Result<(), String> {
        let free =
            (0..self.config.slots as i32).find(|s| self.slots.iter().all(|slot| slot.seq != *s));
        let Some(seq) = free else {
            let _ = reply.send(Err(BackendError::Model("no free sequence slot".into())));
            return Err("no free slot".into());
        };
        let prepared = self
            .tokenize_prompt(&request.messages, request.assistant_prefix.as_deref())
            .and_then(|tokens| {
                let idx = self.place(seq, &tokens)?;
                Ok((tokens.len(), idx))
            });
        let (n_prompt, idx) = match prepared {
            Ok(x) => x,
            Err(e) => {
                let msg = e.to_string();
                let _ = reply.send(Err(e));
                return Err(msg);
            }
        };
        let s = &request.sampling;
        let mut sampler = if s.temperature <= 0.0 {
            LlamaSampler::greedy()
        } else {
            let mut chain = Vec::new();
            if let Some(p) = s.top_p {
                chain.push(LlamaSampler::top_p(p as f32, 1));
            }
            chain.push(LlamaSampler::temp(s.temperature as f32));
            // llama.cpp seeds are 32-bit; the low 32 bits of the requested seed are used.
            chain.push(LlamaSampler::dist(s.seed.unwrap_or(0) as u32));
            LlamaSampler::chain_simple(chain)
        };
        let first = sampler.sample(&self.ctx, idx);
        let mut slot = Slot {
            seq,
            reply,
            started,
            stop: s.stop.clone(),
            max_tokens: s.max_tokens,
            sampler,
            prompt_tokens: n_prompt as u32,
            n_past: n_prompt as i32,
            generated: Vec::new(),
            n_generated: 0,
            pending: first,
            finish: None,
        };
        if slot.max_tokens == 0 {
            slot.finish = Some(FinishReason::Length);
        } else {
            self.accept(&mut slot, first);
        }
        if slot.finish.is_some() {
            self.finish(slot);
        } else {
            self.slots.push(slot);
        }
        Ok(())
    }

    /// Take a sampled token into a slot: end of generation, stop strings, limits.
    fn accept(&self, slot: &mut Slot, token: LlamaToken) {
        let vocab = self.model.vocab();
        if vocab.is_eog(token) {
            slot.finish = Some(FinishReason::Stop);
            return;
        }
        vocab.token_to_piece_into(token, &mut slot.generated, false, None);
        slot.n_generated += 1;
        slot.pending = token;
        if !slot.stop.is_empty() {
            let text = String::from_utf8_lossy(&slot.generated);
            if let Some(cut) = slot.stop.iter().filter_map(|s| text.find(s.as_str())).min() {
                let cut_text = text[..cut].to_string();
                slot.generated = cut_text.into_bytes();
                slot.finish = Some(FinishReason::StopSequence);
                return;
            }
        }
        if slot.n_generated >= slot.max_tokens
            || slot.n_past + 1 >= self.config.context_per_slot as i32
        {
            slot.finish = Some(FinishReason::Length);
        }
    }

    /// One decode step for every active slot.
    fn step(&mut self) {
        let mut batch = LlamaBatch::new(self.slots.len(), self.slots.len() as i32);
        for slot in &self.slots {
            if let Err(e) = batch.add(slot.pending, slot.n_past, &[slot.seq], true) {
                tracing::error!("batch add failed: {e}");
            }
        }
        if let Err(e) = self.ctx.decode(&mut batch) {
            for slot in self.slots.drain(..) {
                let _ = slot.reply.send(Err(model_error(&e)));
            }
            return;
        }
        let mut slots = std::mem::take(&mut self.slots);
        for (i, slot) in slots.iter_mut().enumerate() {
            self.cached[slot.seq as usize].push(slot.pending);
            slot.n_past += 1;
            let token = slot.sampler.sample(&self.ctx, i as i32);
            self.accept(slot, token);
        }
        for slot in slots {
            if slot.finish.is_some() {
                self.finish(slot);
            } else {
                self.slots.push(slot);
            }
        }
    }

    fn finish(&mut self, slot: Slot) {
        if !self.config.prefix_cache {
            let _ = self
                .ctx
                .clear_kv_cache_seq(Some(slot.seq as u32), None, None);
            self.cached[slot.seq as usize].clear();
        }
        let text = String::from_utf8_lossy(&slot.generated).into_owned();
        let (reasoning, output) = match cotlens_core::types::split_think_tags(&text) {
            (Some(r), rest) => (
                Some(cotlens_core::types::Reasoning {
                    reasoning: r,
                    ..Default::default()
                }),
                rest,
            ),
            (None, text) => (None, text),
        };
        let completion = Completion {
            model: self.config.model_name.clone(),
            reasoning,
            output,
            finish_reason: slot.finish.unwrap_or(FinishReason::Other),
            usage: Usage {
                prompt_tokens: slot.prompt_tokens,
                completion_tokens: slot.n_generated,
                reasoning_tokens: None,
            },
            latency_ms: slot.started.elapsed().as_secs_f64() * 1000.0,
        };
        let _ = slot.reply.send(Ok(completion));
    }

    /// Make sequence `target` hold exactly `tokens` in the KV cache, reusing the longest common
    /// prefix cached in any sequence (copied within the unified KV buffer). Returns the batch
    /// index of the last token's logits.
    fn place(&mut self, target: i32, tokens: &[LlamaToken]) -> Result<i32, BackendError> {
        let t = target as usize;
        let common_with = |cached: &Vec<LlamaToken>| {
            cached
                .iter()
                .zip(tokens)
                .take_while(|(a, b)| a == b)
                .count()
        };
        let (mut source, mut common) = (
            t,
            if self.config.prefix_cache {
                common_with(&self.cached[t])
            } else {
                0
            },
        );
        if self.config.prefix_cache {
            for (s, cached) in self.cached.iter().enumerate() {
                let c = common_with(cached);
                // A sequence in use by an active slot is fine to copy from: its prefix is fixed.
                if c > common {
                    (source, common) = (s, c);
                }
            }
        }
        // The last token is always evaluated again, to get its logits.
        common = common.min(tokens.len().saturating_sub(1));
        tracing::debug!(target: "cotlens_local", seq = target, source, reused = common, new = tokens.len() - common, "prompt placed");
        // About to discard part of a finished generation: stash it in the scratch sequence first,
        // since the next log-probability job is most likely a forced answer after that very text.
        let scratch = self.scratch_seq() as usize;
        if self.config.prefix_cache
            && t != scratch
            && self.cached[t].len() > common
            && self.cached[t].len() > self.cached[scratch].len() / 2
        {
            self.ctx
                .kv_cache_seq_rm(scratch as i32, None, None)
                .map_err(model_error)?;
            self.ctx
                .kv_cache_seq_cp(target, scratch as i32, None, None)
                .map_err(model_error)?;
            self.cached[scratch] = self.cached[t].clone();
        }
        if source == t {
            self.ctx
                .kv_cache_seq_rm(target, Some(common as u32), None)
                .map_err(model_error)?;
            // boundary: a Vec of tokens
            self.cached[t].truncate(common);
        } else {
            self.ctx
                .kv_cache_seq_rm(target, None, None)
                .map_err(model_error)?;
            if common > 0 {
                self.ctx
                    .kv_cache_seq_cp(source as i32, target, Some(0), Some(common as u32))
                    .map_err(model_error)?;
            }
            self.cached[t] = tokens[..common].to_vec();
        }
        match self.prefill(target, &tokens[common..], common as i32, false) {
            Ok(idx) => {
                self.cached[t].extend_from_slice(&tokens[common..]);
                Ok(idx)
            }
            Err(e) => {
                let _ = self.ctx.clear_kv_cache_seq(Some(target as u32), None, None);
                self.cached[t].clear();
                Err(e)
            }
        }
    }
}
