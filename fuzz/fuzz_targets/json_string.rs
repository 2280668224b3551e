//! legibility's own JSON string decoder agrees with serde_json on every string literal.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Only literals serde_json accepts as a raw string value reach the decoder.
    let Ok(raw) = serde_json::from_str::<&serde_json::value::RawValue>(text) else {
        return;
    };
    let lit = raw.get();
    if !lit.starts_with('"') {
        return;
    }
    let ours = cotlens_core::legibility::input::decode_json_string(lit);
    let theirs = serde_json::from_str::<String>(lit).ok();
    assert_eq!(ours, theirs, "{lit:?}");
});
