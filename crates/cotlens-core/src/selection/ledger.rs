//! The pressure ledger (docs/protocols.md §4): per stage, what the selector saw and how much
//! optimization pressure it put on the data, in nats and bits; totals against the base policy,
//! CoT-visible apart from outcome-only, per domain, checked against budgets, with warnings that
//! carry the advice of the seed papers.

use super::pipeline::{Budget, Field, Limits, Pipeline, Policy, ScorerKind, StageSpec};
use super::pressure::bits;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub const LEDGER_VERSION: &str = "ledger/1";

/// One prompt's passage through one stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptStage {
    pub prompt_id: String,
    pub domain: String,
    /// Candidates that reached the stage.
    pub n_in: usize,
    /// Candidates the stage chose among (best-of-n with `n`: the first n).
    pub n_pool: usize,
    /// Of the pool, those with a score: the candidates actually competing. Best-of-n and top-k
    /// pressure is computed over these; unscored candidates are never kept.
    pub n_competing: usize,
    pub n_kept: usize,
    pub p_accept: f64,
    /// Pressure on this prompt (None: nothing kept, the prompt is dropped).
    pub nats: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StageOutcome {
    pub stage: StageSpec,
    pub per_prompt: Vec<PromptStage>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SelectorScorer {
    pub scorer: String,
    #[serde(rename = "type")]
    pub kind: ScorerKind,
    pub weight: f64,
    pub fields: Vec<Field>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub view: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageLedger {
    pub name: String,
    #[serde(flatten)]
    pub policy: Policy,
    pub selector: Vec<SelectorScorer>,
    pub fields_seen: Vec<Field>,
    /// Whether any selector read the CoT.
    pub cot_visible: bool,
    pub prompts_in: usize,
    pub prompts_dropped: usize,
    pub candidates_in: usize,
    pub candidates_kept: usize,
    /// Candidates of the stages' pools without a score (never kept; not counted as competing).
    pub candidates_unscored: usize,
    pub mean_p_accept: f64,
    pub n_min: usize,
    pub n_max: usize,
    /// Mean over the prompts this stage kept something of.
    pub nats_per_prompt: f64,
    pub bits_per_prompt: f64,
    /// Mean over the prompts kept so far of the pressure of all stages up to this one.
    pub cumulative_bits_per_prompt: f64,
    pub per_prompt: Vec<PromptStage>,
}

/// Pressure totals for all prompts or one domain. Per-prompt means are over the kept prompts;
/// `prompt_drop_bits` (−log2 of the share of prompts kept) is the selection dropping prompts
/// puts on the prompt distribution, split into drops by CoT-visible stages (counted first) and
/// the rest.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    pub prompts: usize,
    pub prompts_kept: usize,
    pub prompts_dropped: usize,
    pub nats_per_prompt: f64,
    pub bits_per_prompt: f64,
    pub cot_visible_bits_per_prompt: f64,
    pub outcome_only_bits_per_prompt: f64,
    pub prompt_drop_bits: f64,
    pub prompt_drop_cot_bits: f64,
    /// bits_per_prompt + prompt_drop_bits: what budgets are checked against.
    pub total_bits: f64,
    /// cot_visible_bits_per_prompt + prompt_drop_cot_bits.
    pub total_cot_bits: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DomainLedger {
    #[serde(flatten)]
    pub totals: Totals,
    pub limits: Limits,
    pub violations: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SelectorMonitor {
    pub scorer: String,
    pub monitor: String,
    pub view: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetReport {
    pub limits: Budget,
    pub domains_total: usize,
    pub domains_with_cot_pressure: usize,
    pub violations: Vec<String>,
    /// `--allow-over-budget` was given.
    pub allowed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ledger {
    pub version: &'static str,
    pub formulas: BTreeMap<&'static str, &'static str>,
    pub stages: Vec<StageLedger>,
    pub totals: Totals,
    pub domains: BTreeMap<String, DomainLedger>,
    pub budget: BudgetReport,
    pub selector_monitors: Vec<SelectorMonitor>,
    pub warnings: Vec<String>,
}

fn mean(v: impl IntoIterator<Item = f64>) -> f64 {
    let (mut s, mut n) = (0.0, 0usize);
    for x in v {
        s += x;
        n += 1;
    }
    if n == 0 {
        0.0
    } else {
        s / n as f64
    }
}

/// Per prompt, over all stages: (domain, kept, stage nats, CoT-visible nats, dropped by a
/// CoT-visible stage).
struct PromptPath {
    domain: String,
    kept: bool,
    nats: f64,
    cot_nats: f64,
    dropped_by_cot: bool,
}

fn totals<'a>(paths: impl Iterator<Item = &'a PromptPath>) -> Totals {
    let paths: Vec<&PromptPath> = paths.collect();
    let kept: Vec<&&PromptPath> = paths.iter().filter(|p| p.kept).collect();
    let prompts = paths.len();
    let dropped_cot = paths.iter().filter(|p| !p.kept && p.dropped_by_cot).count();
    let nats = mean(kept.iter().map(|p| p.nats));
    let cot = bits(mean(kept.iter().map(|p| p.cot_nats)));
    // Every prompt dropped: the selection's pressure on the prompt distribution is unbounded
    // (infinite; null in JSON).
    let drop_bits = |survivors: usize| {
        if prompts == 0 {
            0.0
        } else if survivors == 0 {
            f64::INFINITY
        } else {
            -(survivors as f64 / prompts as f64).log2()
        }
    };
    let prompt_drop_bits = drop_bits(kept.len());
    let prompt_drop_cot_bits = drop_bits(prompts - dropped_cot).min(prompt_drop_bits);
    Totals {
        prompts,
        prompts_kept: kept.len(),
        prompts_dropped: prompts - kept.len(),
        nats_per_prompt: nats,
        bits_per_prompt: bits(nats),
        cot_visible_bits_per_prompt: cot,
        outcome_only_bits_per_prompt: bits(nats) - cot,
        prompt_drop_bits,
        prompt_drop_cot_bits,
        total_bits: bits(nats) + prompt_drop_bits,
        total_cot_bits: cot + prompt_drop_cot_bits,
    }
}

/// Build the ledger from the stages' outcomes; `allow_over_budget` only changes what
/// [`Ledger::over_budget`] means to the caller (violations are recorded either way).
pub fn build_ledger(
    pipeline: &Pipeline,
    outcomes: &[StageOutcome],
    allow_over_budget: bool,
) -> Ledger {
    let mut paths: BTreeMap<String, PromptPath> = BTreeMap::new();
    let mut stages = Vec::new();
    for (si, o) in outcomes.iter().enumerate() {
        let fields = pipeline.fields_seen(&o.stage);
        let cot_visible = fields.contains(&Field::Cot);
        for p in &o.per_prompt {
            let path = paths.entry(p.prompt_id.clone()).or_insert(PromptPath {
                domain: p.domain.clone(),
                kept: true,
                nats: 0.0,
                cot_nats: 0.0,
                dropped_by_cot: false,
            });
            match p.nats {
                Some(n) => {
                    path.nats += n;
                    if cot_visible {
                        path.cot_nats += n;
                    }
                }
                None => {
                    path.kept = false;
                    path.dropped_by_cot = cot_visible;
                }
            }
        }
        let kept_here: Vec<&PromptStage> =
            o.per_prompt.iter().filter(|p| p.nats.is_some()).collect();
        let nats = mean(kept_here.iter().filter_map(|p| p.nats));
        // Cumulative: prompts still alive after this stage, all stages so far.
        let cumulative = {
            let alive: Vec<f64> = kept_here
                .iter()
                .map(|p| {
                    outcomes[..=si]
                        .iter()
                        .filter_map(|o2| {
                            o2.per_prompt
                                .iter()
                                .find(|q| q.prompt_id == p.prompt_id)
                                .and_then(|q| q.nats)
                        })
                        .sum()
                })
                .collect();
            bits(mean(alive))
        };
        let selector = o
            .stage
            .weights
            .iter()
            .filter_map(|(name, w)| {
                pipeline.scorer(name).map(|s| SelectorScorer {
                    scorer: s.name.clone(),
                    kind: s.kind,
                    weight: *w,
                    fields: s.fields.clone(),
                    monitor: s.monitor.clone(),
                    view: s.view.clone(),
                })
            })
            .collect();
        stages.push(StageLedger {
            name: o.stage.name.clone(),
            policy: o.stage.policy.clone(),
            selector,
            fields_seen: fields,
            cot_visible,
            prompts_in: o.per_prompt.len(),
            prompts_dropped: o.per_prompt.len() - kept_here.len(),
            candidates_in: o.per_prompt.iter().map(|p| p.n_in).sum(),
            candidates_kept: o.per_prompt.iter().map(|p| p.n_kept).sum(),
            candidates_unscored: o.per_prompt.iter().map(|p| p.n_pool - p.n_competing).sum(),
            mean_p_accept: mean(o.per_prompt.iter().map(|p| p.p_accept)),
            n_min: o.per_prompt.iter().map(|p| p.n_pool).min().unwrap_or(0),
            n_max: o.per_prompt.iter().map(|p| p.n_pool).max().unwrap_or(0),
            nats_per_prompt: nats,
            bits_per_prompt: bits(nats),
            cumulative_bits_per_prompt: cumulative,
            per_prompt: o.per_prompt.clone(),
        });
    }
    let all = totals(paths.values());
    let domain_names: BTreeSet<&str> = paths.values().map(|p| p.domain.as_str()).collect();
    let budget = &pipeline.budget;
    let mut violations = Vec::new();
    let mut domains = BTreeMap::new();
    for d in &domain_names {
        let t = totals(paths.values().filter(|p| p.domain == *d));
        let limits = budget.limits_for(d);
        let mut v = Vec::new();
        // A domain with nothing kept contributes no training data: no per-prompt budget applies.
        let limits_apply = t.prompts_kept > 0;
        if let Some(max) = limits.max_bits_per_prompt.filter(|_| limits_apply) {
            if t.total_bits > max + 1e-12 {
                v.push(format!(
                    "domain {d:?}: {:.3} bits per prompt > budget {max}",
                    t.total_bits
                ));
            }
        }
        if let Some(max) = limits.max_cot_bits_per_prompt.filter(|_| limits_apply) {
            if t.total_cot_bits > max + 1e-12 {
                v.push(format!(
                    "domain {d:?}: {:.3} CoT-visible bits per prompt > budget {max}",
                    t.total_cot_bits
                ));
            }
        }
        violations.extend(v.iter().cloned());
        domains.insert(
            d.to_string(),
            DomainLedger {
                totals: t,
                limits,
                violations: v,
            },
        );
    }
    let with_cot = domains
        .values()
        .filter(|d| d.totals.total_cot_bits > 1e-12)
        .count();
    let share = if domains.is_empty() {
        0.0
    } else {
        with_cot as f64 / domains.len() as f64
    };
    if let Some(max) = budget.max_domain_share {
        if share > max + 1e-12 {
            violations.push(format!(
                "CoT-visible pressure touches {with_cot} of {} domains ({:.0}%) > max_domain_share {max}",
                domains.len(),
                share * 100.0
            ));
        }
    }
    let selector_monitors: Vec<SelectorMonitor> = pipeline
        .stages
        .iter()
        .flat_map(|s| s.weights.keys())
        .filter_map(|n| pipeline.scorer(n))
        .filter(|s| s.kind == ScorerKind::Monitor)
        .map(|s| SelectorMonitor {
            scorer: s.name.clone(),
            monitor: s.monitor.clone().unwrap_or_default(),
            view: s.view.clone().unwrap_or_default(),
        })
        .fold(Vec::new(), |mut acc, m| {
            if !acc.contains(&m) {
                acc.push(m);
            }
            acc
        });
    let mut ledger = Ledger {
        version: LEDGER_VERSION,
        formulas: BTreeMap::from([
            ("best-of-n", "log N − (N−1)/N per prompt (an upper bound; Beirami et al. 2024)"),
            ("threshold", "−log p_accept per prompt (exact)"),
            ("top-k", "KL of a uniform draw from the top k of N, ∫ f ln f with f(u) = (N/k)·P(Bin(N−1,u) ≥ N−k)"),
            ("stages", "summed per prompt (chain rule; an upper bound once best-of-n or top-k is involved)"),
            ("prompt_drop", "−log2(prompts kept / prompts), CoT-visible drops counted first"),
        ]),
        stages,
        totals: all,
        domains,
        budget: BudgetReport {
            limits: budget.clone(),
            domains_total: domain_names.len(),
            domains_with_cot_pressure: with_cot,
            violations,
            allowed: allow_over_budget,
        },
        selector_monitors,
        warnings: Vec::new(),
    };
    ledger.warnings = warnings(&ledger);
    ledger
}

impl Ledger {
    /// Over budget and not allowed: the run must fail.
    pub fn over_budget(&self) -> bool {
        !self.budget.violations.is_empty() && !self.budget.allowed
    }
}

const ADVICE: &str = "prefer selecting sampled traces to rewriting them; apply little pressure, in few domains, for what matters most; keep a held-out monitor";

fn warnings(l: &Ledger) -> Vec<String> {
    let mut w = Vec::new();
    for v in &l.budget.violations {
        w.push(format!("over budget: {v} ({ADVICE})"));
    }
    let (d, total) = (l.budget.domains_with_cot_pressure, l.budget.domains_total);
    if total >= 2 && d * 2 > total {
        w.push(format!(
            "CoT-visible pressure is spread over {d} of {total} domains: apply pressure in few domains, for what matters most"
        ));
    }
    if l.totals.total_cot_bits > 0.0
        && l.budget.limits.default.max_cot_bits_per_prompt.is_none()
        && l.budget
            .limits
            .domains
            .values()
            .all(|x| x.max_cot_bits_per_prompt.is_none())
    {
        w.push(format!(
            "{:.3} CoT-visible bits per prompt and no CoT budget set ([budget] max_cot_bits_per_prompt): optimization pressure on the CoT can teach obfuscation",
            l.totals.total_cot_bits
        ));
    }
    for m in &l.selector_monitors {
        w.push(format!(
            "monitor {:?} (view {}) selected these traces: do not evaluate them with it (cotlens monitor-eval refuses without --allow-contaminated); keep a held-out monitor",
            m.monitor, m.view
        ));
    }
    if l.totals.prompts_dropped > 0 {
        w.push(format!(
            "{} of {} prompts had nothing accepted and were dropped: {:.3} bits of selection on the prompt distribution",
            l.totals.prompts_dropped, l.totals.prompts, l.totals.prompt_drop_bits
        ));
    }
    w
}
