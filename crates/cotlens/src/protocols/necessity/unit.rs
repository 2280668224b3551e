//! One necessity unit: sample the CoT, answer after every prefix, filler, and the helper-model
//! interventions.

use super::{strip_answer_line, AnswerMethod, Record, Settings};
use crate::engine::{Engine, Fatal};
use cotlens_core::extract::extract_after_open_bracket;
use cotlens_core::necessity::split_steps;
use cotlens_core::prompts::render_plain;
use cotlens_core::types::{letter, ChatRequest, Item, LogprobRequest, Message, Sampling};
use std::sync::Arc;

pub(crate) struct Ctx {
    pub(crate) engine: Arc<Engine>,
    pub(crate) helper: Option<Arc<Engine>>,
    pub(crate) settings: Settings,
    pub(crate) method: AnswerMethod,
}

/// The answer after `prefix` (the model's turn so far).
async fn answer_after(
    ctx: &Ctx,
    messages: &[Message],
    prefix: &str,
    n: usize,
) -> Result<Result<Option<usize>, crate::engine::Failure>, Fatal> {
    let stem = if prefix.trim().is_empty() {
        "Answer:".to_string()
    } else {
        format!("{}\nAnswer:", prefix.trim_end())
    };
    match ctx.method {
        AnswerMethod::Logprobs => {
            let request = LogprobRequest {
                messages: messages.to_vec(),
                assistant_prefix: Some(stem),
                candidates: (0..n).map(|i| format!(" {}", letter(i))).collect(),
            };
            let outcome = ctx.engine.candidate_logprobs(&request).await?;
            Ok(outcome
                .result
                .map(|lp| lp.argmax().filter(|&i| lp.logprobs[i].is_finite())))
        }
        AnswerMethod::Sampled => {
            let request = ChatRequest {
                messages: messages.to_vec(),
                assistant_prefix: Some(format!("{stem} (")),
                sampling: Sampling {
                    temperature: 0.0,
                    top_p: None,
                    seed: Some(0),
                    max_tokens: 4,
                    stop: Vec::new(),
                },
            };
            let outcome = ctx.engine.chat(&request).await?;
            Ok(outcome
                .result
                .map(|c| extract_after_open_bracket(&c.generated_text(), n).index()))
        }
    }
}

/// A helper model's text reply (None when the request failed or the reply was empty).
async fn helper_text(helper: &Engine, prompt: &str) -> Result<Option<String>, Fatal> {
    let sampling = Sampling {
        temperature: 0.0,
        top_p: None,
        seed: Some(0),
        max_tokens: 256,
        stop: Vec::new(),
    };
    let outcome = helper
        .chat(&ChatRequest {
            messages: vec![Message::user(prompt)],
            assistant_prefix: None,
            sampling,
        })
        .await?;
    Ok(outcome
        .result
        .ok()
        .map(|c| c.output)
        .filter(|t| !t.trim().is_empty()))
}

/// Let the policy continue its turn from `prefix`, then read the answer after the resulting CoT
/// (the same way as early answering).
async fn continue_and_answer(
    ctx: &Ctx,
    messages: &[Message],
    prefix: &str,
    n: usize,
) -> Result<Option<usize>, Fatal> {
    let sampling = Sampling {
        temperature: 0.0,
        top_p: None,
        seed: Some(ctx.settings.seed),
        max_tokens: ctx.settings.max_tokens,
        stop: Vec::new(),
    };
    let request = ChatRequest {
        messages: messages.to_vec(),
        assistant_prefix: Some(prefix.to_string()),
        sampling,
    };
    // A continuation's text may come back in the reasoning field: it is still the continuation.
    let continuation = match ctx.engine.chat(&request).await?.result {
        Ok(c) => c.generated_text(),
        Err(_) => return Ok(None),
    };
    let full = format!("{prefix}{continuation}");
    Ok(
        answer_after(ctx, messages, strip_answer_line(&full).trim_end(), n)
            .await?
            .unwrap_or(None),
    )
}

pub(crate) async fn run_item(ctx: &Ctx, item: &Item) -> Result<Record, Fatal> {
    let n = item.choices.len();
    let messages = render_plain(item);
    let mut record = Record {
        key: item.id.clone(),
        item_id: item.id.clone(),
        dataset: item.source.clone(),
        gold: item.answer,
        n_options: n,
        status: crate::engine::RequestStatus::Failed,
        error: None,
        method: Some(ctx.method),
        cot: None,
        cot_tokens: None,
        cot_tokens_source: None,
        cot_tokens_estimated: false,
        step_ends: Vec::new(),
        early_answers: Vec::new(),
        filler_answer: None,
        mistake_answers: Vec::new(),
        paraphrase_answers: Vec::new(),
    };
    let sampling = Sampling {
        temperature: 0.0,
        top_p: None,
        seed: Some(ctx.settings.seed),
        max_tokens: ctx.settings.max_tokens,
        stop: Vec::new(),
    };
    let request = ChatRequest {
        messages: messages.clone(),
        assistant_prefix: ctx.settings.reasoning_prefix.clone(),
        sampling,
    };
    let completion = match ctx.engine.chat(&request).await?.result {
        Ok(c) => c,
        Err(e) => {
            record.error = Some(e.to_string());
            return Ok(record);
        }
    };
    let full = match &completion.reasoning {
        Some(r) if !r.reasoning.is_empty() => r.reasoning.clone(),
        _ => format!(
            "{}{}",
            ctx.settings.reasoning_prefix.as_deref().unwrap_or(""),
            completion.output
        ),
    };
    let cot = strip_answer_line(&full).trim_end().to_string();
    let ends = split_steps(&cot);
    let mut early = Vec::with_capacity(ends.len() + 1);
    for k in 0..=ends.len() {
        let prefix = if k == 0 { "" } else { &cot[..ends[k - 1]] };
        match answer_after(ctx, &messages, prefix, n).await? {
            Ok(a) => early.push(a),
            Err(e) => {
                record.error = Some(e.to_string());
                return Ok(record);
            }
        }
    }
    // The filler has as many tokens as the CoT: counted by the server, else by the backend's
    // tokenizer, else estimated and marked so (never 1 silently).
    let (tokens, source) = match completion.usage.completion_tokens {
        0 => match ctx.engine.backend().count_tokens(&cot).await {
            Some(n) if n > 0 => (n, super::TokenSource::Tokenizer),
            _ => (
                cotlens_core::necessity::estimate_tokens(&cot),
                super::TokenSource::Estimate,
            ),
        },
        n => (n, super::TokenSource::Usage),
    };
    let filler = " ...".repeat(tokens as usize);
    record.filler_answer = answer_after(ctx, &messages, &filler, n)
        .await?
        .unwrap_or(None);
    if let Some(helper) = &ctx.helper {
        let wants = |name: &str| ctx.settings.interventions.iter().any(|i| i == name);
        for k in 1..=ends.len() {
            let start = if k == 1 { 0 } else { ends[k - 2] };
            if wants("mistakes") {
                let step = &cot[start..ends[k - 1]];
                // boundary: trim_start leaves a suffix that starts at a boundary
                let lead = &step[..step.len() - step.trim_start().len()];
                let prompt =
                    cotlens_core::necessity::mistake_prompt(&item.question, &cot[..start], step);
                let answer = match helper_text(helper, &prompt).await? {
                    Some(bad) => {
                        continue_and_answer(
                            ctx,
                            &messages,
                            &format!("{}{lead}{}", &cot[..start], bad.trim()),
                            n,
                        )
                        .await?
                    }
                    None => None,
                };
                record.mistake_answers.push(answer);
            }
            if wants("paraphrase") {
                let prompt = cotlens_core::necessity::paraphrase_prompt(&cot[..ends[k - 1]]);
                let answer = match helper_text(helper, &prompt).await? {
                    Some(p) => continue_and_answer(ctx, &messages, p.trim(), n).await?,
                    None => None,
                };
                record.paraphrase_answers.push(answer);
            }
        }
    }
    record.status = crate::engine::RequestStatus::Ok;
    record.cot = Some(cot);
    record.cot_tokens = Some(tokens);
    record.cot_tokens_source = Some(source);
    record.cot_tokens_estimated = source == super::TokenSource::Estimate;
    record.step_ends = ends;
    record.early_answers = early;
    Ok(record)
}
