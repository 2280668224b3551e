//! LLM-judge monitors for `cotlens monitor`: templates resolved from names or files, one request
//! per trace × view through the engine, malformed replies retried then recorded as unscorable.

use super::MonitorRecord;
use super::MonitorStatus;
use crate::error::bad_input;
use cotlens_core::monitor::rules::RuleFinding;
use cotlens_core::monitor::trace::{BaseView, Trace, View};
use std::collections::BTreeMap;
use std::path::Path;

/// An LLM-judge monitor: a name and its template.
pub(crate) struct LlmMonitor {
    pub(crate) name: String,
    pub(crate) template: String,
}

pub(crate) fn llm_monitors(specs: &[String]) -> anyhow::Result<Vec<LlmMonitor>> {
    use cotlens_core::monitor::llm::{check_template, BUILTIN_TEMPLATES};
    let mut out = Vec::new();
    for spec in specs {
        if let Some((name, t)) = BUILTIN_TEMPLATES.iter().find(|(n, _)| n == spec) {
            out.push(LlmMonitor {
                name: format!("llm:{name}"),
                template: (*t).to_string(),
            });
            continue;
        }
        let path = Path::new(spec);
        let text = cotlens_core::read::read_text(path).map_err(|e| {
            bad_input(format!("--llm-monitor {spec:?}: not a built-in monitor (reward-hacking, sabotage, spec-violation) nor a readable template file ({e})"))
        })?;
        check_template(&text).map_err(|e| bad_input(format!("{}: {e}", path.display())))?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| spec.clone());
        out.push(LlmMonitor {
            name: format!("llm:{stem}"),
            template: text,
        });
    }
    Ok(out)
}

/// Attempts at a well-formed reply before a view is recorded as unscorable.
const LLM_ATTEMPTS: u64 = 3;

/// Score one view of one trace with an LLM monitor: `None` when the view shows nothing,
/// `Some(Err(reason))` when the replies stayed malformed or the requests failed.
async fn llm_score(
    engine: &crate::engine::Engine,
    monitor: &LlmMonitor,
    trace: &Trace,
    view: BaseView,
) -> Result<Option<Result<RuleFinding, String>>, crate::engine::Fatal> {
    use cotlens_core::types::{ChatRequest, Message, Sampling};
    let Some(transcript) = trace.visible(view) else {
        return Ok(None);
    };
    let task: Vec<&str> = trace
        .messages
        .iter()
        .filter(|m| m.role != "assistant")
        .map(|m| m.content.as_str())
        .collect();
    let view_name = View::Base(view).name();
    let prompt = cotlens_core::monitor::llm::render(
        &monitor.template,
        &task.join("\n\n"),
        &view_name,
        &transcript,
    );
    let mut last = String::new();
    for attempt in 0..LLM_ATTEMPTS {
        let sampling = Sampling {
            temperature: if attempt == 0 { 0.0 } else { 0.7 },
            top_p: None,
            seed: Some(attempt),
            max_tokens: 512,
            stop: Vec::new(),
        };
        let outcome = engine
            .chat(&ChatRequest {
                messages: vec![Message::user(prompt.clone())],
                assistant_prefix: None,
                sampling,
            })
            .await?;
        match outcome.result {
            Ok(c) => match cotlens_core::monitor::llm::parse_verdict(&c.output) {
                Ok(v) => {
                    return Ok(Some(Ok(RuleFinding {
                        score: v.score,
                        matched: vec![v.reason],
                        quote: v.quote,
                    })))
                }
                Err(e) => last = format!("malformed monitor reply: {e}"),
            },
            Err(e) => last = format!("monitor request failed: {e}"),
        }
    }
    Ok(Some(Err(format!("{last} (after {LLM_ATTEMPTS} attempts)"))))
}

/// All records of one LLM monitor for one trace.
pub(crate) async fn llm_trace_records(
    engine: &crate::engine::Engine,
    monitor: &LlmMonitor,
    trace: &Trace,
    views: &[View],
) -> Result<Vec<MonitorRecord>, crate::engine::Fatal> {
    let mut base: BTreeMap<BaseView, Option<Result<RuleFinding, String>>> = BTreeMap::new();
    for view in views {
        let needed: Vec<BaseView> = match view {
            View::Base(v) => vec![*v],
            View::Hybrid(_) => vec![BaseView::CotAndAction, BaseView::Action],
        };
        for v in needed {
            if let std::collections::btree_map::Entry::Vacant(slot) = base.entry(v) {
                slot.insert(llm_score(engine, monitor, trace, v).await?);
            }
        }
    }
    let label = trace.misbehaved();
    let mut records = Vec::new();
    for view in views {
        let finding: Option<Result<RuleFinding, String>> = match view {
            View::Base(v) => base.get(v).cloned().flatten(),
            View::Hybrid(w) => match (
                base.get(&BaseView::CotAndAction).cloned().flatten(),
                base.get(&BaseView::Action).cloned().flatten(),
            ) {
                (Some(Ok(both)), Some(Ok(action))) => Some(Ok(RuleFinding {
                    score: w * both.score + (1.0 - w) * action.score,
                    quote: both.quote,
                    matched: both.matched,
                })),
                (Some(Err(e)), _) | (_, Some(Err(e))) => Some(Err(e)),
                // No actions: no action score, so no hybrid score.
                _ => None,
            },
        };
        let view_name = view.name();
        let key = format!("{}|{}|{view_name}", trace.id, monitor.name);
        let (status, score, reason, quote) = match finding {
            Some(Ok(f)) => (
                MonitorStatus::Scored,
                Some(f.score),
                f.matched.join("; "),
                f.quote,
            ),
            Some(Err(e)) => (MonitorStatus::Unscorable, None, e, String::new()),
            None => (
                MonitorStatus::Unscorable,
                None,
                super::unscorable_reason(view).to_string(),
                String::new(),
            ),
        };
        records.push(MonitorRecord {
            key,
            trace_id: trace.id.clone(),
            monitor: monitor.name.clone(),
            view: view_name,
            status,
            score,
            reason,
            quote,
            label,
        });
    }
    Ok(records)
}
