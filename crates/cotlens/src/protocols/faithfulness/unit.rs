//! Running one unit: ask the model, read the answer, judge hinted completions, build the record.

use super::plan::Unit;
use super::record::{AnswerSource, Condition, Record, Status};
use crate::cache::hash_json;
use crate::engine::{Engine, Fatal};
use cotlens_core::extract::extract_from_completion;
use cotlens_core::hints::Hint;
use cotlens_core::judge::{
    lexical_verdict, llm_judge_prompt, parse_llm_verdict, Judgement, LexicalCues,
};
use cotlens_core::types::{letter, ChatRequest, LogprobRequest, Message, Sampling};
use cotlens_core::Capability;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForceMode {
    Never,
    Unparseable,
}

/// A judge of verbalization.
pub enum Judge {
    Lexical,
    Llm { name: String, engine: Arc<Engine> },
}

impl Judge {
    pub fn name(&self) -> &str {
        match self {
            Judge::Lexical => "lexical",
            Judge::Llm { name, .. } => name,
        }
    }
}

/// Everything a unit needs; shared by all units of a run.
pub struct UnitContext {
    pub engine: Arc<Engine>,
    pub judges: Vec<Judge>,
    /// LLM judges also judge the calibration baselines (`--judge-calibration`); the lexical
    /// judge always does.
    pub llm_calibration: bool,
    pub sampling: Sampling,
    pub reasoning_prefix: Option<String>,
    pub force: ForceMode,
}

/// LLM judge attempts before a verdict is recorded as unjudged.
const JUDGE_ATTEMPTS: u64 = 3;

pub async fn run_unit(ctx: &UnitContext, unit: &Unit) -> Result<Record, Fatal> {
    let item = &unit.item;
    let mut record = Record {
        key: unit.key.clone(),
        protocol: "faithfulness".into(),
        item_id: item.id.clone(),
        dataset: item.source.clone(),
        subject: item.subject.clone(),
        condition: unit.condition,
        hint: unit.hint.as_ref().map(|h| h.name.clone()),
        direction: unit.direction,
        hint_index: unit.hint_index,
        hint_letter: unit.hint_index.map(|h| letter(h).to_string()),
        gold: item.answer,
        n_options: item.choices.len(),
        prompt_hash: String::new(),
        messages: unit.messages.clone(),
        assistant_prefix: None,
        status: Status::Skipped,
        error: unit.skip.clone(),
        attempts: Vec::new(),
        cached: false,
        completion: None,
        cot: None,
        answer: None,
        answer_letter: None,
        answer_source: None,
        forced_logprobs: None,
        judges: BTreeMap::new(),
        calibrates: None,
    };
    if unit.skip.is_some() {
        return Ok(record);
    }
    let request = ChatRequest {
        messages: unit.messages.clone(),
        assistant_prefix: ctx.reasoning_prefix.clone(),
        sampling: ctx.sampling.clone(),
    };
    record.prompt_hash = hash_json(&request);
    record.assistant_prefix = request.assistant_prefix.clone();
    let outcome = ctx.engine.chat(&request).await?;
    record.attempts = outcome.attempts;
    record.cached = outcome.cached;
    let completion = match outcome.result {
        Ok(c) => c,
        Err(e) => {
            record.status = Status::Failed;
            record.error = Some(e.to_string());
            return Ok(record);
        }
    };
    if completion.truncated_in_reasoning() {
        record.status = Status::Truncated;
        record.error = Some(format!(
            "cut at {} tokens inside its reasoning, before any answer (raise --max-tokens)",
            ctx.sampling.max_tokens
        ));
        record.cot = completion.reasoning.as_ref().map(|r| r.reasoning.clone());
        record.completion = Some(completion);
        return Ok(record);
    }
    record.status = Status::Ok;
    record.error = None;
    let n = item.choices.len();
    let reasoning = completion.reasoning.as_ref().map(|r| r.reasoning.as_str());
    let mut answer = extract_from_completion(&completion.output, reasoning, &item.choices).index();
    let mut source = answer.map(|_| AnswerSource::Text);
    if answer.is_none()
        && ctx.force == ForceMode::Unparseable
        && ctx.engine.backend().supports(Capability::CandidateLogprobs)
    {
        let prefix = format!(
            "{}{}\nAnswer:",
            ctx.reasoning_prefix.as_deref().unwrap_or(""),
            completion.output
        );
        let forced = LogprobRequest {
            messages: unit.messages.clone(),
            assistant_prefix: Some(prefix),
            candidates: (0..n).map(|i| format!(" {}", letter(i))).collect(),
        };
        let outcome = ctx.engine.candidate_logprobs(&forced).await?;
        record.attempts.extend(outcome.attempts);
        if let Ok(lp) = outcome.result {
            answer = lp.argmax().filter(|&i| lp.logprobs[i].is_finite());
            source = answer.map(|_| AnswerSource::ForcedLogprobs);
            record.forced_logprobs = Some(
                lp.logprobs
                    .iter()
                    .map(|&x| x.is_finite().then_some(x))
                    .collect(),
            );
        }
    }
    // The CoT the judges read: the reasoning field, else the visible text (with the started turn).
    let cot = match reasoning {
        Some(r) if !r.is_empty() => r.to_string(),
        _ => format!(
            "{}{}",
            ctx.reasoning_prefix.as_deref().unwrap_or(""),
            completion.output
        ),
    };
    record.answer = answer;
    record.answer_letter = answer.map(|a| letter(a).to_string());
    record.answer_source = source;
    if unit.condition == Condition::Hinted && answer.is_some() && answer == unit.hint_index {
        if completion.reasoning_hidden() {
            // A verdict on the visible answer alone would count hidden reasoning as silent.
            let reason = format!(
                "the model's reasoning is hidden ({} reasoning tokens, no text): its CoT cannot be judged",
                completion.usage.reasoning_tokens.unwrap_or(0)
            );
            record.judges = ctx
                .judges
                .iter()
                .map(|j| {
                    let reason = reason.clone();
                    (j.name().to_string(), Judgement::Unjudged { reason })
                })
                .collect();
        } else if let (Some(hint), Some(h)) = (&unit.hint, unit.hint_index) {
            record.judges = judge_cot(ctx.judges.iter(), hint, h, &item.choices[h], &cot).await?;
        }
    }
    record.cot = Some(cot);
    record.completion = Some(completion);
    Ok(record)
}

/// Every judge's verdict on `cot` for hint `hint` pointing to option `h` (text `option`).
async fn judge_cot(
    judges: impl Iterator<Item = &Judge>,
    hint: &Hint,
    h: usize,
    option: &str,
    cot: &str,
) -> Result<BTreeMap<String, Judgement>, Fatal> {
    let hint_text = hint.render(h, option);
    let mut out = BTreeMap::new();
    for judge in judges {
        let judgement = match judge {
            Judge::Lexical => match LexicalCues::for_hint(hint) {
                Ok(cues) => {
                    Judgement::Judged(lexical_verdict(cot, &cues, &hint_text, letter(h), option))
                }
                Err(e) => Judgement::Unjudged { reason: e.0 },
            },
            Judge::Llm { engine, .. } => {
                llm_judgement(engine, &hint.description, &hint_text, letter(h), cot).await?
            }
        };
        out.insert(judge.name().to_string(), judgement);
    }
    Ok(out)
}

/// Judge calibration (docs/faithfulness.md): a switched pair's baseline CoT, which never saw the
/// hint, judged as if it had.
pub struct CalibrationUnit {
    pub key: String,
    /// The hinted record of the switched pair (its fields, without its completion).
    pub hinted: Record,
    pub baseline_cot: String,
    pub hint: Arc<Hint>,
    pub option: String,
}

pub async fn run_calibration(ctx: &UnitContext, unit: CalibrationUnit) -> Result<Record, Fatal> {
    let h = unit.hinted.hint_index.unwrap_or(0);
    let judges = ctx
        .judges
        .iter()
        .filter(|j| ctx.llm_calibration || matches!(j, Judge::Lexical));
    let verdicts = judge_cot(judges, &unit.hint, h, &unit.option, &unit.baseline_cot).await?;
    Ok(Record {
        key: unit.key,
        condition: Condition::Calibration,
        prompt_hash: String::new(),
        messages: Vec::new(),
        assistant_prefix: None,
        status: Status::Ok,
        error: None,
        attempts: Vec::new(),
        cached: false,
        completion: None,
        cot: Some(unit.baseline_cot),
        answer: None,
        answer_letter: None,
        answer_source: None,
        forced_logprobs: None,
        judges: verdicts,
        calibrates: Some(unit.hinted.key.clone()),
        ..unit.hinted
    })
}

/// Ask an LLM judge; malformed replies are retried (with fresh samples), then recorded as
/// unjudged with the reason.
async fn llm_judgement(
    engine: &Engine,
    description: &str,
    hint_text: &str,
    letter: char,
    cot: &str,
) -> Result<Judgement, Fatal> {
    let prompt = llm_judge_prompt(description, hint_text, letter, cot);
    let mut last = String::from("no reply");
    for attempt in 0..JUDGE_ATTEMPTS {
        let sampling = Sampling {
            temperature: if attempt == 0 { 0.0 } else { 0.7 },
            top_p: None,
            seed: Some(attempt),
            max_tokens: 1024,
            stop: Vec::new(),
        };
        let request = ChatRequest {
            messages: vec![Message::user(prompt.clone())],
            assistant_prefix: None,
            sampling,
        };
        let outcome = engine.chat(&request).await?;
        match outcome.result {
            Ok(c) => match parse_llm_verdict(&c.output) {
                Ok(v) => return Ok(Judgement::Judged(v)),
                Err(e) => last = format!("malformed judge reply: {e}"),
            },
            Err(e) => last = format!("judge request failed: {e}"),
        }
    }
    Ok(Judgement::Unjudged {
        reason: format!("{last} (after {JUDGE_ATTEMPTS} attempts)"),
    })
}

impl From<super::args::ForceAnswer> for ForceMode {
    fn from(f: super::args::ForceAnswer) -> Self {
        match f {
            super::args::ForceAnswer::Never => ForceMode::Never,
            super::args::ForceAnswer::Unparseable => ForceMode::Unparseable,
        }
    }
}
