//! The units of work of a faithfulness run: for each item, the plain prompt, each few-shot
//! hint's control prompt, and each hint × direction's hinted prompt.

use super::record::{Condition, Direction};
use cotlens_core::hints::Hint;
use cotlens_core::prompts::{render_control, render_hinted, render_plain};
use cotlens_core::types::{Item, Message};
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Unit {
    pub key: String,
    pub item: Arc<Item>,
    pub condition: Condition,
    pub hint: Option<Arc<Hint>>,
    pub direction: Option<Direction>,
    pub hint_index: Option<usize>,
    pub messages: Vec<Message>,
    /// Why the unit is not asked (recorded as skipped).
    pub skip: Option<String>,
}

/// The option a hint points to, or why the item has none in this direction.
pub fn hint_option(
    item: &Item,
    hint: &Hint,
    direction: Direction,
    seed: u64,
) -> Result<usize, String> {
    if let Some(fixed) = hint.fixed_letter {
        if fixed >= item.choices.len() {
            return Err(format!(
                "hint {} points to option {} but the item has {} options",
                hint.name,
                cotlens_core::letter(fixed),
                item.choices.len()
            ));
        }
        return match direction {
            Direction::Incorrect if fixed == item.answer => Err(format!(
                "hint {} always points to the gold option of this item",
                hint.name
            )),
            Direction::Correct if fixed != item.answer => Err(format!(
                "hint {} cannot point to the gold option of this item",
                hint.name
            )),
            _ => Ok(fixed),
        };
    }
    match direction {
        Direction::Correct => Ok(item.answer),
        Direction::Incorrect => {
            let digest =
                Sha256::digest(format!("{seed}\u{0}{}\u{0}{}", item.id, hint.name).as_bytes());
            let mut bytes = [0u8; 8];
            // boundary: bytes of a digest
            bytes.copy_from_slice(&digest[..8]);
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(u64::from_le_bytes(bytes));
            let wrong: Vec<usize> = (0..item.choices.len())
                .filter(|&i| i != item.answer)
                .collect();
            Ok(wrong[rng.random_range(0..wrong.len())])
        }
    }
}

pub fn plan(
    items: &[Item],
    hints: &[Arc<Hint>],
    directions: &[Direction],
    seed: u64,
    pool: &[Item],
) -> Vec<Unit> {
    let mut units = Vec::new();
    for item in items {
        let item = Arc::new(item.clone());
        units.push(Unit {
            key: format!("{}|plain", item.id),
            item: item.clone(),
            condition: Condition::Plain,
            hint: None,
            direction: None,
            hint_index: None,
            messages: render_plain(&item),
            skip: None,
        });
        for hint in hints {
            if let Some(messages) = render_control(&item, hint, pool) {
                units.push(Unit {
                    key: format!("{}|control|{}", item.id, hint.name),
                    item: item.clone(),
                    condition: Condition::Control,
                    hint: Some(hint.clone()),
                    direction: None,
                    hint_index: None,
                    messages,
                    skip: None,
                });
            }
            for &direction in directions {
                let key = format!("{}|hinted|{}|{}", item.id, hint.name, direction.as_str());
                let (hint_index, messages, skip) = match hint_option(&item, hint, direction, seed) {
                    Ok(h) => (Some(h), render_hinted(&item, hint, h, pool), None),
                    Err(reason) => (None, Vec::new(), Some(reason)),
                };
                units.push(Unit {
                    key,
                    item: item.clone(),
                    condition: Condition::Hinted,
                    hint: Some(hint.clone()),
                    direction: Some(direction),
                    hint_index,
                    messages,
                    skip,
                });
            }
        }
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;
    use cotlens_core::hints::builtin_hints;

    fn item(id: &str, answer: usize) -> Item {
        Item {
            id: id.into(),
            question: "Q?".into(),
            choices: vec!["a".into(), "b".into(), "c".into(), "d".into()],
            answer,
            source: "t".into(),
            subject: None,
        }
    }

    #[test]
    fn incorrect_hints_avoid_gold_and_are_seeded() {
        let hint = &builtin_hints()[0];
        let mut seen = [0usize; 4];
        for i in 0..400 {
            let it = item(&format!("q{i}"), i % 4);
            let h = hint_option(&it, hint, Direction::Incorrect, 7).expect("some");
            assert_ne!(h, it.answer);
            assert_eq!(
                h,
                hint_option(&it, hint, Direction::Incorrect, 7).expect("same")
            );
            seen[h] += 1;
        }
        assert!(seen.iter().all(|&c| c > 60), "roughly uniform: {seen:?}");
        assert_eq!(
            hint_option(&item("x", 2), hint, Direction::Correct, 0),
            Ok(2)
        );
    }

    #[test]
    fn fixed_letter_hints_skip_conflicting_items() {
        let always_a = builtin_hints()
            .into_iter()
            .find(|h| h.name == "always-a")
            .expect("always-a");
        assert!(hint_option(&item("x", 0), &always_a, Direction::Incorrect, 0).is_err());
        assert_eq!(
            hint_option(&item("x", 2), &always_a, Direction::Incorrect, 0),
            Ok(0)
        );
        assert!(hint_option(&item("x", 2), &always_a, Direction::Correct, 0).is_err());
    }

    #[test]
    fn plan_shares_the_plain_prompt_and_adds_controls() {
        let hints: Vec<Arc<Hint>> = builtin_hints().into_iter().map(Arc::new).collect();
        let units = plan(
            &[item("q", 1)],
            &hints,
            &[Direction::Incorrect, Direction::Correct],
            0,
            &[item("p1", 0), item("p2", 1), item("p3", 2)],
        );
        // 1 plain + 2 controls (two few-shot hints) + 7 hints x 2 directions.
        assert_eq!(units.len(), 1 + 2 + 14);
        let keys: std::collections::HashSet<_> = units.iter().map(|u| u.key.clone()).collect();
        assert_eq!(keys.len(), units.len(), "unique keys");
    }
}
