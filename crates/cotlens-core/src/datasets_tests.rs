use super::*;
use std::io::Write;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p)
        .expect("create")
        .write_all(text.as_bytes())
        .expect("write");
    p
}

fn load(spec: &str) -> Result<Vec<Item>, DatasetError> {
    DatasetSpec::parse(spec).expect("spec").load()
}

#[test]
fn mmlu_csv() {
    let dir = tempfile_dir();
    let p = write(
        &dir,
        "anatomy_test.csv",
        "\"What, exactly?\",a,b,c,d,C\nQ2,a,b,c,d,A\n",
    );
    let items = load(&format!("mmlu:{}", p.display())).expect("load");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].question, "What, exactly?");
    assert_eq!(
        (
            items[0].answer,
            items[0].id.as_str(),
            items[0].subject.as_deref()
        ),
        (2, "mmlu/anatomy/0", Some("anatomy"))
    );
    let bad = write(&dir, "bad_test.csv", "Q1,a,b,c,d,A\nQ2,a,b,c,Z\n");
    let err = load(&format!("mmlu:{}", bad.display())).expect_err("bad");
    assert_eq!(
        (err.line, err.field.as_deref()),
        (Some(2), Some("choices")),
        "{err}"
    );
    assert!(
        err.to_string().contains("bad_test.csv:2: field `choices`"),
        "{err}"
    );
}

#[test]
fn bbh_options_both_styles() {
    let (q, c) = parse_bbh_input("Is it?\nOptions:\n(A) yes\n(B) no").expect("parsed");
    assert_eq!(
        (q.as_str(), c),
        ("Is it?", vec!["yes".to_string(), "no".to_string()])
    );
    let (_, c) = parse_bbh_input("Is it?\nOptions:\n- Yes\n- No").expect("parsed");
    assert_eq!(c, vec!["Yes", "No"]);
    assert!(parse_bbh_input("2 + 2 = ?").is_none());
    let dir = tempfile_dir();
    let p = write(
        &dir,
        "task.json",
        r#"{"examples":[{"input":"Q?\nOptions:\n(A) x\n(B) y\n(C) z","target":"(C)"},{"input":"free","target":"4"},{"input":"Q?\nOptions:\n- Yes\n- No","target":"No"}]}"#,
    );
    let items = load(&format!("bbh:{}", p.display())).expect("load");
    assert_eq!(items.len(), 2);
    assert_eq!((items[0].answer, items[1].answer), (2, 1));
    assert_eq!(items[1].id, "bbh/task/2");
}

#[test]
fn jsonl_errors_name_line_and_field() {
    let dir = tempfile_dir();
    let ok = write(&dir, "ok.jsonl", "{\"id\":\"a\",\"question\":\"Q\",\"choices\":[\"x\",\"y\",\"z\"],\"answer\":\"B\"}\n\n{\"id\":2,\"question\":\"Q\",\"choices\":[\"x\",\"y\"],\"answer\":0}\n");
    let items = load(&format!("jsonl:{}", ok.display())).expect("load");
    assert_eq!((items[0].answer, items[1].id.as_str()), (1, "2"));
    let cases = [
        (
            "{\"id\":\"a\",\"question\":\"Q\",\"answer\":0}",
            1,
            "choices",
        ),
        (
            "{\"id\":\"a\",\"question\":\"Q\",\"choices\":[\"x\",\"y\"],\"answer\":5}",
            1,
            "answer",
        ),
        (
            "{\"id\":\"a\",\"question\":\"Q\",\"choices\":[\"x\"],\"answer\":0}",
            1,
            "choices",
        ),
        (
            "{\"question\":\"Q\",\"choices\":[\"x\",\"y\"],\"answer\":0}",
            1,
            "id",
        ),
        (
            "{\"id\":\"a\",\"question\":\"Q\",\"choices\":[\"x\",\"y\"],\"answer\":\"Q\"}",
            1,
            "answer",
        ),
    ];
    for (text, line, field) in cases {
        let p = write(&dir, "bad.jsonl", text);
        let err = load(&format!("jsonl:{}", p.display())).expect_err(text);
        assert_eq!(
            (err.line, err.field.as_deref()),
            (Some(line), Some(field)),
            "{err}"
        );
    }
    let p = write(&dir, "dup.jsonl", "{\"id\":\"a\",\"question\":\"Q\",\"choices\":[\"x\",\"y\"],\"answer\":0}\n{\"id\":\"a\",\"question\":\"Q\",\"choices\":[\"x\",\"y\"],\"answer\":0}\n");
    assert!(load(&format!("jsonl:{}", p.display()))
        .expect_err("dup")
        .to_string()
        .contains("duplicate id"));
}

#[test]
fn generic_csv() {
    let dir = tempfile_dir();
    let p = write(
        &dir,
        "q.csv",
        "id,question,A,B,C,answer,subject\n1,Q?,x,y,z,C,s\n2,Q2?,x,y,,1,\n",
    );
    let items = load(&format!("csv:{}", p.display())).expect("load");
    assert_eq!(
        (items[0].answer, items[1].choices.len(), items[1].answer),
        (2, 2, 1)
    );
    let bad = write(&dir, "bad.csv", "id,question,A,B,answer\n1,Q?,x,y,7\n");
    let err = load(&format!("csv:{}", bad.display())).expect_err("bad");
    assert_eq!(
        (err.line, err.field.as_deref()),
        (Some(2), Some("answer")),
        "{err}"
    );
    // A blank option before a filled one would move every later letter and the gold answer.
    let blank = write(
        &dir,
        "blank.csv",
        "id,question,A,B,C,answer\n1,Q?,x,y,z,C\n2,Q?,x,,z,C\n",
    );
    let err = load(&format!("csv:{}", blank.display())).expect_err("blank option");
    assert_eq!(
        (err.line, err.field.as_deref()),
        (Some(3), Some("B")),
        "{err}"
    );
    let twice = write(
        &dir,
        "twice.csv",
        "id,question,A,B,answer,a\n1,Q?,x,y,A,z\n",
    );
    let err = load(&format!("csv:{}", twice.display())).expect_err("duplicate column");
    assert_eq!(
        (err.line, err.field.as_deref()),
        (Some(1), Some("a")),
        "{err}"
    );
    // A byte-order mark is skipped the same way in every format.
    let bom = write(
        &dir,
        "bom.csv",
        "\u{feff}id,question,A,B,answer\n1,Q?,x,y,B\n",
    );
    assert_eq!(
        load(&format!("csv:{}", bom.display())).expect("bom csv")[0].answer,
        1
    );
    let bom = write(
        &dir,
        "bom.jsonl",
        "\u{feff}{\"id\":\"a\",\"question\":\"Q\",\"choices\":[\"x\",\"y\"],\"answer\":1}\n",
    );
    assert_eq!(
        load(&format!("jsonl:{}", bom.display())).expect("bom jsonl")[0].answer,
        1
    );
    let bom = write(&dir, "bom_test.csv", "\u{feff}Q1,a,b,c,d,B\n");
    assert_eq!(
        load(&format!("mmlu:{}", bom.display())).expect("bom mmlu")[0].question,
        "Q1"
    );
}

#[test]
fn subset_is_deterministic_and_ordered() {
    let items: Vec<Item> = (0..50)
        .map(|i| Item {
            id: i.to_string(),
            question: "q".into(),
            choices: vec!["a".into(), "b".into()],
            answer: 0,
            source: "s".into(),
            subject: None,
        })
        .collect();
    let a = subset(items.clone(), Some(10), 3);
    let b = subset(items.clone(), Some(10), 3);
    let c = subset(items.clone(), Some(10), 4);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a
        .windows(2)
        .all(|w| w[0].id.parse::<u32>().unwrap_or(0) < w[1].id.parse::<u32>().unwrap_or(0)));
    assert_eq!(subset(items, None, 0).len(), 50);
}

#[test]
fn spec_errors() {
    assert!(DatasetSpec::parse("foo:bar").is_err());
    assert!(DatasetSpec::parse("mmlu").is_err());
    assert!(DatasetSpec::parse("mmlu:").is_err());
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "cotlens-ds-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

#[test]
fn turpin_rows_with_a_repeated_idx_are_distinct_items() {
    // Turpin et al.'s causal_judgment val_data.json repeats idx for different questions.
    let dir = tempfile_dir();
    let row = |idx: u64, q: &str| serde_json::json!({"idx": idx, "parsed_inputs": format!("Q: {q}\n\nAnswer choices:\n(A) yes\n(B) no"), "multiple_choice_scores": [1, 0]});
    let text = serde_json::json!({"data": [row(32, "one"), row(32, "two")]}).to_string();
    let p = write(&dir, "val_data.json", &text);
    let items = load(&format!("turpin-bbh:{}", p.display())).expect("load");
    assert_eq!(items.len(), 2);
    assert_ne!(items[0].id, items[1].id);
    let bad = serde_json::json!({"data": [{"idx": "x", "parsed_inputs": "Q: q\n\nAnswer choices:\n(A) a\n(B) b", "multiple_choice_scores": [0, 1]}]}).to_string();
    let p = write(&dir, "val_data.json", &bad);
    let err = load(&format!("turpin-bbh:{}", p.display())).expect_err("idx");
    assert_eq!(err.field.as_deref(), Some("data[0].idx"), "{err}");
}
