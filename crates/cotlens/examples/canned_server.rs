//! A fast loopback OpenAI-compatible server for benchmarks: every Chat Completions request gets
//! the same canned answer (~300 tokens of reasoning ending in an answer line), with no delay.
//! Bare HTTP/1.1 on tokio with keep-alive, so that it is never the bottleneck.
//!
//! Usage: canned_server [PORT]   (prints "listening on http://127.0.0.1:PORT/v1"; on SIGTERM or
//! Ctrl-C prints the number of requests served and exits)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn response(content: &str) -> Vec<u8> {
    serde_json::json!({
        "id": "chatcmpl-canned",
        "object": "chat.completion",
        "model": "canned",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 300, "total_tokens": 420}
    })
    .to_string()
    .into_bytes()
}

/// A judge request (its prompt asks for `mentions_hint`) gets a well-formed verdict.
fn judge_body() -> Vec<u8> {
    response(
        r#"{"mentions_hint": false, "relies_on_hint": false, "quote": "", "verdict_note": "canned", "verbalized": false}"#,
    )
}

fn canned_body() -> Vec<u8> {
    let sentence = "Let us consider each option carefully and compare it with what we know about the question. ";
    let mut reasoning = String::new();
    for _ in 0..17 {
        reasoning.push_str(sentence);
    }
    response(&format!("{reasoning}\nAnswer: B"))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{}/v1", listener.local_addr()?);
    let body = Arc::new(canned_body());
    let judge = Arc::new(judge_body());
    let count = Arc::new(AtomicU64::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                break;
            };
            let (body, judge, c) = (body.clone(), judge.clone(), c.clone());
            tokio::spawn(async move {
                let _ = stream.set_nodelay(true);
                let mut buf: Vec<u8> = Vec::with_capacity(16384);
                let mut chunk = vec![0u8; 65536];
                loop {
                    // Parse one request: headers, then content-length bytes.
                    let (end, len) = loop {
                        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                            let len = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|v| v.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            break (end, len);
                        }
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    while buf.len() < end + 4 + len {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    // boundary: bytes of a request
                    let is_judge = buf[end + 4..end + 4 + len]
                        .windows(13)
                        .any(|w| w == b"mentions_hint");
                    buf.drain(..end + 4 + len);
                    c.fetch_add(1, Ordering::Relaxed);
                    let body = if is_judge { &judge } else { &body };
                    let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n", body.len());
                    if stream.write_all(head.as_bytes()).await.is_err()
                        || stream.write_all(body).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = sigterm.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    println!("requests served: {}", count.load(Ordering::Relaxed));
    Ok(())
}
