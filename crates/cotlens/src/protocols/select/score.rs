//! Scoring samples with a pipeline's scorers. Each scorer reads only the fields it declares;
//! a scorer that cannot score a sample records `null` with the reason (never a crash).

use crate::engine::{Engine, Fatal};
use crate::protocols::sample::SampleRecord;
use cotlens_core::legibility::{Lexicon, Scanner};
use cotlens_core::monitor::rules::RuleMonitor;
use cotlens_core::monitor::trace::{ReasoningField, Trace, TraceMessage, View};
use cotlens_core::selection::pipeline::{Field, ScorerKind, ScorerSpec};
use cotlens_core::selection::verbatim::SplitText;
use cotlens_core::types::{ChatRequest, Message, Sampling};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// One sample's scores (the select run's records).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreRecord {
    pub key: String,
    pub prompt_id: String,
    pub domain: String,
    pub content_hash: String,
    pub scores: BTreeMap<String, Option<f64>>,
    /// Per scorer: why it gave no score, or what an LLM scorer said (reason, quote).
    pub details: BTreeMap<String, serde_json::Value>,
}

/// What scoring needs, shared by all units.
pub(crate) struct Scoring {
    pub(crate) scorers: Vec<ScorerSpec>,
    pub(crate) spec: Option<String>,
    pub(crate) rules: RuleMonitor,
    /// Model spec → engine, for spec-judge and LLM-monitor scorers.
    pub(crate) engines: HashMap<String, Arc<Engine>>,
    pub(crate) default_judge: Option<String>,
    /// Scorer name → its LLM monitor (monitor scorers other than `rules`).
    pub(crate) llm_monitors: HashMap<String, crate::protocols::monitor::LlmMonitor>,
}

impl Scoring {
    pub(crate) fn engine_for(&self, s: &ScorerSpec) -> Option<&Arc<Engine>> {
        let spec = s.model.as_ref().or(self.default_judge.as_ref())?;
        self.engines.get(spec)
    }
}

/// The text of the fields a scorer sees, joined by blank lines (samples have no actions).
fn visible(text: &SplitText, fields: &[Field]) -> String {
    let mut parts = Vec::new();
    if fields.contains(&Field::Cot) {
        parts.push(text.cot.as_str());
    }
    if fields.contains(&Field::Output) {
        parts.push(text.answer.as_str());
    }
    parts.join("\n\n")
}

const LLM_ATTEMPTS: u64 = 3;

pub(crate) async fn score_sample(ctx: &Scoring, r: &SampleRecord) -> Result<ScoreRecord, Fatal> {
    let mut out = ScoreRecord {
        key: r.key.clone(),
        prompt_id: r.prompt_id.clone(),
        domain: r.domain.clone(),
        content_hash: r.content_hash.clone().unwrap_or_default(),
        scores: BTreeMap::new(),
        details: BTreeMap::new(),
    };
    let (Some(text), Some(_)) = (&r.text, &r.completion) else {
        return Ok(out);
    };
    for s in &ctx.scorers {
        let (score, detail): (Option<f64>, serde_json::Value) = match s.kind {
            ScorerKind::Correctness => correctness(r, &text.answer),
            ScorerKind::Length => {
                let words = visible(text, &s.fields).split_whitespace().count();
                (Some(words as f64), serde_json::Value::Null)
            }
            ScorerKind::Legibility => {
                let text = visible(text, &s.fields);
                let stats =
                    Scanner::with_capacity(Lexicon::builtin(), text.len() / 4 + 16).scan(&text);
                (
                    Some(stats.legibility),
                    serde_json::json!({"oov_share": stats.oov_share, "foreign_script_share": stats.foreign_script_share, "repetition": stats.repetition}),
                )
            }
            ScorerKind::Monitor => monitor(ctx, s, r, text).await?,
            ScorerKind::SpecJudge => spec_judge(ctx, s, text).await?,
        };
        out.scores.insert(s.name.clone(), score);
        if !detail.is_null() {
            out.details.insert(s.name.clone(), detail);
        }
    }
    Ok(out)
}

/// Correctness: the one grading of docs/selection.md, shared with `sample`'s summary. An
/// unparseable answer is unscored, so never kept by a correctness gate, and counted apart.
fn correctness(r: &SampleRecord, answer: &str) -> (Option<f64>, serde_json::Value) {
    use crate::protocols::sample::grade::{grade, Grade};
    let (g, given) = grade(r, answer);
    let detail = match given {
        Some(a) => serde_json::json!({"answer": a}),
        None => serde_json::Value::Null,
    };
    match g {
        Grade::Correct => (Some(1.0), detail),
        Grade::Wrong => (Some(0.0), detail),
        Grade::Unparseable => (
            None,
            serde_json::json!({"unscored": "unparseable answer", "unparseable": true}),
        ),
        Grade::Ungraded => (None, serde_json::json!({"unscored": "no gold answer"})),
    }
}

fn as_trace(r: &SampleRecord, text: &SplitText) -> Trace {
    Trace {
        id: r.key.clone(),
        messages: r
            .prompt
            .iter()
            .map(|m| TraceMessage {
                role: m.role.as_str().to_string(),
                content: m.content.clone(),
            })
            .collect(),
        reasoning: (!text.cot.is_empty()).then(|| ReasoningField::One(text.cot.clone())),
        actions: Vec::new(),
        output: (!text.answer.is_empty()).then(|| text.answer.clone()),
        labels: Default::default(),
        metadata: Default::default(),
    }
}

async fn monitor(
    ctx: &Scoring,
    s: &ScorerSpec,
    r: &SampleRecord,
    text: &SplitText,
) -> Result<(Option<f64>, serde_json::Value), Fatal> {
    let trace = as_trace(r, text);
    let view = View::parse(s.view.as_deref().unwrap_or("cot"))
        .unwrap_or(View::Base(cotlens_core::monitor::trace::BaseView::Cot));
    let name = s.monitor.as_deref().unwrap_or("rules");
    let records = if name == "rules" {
        crate::protocols::monitor::monitor_trace(&ctx.rules, &trace, &[view])
    } else {
        let Some(engine) = ctx.engine_for(s) else {
            return Ok((None, serde_json::json!({"unscored": "no judge model"})));
        };
        let Some(m) = ctx.llm_monitors.get(&s.name) else {
            return Ok((
                None,
                serde_json::json!({"unscored": format!("unknown monitor {name}")}),
            ));
        };
        crate::protocols::monitor::llm_trace_records(engine, m, &trace, &[view]).await?
    };
    Ok(match records.into_iter().next() {
        Some(rec) if rec.score.is_some() => (
            rec.score,
            serde_json::json!({"reason": rec.reason, "quote": rec.quote}),
        ),
        Some(rec) => (None, serde_json::json!({"unscored": rec.reason})),
        None => (None, serde_json::json!({"unscored": "no record"})),
    })
}

async fn spec_judge(
    ctx: &Scoring,
    s: &ScorerSpec,
    text: &SplitText,
) -> Result<(Option<f64>, serde_json::Value), Fatal> {
    let (Some(spec), Some(engine)) = (&ctx.spec, ctx.engine_for(s)) else {
        return Ok((
            None,
            serde_json::json!({"unscored": "no spec or no judge model"}),
        ));
    };
    let prompt = cotlens_core::selection::spec_judge_prompt(spec, &visible(text, &s.fields));
    let mut last = String::new();
    for attempt in 0..LLM_ATTEMPTS {
        let request = ChatRequest {
            messages: vec![Message::user(prompt.clone())],
            assistant_prefix: None,
            sampling: Sampling {
                temperature: if attempt == 0 { 0.0 } else { 0.7 },
                top_p: None,
                seed: Some(attempt),
                max_tokens: 512,
                stop: Vec::new(),
            },
        };
        match engine.chat(&request).await?.result {
            Ok(c) => match cotlens_core::monitor::llm::parse_verdict(&c.output) {
                Ok(v) => {
                    return Ok((
                        Some(v.score),
                        serde_json::json!({"reason": v.reason, "quote": v.quote}),
                    ))
                }
                Err(e) => last = format!("malformed judge reply: {e}"),
            },
            Err(e) => last = format!("judge request failed: {e}"),
        }
    }
    Ok((
        None,
        serde_json::json!({"unscored": format!("{last} (after {LLM_ATTEMPTS} attempts)")}),
    ))
}
