//! The selection pipeline file (TOML; docs/selection.md): scorers, stages and budgets.
//!
//! ```toml
//! [[scorer]]
//! name = "correct"
//! type = "correctness"           # correctness | spec-judge | legibility | monitor | length
//!
//! [[scorer]]
//! name = "suspicion"
//! type = "monitor"
//! monitor = "rules"              # rules, or an LLM monitor: reward-hacking, sabotage, spec-violation
//! view = "cot"                   # the fields it sees follow from the view
//!
//! [[stage]]
//! policy = "threshold"           # threshold | best-of-n | top-k
//! scorer = "correct"
//! min = 1.0
//!
//! [[stage]]
//! policy = "best-of-n"
//! weights = { suspicion = -1.0 }
//!
//! [budget]
//! max_cot_bits_per_prompt = 2.0
//! ```
//!
//! Every error names the file, the line and the field.

use crate::datasets::{line_of, DatasetError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

pub const PIPELINE_FORMAT_VERSION: u32 = 1;

/// What a scorer reads of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Cot,
    Output,
    Action,
}

impl Field {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "cot" => Some(Self::Cot),
            "output" => Some(Self::Output),
            "action" => Some(Self::Action),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScorerKind {
    /// 1 when the answer matches the gold answer, else 0 (no gold: unscored).
    Correctness,
    /// An LLM judge (template spec-reasoning/1) scores how far the CoT reasons about the spec.
    SpecJudge,
    /// legibility/2 of the chosen fields (cotlens legibility).
    Legibility,
    /// A monitor's suspicion score in [0, 1] under a view.
    Monitor,
    /// Length in words of the chosen fields.
    Length,
}

impl ScorerKind {
    const NAMES: &'static str = "correctness, spec-judge, legibility, monitor, length";
    fn parse(s: &str) -> Option<Self> {
        match s {
            "correctness" => Some(Self::Correctness),
            "spec-judge" => Some(Self::SpecJudge),
            "legibility" => Some(Self::Legibility),
            "monitor" => Some(Self::Monitor),
            "length" => Some(Self::Length),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScorerSpec {
    pub name: String,
    pub kind: ScorerKind,
    pub fields: Vec<Field>,
    /// Model spec for spec-judge and LLM monitors (default: --judge-model).
    pub model: Option<String>,
    /// For `monitor`: `rules` or an LLM monitor name.
    pub monitor: Option<String>,
    /// For `monitor`: the view (action, cot, cot+action, hybrid:W).
    pub view: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "policy", rename_all = "kebab-case")]
pub enum Policy {
    /// Keep every candidate whose score is within [min, max].
    Threshold { min: Option<f64>, max: Option<f64> },
    /// Keep the best candidate of the first `n` (default: all) per prompt.
    BestOfN { n: Option<usize> },
    /// Keep the k best candidates per prompt.
    TopK { k: usize },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageSpec {
    pub name: String,
    #[serde(flatten)]
    pub policy: Policy,
    /// The stage's score: Σ weight · scorer (one scorer with `scorer = "name"` is weight 1).
    pub weights: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Mean total pressure per kept prompt, in bits.
    #[serde(default)]
    pub max_bits_per_prompt: Option<f64>,
    /// Mean CoT-visible pressure per kept prompt, in bits.
    #[serde(default)]
    pub max_cot_bits_per_prompt: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Budget {
    /// Limits every domain must keep (unless it has its own).
    pub default: Limits,
    /// Largest share of domains that may carry CoT-visible pressure.
    pub max_domain_share: Option<f64>,
    pub domains: BTreeMap<String, Limits>,
}

impl Budget {
    pub fn limits_for(&self, domain: &str) -> Limits {
        let own = self.domains.get(domain).cloned().unwrap_or_default();
        Limits {
            max_bits_per_prompt: own.max_bits_per_prompt.or(self.default.max_bits_per_prompt),
            max_cot_bits_per_prompt: own
                .max_cot_bits_per_prompt
                .or(self.default.max_cot_bits_per_prompt),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Budget::default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pipeline {
    pub scorers: Vec<ScorerSpec>,
    pub stages: Vec<StageSpec>,
    pub budget: Budget,
}

impl Pipeline {
    pub fn scorer(&self, name: &str) -> Option<&ScorerSpec> {
        self.scorers.iter().find(|s| s.name == name)
    }

    /// The fields a stage's scorers see, sorted and deduplicated.
    pub fn fields_seen(&self, stage: &StageSpec) -> Vec<Field> {
        let mut f: Vec<Field> = stage
            .weights
            .keys()
            .filter_map(|n| self.scorer(n))
            .flat_map(|s| s.fields.iter().copied())
            .collect();
        f.sort();
        f.dedup();
        f
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    version: Option<Spanned<u32>>,
    #[serde(default)]
    scorer: Vec<RawScorer>,
    #[serde(default)]
    stage: Vec<RawStage>,
    #[serde(default)]
    budget: Option<RawBudget>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScorer {
    name: Spanned<String>,
    #[serde(rename = "type")]
    kind: Spanned<String>,
    #[serde(default)]
    fields: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    monitor: Option<Spanned<String>>,
    #[serde(default)]
    view: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    #[serde(default)]
    name: Option<Spanned<String>>,
    policy: Spanned<String>,
    #[serde(default)]
    scorer: Option<Spanned<String>>,
    #[serde(default)]
    weights: Option<Spanned<BTreeMap<Spanned<String>, f64>>>,
    #[serde(default)]
    min: Option<Spanned<f64>>,
    #[serde(default)]
    max: Option<Spanned<f64>>,
    #[serde(default)]
    n: Option<Spanned<i64>>,
    #[serde(default)]
    k: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBudget {
    #[serde(default)]
    max_bits_per_prompt: Option<Spanned<f64>>,
    #[serde(default)]
    max_cot_bits_per_prompt: Option<Spanned<f64>>,
    #[serde(default)]
    max_domain_share: Option<Spanned<f64>>,
    #[serde(default)]
    domain: BTreeMap<String, RawLimits>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    #[serde(default)]
    max_bits_per_prompt: Option<Spanned<f64>>,
    #[serde(default)]
    max_cot_bits_per_prompt: Option<Spanned<f64>>,
}

/// The monitor names a `monitor` scorer accepts besides `rules`.
pub const LLM_MONITORS: &[&str] = &["reward-hacking", "sabotage", "spec-violation"];

/// Parse and check a pipeline file. `origin` names the file in errors.
pub fn parse_pipeline(text: &str, origin: &Path) -> Result<Pipeline, DatasetError> {
    let err = |span: Range<usize>, field: &str, msg: String| {
        DatasetError::new(origin, Some(line_of(text, span.start)), Some(field), msg)
    };
    let text = crate::read::strip_bom(text);
    let raw: RawFile = crate::read::toml_text(origin, text)?;
    if let Some(v) = &raw.version {
        if *v.get_ref() != PIPELINE_FORMAT_VERSION {
            return Err(err(
                v.span(),
                "version",
                format!(
                    "unsupported pipeline version {} (this cotlens reads 1)",
                    v.get_ref()
                ),
            ));
        }
    }
    let mut scorers: Vec<ScorerSpec> = Vec::new();
    for s in raw.scorer {
        let name = s.name.get_ref().trim().to_string();
        if name.is_empty() {
            return Err(err(s.name.span(), "name", "empty scorer name".into()));
        }
        if scorers.iter().any(|o| o.name == name) {
            return Err(err(
                s.name.span(),
                "name",
                format!("scorer {name:?} defined twice"),
            ));
        }
        let kind = ScorerKind::parse(s.kind.get_ref()).ok_or_else(|| {
            err(
                s.kind.span(),
                "type",
                format!(
                    "unknown scorer type {:?}; use one of: {}",
                    s.kind.get_ref(),
                    ScorerKind::NAMES
                ),
            )
        })?;
        let mut fields = Vec::new();
        if let Some(list) = &s.fields {
            for f in list.get_ref() {
                let field = Field::parse(f.get_ref()).ok_or_else(|| {
                    err(
                        f.span(),
                        "fields",
                        format!("unknown field {:?}; use cot, output, action", f.get_ref()),
                    )
                })?;
                if !fields.contains(&field) {
                    fields.push(field);
                }
            }
            if fields.is_empty() {
                return Err(err(
                    list.span(),
                    "fields",
                    "a scorer must see some field".into(),
                ));
            }
        }
        let fields_span = s.fields.as_ref().map(|f| f.span()).unwrap_or(s.kind.span());
        let (mut monitor, mut view) = (None, None);
        match kind {
            ScorerKind::Correctness => {
                if fields.iter().any(|f| *f != Field::Output) {
                    return Err(err(
                        fields_span,
                        "fields",
                        "correctness reads the answer: fields = [\"output\"]".into(),
                    ));
                }
                fields = vec![Field::Output];
            }
            ScorerKind::SpecJudge => {
                if fields.is_empty() {
                    fields = vec![Field::Cot];
                }
                if !fields.contains(&Field::Cot) {
                    return Err(err(
                        fields_span,
                        "fields",
                        "spec-judge reads the CoT: fields must include \"cot\"".into(),
                    ));
                }
            }
            ScorerKind::Legibility | ScorerKind::Length => {
                if fields.is_empty() {
                    fields = vec![Field::Cot];
                }
            }
            ScorerKind::Monitor => {
                let m = s.monitor.as_ref().ok_or_else(|| {
                    err(
                        s.kind.span(),
                        "monitor",
                        "a monitor scorer needs monitor = \"rules\" (or an LLM monitor)".into(),
                    )
                })?;
                let mname = m.get_ref().as_str();
                if mname != "rules" && !LLM_MONITORS.contains(&mname) {
                    return Err(err(
                        m.span(),
                        "monitor",
                        format!(
                            "unknown monitor {mname:?}; use rules, {}",
                            LLM_MONITORS.join(", ")
                        ),
                    ));
                }
                let v = s
                    .view
                    .as_ref()
                    .map(|v| v.get_ref().as_str())
                    .unwrap_or("cot");
                let view_span = s.view.as_ref().map(|v| v.span()).unwrap_or(m.span());
                let parsed = crate::monitor::View::parse(v)
                    .map_err(|e| err(view_span.clone(), "view", e.to_string()))?;
                let derived = view_fields(&parsed);
                if !fields.is_empty() && fields != derived {
                    return Err(err(
                        fields_span,
                        "fields",
                        format!("a monitor's fields follow from its view ({v} sees {derived:?}); leave `fields` out"),
                    ));
                }
                fields = derived;
                monitor = Some(mname.to_string());
                view = Some(parsed.name());
            }
        }
        if kind != ScorerKind::Monitor {
            if let Some(m) = &s.monitor {
                return Err(err(
                    m.span(),
                    "monitor",
                    "only monitor scorers take `monitor`".into(),
                ));
            }
            if let Some(v) = &s.view {
                return Err(err(
                    v.span(),
                    "view",
                    "only monitor scorers take `view`".into(),
                ));
            }
        }
        scorers.push(ScorerSpec {
            name,
            kind,
            fields,
            model: s.model,
            monitor,
            view,
        });
    }
    let mut stages = Vec::new();
    for (i, st) in raw.stage.into_iter().enumerate() {
        let mut weights = BTreeMap::new();
        match (&st.scorer, &st.weights) {
            (Some(_), Some(w)) => {
                return Err(err(
                    w.span(),
                    "weights",
                    "give either `scorer` or `weights`, not both".into(),
                ))
            }
            (None, None) => {
                return Err(err(
                    st.policy.span(),
                    "scorer",
                    "a stage needs `scorer = \"name\"` or `weights = { name = w }`".into(),
                ))
            }
            (Some(s), None) => {
                check_scorer(&scorers, s, "scorer", &err)?;
                weights.insert(s.get_ref().clone(), 1.0);
            }
            (None, Some(w)) => {
                if w.get_ref().is_empty() {
                    return Err(err(w.span(), "weights", "empty weights".into()));
                }
                for (name, weight) in w.get_ref() {
                    check_scorer(&scorers, name, "weights", &err)?;
                    if !weight.is_finite() {
                        return Err(err(name.span(), "weights", "weights must be finite".into()));
                    }
                    weights.insert(name.get_ref().clone(), *weight);
                }
            }
        }
        let positive =
            |v: &Option<Spanned<i64>>, field: &str| -> Result<Option<usize>, DatasetError> {
                match v {
                    None => Ok(None),
                    Some(x) if *x.get_ref() >= 1 => Ok(Some(*x.get_ref() as usize)),
                    Some(x) => Err(err(x.span(), field, format!("{field} must be at least 1"))),
                }
            };
        let policy = match st.policy.get_ref().as_str() {
            "threshold" => {
                if st.min.is_none() && st.max.is_none() {
                    return Err(err(
                        st.policy.span(),
                        "min",
                        "a threshold stage needs `min` and/or `max`".into(),
                    ));
                }
                for (v, field) in [(&st.min, "min"), (&st.max, "max")] {
                    if let Some(v) = v.as_ref().filter(|v| v.get_ref().is_nan()) {
                        return Err(err(v.span(), field, "not a number (nan)".into()));
                    }
                }
                if let (Some(lo), Some(hi)) = (&st.min, &st.max) {
                    if lo.get_ref() > hi.get_ref() {
                        return Err(err(
                            lo.span(),
                            "min",
                            format!(
                                "min {} is above max {}: nothing could be kept",
                                lo.get_ref(),
                                hi.get_ref()
                            ),
                        ));
                    }
                }
                Policy::Threshold {
                    min: st.min.as_ref().map(|v| *v.get_ref()),
                    max: st.max.as_ref().map(|v| *v.get_ref()),
                }
            }
            "best-of-n" => Policy::BestOfN {
                n: positive(&st.n, "n")?,
            },
            "top-k" => Policy::TopK {
                k: positive(&st.k, "k")?
                    .ok_or_else(|| err(st.policy.span(), "k", "a top-k stage needs `k`".into()))?,
            },
            other => {
                return Err(err(
                    st.policy.span(),
                    "policy",
                    format!("unknown policy {other:?}; use threshold, best-of-n, top-k"),
                ))
            }
        };
        let unused = |v: &Option<Spanned<i64>>, field: &str, ok: bool| match v {
            Some(x) if !ok => Err(err(
                x.span(),
                field,
                format!("`{field}` does not apply to this policy"),
            )),
            _ => Ok(()),
        };
        unused(&st.n, "n", matches!(policy, Policy::BestOfN { .. }))?;
        unused(&st.k, "k", matches!(policy, Policy::TopK { .. }))?;
        if !matches!(policy, Policy::Threshold { .. }) {
            if let Some(v) = st.min.as_ref().or(st.max.as_ref()) {
                return Err(err(
                    v.span(),
                    if st.min.is_some() { "min" } else { "max" },
                    "`min`/`max` apply to threshold stages".into(),
                ));
            }
        }
        let name = match &st.name {
            Some(n) => {
                if stages.iter().any(|s: &StageSpec| s.name == *n.get_ref()) {
                    return Err(err(
                        n.span(),
                        "name",
                        format!(
                            "stage {:?} is named twice (the ledger keys stages by name)",
                            n.get_ref()
                        ),
                    ));
                }
                n.get_ref().clone()
            }
            None => format!("stage{}", i + 1),
        };
        stages.push(StageSpec {
            name,
            policy,
            weights,
        });
    }
    if stages.is_empty() {
        return Err(DatasetError::new(
            origin,
            None,
            Some("stage"),
            "the pipeline has no [[stage]]",
        ));
    }
    let budget = match raw.budget {
        None => Budget::default(),
        Some(b) => {
            if let Some(s) = &b.max_domain_share {
                if !(0.0..=1.0).contains(s.get_ref()) {
                    return Err(err(
                        s.span(),
                        "max_domain_share",
                        "a share is between 0 and 1".into(),
                    ));
                }
            }
            let bits = |v: &Option<Spanned<f64>>,
                        field: &str|
             -> Result<Option<f64>, DatasetError> {
                match v {
                        Some(x) if !x.get_ref().is_finite() || *x.get_ref() < 0.0 => Err(err(
                            x.span(),
                            field,
                            format!(
                                "{} is not a budget: bits are a finite number of at least 0 (leave the key out for no limit)",
                                x.get_ref()
                            ),
                        )),
                        Some(x) => Ok(Some(*x.get_ref())),
                        None => Ok(None),
                    }
            };
            let mut domains = BTreeMap::new();
            for (name, l) in &b.domain {
                domains.insert(
                    name.clone(),
                    Limits {
                        max_bits_per_prompt: bits(&l.max_bits_per_prompt, "max_bits_per_prompt")?,
                        max_cot_bits_per_prompt: bits(
                            &l.max_cot_bits_per_prompt,
                            "max_cot_bits_per_prompt",
                        )?,
                    },
                );
            }
            Budget {
                default: Limits {
                    max_bits_per_prompt: bits(&b.max_bits_per_prompt, "max_bits_per_prompt")?,
                    max_cot_bits_per_prompt: bits(
                        &b.max_cot_bits_per_prompt,
                        "max_cot_bits_per_prompt",
                    )?,
                },
                max_domain_share: b.max_domain_share.map(|s| *s.get_ref()),
                domains,
            }
        }
    };
    Ok(Pipeline {
        scorers,
        stages,
        budget,
    })
}

fn check_scorer(
    scorers: &[ScorerSpec],
    name: &Spanned<String>,
    field: &str,
    err: &impl Fn(Range<usize>, &str, String) -> DatasetError,
) -> Result<(), DatasetError> {
    if scorers.iter().any(|s| s.name == *name.get_ref()) {
        Ok(())
    } else {
        let known: Vec<&str> = scorers.iter().map(|s| s.name.as_str()).collect();
        Err(err(
            name.span(),
            field,
            format!(
                "unknown scorer {:?} (defined: {})",
                name.get_ref(),
                known.join(", ")
            ),
        ))
    }
}

/// The fields a monitor view shows (samples' actions are their outputs).
pub fn view_fields(view: &crate::monitor::View) -> Vec<Field> {
    use crate::monitor::trace::BaseView;
    match view {
        crate::monitor::View::Base(BaseView::Cot) => vec![Field::Cot],
        crate::monitor::View::Base(BaseView::Action) => vec![Field::Output, Field::Action],
        _ => vec![Field::Cot, Field::Output, Field::Action],
    }
}
