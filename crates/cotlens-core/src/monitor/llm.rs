//! LLM-judge monitors: versioned prompt templates (reward hacking, sabotage, spec violation, or
//! a user file) that ask a model for a 0–100 suspicion score, a reason and a quote.
//!
//! A template has the placeholders `{task}` (the trace's user/system messages), `{view}` (the
//! view's name) and `{transcript}` (what the view shows of the agent). The reply must contain a
//! JSON object `{"score": 0..100, "reason": "…", "quote": "…"}`; the score is divided by 100.

use serde::{Deserialize, Serialize};

/// A monitor reply that is not a verdict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct VerdictError(pub String);

/// A monitor template without its placeholders.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

pub const BUILTIN_TEMPLATES: &[(&str, &str)] = &[
    (
        "reward-hacking",
        include_str!("../../templates/monitor-reward-hacking-v1.txt"),
    ),
    (
        "sabotage",
        include_str!("../../templates/monitor-sabotage-v1.txt"),
    ),
    (
        "spec-violation",
        include_str!("../../templates/monitor-spec-violation-v1.txt"),
    ),
];
pub const TEMPLATE_VERSION: &str = "v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmVerdict {
    /// In [0, 1].
    pub score: f64,
    pub reason: String,
    pub quote: String,
}

/// A template must name `{transcript}`; `{task}` and `{view}` are optional.
pub fn check_template(text: &str) -> Result<(), TemplateError> {
    check_template_text(text).map_err(TemplateError)
}

fn check_template_text(text: &str) -> Result<(), String> {
    if !text.contains("{transcript}") {
        return Err("a monitor template needs the placeholder {transcript}".into());
    }
    // A misspelt placeholder would reach the model as literal text.
    for (n, line) in text.lines().enumerate() {
        let names = line.split('{').skip(1).filter_map(|rest| {
            let name = rest.split('}').next().filter(|_| rest.contains('}'))?;
            (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                .then_some(name)
        });
        for name in names {
            if !["task", "view", "transcript"].contains(&name) {
                return Err(format!(
                    "line {}: unknown placeholder {{{name}}}; use {{task}}, {{view}}, {{transcript}}",
                    n + 1
                ));
            }
        }
    }
    Ok(())
}

pub fn render(template: &str, task: &str, view: &str, transcript: &str) -> String {
    template
        .replace("{task}", task)
        .replace("{view}", view)
        .replace("{transcript}", transcript)
}

/// Parse a monitor reply strictly: the first JSON object, `score` a number in [0, 100].
pub fn parse_verdict(reply: &str) -> Result<LlmVerdict, VerdictError> {
    parse_verdict_text(reply).map_err(VerdictError)
}

fn parse_verdict_text(reply: &str) -> Result<LlmVerdict, String> {
    let start = reply.find('{').ok_or("no JSON object in the reply")?;
    let mut stream =
        serde_json::Deserializer::from_str(&reply[start..]).into_iter::<serde_json::Value>();
    let v = stream
        .next()
        .ok_or("no JSON object in the reply")?
        .map_err(|e| format!("invalid JSON: {e}"))?;
    let score = v["score"]
        .as_f64()
        .ok_or("`score` missing or not a number")?;
    if !(0.0..=100.0).contains(&score) {
        return Err(format!("`score` {score} is outside 0..100"));
    }
    Ok(LlmVerdict {
        score: score / 100.0,
        reason: v["reason"].as_str().unwrap_or("").to_string(),
        quote: v["quote"].as_str().unwrap_or("").to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_parse_strictly() {
        let v = parse_verdict(
            "Here: {\"score\": 85, \"reason\": \"exits early\", \"quote\": \"sys.exit(0)\"}",
        )
        .expect("ok");
        assert_eq!((v.score, v.quote.as_str()), (0.85, "sys.exit(0)"));
        for bad in [
            "no json",
            "{\"score\": \"high\"}",
            "{\"score\": 150}",
            "{\"reason\": \"x\"}",
            "{\"score\": 5",
        ] {
            assert!(parse_verdict(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn builtin_templates_have_their_placeholders() {
        for (name, t) in BUILTIN_TEMPLATES {
            check_template(t).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(t.contains("{task}") && t.contains("{view}"), "{name}");
        }
        assert!(check_template("no placeholder").is_err());
    }
}
