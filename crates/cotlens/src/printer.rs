//! What a person sees, and the only place that prints: data, tables and JSON on stdout; notes,
//! warnings and errors on stderr, each line starting with `cotlens:`. `--quiet` hides notes
//! (never warnings or errors). Everywhere else in the crate `print!`/`eprint!` are denied by
//! clippy (`print_stdout`, `print_stderr`); the progress bar draws through indicatif.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use serde::Serialize;
use std::fmt::Display;
use std::io::Write;

#[derive(Debug, Clone, Copy, Default)]
pub struct Printer {
    quiet: bool,
}

impl Printer {
    pub fn new(quiet: bool) -> Self {
        Self { quiet }
    }

    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// Text on stdout as it is. A closed pipe (e.g. `| head`) is not an error worth reporting.
    pub fn out(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// Pretty JSON and a newline on stdout.
    pub fn json(&self, value: &impl Serialize) -> anyhow::Result<()> {
        self.out(&format!("{}\n", serde_json::to_string_pretty(value)?));
        Ok(())
    }

    /// A run's result: the summary as JSON with `--json`, otherwise the table.
    pub fn result(
        &self,
        json: bool,
        value: &impl Serialize,
        table: impl FnOnce() -> String,
    ) -> anyhow::Result<()> {
        if json {
            self.json(value)
        } else {
            self.out(&table());
            Ok(())
        }
    }

    /// `cotlens: TEXT` on stderr, unless quiet.
    pub fn note(&self, text: impl Display) {
        if !self.quiet {
            eprintln!("cotlens: {text}");
        }
    }

    /// `cotlens: warning: TEXT` on stderr, always.
    pub fn warn(&self, text: impl Display) {
        eprintln!("cotlens: warning: {text}");
    }

    /// `cotlens: TEXT` on stderr, always (interruptions, contamination, errors).
    pub fn say(&self, text: impl Display) {
        eprintln!("cotlens: {text}");
    }
}
