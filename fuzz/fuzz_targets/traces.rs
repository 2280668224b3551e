//! Trace imports: JSONL traces, Inspect `.json` and `.eval` logs, ImpossibleBench transcripts
//! and prompt lines: an error or traces, never a panic.
#![no_main]
use cotlens_core::monitor::{impossiblebench, inspect_log, trace, View};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, contents)) = data.split_first() else {
        return;
    };
    let name = match which % 5 {
        0 => "t.jsonl",
        1 => "log.json",
        2 => "log.eval",
        3 => {
            if let Ok(text) = std::str::from_utf8(contents) {
                let t = impossiblebench::convert_transcript("t", text);
                let _ = t.visible(cotlens_core::monitor::trace::BaseView::CotAndAction);
            }
            return;
        }
        _ => "prompts.jsonl",
    };
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let path = dir.path().join(name);
    if std::fs::write(&path, contents).is_err() {
        return;
    }
    let traces = match which % 5 {
        0 => trace::load_jsonl(&path),
        4 => {
            let _ = cotlens_core::legibility::input::for_each_prompt(&path, |_| {});
            return;
        }
        _ => inspect_log::load(&path),
    };
    if let Ok(traces) = traces {
        for t in traces {
            for v in ["cot", "action", "cot+action", "hybrid:0.5"] {
                if let Ok(View::Base(b)) = View::parse(v) {
                    let _ = t.visible(b);
                }
            }
        }
    }
});
