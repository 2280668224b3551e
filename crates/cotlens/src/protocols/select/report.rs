//! The terminal summary of a selection: stages, totals, domains, budgets, warnings.

use cotlens_core::selection::Ledger;
use std::path::Path;

pub fn render(l: &Ledger, candidates: usize, kept: usize, dir: &Path) -> String {
    let mut s = format!(
        "pressure ledger ({}): {} prompts, {} candidates → {} kept\n\n  {:<12} {:<10} {:<18} {:>4} {:>8} {:>8} {:>9} {:>11} {:>11}\n",
        l.version, l.totals.prompts, candidates, kept, "stage", "policy", "fields seen", "CoT", "prompts", "dropped", "p_accept", "bits/prompt", "cumulative"
    );
    for st in &l.stages {
        let policy = serde_json::to_value(&st.policy)
            .ok()
            .and_then(|v| v["policy"].as_str().map(str::to_string))
            .unwrap_or_default();
        let fields: Vec<String> = st
            .fields_seen
            .iter()
            .map(|f| format!("{f:?}").to_lowercase())
            .collect();
        s.push_str(&format!(
            "  {:<12} {:<10} {:<18} {:>4} {:>8} {:>8} {:>9.3} {:>11.3} {:>11.3}\n",
            st.name,
            policy,
            fields.join("+"),
            if st.cot_visible { "yes" } else { "no" },
            st.prompts_in,
            st.prompts_dropped,
            st.mean_p_accept,
            st.bits_per_prompt,
            st.cumulative_bits_per_prompt
        ));
    }
    let t = &l.totals;
    s.push_str(&format!(
        "\n  per kept prompt: {:.3} bits ({:.3} nats) = {:.3} CoT-visible + {:.3} outcome-only; prompt drops {:.3} bits ({} of {} prompts dropped)\n",
        t.bits_per_prompt, t.nats_per_prompt, t.cot_visible_bits_per_prompt, t.outcome_only_bits_per_prompt, t.prompt_drop_bits, t.prompts_dropped, t.prompts
    ));
    s.push_str(&format!(
        "  domains: {} ({} with CoT-visible pressure)\n",
        l.budget.domains_total, l.budget.domains_with_cot_pressure
    ));
    let mut domains: Vec<_> = l.domains.iter().collect();
    domains.sort_by(|a, b| b.1.totals.total_bits.total_cmp(&a.1.totals.total_bits));
    for (name, d) in domains.iter().take(10) {
        s.push_str(&format!(
            "    {:<32} prompts {:>4} kept {:>4}  {:.3} bits/prompt ({:.3} CoT-visible){}\n",
            name,
            d.totals.prompts,
            d.totals.prompts_kept,
            d.totals.total_bits,
            d.totals.total_cot_bits,
            if d.violations.is_empty() {
                ""
            } else {
                "  OVER BUDGET"
            }
        ));
    }
    if domains.len() > 10 {
        s.push_str(&format!(
            "    … {} more in ledger.json\n",
            domains.len() - 10
        ));
    }
    for w in &l.warnings {
        s.push_str(&format!("warning: {w}\n"));
    }
    s.push_str(&format!(
        "run directory: {} (sft.jsonl, selection.jsonl, ledger.json)\n",
        dir.display()
    ));
    s
}
