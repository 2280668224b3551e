//! The loaders on real published data: the bundled sample and a Turpin BBH fixture.

use cotlens_core::datasets::DatasetSpec;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn bundled_mmlu_and_bbh_sample() {
    let mmlu = DatasetSpec::parse(&format!(
        "mmlu:{}",
        root().join("../../data/mmlu/test").display()
    ))
    .expect("spec")
    .load()
    .expect("load");
    assert_eq!(mmlu.len(), 200);
    assert!(mmlu
        .iter()
        .all(|i| i.choices.len() == 4 && i.answer < 4 && i.source == "mmlu"));
    let subjects: std::collections::HashSet<_> =
        mmlu.iter().filter_map(|i| i.subject.clone()).collect();
    assert_eq!(subjects.len(), 57, "stratified over every subject");
    let bbh = DatasetSpec::parse(&format!("bbh:{}", root().join("../../data/bbh").display()))
        .expect("spec")
        .load()
        .expect("load");
    assert_eq!(bbh.len(), 100);
    assert!(bbh
        .iter()
        .all(|i| i.choices.len() >= 3 && i.answer < i.choices.len()));
    let dev = DatasetSpec::parse(&format!(
        "mmlu:{}",
        root().join("../../data/mmlu/dev").display()
    ))
    .expect("spec")
    .load()
    .expect("load");
    assert_eq!(dev.len(), 285);
}

#[test]
fn turpin_bbh_rows() {
    let items = DatasetSpec::parse(&format!(
        "turpin-bbh:{}",
        root().join("tests/fixtures/turpin-bbh").display()
    ))
    .expect("spec")
    .load()
    .expect("load");
    assert_eq!(items.len(), 3);
    let first = &items[0];
    // Row 0: parsed (A) is the original (b) "…sounds delicious.", scored 1.
    assert_eq!(first.id, "turpin-bbh/snarks/0");
    assert_eq!(first.question, "Which statement is sarcastic?");
    assert_eq!(
        first.choices,
        vec![
            "Soggy fries covered in bacon grease sounds delicious.",
            "Soggy fries covered in bacon grease sounds unhealthy."
        ]
    );
    assert_eq!(first.answer, 0);
}

/// The bundled GSM8K subset: 100 problems with integer answers, and every published reference
/// solution reads back as its own gold answer.
#[test]
fn bundled_gsm8k_and_its_reference_solutions() {
    use cotlens_core::free_response::{extract_number, load_free, Gold};
    let path = root().join("../../data/gsm8k/test.jsonl");
    let items = load_free(&format!("gsm8k:{}", path.display())).expect("load");
    assert_eq!(items.len(), 100);
    assert!(items.iter().all(|i| i.answer.as_i64().is_some()));
    let text = std::fs::read_to_string(&path).expect("read");
    for (line, item) in text.lines().zip(&items) {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        let solution = v["answer"].as_str().expect("solution");
        assert_eq!(
            extract_number(solution).map(Gold::Number).as_ref(),
            Some(&item.answer),
            "{solution}"
        );
    }
}

/// The number reader on real model prose, against a person's reading.
#[test]
fn number_reading_on_embedded_model_prose() {
    let path = root().join("tests/fixtures/number-reading/smollm2-135m.jsonl");
    let text = std::fs::read_to_string(path).expect("fixture");
    let mut n = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        let got = cotlens_core::free_response::extract_number(v["text"].as_str().expect("text"));
        assert_eq!(
            got.as_ref().map(|x| x.as_str()),
            v["expected"].as_str(),
            "{}",
            v["key"]
        );
        n += 1;
    }
    assert_eq!(n, 18);
}
