use super::*;

fn answered(prompt_tokens: Option<u64>, content: &str, top: Option<&[&str]>) -> Reply {
    Reply::Answered(Answer {
        prompt_tokens,
        content: content.into(),
        reasoning_field: None,
        top_tokens: top.map(|t| t.iter().map(|s| s.to_string()).collect()),
    })
}

/// Replies with prompt counts `c`, `g`, `k` (continued, unfinished, plain), the continued
/// reply saying `said`, and log-probabilities `top` on the continued turn.
fn observations(counts: [Option<u64>; 3], said: &str, top: Option<&[&str]>) -> Observations {
    Observations {
        continued: answered(counts[0], said, None),
        unfinished: answered(counts[1], "One", None),
        closed: answered(counts[2], "One", None),
        logprobs: answered(counts[0], said, top),
        logprobs_continued: true,
        plain: answered(Some(20), "One, two", None),
        controls: BTreeMap::from([(
            "reasoning_effort".to_string(),
            Reply::Refused {
                status: 400,
                message: "Unrecognized request argument supplied: reasoning_effort".into(),
            },
        )]),
    }
}

fn report(o: &Observations) -> ProbeReport {
    assess("openai-chat-completions", "u", "m", o, 7)
}

#[test]
fn fewer_tokens_and_the_next_word_mean_continued() {
    let r = report(&observations(
        [Some(30), Some(32), Some(35)],
        " five",
        Some(&[" five", " Five"]),
    ));
    assert!(r.prefix_continuation.yes(), "{:?}", r.prefix_continuation);
    assert!(r.has(Capability::PrefixContinuation) && r.has(Capability::CandidateLogprobs));
    assert!(r.logprobs_at_continued_position.yes());
    assert_eq!(r.space_prefixed_tokens.verdict, Verdict::Yes);
    assert!(!r.lenient_space());
    assert_eq!(
        r.reasoning_controls["reasoning_effort"].verdict,
        Verdict::No
    );
    assert_eq!(r.reasoning.location, ReasoningLocation::None);
}

#[test]
fn equal_counts_mean_a_new_turn() {
    // llama-cpp-python: every flag dropped.
    let r = report(&observations([Some(35); 3], "One", Some(&["One"])));
    assert_eq!(r.prefix_continuation.verdict, Verdict::No);
    assert!(r.prefix_continuation.evidence.contains("35"));
    assert!(!r.has(Capability::PrefixContinuation));
    assert!(r.has(Capability::CandidateLogprobs));
    assert_eq!(r.logprobs_at_continued_position.verdict, Verdict::No);
    assert!(!r.lenient_space());
    let check = CapabilityCheck::Probed {
        reports: vec![r],
        from_cache: false,
    };
    let e = check
        .evidence(Capability::PrefixContinuation)
        .expect("evidence");
    assert!(e.starts_with("probe of u: prompt_tokens 35"), "{e}");
    assert_eq!(check.evidence(Capability::CandidateLogprobs), None);
}

/// A server that honours add_generation_prompt but drops continue_final_message renders
/// fewer tokens than a plain request, yet closes the turn: not a continuation.
#[test]
fn a_closed_turn_without_a_header_is_not_a_continuation() {
    let r = report(&observations([Some(31), Some(31), Some(33)], "One", None));
    assert_eq!(r.prefix_continuation.verdict, Verdict::No);
    assert!(r
        .prefix_continuation
        .evidence
        .contains("ignores continue_final_message"));
    assert!(!r.lenient_space());
}

/// Counts that look right while the model starts a new turn ("One", a growing counter)
/// are not trusted.
#[test]
fn counts_without_the_next_word_are_not_trusted() {
    let r = report(&observations(
        [Some(10), Some(11), Some(12)],
        "One",
        Some(&["One", "1", "Sure"]),
    ));
    assert_eq!(r.prefix_continuation.verdict, Verdict::Unknown);
    assert!(!r.has(Capability::PrefixContinuation));
    assert!(
        !r.lenient_space(),
        "no lenient matching on an untrusted position"
    );
    // The next word may come back in a reasoning field.
    let mut o = observations([Some(10), Some(11), Some(12)], "", None);
    o.continued = Reply::Answered(Answer {
        prompt_tokens: Some(10),
        reasoning_field: Some(("reasoning".into(), " five".into())),
        ..Default::default()
    });
    assert!(report(&o).prefix_continuation.yes());
}

#[test]
fn refusals_missing_usage_and_odd_counts() {
    let no = Reply::Refused {
        status: 400,
        message: "Unrecognized request argument supplied: continue_final_message".into(),
    };
    let mut o = observations([Some(3), Some(4), Some(5)], " five", None);
    o.continued = no.clone();
    let f = assess_continuation(&o);
    assert_eq!(f.verdict, Verdict::No);
    assert!(f.evidence.contains("400") && f.evidence.contains("continue_final_message"));
    let mut o = observations([Some(3), Some(4), Some(5)], " five", None);
    o.closed = no.clone();
    assert_eq!(assess_continuation(&o).verdict, Verdict::Unknown);
    let o = observations([None, Some(4), Some(5)], " five", None);
    assert_eq!(assess_continuation(&o).verdict, Verdict::Unknown);
    let o = observations([Some(9), Some(4), Some(5)], " five", None);
    assert_eq!(assess_continuation(&o).verdict, Verdict::Unknown);
    let (f, _) = assess_logprobs(&answered(Some(3), "", Some(&[])));
    assert_eq!(f.verdict, Verdict::No);
    let (f, _) = assess_logprobs(&no);
    assert_eq!(f.verdict, Verdict::No);
}

#[test]
fn spaces_decide_candidate_matching() {
    let r = report(&observations(
        [Some(30), Some(32), Some(35)],
        "five",
        Some(&["five", "Five"]),
    ));
    assert!(r.lenient_space());
    assert!(candidate_matches("A", " A", true));
    assert!(!candidate_matches("A", " A", false));
    assert!(candidate_matches(" A", " A", false));
    assert!(!candidate_matches(" B", " A", true));
}

#[test]
fn reasoning_location() {
    let mut a = Answer {
        reasoning_field: Some(("reasoning".into(), "hm".into())),
        ..Default::default()
    };
    let loc = |a: &Answer| assess_reasoning(&Reply::Answered(a.clone())).location;
    assert_eq!(loc(&a), ReasoningLocation::Reasoning);
    a.reasoning_field = Some(("reasoning_content".into(), "hm".into()));
    assert_eq!(loc(&a), ReasoningLocation::ReasoningContent);
    a.reasoning_field = None;
    a.content = "<think>hm".into();
    assert_eq!(loc(&a), ReasoningLocation::ThinkTags);
}

#[test]
fn freshness_and_round_trip() {
    let r = assess(
        "b",
        "u",
        "m",
        &observations([Some(30), Some(32), Some(35)], " five", None),
        1000,
    );
    assert!(r.fresh(1000) && r.fresh(1000 + PROBE_TTL_SECS - 1));
    assert!(!r.fresh(1000 + PROBE_TTL_SECS) && !r.fresh(999));
    let json = serde_json::to_string(&r).expect("json");
    let back: ProbeReport = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, r);
    let check = CapabilityCheck::Trusted;
    assert_eq!(
        serde_json::to_value(&check).expect("json"),
        serde_json::json!({"mode": "trusted"})
    );
}
