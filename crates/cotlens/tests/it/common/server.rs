//! A real HTTP/1.1 server on 127.0.0.1 for the tests: it answers OpenAI Chat Completions
//! requests with a scripted model and injects faults on a deterministic schedule (429 with
//! Retry-After, 500, 503, hangs past the client's timeout, garbled JSON, truncated bodies,
//! connection resets, 401). Written on bare TCP so that every fault is a real one.

use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    TooMany,
    Internal,
    Unavailable,
    Hang,
    Garbled,
    Truncated,
    Reset,
}

pub const ALL_FAULTS: [Fault; 7] = [
    Fault::TooMany,
    Fault::Internal,
    Fault::Unavailable,
    Fault::Hang,
    Fault::Garbled,
    Fault::Truncated,
    Fault::Reset,
];

#[derive(Clone)]
pub struct Config {
    /// Every `fault_every`-th request gets the next fault of `faults` (0 = never).
    pub fault_every: u64,
    pub faults: Vec<Fault>,
    /// Answer every request with 401.
    pub unauthorized: bool,
    /// Delay before each answer.
    pub delay: Duration,
    /// The scripted model's answer to a request body.
    pub script: Arc<dyn Fn(&Value) -> Value + Send + Sync>,
}

pub struct Server {
    pub url: String,
    pub requests: Arc<AtomicU64>,
    /// Authorization headers seen (to check keys are sent, never logged by us).
    pub auth_headers: Arc<Mutex<Vec<String>>>,
}

pub async fn start(config: Config) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let requests = Arc::new(AtomicU64::new(0));
    let auth_headers = Arc::new(Mutex::new(Vec::new()));
    let (r, a) = (requests.clone(), auth_headers.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                break;
            };
            let (config, r, a) = (config.clone(), r.clone(), a.clone());
            tokio::spawn(async move {
                let _ = serve_connection(stream, config, r, a).await;
            });
        }
    });
    Server {
        url: format!("http://{addr}/v1"),
        requests,
        auth_headers,
    }
}

async fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> Option<(String, Vec<(String, String)>, Vec<u8>)> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let mut lines = head.lines();
            let request_line = lines.next()?.to_string();
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
                .collect();
            let len: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let mut chunk = [0u8; 65536];
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = buf[end + 4..end + 4 + len].to_vec();
            buf.drain(..end + 4 + len);
            return Some((request_line, headers, body));
        }
        let mut chunk = [0u8; 65536];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    extra: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.flush().await
}

async fn serve_connection(
    mut stream: TcpStream,
    config: Config,
    requests: Arc<AtomicU64>,
    auth: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    while let Some((line, headers, body)) = read_request(&mut stream, &mut buf).await {
        let n = requests.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some((_, v)) = headers.iter().find(|(k, _)| k == "authorization") {
            if let Ok(mut a) = auth.lock() {
                a.push(v.clone());
            }
        }
        if config.unauthorized {
            respond(&mut stream, "401 Unauthorized", "", br#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#).await?;
            continue;
        }
        if !config.delay.is_zero() {
            tokio::time::sleep(config.delay).await;
        }
        if config.fault_every > 0
            && n.is_multiple_of(config.fault_every)
            && !config.faults.is_empty()
        {
            let fault =
                config.faults[((n / config.fault_every - 1) as usize) % config.faults.len()];
            match fault {
                Fault::TooMany => {
                    respond(
                        &mut stream,
                        "429 Too Many Requests",
                        "retry-after: 0.05\r\n",
                        br#"{"error":{"message":"rate limited"}}"#,
                    )
                    .await?
                }
                Fault::Internal => {
                    respond(
                        &mut stream,
                        "500 Internal Server Error",
                        "",
                        br#"{"error":{"message":"boom"}}"#,
                    )
                    .await?
                }
                Fault::Unavailable => {
                    respond(&mut stream, "503 Service Unavailable", "", b"overloaded").await?
                }
                Fault::Hang => {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    return Ok(());
                }
                Fault::Garbled => {
                    respond(
                        &mut stream,
                        "200 OK",
                        "",
                        b"{\"choices\": [ this is not json",
                    )
                    .await?
                }
                Fault::Truncated => {
                    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{\"choices\":[{\"mess";
                    stream.write_all(head.as_bytes()).await?;
                    return Ok(());
                }
                Fault::Reset => {
                    // SO_LINGER 0 makes the close send RST: a real connection reset.
                    #[allow(deprecated)]
                    let _ = stream.set_linger(Some(Duration::ZERO));
                    return Ok(());
                }
            }
            continue;
        }
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let answer = (config.script)(&request);
        // vLLM's `POST /tokenize` (at the server root): served only when the script answers it
        // with vLLM's shape; otherwise 404, as FastAPI servers without the route answer.
        if line
            .split_whitespace()
            .nth(1)
            .is_some_and(|p| p.ends_with("/tokenize"))
            && answer["count"].as_u64().is_none()
        {
            respond(
                &mut stream,
                "404 Not Found",
                "",
                br#"{"detail":"Not Found"}"#,
            )
            .await?;
            continue;
        }
        respond(&mut stream, "200 OK", "", answer.to_string().as_bytes()).await?;
    }
    Ok(())
}

/// A Chat Completions response body.
pub fn chat_response(model: &str, content: &str, reasoning: Option<&str>) -> Value {
    let mut message = json!({"role": "assistant", "content": content});
    if let Some(r) = reasoning {
        message["reasoning_content"] = json!(r);
    }
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}
    })
}
