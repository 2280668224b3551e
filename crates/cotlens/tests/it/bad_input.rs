//! Bad input: a clear one-line error naming the file, line and field (or the flag or variable),
//! exit code 2, and nothing written.

use crate::common;

use common::*;

fn expect_bad(home: &std::path::Path, args: &[&str], envs: &[(&str, &str)], needles: &[&str]) {
    let o = run(home, args, envs);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: expected {n:?} in: {err}");
    }
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn dataset_and_hint_file_errors_name_file_line_field() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    let out = d.join("run");
    let out_s = out.to_str().expect("utf8");
    let no_choices = d.join("no_choices.jsonl");
    std::fs::write(&no_choices, "{\"id\":\"a\",\"question\":\"Q\",\"choices\":[\"x\",\"y\"],\"answer\":0}\n{\"id\":\"b\",\"question\":\"Q\",\"answer\":1}\n").expect("write");
    let spec = format!("jsonl:{}", no_choices.display());
    expect_bad(
        d,
        &[
            "faithfulness",
            "--model",
            "openai:m",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--dataset",
            &spec,
            "--out",
            out_s,
        ],
        &[],
        &["no_choices.jsonl:2", "`choices`"],
    );
    let out_of_range = d.join("range.jsonl");
    std::fs::write(
        &out_of_range,
        "{\"id\":\"a\",\"question\":\"Q\",\"choices\":[\"x\",\"y\"],\"answer\":7}\n",
    )
    .expect("write");
    let spec = format!("jsonl:{}", out_of_range.display());
    expect_bad(
        d,
        &[
            "faithfulness",
            "--model",
            "openai:m",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--dataset",
            &spec,
            "--out",
            out_s,
        ],
        &[],
        &["range.jsonl:1", "`answer`", "out of range"],
    );
    let hints = d.join("hints.toml");
    std::fs::write(
        &hints,
        "[[hint]]\nname = \"x\"\ntemplate = \"key {answer}\"\nplacement = \"after_options\"\n",
    )
    .expect("write");
    expect_bad(
        d,
        &[
            "faithfulness",
            "--hints-file",
            hints.to_str().expect("utf8"),
            "--out",
            out_s,
        ],
        &[],
        &["hints.toml:3", "`template`", "{answer}"],
    );
    std::fs::write(
        &hints,
        "[[hint]]\nname = \"x\"\ntemplate = \"key {letter}\"\nplacement = \"in_the_middle\"\n",
    )
    .expect("write");
    expect_bad(
        d,
        &[
            "faithfulness",
            "--hints-file",
            hints.to_str().expect("utf8"),
            "--out",
            out_s,
        ],
        &[],
        &["hints.toml:4", "`placement`"],
    );
    let csv = d.join("mmlu_test.csv");
    std::fs::write(&csv, "Q1,a,b,c,d,A\nQ2,a,b,c,d,Q\n").expect("write");
    let spec = format!("mmlu:{}", csv.display());
    expect_bad(
        d,
        &[
            "faithfulness",
            "--model",
            "openai:m",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--dataset",
            &spec,
            "--out",
            out_s,
        ],
        &[],
        &["mmlu_test.csv:2", "`answer`"],
    );
    assert!(!out.exists(), "nothing written for bad input");
}

#[test]
fn flag_and_variable_errors() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    expect_bad(
        d,
        &["generate", "--model", "gpt-4o", "hi"],
        &[],
        &["--model", "unknown model spec"],
    );
    expect_bad(
        d,
        &[
            "generate",
            "--model",
            "openai:m",
            "--base-url",
            "localhost:8000",
            "hi",
        ],
        &[],
        &["--base-url"],
    );
    expect_bad(
        d,
        &["generate", "--model", "openai:gpt-4o", "hi"],
        &[],
        &["OPENAI_API_KEY"],
    );
    expect_bad(
        d,
        &[
            "generate",
            "--model",
            "openai:m",
            "--api-key-env",
            "MY_KEY",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "hi",
        ],
        &[],
        &["MY_KEY"],
    );
    expect_bad(
        d,
        &["generate", "--model", "anthropic:claude", "hi"],
        &[],
        &["ANTHROPIC_API_KEY"],
    );
    expect_bad(
        d,
        &[
            "faithfulness",
            "--shard",
            "3/2",
            "--model",
            "openai:m",
            "--base-url",
            "http://127.0.0.1:9/v1",
        ],
        &[],
        &["--shard"],
    );
    expect_bad(
        d,
        &[
            "faithfulness",
            "--hints",
            "nope",
            "--model",
            "openai:m",
            "--base-url",
            "http://127.0.0.1:9/v1",
        ],
        &[],
        &["--hints", "nope"],
    );
}

#[test]
fn model_file_errors_name_the_path() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    let missing = d.join("missing.gguf");
    let spec = format!("local:{}", missing.display());
    expect_bad(
        d,
        &["generate", "--model", &spec, "hi"],
        &[],
        &["missing.gguf", "no such model file"],
    );
    let not_gguf = d.join("notes.gguf");
    std::fs::write(&not_gguf, "hello, not a model").expect("write");
    let spec = format!("local:{}", not_gguf.display());
    expect_bad(
        d,
        &["generate", "--model", &spec, "hi"],
        &[],
        &["notes.gguf", "not a GGUF"],
    );
    let truncated = d.join("truncated.gguf");
    std::fs::write(&truncated, b"GGUF\x03\x00\x00\x00\x10").expect("write");
    let spec = format!("local:{}", truncated.display());
    expect_bad(
        d,
        &["generate", "--model", &spec, "hi"],
        &[],
        &["truncated.gguf"],
    );
}

/// `--out` may only be a new path or an empty folder: a folder with the user's own files, a
/// regular file or a dangling symlink is refused with exit 2 before anything is written.
#[test]
fn out_must_be_new_or_empty() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    let mine = d.join("mine");
    std::fs::create_dir_all(&mine).expect("dir");
    std::fs::write(mine.join("records.jsonl"), "my own data\n").expect("write");
    let file = d.join("file.txt");
    std::fs::write(&file, "x").expect("write");
    let traces = d.join("t.jsonl");
    std::fs::write(&traces, "{\"id\": \"t\", \"reasoning\": \"Fine.\"}\n").expect("write");
    let dangling = d.join("dangling");
    std::os::unix::fs::symlink(d.join("nowhere"), &dangling).expect("symlink");
    let cases = [
        (&mine, "no cotlens run"),
        (&file, "not a folder"),
        (&dangling, "symbolic link to nothing"),
    ];
    for (out, needle) in cases {
        for protocol in ["faithfulness", "necessity", "sample", "legibility"] {
            let out_s = out.to_str().expect("utf8");
            let args: Vec<&str> = match protocol {
                "legibility" => vec!["legibility", traces.to_str().expect("utf8"), "--out", out_s],
                p => vec![
                    p,
                    "--model",
                    "openai:m",
                    "--base-url",
                    "http://127.0.0.1:9/v1",
                    "--out",
                    out_s,
                ],
            };
            expect_bad(d, &args, &[], &[needle]);
        }
    }
    assert_eq!(
        std::fs::read_to_string(mine.join("records.jsonl")).expect("read"),
        "my own data\n",
        "the user's file is untouched"
    );
    assert_eq!(
        std::fs::read_dir(&mine).expect("dir").count(),
        1,
        "nothing added"
    );
    assert!(
        std::fs::symlink_metadata(d.join("nowhere")).is_err(),
        "nothing written through the link"
    );
}

/// An empty selection is not a result: exit 2 with what is empty, and no run directory.
#[test]
fn empty_inputs_are_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    let out = d.join("run");
    let out_s = out.to_str().expect("utf8");
    let server = ["--model", "openai:m", "--base-url", "http://127.0.0.1:9/v1"];
    for protocol in ["faithfulness", "necessity"] {
        let mut args = vec![protocol, "--limit", "0", "--out", out_s];
        args.extend_from_slice(&server);
        expect_bad(d, &args, &[], &["selects nothing"]);
    }
    let empty = d.join("empty.jsonl");
    std::fs::write(&empty, "").expect("write");
    let spec = format!("jsonl:{}", empty.display());
    expect_bad(
        d,
        &["monitor", "--traces", &spec, "--out", out_s],
        &[],
        &["no traces"],
    );
    assert!(!out.exists(), "nothing written");
}

/// A clue file with an unknown encoder, level, placement or placeholder: the file, line and
/// field, exit 2, and no run directory.
#[test]
fn clue_file_errors_name_file_line_field() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    let out = d.join("run");
    let out_s = out.to_str().expect("utf8");
    let items = d.join("items.jsonl");
    std::fs::write(
        &items,
        "{\"id\": \"a\", \"question\": \"1+1?\", \"answer\": 2}\n",
    )
    .expect("write");
    let spec = format!("jsonl:{}", items.display());
    let head = "[[clue]]\nname = \"mine\"\n";
    for (body, line, field) in [
        (
            "family = \"rot13\"\nplacement = \"system\"\nsetting = \"{clue}\"\n",
            3,
            "family",
        ),
        (
            "family = \"arithmetic\"\nlevel = 12\nplacement = \"system\"\nsetting = \"{clue}\"\n",
            4,
            "level",
        ),
        (
            "family = \"hex\"\nplacement = \"margin\"\nsetting = \"{clue}\"\n",
            4,
            "placement",
        ),
        (
            "family = \"hex\"\nplacement = \"system\"\nsetting = \"{clue} {gold}\"\n",
            5,
            "setting",
        ),
    ] {
        let file = d.join("clues.toml");
        std::fs::write(&file, format!("{head}{body}")).expect("write");
        let file_s = file.to_str().expect("utf8");
        expect_bad(
            d,
            &[
                "clues",
                "--model",
                "openai:m",
                "--base-url",
                "http://127.0.0.1:9/v1",
                "--dataset",
                &spec,
                "--clues-file",
                file_s,
                "--out",
                out_s,
            ],
            &[],
            &[&format!("{file_s}:{line}: field `{field}`")],
        );
        assert!(!out.exists(), "nothing written");
    }
    // A multiple-choice format is not a free-response dataset.
    expect_bad(
        d,
        &[
            "clues",
            "--model",
            "openai:m",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--dataset",
            "mmlu:x",
            "--out",
            out_s,
        ],
        &[],
        &["--dataset", "free-response"],
    );
    assert!(!out.exists());
}
