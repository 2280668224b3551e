//! The bundled default sample (200 MMLU test questions, 100 BIG-Bench-Hard items, and the MMLU
//! dev set as the few-shot pool), embedded in the binary and unpacked once into the cache
//! directory so that every loader and every error message works on real files.

use anyhow::Context;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// Unpack the bundled files (once per content hash) and return their root folder.
pub fn root() -> anyhow::Result<PathBuf> {
    let mut hasher = Sha256::new();
    for (name, bytes) in BUNDLED_FILES {
        hasher.update(name.as_bytes());
        hasher.update(bytes);
    }
    let hash = hex::encode(hasher.finalize());
    let root = cotlens_local::resolve::cache_dir()
        .join("data")
        // boundary: hex digits are ASCII
        .join(&hash[..16]);
    let done = root.join(".complete");
    if done.exists() {
        return Ok(root);
    }
    for (name, bytes) in BUNDLED_FILES {
        let path = root.join(name);
        crate::store::write_atomic(&path, bytes)
            .with_context(|| format!("unpacking the bundled sample into {}", root.display()))?;
    }
    crate::store::write_atomic(&done, hash.as_bytes())?;
    Ok(root)
}

/// The `--dataset` spec of the bundled GSM8K test subset (free-response problems).
pub fn default_gsm8k() -> anyhow::Result<String> {
    Ok(format!(
        "gsm8k:{}",
        root()?.join("gsm8k/test.jsonl").display()
    ))
}

/// The `--dataset` specs of the bundled sample.
pub fn default_datasets() -> anyhow::Result<Vec<String>> {
    let root = root()?;
    Ok(vec![
        format!("mmlu:{}", root.join("mmlu/test").display()),
        format!("bbh:{}", root.join("bbh").display()),
    ])
}

/// The `--dataset` specs a run uses: the given ones (each checked now, exit 2 on a bad one), or
/// the bundled sample when none is given.
pub fn datasets_or_default(given: &[String]) -> anyhow::Result<Vec<String>> {
    let datasets = if given.is_empty() {
        default_datasets()?
    } else {
        given.to_vec()
    };
    for d in &datasets {
        cotlens_core::datasets::DatasetSpec::parse(d).map_err(crate::error::bad_input)?;
    }
    Ok(datasets)
}

/// `items`, or a clear error (exit 2) when the selection is empty: an empty result is not a
/// result. `what` names the input and the flags that select from it.
pub fn nonempty<T>(items: Vec<T>, what: &str) -> anyhow::Result<Vec<T>> {
    if items.is_empty() {
        return Err(crate::error::bad_input(format!(
            "{what} selects nothing to measure (an empty dataset, or --limit 0); give items"
        )));
    }
    Ok(items)
}

/// Every item of the `--dataset` specs, in order.
/// The items of every `--dataset`, in order; an id in two of them is refused (exit 2), naming
/// both (a dataset given twice counts).
pub fn load_items(datasets: &[String]) -> anyhow::Result<Vec<cotlens_core::Item>> {
    let mut items = Vec::new();
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, d) in datasets.iter().enumerate() {
        let loaded = cotlens_core::datasets::DatasetSpec::parse(d)
            .map_err(crate::error::bad_input)?
            .load()?;
        for item in &loaded {
            if let Some(first) = seen.insert(item.id.clone(), i) {
                return Err(crate::error::bad_input(format!(
                    "--dataset {d}: field `id`: item id {:?} is also in --dataset {}; ids must be unique across datasets",
                    item.id, datasets[first]
                )));
            }
        }
        items.extend(loaded);
    }
    Ok(items)
}

/// The few-shot pool: the MMLU dev set.
pub fn few_shot_pool() -> anyhow::Result<Vec<cotlens_core::Item>> {
    let root = root()?;
    let spec = cotlens_core::datasets::DatasetSpec::parse(&format!(
        "mmlu:{}",
        root.join("mmlu/dev").display()
    ))
    .map_err(anyhow::Error::msg)?;
    Ok(spec.load()?)
}
