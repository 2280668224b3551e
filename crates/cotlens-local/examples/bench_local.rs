//! Benchmark of the local backend through the public `Backend` API (bench/local-backend.sh runs
//! it beside llama.cpp's own llama-batched-bench on the same GGUF and thread count).
//!
//! Usage: bench_local MODEL.gguf THREADS PROMPT_TOKENS GEN_TOKENS PARALLEL...
//! Prints one JSON line per measurement: prefill tokens/s (single stream) and aggregate decode
//! tokens/s with each number of parallel sequences.

use cotlens_core::types::{ChatRequest, Message, Sampling};
use cotlens_core::Backend;
use cotlens_local::{LocalBackend, LocalConfig};
use std::sync::Arc;
use std::time::Instant;

/// The same text as bench/reference/batched_ref.cpp: about 10 tokens per sentence, then a request
/// that makes the model write (so that it does not stop at once).
fn prompt_of(tokens: usize) -> String {
    let mut text = String::new();
    for _ in 0..tokens / 10 {
        text.push_str("The old dragon flew over the quiet mountains. ");
    }
    text.push_str("Tell the rest of the story in detail.");
    text
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 6 {
        return Err(
            "usage: bench_local MODEL.gguf THREADS PROMPT_TOKENS GEN_TOKENS PARALLEL...".into(),
        );
    }
    let path = std::path::PathBuf::from(&args[1]);
    let threads: usize = args[2].parse()?;
    let prompt_tokens: usize = args[3].parse()?;
    let gen_tokens: u32 = args[4].parse()?;
    // boundary: a Vec of arguments, not text
    let parallels: Vec<usize> = args[5..]
        .iter()
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let max_parallel = parallels.iter().copied().max().unwrap_or(1);
    let config = LocalConfig {
        threads,
        parallel: max_parallel,
        context: (prompt_tokens as u32 + gen_tokens + 64).max(512),
        batch: 512,
        prefix_cache: false,
    };
    let backend = Arc::new(LocalBackend::load(&path, "bench", "bench", config)?);
    let request = |max_tokens: u32, seed: u64| ChatRequest {
        // A distinct first word per sequence, so that no sequence reuses another's prompt.
        messages: vec![Message::user(format!(
            "{seed}. {}",
            prompt_of(prompt_tokens)
        ))],
        assistant_prefix: None,
        sampling: Sampling {
            temperature: 0.0,
            top_p: None,
            seed: Some(seed),
            max_tokens,
            stop: Vec::new(),
        },
    };
    // Warm up.
    backend.chat(&request(8, 0)).await?;
    // Prefill: generate one token after the prompt; the time is the prompt's evaluation.
    let mut best = f64::MAX;
    let mut n_prompt = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let c = backend.chat(&request(1, 0)).await?;
        best = best.min(t.elapsed().as_secs_f64());
        n_prompt = c.usage.prompt_tokens;
    }
    println!(
        "{{\"measure\":\"prefill\",\"prompt_tokens\":{n_prompt},\"tokens_per_s\":{:.1}}}",
        n_prompt as f64 / best
    );
    for &p in &parallels {
        // Every sequence first evaluates its prompt (measured above); the rest is decoding.
        let t = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..p {
            let b = backend.clone();
            let r = request(gen_tokens, i as u64);
            tasks.push(tokio::spawn(async move { b.chat(&r).await }));
        }
        let mut generated = 0u64;
        for task in tasks {
            let c = task.await??;
            generated += c.usage.completion_tokens as u64;
        }
        let total = t.elapsed().as_secs_f64();
        let decode_time = (total - p as f64 * best).max(1e-9);
        println!(
            "{{\"measure\":\"decode\",\"parallel\":{p},\"generated_tokens\":{generated},\"wall_s\":{total:.3},\"decode_tokens_per_s\":{:.1}}}",
            generated as f64 / decode_time
        );
    }
    Ok(())
}
