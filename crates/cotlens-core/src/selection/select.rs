//! Applying a pipeline's stages to scored candidates (pure; no I/O).
//!
//! Candidates are grouped by prompt (in order of first appearance) and kept in sample order.
//! Each stage sees the candidates that survived the previous ones, per prompt:
//! - threshold: keeps every candidate whose stage score is within [min, max];
//! - best-of-n: keeps the best of the first n (all when n is not set); ties go to the earlier
//!   sample;
//! - top-k: keeps the k best.
//!
//! A candidate without a stage score (a scorer could not score it) is never kept. A prompt left
//! with nothing is dropped, and counted.

use super::ledger::{PromptStage, StageOutcome};
use super::pipeline::{Policy, StageSpec};
use super::pressure;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One sampled completion with its scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub key: String,
    pub prompt_id: String,
    pub domain: String,
    /// Scorer name → score (None: unscored).
    pub scores: BTreeMap<String, Option<f64>>,
}

/// What became of one candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fate {
    pub key: String,
    pub prompt_id: String,
    pub kept: bool,
    /// The stage that dropped it (None when kept).
    pub dropped_at: Option<String>,
    pub reason: Option<String>,
    /// Stage name → that stage's score of this candidate.
    pub stage_scores: BTreeMap<String, Option<f64>>,
}

/// A stage's score: Σ weight · score; None when a weighted scorer has no score.
pub fn stage_score(weights: &BTreeMap<String, f64>, c: &Candidate) -> Option<f64> {
    let mut total = 0.0;
    for (name, w) in weights {
        total += w * c.scores.get(name).copied().flatten()?;
    }
    Some(total)
}

/// Run the stages. Returns the fate of every candidate (in input order) and the per-stage,
/// per-prompt outcomes the ledger is built from.
pub fn apply_stages(
    stages: &[StageSpec],
    candidates: &[Candidate],
) -> (Vec<Fate>, Vec<StageOutcome>) {
    let mut fates: Vec<Fate> = candidates
        .iter()
        .map(|c| Fate {
            key: c.key.clone(),
            prompt_id: c.prompt_id.clone(),
            kept: true,
            dropped_at: None,
            reason: None,
            stage_scores: BTreeMap::new(),
        })
        .collect();
    // Prompt → candidate indices, prompts in first-seen order.
    let mut order: Vec<&str> = Vec::new();
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, c) in candidates.iter().enumerate() {
        groups
            .entry(c.prompt_id.as_str())
            .or_insert_with(|| {
                order.push(c.prompt_id.as_str());
                Vec::new()
            })
            .push(i);
    }
    let mut alive: Vec<(&str, Vec<usize>)> = order
        .iter()
        .map(|p| (*p, groups.remove(p).unwrap_or_default()))
        .collect();
    let mut outcomes = Vec::new();
    for stage in stages {
        let mut per_prompt = Vec::new();
        for (prompt, members) in alive.iter_mut() {
            if members.is_empty() {
                continue;
            }
            let scores: Vec<Option<f64>> = members
                .iter()
                .map(|&i| stage_score(&stage.weights, &candidates[i]))
                .collect();
            for (&i, s) in members.iter().zip(&scores) {
                fates[i].stage_scores.insert(stage.name.clone(), *s);
            }
            let n_in = members.len();
            let (keep, nats, n_pool, n_competing): (Vec<bool>, Option<f64>, usize, usize) =
                match &stage.policy {
                    Policy::Threshold { min, max } => {
                        let keep: Vec<bool> = scores
                            .iter()
                            .map(|s| {
                                s.is_some_and(|v| {
                                    min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m)
                                })
                            })
                            .collect();
                        let k = keep.iter().filter(|k| **k).count();
                        let scored = scores.iter().filter(|s| s.is_some()).count();
                        (keep, pressure::threshold(k, n_in), n_in, scored)
                    }
                    Policy::BestOfN { n } => {
                        let pool = n.map_or(n_in, |n| n.min(n_in));
                        let best = best_index(&scores[..pool]);
                        let keep = (0..n_in).map(|j| Some(j) == best).collect();
                        // The best of the candidates that have a score, not of the whole pool.
                        let competing = scores[..pool].iter().filter(|s| s.is_some()).count();
                        (
                            keep,
                            best.map(|_| pressure::best_of_n(competing)),
                            pool,
                            competing,
                        )
                    }
                    Policy::TopK { k } => {
                        let mut ranked: Vec<usize> =
                            (0..n_in).filter(|&j| scores[j].is_some()).collect();
                        // Best first; ties keep sample order (stable sort).
                        ranked.sort_by(|&a, &b| {
                            scores[b]
                                .partial_cmp(&scores[a])
                                .unwrap_or(std::cmp::Ordering::Equal)
                        });
                        let competing = ranked.len();
                        // boundary: a Vec of candidates
                        ranked.truncate(*k);
                        let keep = (0..n_in).map(|j| ranked.contains(&j)).collect();
                        let kept = ranked.len();
                        let nats = (kept > 0).then(|| {
                            if kept < *k {
                                // Fewer scored than k: all scored kept, a threshold on being scored.
                                pressure::threshold(kept, n_in).unwrap_or(0.0)
                            } else {
                                // The k best of the candidates that have a score.
                                pressure::top_k(competing, *k)
                            }
                        });
                        (keep, nats, n_in, competing)
                    }
                };
            let mut survivors = Vec::new();
            for (j, &i) in members.iter().enumerate() {
                if keep[j] {
                    survivors.push(i);
                } else {
                    let reason = match (&stage.policy, scores[j]) {
                        (_, None) => "unscored".to_string(),
                        (Policy::Threshold { .. }, Some(v)) => {
                            format!("score {v} outside the threshold")
                        }
                        (Policy::BestOfN { .. }, _) if j >= n_pool => {
                            "beyond the first n".to_string()
                        }
                        (Policy::BestOfN { .. }, Some(v)) => format!("score {v} not the best"),
                        (Policy::TopK { k }, Some(v)) => format!("score {v} not in the top {k}"),
                    };
                    fates[i].kept = false;
                    fates[i].dropped_at = Some(stage.name.clone());
                    fates[i].reason = Some(reason);
                }
            }
            per_prompt.push(PromptStage {
                prompt_id: prompt.to_string(),
                domain: candidates[members[0]].domain.clone(),
                n_in,
                n_pool,
                n_competing,
                n_kept: survivors.len(),
                p_accept: survivors.len() as f64 / n_in as f64,
                nats,
            });
            *members = survivors;
        }
        outcomes.push(StageOutcome {
            stage: stage.clone(),
            per_prompt,
        });
    }
    (fates, outcomes)
}

fn best_index(scores: &[Option<f64>]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (j, s) in scores.iter().enumerate() {
        if let Some(v) = s {
            if best.is_none_or(|(_, b)| *v > b) {
                best = Some((j, *v));
            }
        }
    }
    best.map(|(j, _)| j)
}
