//! Running units of work with bounded concurrency: the loop every protocol shares.
//!
//! At most `limit` units are in flight; each finished unit's result goes to `done` (which
//! appends it to the run store) in completion order. The first fatal error stops new units from
//! starting; the ones in flight finish and are recorded, then the error is returned. A first
//! Ctrl-C does the same ("interrupted"); a second one calls `abort` and exits at once (finished
//! units are already on disk; the ones in flight run again on --resume).

use crate::engine::Fatal;
use crate::printer::Printer;
use std::future::Future;

pub async fn run_bounded<U, R, F, Fut>(
    units: impl IntoIterator<Item = U>,
    limit: usize,
    work: F,
    mut done: impl FnMut(R) -> anyhow::Result<()>,
    abort: impl Fn(),
    printer: Printer,
) -> anyhow::Result<()>
where
    R: Send + 'static,
    F: Fn(U) -> Fut,
    Fut: Future<Output = Result<R, Fatal>> + Send + 'static,
{
    let mut queue = units.into_iter();
    let mut tasks = tokio::task::JoinSet::new();
    let limit = limit.max(1);
    let mut failure: Option<anyhow::Error> = None;
    let mut interrupted = false;
    loop {
        while failure.is_none() && !interrupted && tasks.len() < limit {
            let Some(unit) = queue.next() else { break };
            tasks.spawn(work(unit));
        }
        if tasks.is_empty() {
            break;
        }
        let joined = tokio::select! {
            j = tasks.join_next() => j,
            _ = tokio::signal::ctrl_c() => {
                if interrupted {
                    abort();
                    std::process::exit(130);
                }
                interrupted = true;
                printer.say("interrupted; finishing units in flight (Ctrl-C again to abort)");
                continue;
            }
        };
        let Some(joined) = joined else { break };
        match joined {
            Ok(Ok(result)) => {
                if let Err(e) = done(result) {
                    failure.get_or_insert(e);
                }
            }
            Ok(Err(Fatal(e))) => {
                failure.get_or_insert_with(|| anyhow::Error::new(e));
            }
            Err(join) => {
                failure.get_or_insert_with(|| anyhow::anyhow!("a unit panicked: {join}"));
            }
        }
    }
    if let Some(f) = failure {
        return Err(f);
    }
    if interrupted {
        anyhow::bail!("interrupted");
    }
    Ok(())
}

/// [`run_bounded`] into a run store: each unit's result is appended as one record, a progress
/// bar counts them, and a stopped run's error says how to continue (`resume`: the command).
#[allow(clippy::too_many_arguments)]
pub async fn run_into_store<U, R, F, Fut>(
    store: &crate::store::RunStore,
    units: Vec<U>,
    limit: usize,
    label: &str,
    counters: &crate::engine::Counters,
    printer: Printer,
    resume: &str,
    work: F,
) -> anyhow::Result<()>
where
    R: serde::Serialize + Send + 'static,
    F: Fn(U) -> Fut,
    Fut: Future<Output = Result<R, Fatal>> + Send + 'static,
{
    let progress = crate::progress::Progress::new(units.len() as u64, label, printer.is_quiet());
    let mut last_sync = std::time::Instant::now();
    let done = |record: R| -> anyhow::Result<()> {
        store.append(&serde_json::to_value(&record)?)?;
        progress.inc(counters);
        // Each record is written (and survives a kill) at once; fsync against power loss at
        // most once a second.
        if last_sync.elapsed() >= std::time::Duration::from_secs(1) {
            store.sync()?;
            last_sync = std::time::Instant::now();
        }
        Ok(())
    };
    let abort = || {
        let _ = store.sync();
        printer.say(format!(
            "aborted; continue with: {resume} --resume {}",
            store.dir().display()
        ));
    };
    let failure = run_bounded(units, limit, work, done, abort, printer)
        .await
        .err();
    progress.finish();
    store.sync()?;
    match failure {
        Some(e) => Err(e.context(format!(
            "the run stopped; continue with: {resume} --resume {}",
            store.dir().display()
        ))),
        None => Ok(()),
    }
}
