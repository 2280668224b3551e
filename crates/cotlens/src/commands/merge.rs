//! `cotlens merge`: combine shard run directories (`--shard i/n`) into one run whose summary is
//! the one an unsharded run would have produced. Faithfulness and clues runs shard.

use crate::error::bad_input;
use crate::printer::Printer;
use crate::protocol::Protocol;
use crate::protocols::{clues, faithfulness};
use crate::store::{write_json_atomic, RunStore, MANIFEST, SUMMARY};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, clap::Args)]
pub struct MergeArgs {
    /// The merged run directory to create.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Shard run directories.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
}

/// What a protocol's settings say about sharding.
trait Sharded: Serialize + DeserializeOwned + Clone {
    fn shard(&self) -> Option<(u32, u32)>;
    fn unsharded(&self) -> Self;
}

impl Sharded for faithfulness::Settings {
    fn shard(&self) -> Option<(u32, u32)> {
        self.shard
    }
    fn unsharded(&self) -> Self {
        Self {
            shard: None,
            ..self.clone()
        }
    }
}

impl Sharded for clues::Settings {
    fn shard(&self) -> Option<(u32, u32)> {
        self.shard
    }
    fn unsharded(&self) -> Self {
        Self {
            shard: None,
            ..self.clone()
        }
    }
}

/// The shards read and checked: the first manifest, the shared unsharded settings, every
/// record once (as written), and each shard's manifest.
struct Gathered<S> {
    manifest: serde_json::Value,
    settings: S,
    records: Vec<serde_json::Value>,
    manifests: Vec<serde_json::Value>,
}

fn gather<S: Sharded>(
    args: &MergeArgs,
    protocol: Protocol,
    printer: Printer,
) -> anyhow::Result<Gathered<S>> {
    let mut base: Option<(serde_json::Value, S)> = None;
    let mut shards_seen = HashSet::new();
    let mut records: Vec<serde_json::Value> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let mut manifests = Vec::new();
    for dir in &args.shards {
        let manifest = crate::session::read_manifest_value(dir)?;
        if manifest["protocol"] != protocol.name() {
            return Err(bad_input(format!(
                "{}: a {} run; the first shard is a {protocol} run (shards of one run share the protocol)",
                dir.display(),
                manifest["protocol"].as_str().unwrap_or("?")
            )));
        }
        let settings: S = serde_json::from_value(manifest["settings"].clone()).map_err(|e| {
            bad_input(format!(
                "{}: field `settings`: not the settings of a {protocol} run ({e})",
                dir.join(MANIFEST).display()
            ))
        })?;
        let shard = settings.shard().ok_or_else(|| {
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
        let unsharded = settings.unsharded();
        match &base {
            None => base = Some((manifest.clone(), unsharded)),
            Some((_, b)) => {
                if serde_json::to_value(b)? != serde_json::to_value(&unsharded)? {
                    return Err(bad_input(format!("{}: its settings differ from the first shard's; shards of one run must share every setting", dir.display())));
                }
            }
        }
        for r in crate::store::read_records(dir)? {
            let key = r["key"].as_str().unwrap_or("").to_string();
            match by_key.get(&key) {
                None => {
                    by_key.insert(key, records.len());
                    records.push(r);
                }
                Some(&i) if records[i] == r => {}
                Some(_) => {
                    // The same unit answered differently in two shards: which one counts?
                    return Err(bad_input(format!(
                        "{}: field `key`: unit {key:?} is also in an earlier shard, with other contents; shards must not overlap",
                        dir.join(crate::store::RECORDS).display()
                    )));
                }
            }
        }
        manifests.push(manifest);
    }
    let (manifest, settings) =
        base.ok_or_else(|| bad_input("give at least one shard directory"))?;
    if let Some(n) = shards_seen.iter().map(|(_, n)| *n).max() {
        let missing: Vec<u32> = (1..=n)
            .filter(|i| !shards_seen.contains(&(*i, n)))
            .collect();
        if !missing.is_empty() {
            printer.warn(format!(
                "shards {missing:?} of {n} are missing; the merged summary covers the others only"
            ));
        }
    }
    Ok(Gathered {
        manifest,
        settings,
        records,
        manifests,
    })
}

/// Write the merged run directory: the manifest (unsharded settings, `merged_from`) and every
/// record.
fn write_merged<S: Serialize>(
    args: &MergeArgs,
    g: &Gathered<S>,
    extra: &[(&str, serde_json::Value)],
) -> anyhow::Result<()> {
    let mut manifest = g.manifest.clone();
    manifest["settings"] = serde_json::to_value(&g.settings)?;
    manifest["merged_from"] = serde_json::json!(args
        .shards
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>());
    for (k, v) in extra {
        manifest[*k] = v.clone();
    }
    let store = RunStore::create(&args.out, &manifest)?;
    for r in &g.records {
        store.append(r)?;
    }
    store.sync()
}

fn typed<T: DeserializeOwned>(records: &[serde_json::Value], out: &Path) -> anyhow::Result<Vec<T>> {
    records
        .iter()
        .map(|r| {
            serde_json::from_value(r.clone()).map_err(|e| {
                bad_input(format!(
                    "{}: a record that does not parse ({e})",
                    out.display()
                ))
            })
        })
        .collect()
}

pub async fn run(args: MergeArgs, printer: Printer) -> anyhow::Result<()> {
    let first = args
        .shards
        .first()
        .ok_or_else(|| bad_input("give at least one shard directory"))?;
    let manifest = crate::session::read_manifest_value(first)?;
    let protocol = manifest["protocol"].as_str().and_then(Protocol::from_name);
    let (table, n) = match protocol {
        Some(Protocol::Faithfulness) => merge_faithfulness(&args, printer)?,
        Some(Protocol::Clues) => merge_clues(&args, printer)?,
        _ => {
            return Err(bad_input(format!(
                "{}: only faithfulness and clues runs can be merged",
                first.display()
            )))
        }
    };
    printer.out(&table);
    printer.out(&format!(
        "merged {n} records from {} shards into {}\n",
        args.shards.len(),
        args.out.display()
    ));
    Ok(())
}

fn merge_faithfulness(args: &MergeArgs, printer: Printer) -> anyhow::Result<(String, usize)> {
    let g: Gathered<faithfulness::Settings> = gather(args, Protocol::Faithfulness, printer)?;
    let records: Vec<faithfulness::record::Record> = typed(&g.records, &args.shards[0])?;
    write_merged(args, &g, &[])?;
    let scored: Vec<faithfulness::record::Scored> = records.iter().map(Into::into).collect();
    let summary = faithfulness::summary::summarize(
        &scored,
        &g.settings.model,
        &g.settings.judges,
        g.settings.bootstrap,
        &g.settings.summary_options(),
    )?;
    write_json_atomic(&args.out.join(SUMMARY), &summary)?;
    crate::report::after_run(&args.out, crate::report::sections::faithfulness, printer);
    Ok((faithfulness::summary::render_table(&summary), records.len()))
}

fn merge_clues(args: &MergeArgs, printer: Printer) -> anyhow::Result<(String, usize)> {
    let g: Gathered<clues::Settings> = gather(args, Protocol::Clues, printer)?;
    let records: Vec<clues::Record> = typed(&g.records, &args.shards[0])?;
    // The shards' item counts add up to the unsharded run's.
    let sum = |f: &dyn Fn(&serde_json::Value) -> u64| g.manifests.iter().map(f).sum::<u64>();
    let n_items = sum(&|m| m["items"]["n"].as_u64().unwrap_or(0));
    let non_integer = sum(&|m| m["items_without_integer_answer"].as_u64().unwrap_or(0));
    write_merged(
        args,
        &g,
        &[("items_without_integer_answer", non_integer.into())],
    )?;
    let table = clues::write_summary(
        &args.out,
        &records,
        &g.settings,
        n_items as usize,
        non_integer as usize,
    )?;
    crate::report::after_run(&args.out, clues::section, printer);
    Ok((table, records.len()))
}
