//! Answer extraction: any text, any number of options; the answer is always one of them. A
//! number read from free text is canonical (it parses back to itself); a horizon condition
//! round-trips through its printed form.
#![no_main]
use cotlens_core::extract::{extract_after_open_bracket, extract_answer, extract_answer_in};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = 2 + (n as usize) % 25;
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if let Some(x) = cotlens_core::free_response::extract_number(text) {
        assert_eq!(cotlens_core::free_response::Number::parse(x.as_str()), Some(x.clone()));
    }
    let _ = cotlens_core::free_response::extract_text_answer(text);
    // A horizon condition (`--conditions`) prints back to what parses to itself.
    if let Ok(c) = cotlens_core::horizon::Condition::parse(text) {
        assert_eq!(cotlens_core::horizon::Condition::parse(&c.to_string()), Ok(c));
    }
    if let Some(i) = extract_answer(text, n).index() {
        assert!(i < n, "answer {i} of {n} options");
    }
    if let Some(i) = extract_after_open_bracket(text, n).index() {
        assert!(i < n, "answer {i} of {n} options");
    }
    // The options are the text's first lines, the rest is the completion.
    let mut lines = text.splitn(5, '\n');
    let choices: Vec<&str> = lines.by_ref().take(4).collect();
    let completion = lines.next().unwrap_or("");
    if let Some(i) = extract_answer_in(completion, &choices).index() {
        assert!(i < choices.len(), "answer {i} of {} options", choices.len());
    }
});
