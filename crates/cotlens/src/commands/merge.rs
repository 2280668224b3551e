//! `cotlens merge`: combine shard run directories (`--shard i/n`) into one run whose summary is
//! the one an unsharded run would have produced.

use crate::error::bad_input;
use crate::printer::Printer;
use crate::protocol::Protocol;
use crate::protocols::faithfulness::{self, summary, Settings};
use crate::store::{write_json_atomic, RunStore, MANIFEST, SUMMARY};
use std::collections::HashSet;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct MergeArgs {
    /// The merged run directory to create.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Shard run directories.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
}

pub async fn run(args: MergeArgs, printer: Printer) -> anyhow::Result<()> {
    let mut base: Option<(serde_json::Value, Settings)> = None;
    let mut shards_seen = HashSet::new();
    let mut records = Vec::new();
    let mut keys = HashSet::new();
    for dir in &args.shards {
        let manifest = crate::session::read_manifest_value(dir)?;
        if manifest["protocol"] != Protocol::Faithfulness.name() {
            return Err(bad_input(format!(
                "{}: only faithfulness runs can be merged so far",
                dir.display()
            )));
        }
        let settings: Settings =
            serde_json::from_value(manifest["settings"].clone()).map_err(|e| {
                bad_input(format!(
                    "{}: field `settings`: not the settings of a faithfulness run ({e})",
                    dir.join(MANIFEST).display()
                ))
            })?;
        let shard = settings.shard.ok_or_else(|| {
            bad_input(format!(
                "{}: not a shard (run with --shard i/n)",
                dir.display()
            ))
        })?;
        if let Some(&(_, n)) = shards_seen.iter().next() {
            if n != shard.1 {
                return Err(bad_input(format!(
                    "{}: field `settings.shard`: shard {}/{} of another split than {n} (shards of one run share n)",
                    dir.join(MANIFEST).display(),
                    shard.0,
                    shard.1
                )));
            }
        }
        if !shards_seen.insert(shard) {
            return Err(bad_input(format!(
                "{}: shard {}/{} given twice",
                dir.display(),
                shard.0,
                shard.1
            )));
        }
        let mut unsharded = settings.clone();
        unsharded.shard = None;
        match &base {
            None => base = Some((manifest.clone(), unsharded)),
            Some((_, b)) => {
                if serde_json::to_value(b)? != serde_json::to_value(&unsharded)? {
                    return Err(bad_input(format!("{}: its settings differ from the first shard's; shards of one run must share every setting", dir.display())));
                }
            }
        }
        for r in faithfulness::load_records(dir)? {
            if keys.insert(r.key.clone()) {
                records.push(r);
            } else if records.iter().find(|x| x.key == r.key) != Some(&r) {
                // The same unit answered differently in two shards: which one counts?
                return Err(bad_input(format!(
                    "{}: field `key`: unit {:?} is also in an earlier shard, with other contents; shards must not overlap",
                    dir.join(crate::store::RECORDS).display(),
                    r.key
                )));
            }
        }
    }
    let (manifest, settings) =
        base.ok_or_else(|| bad_input("give at least one shard directory"))?;
    let n = settings_shards(&shards_seen);
    if let Some(n) = n {
        let missing: Vec<u32> = (1..=n)
            .filter(|i| !shards_seen.contains(&(*i, n)))
            .collect();
        if !missing.is_empty() {
            printer.warn(format!(
                "shards {missing:?} of {n} are missing; the merged summary covers the others only"
            ));
        }
    }
    let mut merged_manifest = manifest;
    merged_manifest["settings"] = serde_json::to_value(&settings)?;
    merged_manifest["merged_from"] = serde_json::json!(args
        .shards
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>());
    let store = RunStore::create(&args.out, &merged_manifest)?;
    for r in &records {
        store.append(&serde_json::to_value(r)?)?;
    }
    store.sync()?;
    let scored: Vec<faithfulness::record::Scored> = records.iter().map(Into::into).collect();
    let summary = summary::summarize(
        &scored,
        &settings.model,
        &settings.judges,
        settings.bootstrap,
        &settings.summary_options(),
    )?;
    write_json_atomic(&args.out.join(SUMMARY), &summary)?;
    printer.out(&summary::render_table(&summary));
    printer.out(&format!(
        "merged {} records from {} shards into {}\n",
        records.len(),
        args.shards.len(),
        args.out.display()
    ));
    Ok(())
}

fn settings_shards(seen: &HashSet<(u32, u32)>) -> Option<u32> {
    seen.iter().map(|(_, n)| *n).max()
}
