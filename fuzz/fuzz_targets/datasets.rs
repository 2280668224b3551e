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
    ("gsm8k", "test.jsonl"),
    ("free-jsonl", "free.jsonl"),
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
    if format == "gsm8k" || format == "free-jsonl" {
        let spec = format!("{}:{}", if format == "gsm8k" { "gsm8k" } else { "jsonl" }, path.display());
        if let Ok(items) = cotlens_core::free_response::load_free(&spec) {
            for item in items {
                assert!(!item.id.is_empty() && !item.question.trim().is_empty());
            }
        }
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
