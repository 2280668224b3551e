//! `cotlens legibility`: legibility and drift of reasoning language (docs/protocols.md §5), per trace
//! and per corpus, against the reference lexicon and a `--baseline` corpus (docs/legibility.md).

pub mod perplexity;

use crate::args::{EngineArgs, ModelArgs};
use crate::error::bad_input;
use crate::model::ResolvedModel;
use crate::printer::Printer;
use crate::protocol::Protocol;
use crate::session::Manifest;
use crate::store::write_json_atomic;
use cotlens_core::legibility::input::{for_each_text, TextField};
use cotlens_core::legibility::{rising_words, Lexicon, Reference, RisingWord, Scanner, TraceStats};
use cotlens_core::stats::{mean_interval, Estimate};
use perplexity::Perplexity;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, clap::Args)]
pub struct LegibilityArgs {
    /// Texts to measure: jsonl:PATH (traces, docs/traces.md), run:DIR (a cotlens run's
    /// records, e.g. `cotlens sample`), or a plain path (a file is JSONL, a directory a run).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// A baseline corpus (same forms) to compare with: before/after, or two checkpoints. Repeatable.
    #[arg(long, value_name = "INPUT")]
    pub baseline: Vec<String>,
    /// Which text to measure: the reasoning (`reasoning` or `cot` fields) or the final output.
    #[arg(long, value_enum, default_value_t = FieldArg::Cot)]
    pub field: FieldArg,
    /// Reference lexicon: word<TAB>per_million lines (default: built-in English, SymSpell's Google Books counts, MIT).
    #[arg(long, value_name = "FILE")]
    pub lexicon: Option<PathBuf>,
    /// Rising words to list.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Ignore words seen fewer times than this in the rising-word lists.
    #[arg(long, default_value_t = 3)]
    pub min_count: u64,
    /// Keep the words of the inputs' own prompts (messages, prompt, question fields) in the
    /// rising-word lists; by default they are left out, since a CoT is expected to use them.
    #[arg(long)]
    pub include_prompt_words: bool,
    /// Also measure perplexity of each text under --model (default: the embedded model).
    #[arg(long)]
    pub perplexity: bool,
    /// Perplexity reads at most this many characters of each text (to fit the context).
    #[arg(long, default_value_t = 3000)]
    pub perplexity_max_chars: usize,
    /// Write manifest.json, records.jsonl (one line per trace) and summary.json here.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FieldArg {
    Cot,
    Output,
}

/// One corpus, summarized.
#[derive(Debug, Clone, Serialize)]
pub struct CorpusSummary {
    pub inputs: Vec<String>,
    pub traces: usize,
    pub empty_traces: usize,
    pub bytes: u64,
    pub words: u64,
    /// Pooled over words.
    pub oov_share: f64,
    /// Pooled over letters.
    pub foreign_script_share: f64,
    pub script_shares: BTreeMap<&'static str, f64>,
    /// Pooled over 4-grams.
    pub repetition: f64,
    pub compression_ratio: f64,
    /// Means over traces with a 95% normal-approximation interval (n = traces).
    pub mean_oov_share: Option<Estimate>,
    pub mean_foreign_script_share: Option<Estimate>,
    pub mean_repetition: Option<Estimate>,
    pub mean_compression_ratio: Option<Estimate>,
    pub mean_legibility: Option<Estimate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_perplexity: Option<Estimate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub perplexity_n: Option<usize>,
}

#[derive(Default)]
struct PerTrace {
    oov: Vec<f64>,
    foreign: Vec<f64>,
    rep: Vec<f64>,
    compression: Vec<f64>,
    legibility: Vec<f64>,
}

impl PerTrace {
    fn push(&mut self, t: &TraceStats) {
        self.oov.push(t.oov_share);
        self.foreign.push(t.foreign_script_share);
        self.rep.push(t.repetition);
        self.compression.push(t.compression_ratio);
        self.legibility.push(t.legibility);
    }
}

/// `jsonl:PATH`, `run:DIR` or a plain path → the JSONL file to read.
pub fn input_path(spec: &str) -> anyhow::Result<PathBuf> {
    let (kind, path) = match spec.split_once(':') {
        Some((k @ ("jsonl" | "run"), p)) => (k, PathBuf::from(p)),
        _ => {
            let p = PathBuf::from(spec);
            (if p.is_dir() { "run" } else { "jsonl" }, p)
        }
    };
    let file = if kind == "run" {
        path.join(crate::store::RECORDS)
    } else {
        path
    };
    if !file.is_file() {
        return Err(bad_input(format!(
            "{spec}: no such file ({})",
            file.display()
        )));
    }
    Ok(file)
}

fn summarize(inputs: &[String], s: &Scanner, per: &PerTrace, ppl: &[f64]) -> CorpusSummary {
    let t = s.totals();
    let letters: u64 = t.letters.values().sum();
    let dominant = t.letters.values().copied().max().unwrap_or(0);
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    CorpusSummary {
        inputs: inputs.to_vec(),
        traces: t.traces,
        empty_traces: t.empty_traces,
        bytes: t.bytes,
        words: t.words,
        oov_share: ratio(t.oov_words, t.words),
        foreign_script_share: if letters == 0 {
            0.0
        } else {
            1.0 - ratio(dominant, letters)
        },
        script_shares: t
            .letters
            .iter()
            .map(|(k, v)| (*k, ratio(*v, letters)))
            .collect(),
        repetition: ratio(t.repeated_ngrams, t.ngrams),
        compression_ratio: if t.compressed_bytes == 0 {
            1.0
        } else {
            ratio(t.bytes, t.compressed_bytes)
        },
        mean_oov_share: mean_interval(&per.oov),
        mean_foreign_script_share: mean_interval(&per.foreign),
        mean_repetition: mean_interval(&per.rep),
        mean_compression_ratio: mean_interval(&per.compression),
        mean_legibility: mean_interval(&per.legibility),
        mean_perplexity: mean_interval(ppl),
        perplexity_n: (!ppl.is_empty()).then_some(ppl.len()),
    }
}

#[derive(Serialize)]
struct TraceRecord<'a> {
    key: String,
    id: &'a str,
    input: &'a str,
    #[serde(flatten)]
    stats: &'a TraceStats,
    #[serde(skip_serializing_if = "Option::is_none")]
    perplexity: Option<f64>,
}

/// records.jsonl written to a temporary file and renamed into place at the end.
struct RecordWriter {
    out: std::io::BufWriter<tempfile::NamedTempFile>,
    path: PathBuf,
}

impl RecordWriter {
    fn new(dir: &Path) -> anyhow::Result<Self> {
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-records")
            .tempfile_in(dir)?;
        Ok(Self {
            out: std::io::BufWriter::with_capacity(1 << 20, tmp),
            path: dir.join(crate::store::RECORDS),
        })
    }
    fn write(&mut self, rec: &TraceRecord) -> anyhow::Result<()> {
        use std::io::Write;
        serde_json::to_writer(&mut self.out, rec)?;
        self.out.write_all(b"\n")?;
        Ok(())
    }
    fn finish(self) -> anyhow::Result<()> {
        let tmp = self.out.into_inner().map_err(|e| e.into_error())?;
        tmp.as_file().sync_all()?;
        tmp.persist(&self.path)?;
        Ok(())
    }
}

/// `cotlens legibility`. A run that fails (a bad line in an input, found while streaming) leaves
/// nothing behind: the `--out` folder is removed if this run created it, or emptied again if it
/// was an empty folder, so the next run is not blocked by a half-written one.
pub async fn run(args: LegibilityArgs, printer: Printer) -> anyhow::Result<()> {
    let out = args.out.clone();
    let existed = out.as_ref().is_some_and(|d| d.exists());
    let result = measure(args, printer).await;
    if let (Err(_), Some(dir)) = (&result, &out) {
        // `check_new_run_dir` let the run start only in a new or empty folder.
        if dir.join(crate::store::MANIFEST).exists() {
            if existed {
                for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                    let _ = std::fs::remove_file(entry.path());
                }
            } else {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
    result
}

async fn measure(args: LegibilityArgs, printer: Printer) -> anyhow::Result<()> {
    let field = match args.field {
        FieldArg::Cot => TextField::Cot,
        FieldArg::Output => TextField::Output,
    };
    let owned;
    let lexicon: &Lexicon = match &args.lexicon {
        None => Lexicon::builtin(),
        Some(p) => {
            let text = cotlens_core::read::read_text(p)?;
            // A word listed twice has two frequencies: which one holds?
            let mut words = std::collections::HashMap::new();
            for (i, line) in text.lines().enumerate() {
                if let Some((w, _)) = line.split_once('\t') {
                    let w = w.trim().to_lowercase();
                    if !w.is_empty() && !w.starts_with('#') {
                        if let Some(first) = words.insert(w.clone(), i + 1) {
                            return Err(bad_input(format!(
                                "{}:{}: field `word`: {w:?} is listed twice (first on line {first})",
                                p.display(),
                                i + 1
                            )));
                        }
                    }
                }
            }
            owned = Lexicon::parse(&text, &p.display().to_string()).map_err(|(line, m)| {
                bad_input(format!(
                    "{}:{line}: field `word`/`per_million`: {m}",
                    p.display()
                ))
            })?;
            &owned
        }
    };
    let resolve = |specs: &[String]| -> anyhow::Result<Vec<(String, PathBuf)>> {
        specs
            .iter()
            .map(|s| Ok((s.clone(), input_path(s)?)))
            .collect()
    };
    let (files, base_files) = (resolve(&args.inputs)?, resolve(&args.baseline)?);
    let perplexity = match args.perplexity {
        true => Some(
            Perplexity::open(
                &ResolvedModel::new(&args.model, &args.engine, printer)?,
                args.perplexity_max_chars,
            )
            .await?,
        ),
        false => None,
    };
    if let Some(dir) = &args.out {
        crate::store::check_new_run_dir(dir)?;
        std::fs::create_dir_all(dir)?;
        write_json_atomic(
            &dir.join(crate::store::MANIFEST),
            &Manifest::new(Protocol::Legibility)
                .with("version", cotlens_core::legibility::LEGIBILITY_VERSION)
                .with("inputs", &args.inputs)
                .with("baseline", &args.baseline)
                .with("field", field)
                .with(
                    "lexicon",
                    serde_json::json!({"origin": lexicon.origin, "words": lexicon.len()}),
                )
                .with("perplexity", perplexity.as_ref().map(|p| p.manifest()))
                .with("top", args.top)
                .with("min_count", args.min_count)
                .with("include_prompt_words", args.include_prompt_words)
                .to_value()?,
        )?;
    }
    // The corpus: measured in one streaming pass; records written as they come (without
    // perplexity) or after the perplexity pass.
    let mut writer = match (&args.out, &perplexity) {
        (Some(dir), None) => Some(RecordWriter::new(dir)?),
        _ => None,
    };
    let mut corpus = Scanner::new(lexicon);
    let mut per = PerTrace::default();
    let mut texts: Vec<(String, String, String)> = Vec::new();
    let mut failure: Option<anyhow::Error> = None;
    let mut ids: std::collections::HashSet<String> = std::collections::HashSet::new();
    for (spec, path) in &files {
        let n = for_each_text(path, field, |id, text| {
            // Records are keyed by input and id: one id twice would count one trace twice.
            if !ids.insert(format!("{}|{id}", path.display())) && failure.is_none() {
                failure = Some(bad_input(format!(
                    "{}: field `id`: trace id {id:?} appears twice (or the file is given twice)",
                    path.display()
                )));
            }
            let stats = corpus.scan(text);
            per.push(&stats);
            if let Some(w) = writer.as_mut() {
                let rec = TraceRecord {
                    key: format!("{spec}|{id}"),
                    id,
                    input: spec,
                    stats: &stats,
                    perplexity: None,
                };
                if let Err(e) = w.write(&rec) {
                    failure.get_or_insert(e);
                }
            }
            if perplexity.is_some() {
                texts.push((spec.clone(), id.to_string(), text.to_string()));
            }
        })?;
        if n == 0 {
            return Err(bad_input(format!(
                "{}: no traces in this input (the file is empty); nothing to measure",
                path.display()
            )));
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    if let Some(w) = writer {
        w.finish()?;
    }
    let mut ppl_values = Vec::new();
    if let Some(p) = &perplexity {
        let values = p
            .measure(texts.iter().map(|t| t.2.as_str()), printer)
            .await?;
        if let Some(dir) = &args.out {
            let mut w = RecordWriter::new(dir)?;
            let mut rescan = Scanner::new(lexicon);
            for ((spec, id, text), v) in texts.iter().zip(&values) {
                let stats = rescan.scan(text);
                w.write(&TraceRecord {
                    key: format!("{spec}|{id}"),
                    id,
                    input: spec,
                    stats: &stats,
                    perplexity: *v,
                })?;
            }
            w.finish()?;
        }
        ppl_values = values.into_iter().flatten().collect();
    }
    let corpus_summary = summarize(&args.inputs, &corpus, &per, &ppl_values);
    // The prompts' own words (option letters, the question's words) are expected in a CoT.
    let mut prompt_words = std::collections::HashSet::new();
    if !args.include_prompt_words {
        for (_, path) in &files {
            cotlens_core::legibility::input::for_each_prompt(path, |t| {
                cotlens_core::legibility::words_of(t, &mut prompt_words)
            })?;
        }
    }
    let vs_reference = rising_words(
        corpus.counts(),
        &Reference::Lexicon(lexicon),
        args.top,
        args.min_count,
        &prompt_words,
    );
    let (baseline_summary, vs_baseline) = if base_files.is_empty() {
        (None, Vec::new())
    } else {
        let mut base = Scanner::new(lexicon);
        let mut base_per = PerTrace::default();
        for (_, path) in &base_files {
            for_each_text(path, field, |_, text| base_per.push(&base.scan(text)))?;
        }
        let rising = rising_words(
            corpus.counts(),
            &Reference::Corpus(base.counts()),
            args.top,
            args.min_count,
            &prompt_words,
        );
        (
            Some(summarize(&args.baseline, &base, &base_per, &[])),
            rising,
        )
    };
    let comparison = baseline_summary
        .as_ref()
        .map(|b| compare(&corpus_summary, b));
    let summary = serde_json::json!({
        "protocol": "legibility",
        "version": cotlens_core::legibility::LEGIBILITY_VERSION,
        "field": field,
        "lexicon": lexicon.origin,
        "corpus": corpus_summary,
        "baseline": baseline_summary,
        "rising_vs_reference": vs_reference,
        "prompt_words_excluded": (!args.include_prompt_words).then_some(prompt_words.len()),
        "rising_vs_baseline": vs_baseline,
        "comparison": comparison,
    });
    if let Some(dir) = &args.out {
        write_json_atomic(&dir.join(crate::store::SUMMARY), &summary)?;
        crate::report::after_run(dir, crate::report::sections::legibility, printer);
    }
    printer.result(args.json, &summary, || {
        render(
            &corpus_summary,
            baseline_summary.as_ref(),
            &vs_reference,
            &vs_baseline,
            args.out.as_deref(),
        )
    })
}

fn est(e: &Option<Estimate>, pct: bool) -> String {
    match e {
        None => "-".into(),
        Some(e) if pct => format!(
            "{:.2}% [{:.2}, {:.2}]",
            e.value * 100.0,
            e.ci_low * 100.0,
            e.ci_high * 100.0
        ),
        Some(e) => format!("{:.3} [{:.3}, {:.3}]", e.value, e.ci_low, e.ci_high),
    }
}

/// Before/after: per metric, corpus mean − baseline mean with a 95% interval.
fn compare(c: &CorpusSummary, b: &CorpusSummary) -> BTreeMap<&'static str, Estimate> {
    let pairs = [
        ("legibility", &c.mean_legibility, &b.mean_legibility),
        ("oov_share", &c.mean_oov_share, &b.mean_oov_share),
        (
            "foreign_script_share",
            &c.mean_foreign_script_share,
            &b.mean_foreign_script_share,
        ),
        ("repetition", &c.mean_repetition, &b.mean_repetition),
        (
            "compression_ratio",
            &c.mean_compression_ratio,
            &b.mean_compression_ratio,
        ),
    ];
    pairs
        .into_iter()
        .filter_map(|(k, x, y)| {
            Some((
                k,
                cotlens_core::stats::difference_of_means(x.as_ref()?, y.as_ref()?),
            ))
        })
        .collect()
}

fn render(
    c: &CorpusSummary,
    b: Option<&CorpusSummary>,
    vs_ref: &[RisingWord],
    vs_base: &[RisingWord],
    out: Option<&Path>,
) -> String {
    let mut s = String::new();
    let mut rows = vec![("corpus", c)];
    if let Some(b) = b {
        rows.push(("baseline", b));
    }
    s.push_str("legibility/2 (means over traces, 95% intervals)\n");
    for (name, x) in &rows {
        s.push_str(&format!(
            "{name:<9} traces {} (empty {}), words {}\n  legibility {}\n  oov words  {}\n  foreign script {}\n  repeated 4-grams {}\n  compression ratio {}\n",
            x.traces, x.empty_traces, x.words,
            est(&x.mean_legibility, false), est(&x.mean_oov_share, true),
            est(&x.mean_foreign_script_share, true), est(&x.mean_repetition, true),
            est(&x.mean_compression_ratio, false),
        ));
        if let Some(p) = &x.mean_perplexity {
            s.push_str(&format!(
                "  perplexity {} (n = {})\n",
                est(&Some(*p), false),
                x.perplexity_n.unwrap_or(0)
            ));
        }
    }
    if let Some(b) = b {
        s.push_str("change, corpus − baseline (95% intervals)\n");
        for (k, d) in compare(c, b) {
            s.push_str(&format!(
                "  {k:<22} {:+.4} [{:+.4}, {:+.4}]\n",
                d.value, d.ci_low, d.ci_high
            ));
        }
    }
    let table = |title: &str, words: &[RisingWord], s: &mut String| {
        if words.is_empty() {
            return;
        }
        s.push_str(&format!(
            "\n{title}\n  {:<20} {:>8} {:>12} {:>12} {:>9} {:>9}\n",
            "word", "count", "per million", "reference", "ratio", "KL bits"
        ));
        for w in words {
            s.push_str(&format!(
                "  {:<20} {:>8} {:>12.1} {:>12.2} {:>9.1} {:>9.5}\n",
                w.word, w.count, w.per_million, w.reference_per_million, w.ratio, w.kl_bits
            ));
        }
    };
    table("words whose use rose most vs the baseline", vs_base, &mut s);
    table(
        "words whose use rose most vs the reference lexicon",
        vs_ref,
        &mut s,
    );
    if let Some(o) = out {
        s.push_str(&format!("\nrun directory: {}\n", o.display()));
    }
    s
}
