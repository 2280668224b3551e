//! Whether a sample's answer is right: one definition for `sample`'s summary and `select`'s
//! `correct` scorer, so that the two never disagree. It reads only the answer part of the
//! sample (the output of a reasoning model, or the turn from its last answer line on), never
//! the CoT; an unparseable answer is not a wrong one (docs/protocols.md §0).

use super::SampleRecord;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grade {
    Correct,
    Wrong,
    /// A multiple-choice answer that names no option.
    Unparseable,
    /// No gold answer to compare with.
    Ungraded,
}

/// The grade of `answer` (the sample's answer part) against the record's gold, and for a
/// free-form gold the answer as read.
pub fn grade(r: &SampleRecord, answer: &str) -> (Grade, Option<String>) {
    match (r.gold_index, r.n_options, &r.gold) {
        (Some(g), Some(n), _) => match cotlens_core::extract::extract_answer(answer, n).index() {
            Some(a) if a == g => (Grade::Correct, None),
            Some(_) => (Grade::Wrong, None),
            None => (Grade::Unparseable, None),
        },
        (_, _, Some(gold)) => {
            let given = free_answer(answer);
            let grade = if normalize(&given) == normalize(gold) {
                Grade::Correct
            } else {
                Grade::Wrong
            };
            (grade, Some(given))
        }
        _ => (Grade::Ungraded, None),
    }
}

impl SampleRecord {
    /// The grade of this sample's answer part; `None` for a failed sample.
    pub fn grade(&self) -> Option<Grade> {
        let text = self.text.as_ref().filter(|_| self.completion.is_some())?;
        Some(grade(self, &text.answer).0)
    }
}

/// A free-form answer: the text after the last "Answer:" marker, else the last non-empty line.
pub fn free_answer(output: &str) -> String {
    // ASCII lower-casing keeps every byte offset (full lower-casing does not: "İ" grows).
    let lower = output.to_ascii_lowercase();
    if let Some(at) = lower.rfind("answer:") {
        // boundary: after the ASCII marker found at the same offset
        return output[at + "answer:".len()..].trim().to_string();
    }
    output
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

fn normalize(s: &str) -> String {
    s.trim()
        .trim_end_matches(['.', '!', '?'])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_answers_compare_loosely() {
        assert_eq!(free_answer("Let me see.\nAnswer: Paris."), "Paris.");
        assert_eq!(normalize("Paris."), normalize(" paris "));
        assert_eq!(free_answer("blah\n\n42\n"), "42");
        // Full lower-casing would move the offset ("İ" is 2 bytes, "i̇" 3): a panic before.
        assert_eq!(free_answer("İİİİ ANSWER: 7"), "7");
        assert_ne!(normalize("Lyon"), normalize("Paris"));
    }
}
