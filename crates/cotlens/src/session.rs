//! One run lifecycle for every protocol that writes a run directory:
//!
//! 1. [`RunStart::new`]: `--resume DIR` reopens the run (lock, records repaired) and its stored
//!    settings come back through [`RunStart::stored_settings`]; otherwise nothing is written yet.
//! 2. [`RunStart::begin`]: a new run writes its typed [`Manifest`] first (in `--out` or
//!    `runs/<timestamp>-<protocol>`); a resumed one keeps the manifest it has.
//! 3. [`RunSession::pending`] and [`RunSession::run`]: the units not stored yet run through the
//!    engine, each finished one appended to `records.jsonl`.
//! 4. [`RunSession::finish`]: `summary.json`, `report.html`, then the table or the JSON on
//!    stdout.

use crate::args::{CommandLine, EngineArgs, ModelArgs, RunDirArgs};
use crate::engine::{Counters, Fatal};
use crate::error::bad_input;
use crate::model::ResolvedModel;
use crate::printer::Printer;
use crate::protocol::Protocol;
use crate::report::Section;
use crate::store::{write_json_atomic, RunStore, MANIFEST, SUMMARY};
use anyhow::Context;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::path::{Path, PathBuf};

mod resume;
pub use resume::judges_base_urls;
use resume::{check_flags, check_same_run, stored_base_urls};

/// `manifest.json`: what every run records first. Protocol-specific facts (model, judges,
/// templates, engine, item counts) are in `details`, written after the common fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub cotlens_version: String,
    pub protocol: Protocol,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Everything that determines the results; read back on `--resume`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<serde_json::Value>,
    #[serde(flatten)]
    pub details: serde_json::Map<String, serde_json::Value>,
    /// A value that did not serialize: the run refuses to start rather than write a manifest
    /// without it.
    #[serde(skip)]
    failed: Option<String>,
}

impl Manifest {
    /// A manifest of a run of `protocol` made now, without settings.
    pub fn new(protocol: Protocol) -> Self {
        Self {
            cotlens_version: env!("CARGO_PKG_VERSION").to_string(),
            protocol,
            created_at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .ok(),
            settings: None,
            details: serde_json::Map::new(),
            failed: None,
        }
    }

    /// With the run's settings.
    pub fn settings(mut self, settings: &impl Serialize) -> Self {
        match serde_json::to_value(settings) {
            Ok(v) => self.settings = Some(v),
            Err(e) => self.fail("settings", e),
        }
        self
    }

    /// With one more field.
    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        match serde_json::to_value(value) {
            Ok(v) => {
                self.details.insert(key.to_string(), v);
            }
            Err(e) => self.fail(key, e),
        }
        self
    }

    fn fail(&mut self, key: &str, e: serde_json::Error) {
        self.failed
            .get_or_insert_with(|| format!("manifest field `{key}`: {e}"));
    }

    /// As JSON (what `manifest.json` holds); an error if a field did not serialize.
    pub fn to_value(&self) -> anyhow::Result<serde_json::Value> {
        if let Some(e) = &self.failed {
            anyhow::bail!("cannot write the manifest: {e}");
        }
        Ok(serde_json::to_value(self)?)
    }
}

/// A run about to start: resumed (store open, manifest read) or not yet created.
pub struct RunStart {
    protocol: Protocol,
    out: Option<PathBuf>,
    json: bool,
    printer: Printer,
    resumed: Option<(RunStore, serde_json::Value)>,
    command_line: CommandLine,
    retry_failed: bool,
}

impl RunStart {
    /// From `--out`/`--resume`/`--json`. With `--resume` the run is reopened now; a run of
    /// another protocol is refused (exit 2) before anything in it is touched.
    pub fn new(protocol: Protocol, run: &RunDirArgs, printer: Printer) -> anyhow::Result<Self> {
        let resumed = match &run.resume {
            Some(dir) => {
                let stored = read_manifest_value(dir)?;
                let name = stored["protocol"].as_str().unwrap_or("");
                if name != protocol.name() {
                    return Err(bad_input(format!(
                        "{}: a {name} run, not a {protocol} run; resume it with `cotlens {name} --resume {}`",
                        dir.display(),
                        dir.display()
                    )));
                }
                check_flags(dir, &stored, &run.command_line, printer)?;
                Some(RunStore::resume(dir)?)
            }
            None => {
                // Refused before the model loads or anything is written.
                if let Some(out) = &run.out {
                    crate::store::check_new_run_dir(out)?;
                }
                None
            }
        };
        Ok(Self {
            protocol,
            out: run.out.clone(),
            json: run.json,
            printer,
            resumed,
            command_line: run.command_line.clone(),
            retry_failed: !run.no_retry_failed,
        })
    }

    /// A run that cannot be resumed, in `out`.
    pub fn fresh(protocol: Protocol, out: &Path, json: bool, printer: Printer) -> Self {
        Self {
            protocol,
            out: Some(out.to_path_buf()),
            json,
            printer,
            resumed: None,
            command_line: CommandLine::default(),
            retry_failed: false,
        }
    }

    /// What the manifest records of a run's inputs (`items`): their number, the hash of their
    /// ids, and the hash of their whole content (questions, options, answers), checked by
    /// [`RunStart::check_inputs`] on resume.
    pub fn inputs_identity<T: Serialize>(
        inputs: &[T],
        id: impl Fn(&T) -> &str,
    ) -> serde_json::Value {
        serde_json::json!({
            "n": inputs.len(),
            "ids_hash": crate::cache::hash_json(&inputs.iter().map(&id).collect::<Vec<_>>()),
            "content_hash": crate::cache::hash_json(&inputs),
        })
    }

    /// On resume, the inputs must be those the run started with: the same ids and, where the
    /// manifest has it, the same content. Editing a question while keeping its id is refused.
    pub fn check_inputs(&self, identity: &serde_json::Value) -> anyhow::Result<()> {
        let Some(stored) = self.stored_manifest() else {
            return Ok(());
        };
        for field in ["ids_hash", "content_hash"] {
            let before = &stored["items"][field];
            if before.is_string() && *before != identity[field] {
                return Err(bad_input(format!(
                    "the inputs no longer give the {} this run started with ({field} differs: a file changed?); start a new run instead of resuming",
                    if field == "ids_hash" { "items" } else { "questions, options and answers" }
                )));
            }
        }
        Ok(())
    }

    /// The stored manifest of a resumed run.
    pub fn stored_manifest(&self) -> Option<&serde_json::Value> {
        self.resumed.as_ref().map(|(_, m)| m)
    }

    /// The settings a resumed run started with (so that it stays the same run), or `None` for
    /// a new run. A run of another protocol is refused (exit 2).
    pub fn stored_settings<S: DeserializeOwned>(&self) -> anyhow::Result<Option<S>> {
        let Some((store, manifest)) = &self.resumed else {
            return Ok(None);
        };
        serde_json::from_value(manifest["settings"].clone())
            .map(Some)
            .map_err(|e| {
                bad_input(format!(
                    "{}: field `settings`: not the settings of a {} run ({e})",
                    store.dir().join(MANIFEST).display(),
                    self.protocol
                ))
            })
    }

    /// The stored settings and the model they name (a resumed run), or the settings `fresh`
    /// makes for the model of the flags (a new run). The model is resolved once either way.
    pub fn settings_and_model<S: DeserializeOwned>(
        &self,
        model: &ModelArgs,
        engine: &EngineArgs,
        model_of: impl Fn(&S) -> &str,
        fresh: impl FnOnce(&ResolvedModel) -> anyhow::Result<S>,
    ) -> anyhow::Result<(S, ResolvedModel)> {
        let stored: Option<S> = self.stored_settings()?;
        let spec = stored.as_ref().map_or(model.model.as_str(), &model_of);
        let mut model = model.clone();
        if let Some(m) = self.stored_manifest() {
            // A resumed run talks to the servers it was started with unless told otherwise
            // (and then `begin` checks they are the same deployment).
            if model.base_url.is_empty() {
                model.base_url = stored_base_urls(m);
            }
        }
        let resolved = ResolvedModel::with_spec(spec, &model, engine, self.printer)?;
        let settings = match stored {
            Some(s) => s,
            None => fresh(&resolved)?,
        };
        Ok((settings, resolved))
    }

    /// Create the run directory with its manifest (a new run), or go on with the resumed one.
    /// On resume, what the manifest would be now is compared with the stored one: the prompt
    /// templates and answer reading must be those of the run, and the backend the same (kind,
    /// model, and servers unless the run was made with `--cache-scope model`).
    pub fn begin(self, manifest: impl FnOnce() -> Manifest) -> anyhow::Result<RunSession> {
        let now = manifest().with("command_line", &self.command_line);
        let store = match self.resumed {
            Some((mut store, stored)) => {
                check_same_run(store.dir(), &stored, &now.to_value()?, self.printer)?;
                // Only now, with the resume allowed, do failed units move out to be asked again.
                if self.retry_failed {
                    let n = store.retry_failed()?;
                    if n > 0 {
                        self.printer.note(format!(
                            "{n} units recorded as failed will be asked again (--no-retry-failed keeps them)"
                        ));
                    }
                }
                store
            }
            None => {
                let dir = self.out.unwrap_or_else(|| self.protocol.default_run_dir());
                RunStore::create(&dir, &now.to_value()?)?
            }
        };
        Ok(RunSession {
            protocol: self.protocol,
            store,
            json: self.json,
            printer: self.printer,
            label: self.protocol.name(),
        })
    }
}

/// An open run directory and what its protocol needs from the lifecycle.
pub struct RunSession {
    pub protocol: Protocol,
    store: RunStore,
    json: bool,
    printer: Printer,
    /// The progress bar's label.
    pub label: &'static str,
}

impl RunSession {
    pub fn dir(&self) -> &Path {
        self.store.dir()
    }

    pub fn store(&self) -> &RunStore {
        &self.store
    }

    /// The units whose key is not stored yet.
    pub fn pending<U>(
        &self,
        units: impl IntoIterator<Item = U>,
        key: impl Fn(&U) -> &str,
    ) -> Vec<U> {
        units
            .into_iter()
            .filter(|u| !self.store.is_done(key(u)))
            .collect()
    }

    /// Run `units` with at most `limit` in flight, each result appended as one record; a
    /// stopped run's error says how to continue it.
    pub async fn run<U, R, F, Fut>(
        &self,
        units: Vec<U>,
        limit: usize,
        counters: &Counters,
        work: F,
    ) -> anyhow::Result<()>
    where
        R: Serialize + Send + 'static,
        F: Fn(U) -> Fut,
        Fut: Future<Output = Result<R, Fatal>> + Send + 'static,
    {
        crate::runner::run_into_store(
            &self.store,
            units,
            limit,
            self.label,
            counters,
            self.printer,
            &self.protocol.command(),
            work,
        )
        .await
    }

    /// All records of the run as `T` (`what` names them in an error).
    pub fn records<T: DeserializeOwned>(&self, what: &str) -> anyhow::Result<Vec<T>> {
        crate::store::read_typed(self.dir(), what)
    }

    /// Write `summary.json` and `report.html` (with `section`), then print the summary as JSON
    /// (`--json`) or the table.
    pub fn finish(
        &self,
        summary: &impl Serialize,
        section: Section,
        table: impl FnOnce() -> String,
    ) -> anyhow::Result<()> {
        self.write_summary(summary)?;
        self.write_report(section);
        self.printer.result(self.json, summary, table)
    }

    pub fn write_summary(&self, summary: &impl Serialize) -> anyhow::Result<()> {
        write_json_atomic(&self.dir().join(SUMMARY), summary)
            .with_context(|| format!("writing the summary of {}", self.dir().display()))
    }

    /// Write the report; a failure is only a warning (the run itself is done).
    pub fn write_report(&self, section: Section) {
        crate::report::after_run(self.dir(), section, self.printer);
    }
}

/// The manifest of a run directory as JSON, or a clear error (exit 2) for a directory that is
/// not a run.
pub fn read_manifest_value(dir: &Path) -> anyhow::Result<serde_json::Value> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|_| {
        bad_input(format!(
            "{}: not a cotlens run directory (no {MANIFEST})",
            dir.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| {
        bad_input(format!(
            "{}:{}: not valid JSON ({e}); the run directory is damaged",
            path.display(),
            e.line()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_puts_common_fields_first_and_round_trips() {
        let m = Manifest::new(Protocol::Necessity)
            .settings(&serde_json::json!({"seed": 1}))
            .with("items", 3);
        let v = m.to_value().expect("serializes");
        let keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "cotlens_version",
                "protocol",
                "created_at",
                "settings",
                "items"
            ]
        );
        assert_eq!(v["protocol"], "necessity");
        let back: Manifest = serde_json::from_value(v).expect("parse");
        assert_eq!(back.protocol, Protocol::Necessity);
        assert_eq!(back.details["items"], 3);
    }

    #[test]
    fn a_field_that_does_not_serialize_stops_the_run() {
        let mut bad = std::collections::HashMap::new();
        bad.insert((1, 2), 3); // a map with non-string keys has no JSON form
        let err = Manifest::new(Protocol::Sample)
            .with("bad", &bad)
            .to_value()
            .expect_err("refused");
        assert!(err.to_string().contains("manifest field `bad`"), "{err}");
    }

    #[test]
    fn resume_refuses_another_protocols_settings() {
        let dir = tempfile::tempdir().expect("tmp");
        let run = dir.path().join("r");
        let manifest = Manifest::new(Protocol::Sample).settings(&serde_json::json!({"n": 2}));
        std::fs::create_dir_all(&run).expect("mkdir");
        write_json_atomic(&run.join(MANIFEST), &manifest.to_value().expect("json")).expect("write");
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Needs {
            interventions: Vec<String>,
        }
        let args = RunDirArgs {
            out: None,
            resume: Some(run.clone()),
            json: false,
            no_retry_failed: false,
            command_line: Default::default(),
        };
        // Another protocol's run: refused before the run is opened (no lock, no records file).
        let err = RunStart::new(Protocol::Necessity, &args, Printer::new(true))
            .err()
            .expect("refused");
        assert!(
            err.to_string()
                .contains("a sample run, not a necessity run"),
            "{err}"
        );
        assert_eq!(crate::error::exit_code(&err), 2);
        assert!(!run.join(crate::store::RECORDS).exists(), "nothing written");
        // The right protocol, but settings of another shape: refused too.
        let start = RunStart::new(Protocol::Sample, &args, Printer::new(true)).expect("open");
        let err = start.stored_settings::<Needs>().expect_err("refused");
        assert!(
            err.to_string().contains("not the settings of a sample run"),
            "{err}"
        );
        assert_eq!(crate::error::exit_code(&err), 2);
    }
}
