//! Where the legibility scan spends its time (a development aid for bench/legibility): JSON
//! parsing alone, then, on the texts held in memory, LZ4 alone and the full scan (words, 4-grams,
//! scripts and LZ4), and last the whole scan straight from the file.
//! Usage: cargo run --release -p cotlens-core --example legibility_parts -- FILE.jsonl
use cotlens_core::legibility::input::{for_each_text, TextField};
use cotlens_core::legibility::{Lexicon, Scanner};
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("FILE.jsonl");
    let path = std::path::Path::new(&path);
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    let t = Instant::now();
    let mut n = 0usize;
    for_each_text(path, TextField::Cot, |_, text| n += text.len()).expect("read");
    let parse = t.elapsed().as_secs_f64();
    println!(
        "parse only: {parse:.3} s = {:.0} MB/s ({n} text bytes)",
        bytes / parse
    );
    let mut texts = Vec::new();
    for_each_text(path, TextField::Cot, |_, text| texts.push(text.to_string())).expect("read");
    let mut out = vec![0u8; 1 << 20];
    let t = Instant::now();
    let mut total = 0usize;
    for text in &texts {
        let bound = lz4_flex::block::get_maximum_output_size(text.len());
        if out.len() < bound {
            out.resize(bound, 0);
        }
        total += lz4_flex::block::compress_into(text.as_bytes(), &mut out[..]).unwrap_or(0);
    }
    let lz4 = t.elapsed().as_secs_f64();
    println!(
        "lz4 in memory: {lz4:.3} s (ratio {:.2})",
        n as f64 / total as f64
    );
    let lex = Lexicon::builtin();
    let t = Instant::now();
    let mut s = Scanner::new(lex);
    for text in &texts {
        s.scan(text);
    }
    let scan = t.elapsed().as_secs_f64();
    let words = s.counts().total();
    println!(
        "scan in memory: {scan:.3} s; without lz4 {:.3} s = {:.1} ns per word ({words} words, {} distinct)",
        scan - lz4,
        (scan - lz4) * 1e9 / words as f64,
        s.counts().distinct()
    );
    let t = Instant::now();
    let mut s = Scanner::new(lex);
    for_each_text(path, TextField::Cot, |_, text| {
        s.scan(text);
    })
    .expect("read");
    let full = t.elapsed().as_secs_f64();
    println!(
        "full scan from the file: {full:.3} s = {:.0} MB/s",
        bytes / full
    );
}
