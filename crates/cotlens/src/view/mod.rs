//! `cotlens view RUN_DIR…`: a local web UI on 127.0.0.1 (a free port by default, printed).
//! Server-rendered pages, no scripts: browse and filter records, open an item (faithfulness:
//! the unhinted and hinted prompts and CoTs side by side, highlighted), compare two runs, and
//! each run's report.
//!
//! Nothing outside the given run directories is served: runs are addressed by their index in
//! the list given on the command line, records by their key inside `records.jsonl`, and files
//! only from a fixed list of names (no path from a request ever reaches the file system).

pub mod pages;

use crate::error::bad_input;
use crate::printer::Printer;
use crate::protocol::Protocol;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Files a run directory may serve, by exact name.
pub const SERVABLE: &[(&str, &str)] = &[
    ("manifest.json", "application/json"),
    ("summary.json", "application/json"),
    ("ledger.json", "application/json"),
    ("monitor-eval.json", "application/json"),
    ("roc.svg", "image/svg+xml"),
    ("early-answering.svg", "image/svg+xml"),
];

#[derive(Debug, Clone)]
pub struct Run {
    pub dir: PathBuf,
    pub name: String,
    pub protocol: Protocol,
    pub manifest: serde_json::Value,
}

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
            })
        })
        .collect()
}

pub fn router(runs: Vec<Run>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/api/runs", get(api_runs))
        .route("/api/run/{i}/records", get(api_records))
        .route("/run/{i}", get(run_report))
        .route("/run/{i}/records", get(records_page))
        .route("/run/{i}/item/{*key}", get(item_page))
        .route("/run/{i}/file/{name}", get(file))
        .route("/compare", get(compare))
        .fallback(|| async { not_found() })
        .with_state(Arc::new(ViewState { runs }))
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

async fn index(State(st): State<Arc<ViewState>>) -> Html<String> {
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
        Some((i, run)) => Html(pages::run_page(i, &run)).into_response(),
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
            Html(pages::records_page(i, &run, &pages::Filter::from_query(&q))).into_response()
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
            let (rows, total) = pages::filtered(&run, &f);
            Json(serde_json::json!({"total": total, "offset": f.offset, "records": rows}))
                .into_response()
        }
        None => not_found(),
    }
}

async fn item_page(
    State(st): State<Arc<ViewState>>,
    UrlPath((i, key)): UrlPath<(String, String)>,
) -> Response {
    match run_at(&st, &i) {
        Some((i, run)) => match pages::item_page(i, &run, &key) {
            Some(html) => Html(html).into_response(),
            None => not_found(),
        },
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
    match std::fs::read(run.dir.join(fname)) {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, *mime),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'",
                ),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => not_found(),
    }
}

async fn compare(
    State(st): State<Arc<ViewState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let a = q.get("a").and_then(|a| run_at(&st, a));
    let b = q.get("b").and_then(|b| run_at(&st, b));
    match (a, b) {
        (Some(a), Some(b)) => Html(pages::compare_page(&a, &b)).into_response(),
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
    axum::serve(listener, router(runs))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
