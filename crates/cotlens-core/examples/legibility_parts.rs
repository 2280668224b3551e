//! Where the legibility scan spends its time (a development aid for bench/legibility):
//! JSON parsing alone, zstd alone at a few levels, and the full scan.
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
        "parse only: {:.2} s = {:.0} MB/s ({n} text bytes)",
        parse,
        bytes / parse
    );
    for level in [1, -1, -5] {
        let mut c = zstd::bulk::Compressor::new(level).expect("zstd");
        let mut out = vec![0u8; 1 << 20];
        let t = Instant::now();
        let mut total = 0usize;
        for_each_text(path, TextField::Cot, |_, text| {
            let bound = zstd::zstd_safe::compress_bound(text.len());
            if out.len() < bound {
                out.resize(bound, 0);
            }
            total += c
                .compress_to_buffer(text.as_bytes(), &mut out[..])
                .unwrap_or(0);
        })
        .expect("read");
        let s = t.elapsed().as_secs_f64();
        println!(
            "parse + zstd level {level}: {s:.2} s = {:.0} MB/s (ratio {:.2})",
            bytes / s,
            n as f64 / total as f64
        );
    }
    {
        let mut out = vec![0u8; 1 << 20];
        let t = Instant::now();
        let mut total = 0usize;
        for_each_text(path, TextField::Cot, |_, text| {
            let bound = lz4_flex::block::get_maximum_output_size(text.len());
            if out.len() < bound {
                out.resize(bound, 0);
            }
            total += lz4_flex::block::compress_into(text.as_bytes(), &mut out[..]).unwrap_or(0);
        })
        .expect("read");
        let s = t.elapsed().as_secs_f64();
        println!(
            "parse + lz4: {s:.2} s = {:.0} MB/s (ratio {:.2})",
            bytes / s,
            n as f64 / total as f64
        );
    }
    let lex = Lexicon::builtin();
    let t = Instant::now();
    let mut s = Scanner::new(lex);
    for_each_text(path, TextField::Cot, |_, text| {
        s.scan(text);
    })
    .expect("read");
    let full = t.elapsed().as_secs_f64();
    println!("full scan: {full:.2} s = {:.0} MB/s", bytes / full);
}
