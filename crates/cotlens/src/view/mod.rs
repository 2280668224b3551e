//! `cotlens view RUN_DIR…`: a local web UI on 127.0.0.1 (a free port by default, printed).
//! Server-rendered pages, no scripts: browse and filter records, open an item (faithfulness:
//! the unhinted and hinted prompts and CoTs side by side, highlighted), compare two runs, and
//! each run's report.
//!
//! Nothing outside the given run directories is served: runs are addressed by their index in
//! the list given on the command line, records by their key inside `records.jsonl`, and files
//! only from a fixed list of names (no path from a request ever reaches the file system), and
//! only when they are regular files, not symbolic links. Requests must name the server by its
//! loopback address (`Host: 127.0.0.1:PORT` or `localhost:PORT`), so that a page on another
//! site cannot read runs through DNS rebinding; every response carries `nosniff` and a content
//! security policy that allows no script. Pages are built on blocking threads, from a record
//! index made once per run.

pub mod index;
pub mod pages;

use crate::error::bad_input;
use crate::printer::Printer;
use crate::protocol::Protocol;
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Files a run directory may serve, by exact name.
pub const SERVABLE: &[(&str, &str)] = &[
    ("manifest.json", "application/json"),
    ("summary.json", "application/json"),
    ("ledger.json", "application/json"),
    ("monitor-eval.json", "application/json"),
    ("roc.svg", "image/svg+xml"),
    ("early-answering.svg", "image/svg+xml"),
];

#[derive(Clone)]
pub struct Run {
    pub dir: PathBuf,
    pub name: String,
    pub protocol: Protocol,
    pub manifest: serde_json::Value,
    index: Arc<Mutex<Option<Indexed>>>,
}

/// A run's record index and the state of the records file it was built from.
type Indexed = (FileStamp, Arc<index::RecordIndex>);

/// What tells a records file changed under the viewer (a resume appends, a retry rewrites).
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    inode: u64,
}

impl FileStamp {
    fn of(path: &std::path::Path) -> Option<Self> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::symlink_metadata(path).ok()?;
        Some(Self {
            len: m.len(),
            modified: m.modified().ok(),
            inode: m.ino(),
        })
    }
}

impl Run {
    /// The run's records file (`selection.jsonl` for select runs).
    pub fn records_file(&self) -> PathBuf {
        if self.protocol == Protocol::Select {
            self.dir.join("selection.jsonl")
        } else {
            self.dir.join(crate::store::RECORDS)
        }
    }

    /// The record index, built on first use and again whenever the records file changed (a
    /// blocking scan: call it off the async threads).
    pub fn index(&self) -> Arc<index::RecordIndex> {
        let path = self.records_file();
        let stamp = FileStamp::of(&path);
        let mut slot = match self.index.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let (Some((built, idx)), Some(now)) = (slot.as_ref(), stamp.as_ref()) {
            if built == now {
                return idx.clone();
            }
        }
        let idx = Arc::new(index::RecordIndex::build(&path));
        if let Some(now) = stamp {
            *slot = Some((now, idx.clone()));
        }
        idx
    }
}

/// The content security policy of every response: no script, no outside resource.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub struct ViewState {
    pub runs: Vec<Run>,
}

/// Open the run directories (each must be a cotlens run: exit 2 otherwise).
pub fn open_runs(dirs: &[PathBuf]) -> anyhow::Result<Vec<Run>> {
    if dirs.is_empty() {
        return Err(bad_input("give at least one run directory"));
    }
    dirs.iter()
        .map(|d| {
            let (protocol, manifest) = crate::report::read_manifest(d)?;
            Ok(Run {
                dir: d.clone(),
                name: d
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| d.display().to_string()),
                protocol,
                manifest,
                index: Arc::new(Mutex::new(None)),
            })
        })
        .collect()
}

/// The viewer's routes for `runs`, answering only requests addressed to `127.0.0.1:port` or
/// `localhost:port`.
pub fn router(runs: Vec<Run>, port: u16) -> Router {
    Router::new()
        .route("/", get(runs_index))
        .route("/api/runs", get(api_runs))
        .route("/api/run/{i}/records", get(api_records))
        .route("/run/{i}", get(run_report))
        .route("/run/{i}/records", get(records_page))
        .route("/run/{i}/item/{*key}", get(item_page))
        .route("/run/{i}/file/{name}", get(file))
        .route("/compare", get(compare))
        .fallback(|| async { not_found() })
        .with_state(Arc::new(ViewState { runs }))
        .layer(axum::middleware::from_fn_with_state(port, guard))
}

/// Refuse requests for any other host (DNS rebinding), and mark every response `nosniff` with
/// the [`CSP`].
async fn guard(State(port): State<u16>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let allowed = [format!("127.0.0.1:{port}"), format!("localhost:{port}")];
    let mut res = if allowed.iter().any(|a| a.eq_ignore_ascii_case(host)) {
        next.run(req).await
    } else {
        (
            StatusCode::MISDIRECTED_REQUEST,
            "cotlens view answers only requests for 127.0.0.1 or localhost at its own port\n",
        )
            .into_response()
    };
    let headers = res.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

/// Build a page on a blocking thread (pages read run files).
async fn blocking(f: impl FnOnce() -> Response + Send + 'static) -> Response {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|_| {
        (StatusCode::INTERNAL_SERVER_ERROR, "the page failed\n").into_response()
    })
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(crate::report::html::page(
            "not found",
            "",
            "<p>Nothing here.</p>",
        )),
    )
        .into_response()
}

fn run_at(state: &ViewState, i: &str) -> Option<(usize, Run)> {
    let i: usize = i.parse().ok()?;
    state.runs.get(i).cloned().map(|r| (i, r))
}

async fn runs_index(State(st): State<Arc<ViewState>>) -> Html<String> {
    Html(pages::index(&st.runs))
}

async fn api_runs(State(st): State<Arc<ViewState>>) -> Json<serde_json::Value> {
    Json(serde_json::Value::Array(
        st.runs
            .iter()
            .enumerate()
            .map(|(i, r)| serde_json::json!({"index": i, "name": r.name, "protocol": r.protocol}))
            .collect(),
    ))
}

async fn run_report(State(st): State<Arc<ViewState>>, UrlPath(i): UrlPath<String>) -> Response {
    match run_at(&st, &i) {
        Some((i, run)) => blocking(move || Html(pages::run_page(i, &run)).into_response()).await,
        None => not_found(),
    }
}

async fn records_page(
    State(st): State<Arc<ViewState>>,
    UrlPath(i): UrlPath<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match run_at(&st, &i) {
        Some((i, run)) => {
            let f = pages::Filter::from_query(&q);
            blocking(move || Html(pages::records_page(i, &run, &f)).into_response()).await
        }
        None => not_found(),
    }
}

async fn api_records(
    State(st): State<Arc<ViewState>>,
    UrlPath(i): UrlPath<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match run_at(&st, &i) {
        Some((_, run)) => {
            let f = pages::Filter::from_query(&q);
            blocking(move || {
                let (rows, total) = pages::filtered(&run, &f);
                Json(serde_json::json!({"total": total, "offset": f.offset, "records": rows}))
                    .into_response()
            })
            .await
        }
        None => not_found(),
    }
}

async fn item_page(
    State(st): State<Arc<ViewState>>,
    UrlPath((i, key)): UrlPath<(String, String)>,
) -> Response {
    match run_at(&st, &i) {
        Some((i, run)) => {
            blocking(move || match pages::item_page(i, &run, &key) {
                Some(html) => Html(html).into_response(),
                None => not_found(),
            })
            .await
        }
        None => not_found(),
    }
}

async fn file(
    State(st): State<Arc<ViewState>>,
    UrlPath((i, name)): UrlPath<(String, String)>,
) -> Response {
    let Some((_, run)) = run_at(&st, &i) else {
        return not_found();
    };
    let Some((fname, mime)) = SERVABLE.iter().find(|(n, _)| *n == name) else {
        return not_found();
    };
    let path = run.dir.join(fname);
    let mime = *mime;
    blocking(move || {
        // A regular file of the run itself: a symbolic link (`ledger.json -> /etc/passwd`) is
        // not served.
        if !crate::report::is_regular_file(&path) {
            return not_found();
        }
        match std::fs::read(&path) {
            Ok(bytes) => ([(header::CONTENT_TYPE, mime)], bytes).into_response(),
            Err(_) => not_found(),
        }
    })
    .await
}

async fn compare(
    State(st): State<Arc<ViewState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let a = q.get("a").and_then(|a| run_at(&st, a));
    let b = q.get("b").and_then(|b| run_at(&st, b));
    match (a, b) {
        (Some(a), Some(b)) => {
            blocking(move || Html(pages::compare_page(&a, &b)).into_response()).await
        }
        _ => not_found(),
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct ViewArgs {
    /// Run directories to browse.
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Port on 127.0.0.1 (0: a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
}

pub async fn run(args: ViewArgs, printer: Printer) -> anyhow::Result<()> {
    let runs = open_runs(&args.runs)?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| bad_input(format!("cannot listen on 127.0.0.1:{}: {e}", args.port)))?;
    let addr = listener.local_addr()?;
    printer.out(&format!(
        "cotlens view: http://{addr}/ ({} runs; Ctrl-C to stop)\n",
        runs.len()
    ));
    axum::serve(listener, router(runs, addr.port()))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
