//! The checks of `--resume`: the flags given now against those the run recorded, and the run
//! the resume would make (templates, model, judges, servers) against the stored one.

use crate::args::CommandLine;
use crate::error::bad_input;
use crate::printer::Printer;
use crate::store::MANIFEST;
use std::path::Path;

/// The base URLs a select run's manifest records for its judges (`judges`: key → backend).
pub fn judges_base_urls(manifest: &serde_json::Value) -> Vec<String> {
    let mut urls: Vec<String> = manifest["judges"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
        .flat_map(|j| {
            j["details"]["base_urls"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|u| u.as_str().map(str::to_string))
        .collect();
    urls.dedup();
    urls
}

/// The base URLs a run's manifest records for its model.
pub(super) fn stored_base_urls(manifest: &serde_json::Value) -> Vec<String> {
    manifest["model"]["details"]["base_urls"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u.as_str().map(str::to_string))
        .collect()
}

/// On `--resume`: every flag given now must have the value the run was started with, unless it
/// cannot change a result ([`crate::args::FREE_ON_RESUME`]; those are logged). A run made
/// before flags were recorded cannot be compared: a note says so.
pub(super) fn check_flags(
    dir: &Path,
    stored: &serde_json::Value,
    now: &CommandLine,
    printer: Printer,
) -> anyhow::Result<()> {
    let Some(before) = stored.get("command_line") else {
        if !now.given.iter().all(|f| f == "resume") {
            printer.note(format!(
                "{}: made by an older cotlens that did not record its flags; the flags given now are not checked against it (the run's stored settings are used)",
                dir.display()
            ));
        }
        return Ok(());
    };
    let before: CommandLine = serde_json::from_value(before.clone()).map_err(|e| {
        bad_input(format!(
            "{}: manifest field `command_line` is not valid ({e})",
            dir.join(MANIFEST).display()
        ))
    })?;
    let (refused, free) = now.differences(&before);
    // Not worth a line: how the run is addressed and reported, and the servers (checked, and
    // noted, as the backend's identity in `begin`).
    let unremarkable = [
        "--resume",
        "--json",
        "--quiet",
        "--verbose",
        "--no-retry-failed",
        "--base-url",
    ];
    for change in &free {
        if !unremarkable.contains(&change.flag.as_str()) {
            printer.note(format!("resumed with {change}"));
        }
    }
    if !refused.is_empty() {
        return Err(bad_input(format!(
            "{}: cannot resume with flags that change the results: {}; resume without them (the run keeps its own) or start a new run",
            dir.display(),
            refused
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }
    Ok(())
}

/// On `--resume`: the run's templates and backend must be those it was started with.
pub(super) fn check_same_run(
    dir: &Path,
    stored: &serde_json::Value,
    now: &serde_json::Value,
    printer: Printer,
) -> anyhow::Result<()> {
    let mut differs = Vec::new();
    if stored.get("templates").is_some() && stored["templates"] != now["templates"] {
        differs.push(
            "its prompt templates or answer reading (this cotlens words or reads them differently)"
                .to_string(),
        );
    }
    // Judges keyed by name (select runs): each must be the same backend.
    if let (Some(before), Some(current)) = (stored["judges"].as_object(), now["judges"].as_object())
    {
        let scope =
            serde_json::from_value(stored["engine"]["cache_scope"].clone()).unwrap_or_default();
        let id = |v: &serde_json::Value| {
            serde_json::from_value::<cotlens_core::BackendInfo>(v.clone())
                .ok()
                .map(|i| crate::cache::backend_identity(&i, scope))
        };
        let names: std::collections::BTreeSet<&String> =
            before.keys().chain(current.keys()).collect();
        for name in names {
            let (a, b) = (
                before.get(name).and_then(id),
                current.get(name).and_then(id),
            );
            if a != b {
                differs.push(format!(
                    "the judge {name} (the run: {}; now: {})",
                    a.map_or("none".into(), |v| v.to_string()),
                    b.map_or("none".into(), |v| v.to_string())
                ));
            }
        }
    }
    if let (Ok(before), Ok(current)) = (
        serde_json::from_value::<cotlens_core::BackendInfo>(stored["model"].clone()),
        serde_json::from_value::<cotlens_core::BackendInfo>(now["model"].clone()),
    ) {
        let scope =
            serde_json::from_value(stored["engine"]["cache_scope"].clone()).unwrap_or_default();
        let (a, b) = (
            crate::cache::backend_identity(&before, scope),
            crate::cache::backend_identity(&current, scope),
        );
        if a != b {
            differs.push(format!(
                "its model or server (the run: {a}; now: {b}; replicas of one deployment need a run made with --cache-scope model)"
            ));
        } else if stored_base_urls(stored) != stored_base_urls(now) {
            printer.note(format!(
                "resumed on other replicas of the run's deployment (--cache-scope model): {}",
                stored_base_urls(now).join(", ")
            ));
        }
    }
    if differs.is_empty() {
        return Ok(());
    }
    Err(bad_input(format!(
        "{}: this resume would change {}; start a new run instead (the response cache makes re-asking cheap)",
        dir.display(),
        differs.join(", and ")
    )))
}
