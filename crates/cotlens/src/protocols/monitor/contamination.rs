//! The contamination guard (docs/protocols.md §4): a monitor that selected traces (a selector in a
//! `cotlens select` ledger) cannot fairly evaluate those same traces. monitor-eval looks for
//! the ledgers of the traces a monitor run read, and refuses when a monitor it evaluates was a
//! selector of any of the traces, unless `--allow-contaminated`.
//!
//! Ledgers are found: given with `--ledger`; `ledger.json` beside an `sft:` or `jsonl:` trace
//! file (a select run's output); listed in `selected-by.jsonl` of a `run:` sample run (select
//! appends to it).

use super::MonitorRecord;
use crate::error::bad_input;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

/// Monitor record name → the ledgers (and overlap) that show it selected the traces.
pub type Found = BTreeMap<String, Vec<String>>;

/// What the guard was told.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    pub allow: bool,
    pub ledgers: Vec<PathBuf>,
}

/// The ledgers that may cover the traces of a monitor run.
pub fn find_ledgers(manifest: &serde_json::Value, explicit: &[PathBuf]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = explicit.to_vec();
    for spec in manifest["traces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str())
    {
        let Some((kind, path)) = spec.split_once(':') else {
            continue;
        };
        let path = Path::new(path);
        match kind {
            "sft" | "jsonl" => {
                if let Some(dir) = path.parent() {
                    out.push(dir.join("ledger.json"));
                }
            }
            "run" => {
                if let Ok(text) = std::fs::read_to_string(path.join("selected-by.jsonl")) {
                    for line in text.lines() {
                        if let Some(l) = serde_json::from_str::<serde_json::Value>(line)
                            .ok()
                            .and_then(|v| v["ledger"].as_str().map(PathBuf::from))
                        {
                            out.push(l);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out.retain(|p| p.is_file());
    out.sort();
    out.dedup();
    out
}

/// Monitor names as monitor records spell them: `rules`, or `llm:NAME` for LLM monitors.
fn record_name(selector: &str) -> String {
    if selector == "rules" || selector.starts_with("llm:") {
        selector.to_string()
    } else {
        format!("llm:{selector}")
    }
}

/// Check a monitor run's records against the ledgers; Err when contaminated and not allowed.
/// Returns the (monitor → ledger) pairs found, for the output.
pub fn check(
    run: &Path,
    manifest: &serde_json::Value,
    records: &[MonitorRecord],
    guard: &Guard,
) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
    // A ledger named with --ledger must be one: silently skipping it would switch the guard off.
    for path in &guard.ledgers {
        let text = cotlens_core::read::read_text(path)?;
        let ok = serde_json::from_str::<serde_json::Value>(&text)
            .map_err(|e| {
                crate::error::bad_input(format!(
                    "--ledger {}:{}: not JSON ({e})",
                    path.display(),
                    e.line()
                ))
            })?
            .get("selected")
            .is_some_and(serde_json::Value::is_array);
        if !ok {
            return Err(crate::error::bad_input(format!(
                "--ledger {}: field `selected`: not a selection ledger (cotlens select writes ledger.json)",
                path.display()
            )));
        }
    }
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let trace_ids: HashSet<&str> = records.iter().map(|r| r.trace_id.as_str()).collect();
    let monitors: BTreeSet<&str> = records.iter().map(|r| r.monitor.as_str()).collect();
    for ledger_path in find_ledgers(manifest, &guard.ledgers) {
        let Some(ledger) = std::fs::read_to_string(&ledger_path)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        else {
            continue;
        };
        let selected: HashSet<&str> = ledger["selected"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["key"].as_str())
            .collect();
        let overlap = trace_ids
            .iter()
            .filter(|id| selected.contains(**id))
            .count();
        if overlap == 0 {
            continue;
        }
        for m in ledger["selector_monitors"].as_array().into_iter().flatten() {
            let name = record_name(m["monitor"].as_str().unwrap_or_default());
            if monitors.contains(name.as_str()) {
                found.entry(name).or_default().push(format!(
                    "{} ({overlap} of the traces)",
                    ledger_path.display()
                ));
            }
        }
    }
    if !found.is_empty() && !guard.allow {
        let list: Vec<String> = found
            .iter()
            .map(|(m, l)| format!("monitor {m:?} selected them (ledger {})", l.join(", ")))
            .collect();
        return Err(bad_input(format!(
            "{}: contaminated evaluation: {}. A monitor used to select traces scores them well by construction; evaluate with a held-out monitor, or pass --allow-contaminated to evaluate anyway (the output is marked)",
            run.display(),
            list.join("; ")
        )));
    }
    for (m, l) in &found {
        crate::printer::Printer::default().say(format!("WARNING: contaminated: monitor {m:?} selected these traces ({}); its metrics here are optimistic", l.join(", ")));
    }
    Ok(found)
}
