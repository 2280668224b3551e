//! Prompt building for multiple-choice elicitation, with and without a hint.
//!
//! The elicitation template is a versioned data file (`templates/elicitation-v1.txt`). A hint
//! changes the prompt by exactly its rendered template at its placement:
//! - `before_question` / `after_options`: the rendered text and a blank line, in the user turn;
//! - `system`: a system message holding the rendered text;
//! - `prior_assistant_turn`: an assistant turn holding the rendered text, then the hint's
//!   `follow_up` user turn;
//! - few-shot placements: the hinted prompt and its own unhinted *control* prompt share the same
//!   examples and differ only in the marks / option order the hint defines.

use crate::hints::{Hint, Placement};
use crate::types::{letter, Item, Message};
use sha2::{Digest, Sha256};

pub const ELICITATION_TEMPLATE: &str = include_str!("../templates/elicitation-v1.txt");
pub const ELICITATION_VERSION: &str = "elicitation/1";
/// Number of few-shot examples for few-shot hints.
pub const FEW_SHOT_K: usize = 3;
const FEW_SHOT_HEADER: &str = "Here are some example questions with their answers.";
const FEW_SHOT_FOOTER: &str = "Now answer the following question.";

/// Short sha256 of a template text, recorded in manifests.
pub fn template_hash(text: &str) -> String {
    // boundary: hex digits are ASCII
    hex::encode(Sha256::digest(text.as_bytes()))[..16].to_string()
}

/// `(A) …` lines; `mark` appends a symbol to one option.
pub fn options_block(choices: &[String], mark: Option<(usize, &str)>) -> String {
    choices
        .iter()
        .enumerate()
        .map(|(i, c)| match mark {
            Some((m, symbol)) if m == i => format!("({}) {} {}", letter(i), c, symbol),
            _ => format!("({}) {}", letter(i), c),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn elicitation(question: &str, options: &str) -> String {
    ELICITATION_TEMPLATE
        .trim_end()
        .replace("{question}", question)
        .replace("{options}", options)
}

/// The plain unhinted prompt.
pub fn render_plain(item: &Item) -> Vec<Message> {
    vec![Message::user(elicitation(
        &item.question,
        &options_block(&item.choices, None),
    ))]
}

/// The unhinted control of a few-shot hint: the same examples, unmarked, in published order.
/// `None` for hints that share the plain prompt as their baseline.
pub fn render_control(item: &Item, hint: &Hint, pool: &[Item]) -> Option<Vec<Message>> {
    if !hint.placement.has_own_control() {
        return None;
    }
    let examples = few_shot_examples(item, pool, FEW_SHOT_K);
    let block = examples
        .iter()
        .map(|ex| {
            let answer_line = match hint.placement {
                Placement::FewShotSameLetter => hint.render(ex.answer, &ex.choices[ex.answer]),
                _ => format!("Answer: ({})", letter(ex.answer)),
            };
            format!(
                "Question: {}\n\n{}\n\n{}",
                ex.question,
                options_block(&ex.choices, None),
                answer_line
            )
        })
        .collect::<Vec<_>>();
    Some(vec![Message::user(few_shot_prompt(
        &block,
        &elicitation(&item.question, &options_block(&item.choices, None)),
    ))])
}

fn few_shot_prompt(examples: &[String], target: &str) -> String {
    format!(
        "{FEW_SHOT_HEADER}\n\n{}\n\n{FEW_SHOT_FOOTER}\n\n{target}",
        examples.join("\n\n")
    )
}

/// The hinted prompt, with the hint pointing to option `hinted`.
pub fn render_hinted(item: &Item, hint: &Hint, hinted: usize, pool: &[Item]) -> Vec<Message> {
    let text = hint.render(hinted, &item.choices[hinted]);
    let options = options_block(&item.choices, None);
    match hint.placement {
        Placement::BeforeQuestion => vec![Message::user(format!(
            "{text}\n\n{}",
            elicitation(&item.question, &options)
        ))],
        Placement::AfterOptions => vec![Message::user(elicitation(
            &item.question,
            &format!("{options}\n\n{text}"),
        ))],
        Placement::System => {
            let mut m = vec![Message::system(text)];
            m.extend(render_plain(item));
            m
        }
        Placement::PriorAssistantTurn => {
            let mut m = render_plain(item);
            m.push(Message::assistant(text));
            m.push(Message::user(
                hint.follow_up
                    .replace("{letter}", &letter(hinted).to_string())
                    .replace("{option}", &item.choices[hinted]),
            ));
            m
        }
        Placement::FewShotMarked => {
            let examples = few_shot_examples(item, pool, FEW_SHOT_K);
            let block: Vec<String> = examples
                .iter()
                .map(|ex| {
                    format!(
                        "Question: {}\n\n{}\n\nAnswer: ({})",
                        ex.question,
                        options_block(&ex.choices, Some((ex.answer, &hint.template))),
                        letter(ex.answer)
                    )
                })
                .collect();
            let target = elicitation(
                &item.question,
                &options_block(&item.choices, Some((hinted, &hint.template))),
            );
            vec![Message::user(few_shot_prompt(&block, &target))]
        }
        Placement::FewShotSameLetter => {
            let examples = few_shot_examples(item, pool, FEW_SHOT_K);
            let block: Vec<String> = examples
                .iter()
                .map(|ex| {
                    // Move the correct option to the hinted position (swap), as Turpin et al. did.
                    let mut choices = ex.choices.clone();
                    let target = hinted.min(choices.len() - 1);
                    choices.swap(ex.answer, target);
                    format!(
                        "Question: {}\n\n{}\n\n{}",
                        ex.question,
                        options_block(&choices, None),
                        hint.render(target, &choices[target])
                    )
                })
                .collect();
            vec![Message::user(few_shot_prompt(
                &block,
                &elicitation(&item.question, &options),
            ))]
        }
    }
}

/// `k` few-shot examples for `item`, chosen deterministically (by hashing the ids) from `pool`,
/// never the item itself.
pub fn few_shot_examples<'a>(item: &Item, pool: &'a [Item], k: usize) -> Vec<&'a Item> {
    let mut ranked: Vec<(String, &Item)> = pool
        .iter()
        .filter(|p| p.question != item.question)
        .map(|p| {
            (
                hex::encode(Sha256::digest(
                    format!("{}\u{0}{}", item.id, p.id).as_bytes(),
                )),
                p,
            )
        })
        .collect();
    ranked.sort_by(|a, b| a.0.cmp(&b.0));
    ranked.into_iter().take(k).map(|(_, p)| p).collect()
}

#[cfg(test)]
#[path = "prompts_tests.rs"]
mod tests;
