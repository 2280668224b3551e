//! The units of a horizon run (one per item × condition) and how each is asked and read.

use super::Settings;
use crate::engine::{Engine, Fatal, RequestStatus};
use cotlens_core::free_response::{
    extract_number, extract_text_answer, matches_gold, Gold, NoCotMethod, Number,
};
use cotlens_core::horizon::{render_prompt, Condition, HorizonItem};
use cotlens_core::types::{ChatRequest, Completion, FinishReason, Message, Sampling};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub(super) struct Ctx {
    pub engine: Arc<Engine>,
    pub settings: Settings,
    pub reasoning_prefix: Option<String>,
    pub no_cot_method: NoCotMethod,
}

#[derive(Debug, Clone)]
pub(super) struct Unit {
    pub key: String,
    pub item: Arc<HorizonItem>,
    pub condition: Condition,
}

/// Per item, one unit per condition.
pub(super) fn units(items: &[HorizonItem], conditions: &[Condition]) -> Vec<Unit> {
    let mut units = Vec::with_capacity(items.len() * conditions.len());
    for item in items {
        let item = Arc::new(item.clone());
        for &condition in conditions {
            units.push(Unit {
                key: format!("{}|{condition}", item.id),
                item: item.clone(),
                condition,
            });
        }
    }
    units
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub key: String,
    pub item_id: String,
    pub family: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<f64>,
    pub condition: Condition,
    pub gold: Gold,
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assistant_prefix: Option<String>,
    /// How reasoning was kept out (conditions that answer at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_cot_method: Option<NoCotMethod>,
    pub status: RequestStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default)]
    pub cached: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<FinishReason>,
    /// Reasoning the backend returned separately (a reasoning field or think tags).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// The visible text (for a continuation: only the continuation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The number read from the answer (canonical); None: unparseable.
    #[serde(default)]
    pub answer: Option<Number>,
    /// For a text gold answer: the marked answer text, normalized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_answer: Option<String>,
    /// Answer = gold (None: the request failed, or an at-once answer came with reasoning).
    #[serde(default)]
    pub correct: Option<bool>,
    /// An answer that should have come at once but came with reasoning: left out of the
    /// accuracy (counted).
    #[serde(default)]
    pub reasoning_seen: bool,
}

impl Record {
    /// Counted in the accuracy: answered, and (for the at-once conditions) without reasoning.
    pub fn counted(&self) -> Option<bool> {
        if self.status != RequestStatus::Ok
            || (self.condition.answers_at_once() && self.reasoning_seen)
        {
            return None;
        }
        self.correct
    }

    pub fn unparseable(&self) -> bool {
        self.status == RequestStatus::Ok
            && match self.gold {
                Gold::Number(_) => self.answer.is_none(),
                Gold::Text(_) => self.text_answer.is_none(),
            }
    }

    pub fn truncated(&self) -> bool {
        self.unparseable() && self.finish_reason == Some(FinishReason::Length)
    }
}

pub(super) async fn run_unit(ctx: &Ctx, unit: &Unit) -> Result<Record, Fatal> {
    let s = &ctx.settings;
    let item = &unit.item;
    let at_once = unit.condition.answers_at_once();
    let messages = render_prompt(&item.question, unit.condition);
    let assistant_prefix = if at_once {
        (ctx.no_cot_method == NoCotMethod::Prefill).then(|| "Answer:".to_string())
    } else {
        ctx.reasoning_prefix.clone()
    };
    let request = ChatRequest {
        messages: messages.clone(),
        assistant_prefix: assistant_prefix.clone(),
        sampling: Sampling {
            temperature: s.temperature,
            top_p: None,
            seed: Some(s.seed),
            max_tokens: if at_once {
                s.no_cot_max_tokens
            } else {
                s.max_tokens
            },
            stop: Vec::new(),
        },
    };
    let mut record = Record {
        key: unit.key.clone(),
        item_id: item.id.clone(),
        family: item.family.clone(),
        depth: item.depth,
        minutes: item.minutes,
        condition: unit.condition,
        gold: item.answer.clone(),
        messages,
        assistant_prefix: assistant_prefix.clone(),
        no_cot_method: at_once.then_some(ctx.no_cot_method),
        status: RequestStatus::Failed,
        error: None,
        cached: false,
        finish_reason: None,
        reasoning: None,
        output: None,
        answer: None,
        text_answer: None,
        correct: None,
        reasoning_seen: false,
    };
    let outcome = ctx.engine.chat(&request).await?;
    record.cached = outcome.cached;
    match outcome.result {
        Ok(c) => {
            read_completion(&mut record, &c, assistant_prefix.as_deref());
            record.status = RequestStatus::Ok;
        }
        Err(e) => record.error = Some(e.to_string()),
    }
    Ok(record)
}

/// Fill the record's texts, answer and verdict from a completion.
fn read_completion(record: &mut Record, c: &Completion, prefix: Option<&str>) {
    let reasoning = c
        .reasoning
        .as_ref()
        .map(|r| r.reasoning.clone())
        .filter(|r| !r.trim().is_empty());
    record.finish_reason = Some(c.finish_reason);
    record.output = Some(c.output.clone());
    record.reasoning_seen = reasoning.is_some();
    record.reasoning = reasoning;
    // After a prefill the continuation is joined on one line, so that "Answer:" + "\n7" reads 7.
    let visible = match prefix {
        Some(p) => format!("{p} {}", c.output.trim_start()),
        None => c.output.clone(),
    };
    record.answer = if cotlens_core::free_response::number_may_be_cut(&c.output, c.finish_reason) {
        None
    } else {
        extract_number(&visible)
    };
    if matches!(record.gold, Gold::Text(_)) {
        record.text_answer = extract_text_answer(&visible);
    }
    // An at-once answer that came with reasoning is not an at-once answer: no verdict.
    let excluded = record.condition.answers_at_once() && record.reasoning_seen;
    record.correct =
        (!excluded).then(|| matches_gold(&record.answer, &record.text_answer, &record.gold));
}
