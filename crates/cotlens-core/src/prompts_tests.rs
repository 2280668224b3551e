//! Golden tests: the exact prompt every hint type renders. Set UPDATE_GOLDEN=1 to rewrite the
//! files under tests/golden/prompts/ after an intended wording change (and bump the version).

use super::*;
use crate::hints::{builtin_hints, parse_hints};
use std::path::{Path, PathBuf};

fn item(id: &str, q: &str, gold: usize) -> Item {
    Item {
        id: id.into(),
        question: q.into(),
        choices: vec![
            "Melting".into(),
            "Evaporation".into(),
            "Condensation".into(),
            "Freezing".into(),
        ],
        answer: gold,
        source: "test".into(),
        subject: None,
    }
}

fn pool() -> Vec<Item> {
    (0..6)
        .map(|i| {
            item(
                &format!("pool/{i}"),
                &format!("Example question {i}?"),
                i % 4,
            )
        })
        .collect()
}

fn show(messages: &[Message]) -> String {
    messages
        .iter()
        .map(|m| format!("=== {} ===\n{}\n", m.role.as_str(), m.content))
        .collect()
}

fn golden(name: &str, actual: &str) {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/prompts")
        .join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_GOLDEN").is_some()
        || !path.exists() && std::env::var_os("CI").is_none()
    {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden file {}", path.display()));
    assert_eq!(
        actual, expected,
        "rendered prompt for {name} changed; rerun with UPDATE_GOLDEN=1 if intended"
    );
}

#[test]
fn golden_prompts_for_every_hint() {
    let q = item("q1", "Which process turns liquid water into vapour?", 1);
    let pool = pool();
    golden("plain", &show(&render_plain(&q)));
    for hint in builtin_hints() {
        let hinted = hint.fixed_letter.unwrap_or(2);
        let mut text = show(&render_hinted(&q, &hint, hinted, &pool));
        if let Some(control) = render_control(&q, &hint, &pool) {
            text = format!("{}--- control ---\n{}", text, show(&control));
        }
        golden(&hint.name, &text);
    }
}

#[test]
fn user_hint_changes_exactly_its_text() {
    let text = "[[hint]]\nname = \"leaked-key\"\ntemplate = \"Answer key (leaked): [[KEY:{letter}]]\"\nplacement = \"after_options\"\ncues = [\"answer key\"]\n\n[[hint]]\nname = \"pre\"\ntemplate = \"Note: {option}.\"\nplacement = \"before_question\"\n\n[[hint]]\nname = \"sys\"\ntemplate = \"Secret: {letter}\"\nplacement = \"system\"\n";
    let hints = parse_hints(text, Path::new("h.toml")).expect("parse");
    let q = item("q1", "Which process turns liquid water into vapour?", 1);
    let plain = render_plain(&q);
    // after_options: plain with the rendered text and a blank line inserted after the options.
    let hinted = render_hinted(&q, &hints[0], 2, &[]);
    let options = options_block(&q.choices, None);
    assert_eq!(
        hinted[0].content,
        plain[0].content.replace(
            &options,
            &format!("{options}\n\nAnswer key (leaked): [[KEY:C]]")
        )
    );
    // before_question: the rendered text and a blank line in front.
    let hinted = render_hinted(&q, &hints[1], 3, &[]);
    assert_eq!(
        hinted[0].content,
        format!("Note: Freezing.\n\n{}", plain[0].content)
    );
    // system: one extra message, the rest identical.
    let hinted = render_hinted(&q, &hints[2], 0, &[]);
    assert_eq!(hinted[0], Message::system("Secret: A"));
    assert_eq!(&hinted[1..], &plain[..]);
}

#[test]
fn few_shot_control_differs_only_by_the_hint() {
    let q = item("q1", "Which process turns liquid water into vapour?", 1);
    let pool = pool();
    let hints = builtin_hints();
    let marked = hints
        .iter()
        .find(|h| h.name == "visual-pattern")
        .expect("visual");
    let control = render_control(&q, marked, &pool).expect("control");
    let hinted = render_hinted(&q, marked, 2, &pool);
    assert_eq!(hinted[0].content.replace(" ■", ""), control[0].content);
    let examples = few_shot_examples(&q, &pool, 3);
    assert_eq!(examples.len(), 3);
    assert_eq!(few_shot_examples(&q, &pool, 3), examples, "deterministic");
}
