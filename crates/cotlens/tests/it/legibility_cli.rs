//! `cotlens legibility` on real English (the bundled MMLU questions): injected odd words rank
//! first against a clean baseline; per-trace records and the summary; bad input.

use crate::common;

use common::*;
use std::path::Path;

/// Questions and options of the bundled MMLU test set, as sentences.
fn mmlu_text() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mmlu/test");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("mmlu")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("csv");
        out.extend(text.lines().map(|l| l.replace('"', "")));
    }
    out
}

fn write_traces(path: &Path, lines: &[String]) {
    let body: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, t)| serde_json::json!({"id": format!("t{i}"), "reasoning": t}).to_string())
        .collect();
    std::fs::write(path, body.join("\n") + "\n").expect("write");
}

#[test]
fn injected_odd_words_rank_first_against_a_clean_baseline() {
    let tmp = tempfile::tempdir().expect("tmp");
    let text = mmlu_text();
    assert!(text.len() >= 200, "{}", text.len());
    let (clean, later) = text.split_at(text.len() / 2);
    let odd = ["watchers", "disclaim", "marinade"];
    // Counting (token, odd word) pairs, every 50th pair inserts that odd word after the token:
    // each odd word lands once per 50 tokens, 2% of them.
    let mut injected = Vec::new();
    let mut k = 0usize;
    for line in later {
        let mut out = Vec::new();
        for w in line.split_whitespace() {
            out.push(w.to_string());
            for o in odd {
                k += 1;
                if k.is_multiple_of(50) {
                    out.push(o.to_string());
                }
            }
        }
        injected.push(out.join(" "));
    }
    let base = tmp.path().join("base.jsonl");
    let run_file = tmp.path().join("run.jsonl");
    write_traces(&base, clean);
    write_traces(&run_file, &injected);
    let out = tmp.path().join("leg");
    let o = run(
        tmp.path(),
        &[
            "legibility",
            run_file.to_str().expect("utf8"),
            "--baseline",
            base.to_str().expect("utf8"),
            "--out",
            out.to_str().expect("utf8"),
            "--json",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let total = summary["corpus"]["words"].as_f64().expect("words");
    let top: Vec<&str> = summary["rising_vs_baseline"]
        .as_array()
        .expect("list")
        .iter()
        .map(|w| w["word"].as_str().expect("word"))
        .collect();
    let mut first3 = top[..3].to_vec();
    first3.sort();
    assert_eq!(first3, vec!["disclaim", "marinade", "watchers"], "{top:?}");
    for w in summary["rising_vs_baseline"]
        .as_array()
        .expect("list")
        .iter()
        .take(3)
    {
        let share = w["count"].as_f64().expect("count") / total;
        assert!((0.015..0.025).contains(&share), "{w} {share}");
    }
    // Per-trace records, one per line, and the summary on disk.
    let records = std::fs::read_to_string(out.join("records.jsonl")).expect("records");
    assert_eq!(records.lines().count(), injected.len());
    let first: serde_json::Value =
        serde_json::from_str(records.lines().next().expect("line")).expect("json");
    for k in [
        "oov_share",
        "foreign_script_share",
        "repetition",
        "compression_ratio",
        "legibility",
    ] {
        assert!(first[k].is_number(), "{k}: {first}");
    }
    assert_eq!(
        read_json(&out.join("summary.json"))["corpus"]["traces"],
        injected.len()
    );
    // Before/after: injected words are in the lexicon (SymSpell has them), so legibility moves
    // little; the difference comes with its interval.
    let d = &summary["comparison"]["legibility"];
    assert!(
        d["ci_low"].as_f64() <= d["value"].as_f64() && d["value"].as_f64() <= d["ci_high"].as_f64(),
        "{d}"
    );
    assert!(summary["comparison"]["repetition"].is_object());
    let e = summary["corpus"]["mean_legibility"].clone();
    assert!(
        e["ci_low"].as_f64() <= e["value"].as_f64() && e["value"].as_f64() <= e["ci_high"].as_f64(),
        "{e}"
    );
}

#[test]
fn bad_input_names_file_and_line() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = tmp.path().join("t.jsonl");
    std::fs::write(
        &p,
        "{\"id\":\"a\",\"reasoning\":\"fine\"}\n{\"id\":\"b\",\"reasoning\":\"cut off\n",
    )
    .expect("write");
    let o = run(tmp.path(), &["legibility", p.to_str().expect("utf8")], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("t.jsonl:2"), "{}", stderr(&o));
    // With --out, the failed run leaves nothing that blocks the next one.
    let out = tmp.path().join("out");
    let out_s = out.to_str().expect("utf8");
    for _ in 0..2 {
        let o = run(
            tmp.path(),
            &["legibility", p.to_str().expect("utf8"), "--out", out_s],
            &[],
        );
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("t.jsonl:2"), "{}", stderr(&o));
        assert!(!out.exists(), "nothing half-written");
    }
    let o = run(
        tmp.path(),
        &["legibility", "jsonl:/nonexistent/x.jsonl"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// Words of the prompt itself (option letters, the question's words) are not drift unless
/// `--include-prompt-words`.
#[test]
fn prompt_words_are_left_out_of_rising_words() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = tmp.path().join("run.jsonl");
    let lines: Vec<String> = (0..30)
        .map(|i| {
            serde_json::json!({
                "id": format!("t{i}"),
                "messages": [{"role": "user", "content": "Which zymurgy vessel? (A) vat (B) keg (C) cask"}],
                "cot": "The zymurgy vessel in option c is a cask, so c fits the zymurgy question. Answer: C"
            })
            .to_string()
        })
        .collect();
    std::fs::write(&p, lines.join("\n") + "\n").expect("write");
    let rising = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["legibility", p.to_str().expect("utf8"), "--json"];
        args.extend_from_slice(extra);
        let o = run(tmp.path(), &args, &[]);
        assert!(o.status.success(), "{}", stderr(&o));
        let s: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        s["rising_vs_reference"]
            .as_array()
            .expect("rising")
            .iter()
            .map(|r| r["word"].as_str().expect("word").to_string())
            .collect()
    };
    let default = rising(&[]);
    assert!(
        !default.iter().any(|w| w == "zymurgy" || w == "c"),
        "{default:?}"
    );
    let all = rising(&["--include-prompt-words"]);
    assert!(all.iter().any(|w| w == "zymurgy"), "{all:?}");
}
