//! Every dataset loader on arbitrary file contents: an error or valid items, never a panic.
#![no_main]
use cotlens_core::datasets::DatasetSpec;
use libfuzzer_sys::fuzz_target;

const FORMATS: &[(&str, &str)] = &[
    ("jsonl", "items.jsonl"),
    ("csv", "items.csv"),
    ("mmlu", "subject_test.csv"),
    ("bbh", "task.json"),
    ("turpin-bbh", "val_data.json"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&which, contents)) = data.split_first() else {
        return;
    };
    let (format, name) = FORMATS[which as usize % FORMATS.len()];
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let path = dir.path().join(name);
    if std::fs::write(&path, contents).is_err() {
        return;
    }
    let Ok(spec) = DatasetSpec::parse(&format!("{format}:{}", path.display())) else {
        return;
    };
    if let Ok(items) = spec.load() {
        for item in items {
            assert!(item.choices.len() >= 2 && item.answer < item.choices.len());
            assert!(item.choices.iter().all(|c| !c.trim().is_empty()));
        }
    }
});
