//! What the user sees while a run works: a progress bar on stderr with rate, ETA and error
//! counts, hidden when stderr is not a terminal or with --quiet.

use crate::engine::Counters;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::Ordering;

pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    pub fn new(total: u64, label: &str, quiet: bool) -> Self {
        let bar = if quiet || !std::io::stderr().is_terminal() {
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden())
        } else {
            ProgressBar::new(total)
        };
        let style = ProgressStyle::with_template(
            "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} {per_sec} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        Self { bar }
    }

    pub fn inc(&self, counters: &Counters) {
        self.bar.inc(1);
        let failures = counters.failures.load(Ordering::Relaxed);
        let retries = counters.retries.load(Ordering::Relaxed);
        let hits = counters.cache_hits.load(Ordering::Relaxed);
        self.bar
            .set_message(format!("cached {hits} retries {retries} failed {failures}"));
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
