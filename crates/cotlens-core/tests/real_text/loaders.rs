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
