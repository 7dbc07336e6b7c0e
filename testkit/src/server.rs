//! Serving a fixture's subgraphs over HTTP: one listener, each subgraph at `/<name>`
//! (and `/<name>/graphql`), misbehaving as its `Behavior` says.
//!
//! Data is static, so responses are memoised by request body: a benchmark measures the
//! router, not these doubles. Every request is logged so tests can count and inspect
//! what the router sent.

use crate::data::{DataObject, Store};
use crate::fixture::{Fixture, SubgraphFixture};
use apollo_compiler::ExecutableDocument;
use apollo_compiler::resolvers::Execution;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Memoised responses per subgraph before the memo is cleared.
const MEMO_LIMIT: usize = 4096;

/// A request a subgraph received.
#[derive(Debug, Clone)]
pub struct Received {
    pub subgraph: String,
    pub body: Bytes,
    /// HTTP/1.1, or HTTP/2 when the client spoke it.
    pub version: axum::http::Version,
    pub headers: axum::http::HeaderMap,
}

struct Shared {
    fixture: Arc<Fixture>,
    memo: Mutex<HashMap<(String, Bytes), (StatusCode, Bytes)>>,
    log: Mutex<Vec<Received>>,
}

/// The fixture's subgraphs, served until dropped.
pub struct RunningFixture {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl RunningFixture {
    /// URL of each subgraph; a subgraph that is `down` gets a closed port.
    pub fn urls(&self) -> BTreeMap<String, String> {
        self.shared
            .fixture
            .subgraphs
            .iter()
            .map(|s| {
                let url = if s.behavior.down {
                    // Port 1 (tcpmux) is never served on these machines: connections are refused.
                    format!("http://127.0.0.1:1/{}", s.name)
                } else {
                    format!("http://{}/{}", self.addr, s.name)
                };
                (s.name.clone(), url)
            })
            .collect()
    }

    /// Every request received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.shared
            .log
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }

    pub fn clear_log(&self) {
        if let Ok(mut log) = self.shared.log.lock() {
            log.clear();
        }
    }
}

impl Drop for RunningFixture {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves `fixture` on `listen` (port 0 for any free port).
pub async fn serve(fixture: Arc<Fixture>, listen: SocketAddr) -> std::io::Result<RunningFixture> {
    let shared = Arc::new(Shared {
        fixture,
        memo: Mutex::new(HashMap::new()),
        log: Mutex::new(Vec::new()),
    });
    let app = axum::Router::new()
        .route("/{subgraph}", post(handle))
        .route("/{subgraph}/graphql", post(handle))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(RunningFixture {
        addr,
        shared,
        stop: Some(stop),
    })
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    version: axum::http::Version,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let Some(subgraph) = shared.fixture.subgraph(&name) else {
        return (StatusCode::NOT_FOUND, format!("no subgraph {name}")).into_response();
    };
    if let Ok(mut log) = shared.log.lock() {
        log.push(Received {
            subgraph: name.clone(),
            body: body.clone(),
            version,
            headers,
        });
    }
    let behavior = &subgraph.behavior;
    if let Some(ms) = behavior.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if let Some(status) = behavior.status {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let content_type = behavior
            .content_type
            .clone()
            .unwrap_or_else(|| "text/plain".into());
        let body = behavior.body.clone().unwrap_or_default();
        return (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
    }
    let key = (name, body);
    let cached = shared.memo.lock().ok().and_then(|m| m.get(&key).cloned());
    let (status, response) = match cached {
        Some(hit) => hit,
        None => {
            let computed = execute(subgraph, &key.1);
            if let Ok(mut memo) = shared.memo.lock() {
                if memo.len() >= MEMO_LIMIT {
                    memo.clear();
                }
                memo.insert(key, computed.clone());
            }
            computed
        }
    };
    let content_type = behavior
        .content_type
        .clone()
        .unwrap_or_else(|| "application/json".into());
    (status, [(header::CONTENT_TYPE, content_type)], response).into_response()
}

/// Executes one GraphQL-over-HTTP body against the subgraph's data.
pub fn execute(subgraph: &SubgraphFixture, body: &[u8]) -> (StatusCode, Bytes) {
    let request: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return request_error(&format!("body is not JSON: {e}")),
    };
    let Some(query) = request.get("query").and_then(|q| q.as_str()) else {
        return request_error("missing query");
    };
    let operation_name = request.get("operationName").and_then(|n| n.as_str());
    let variables: serde_json_bytes::Map<serde_json_bytes::ByteString, serde_json_bytes::Value> =
        match request.get("variables") {
            Some(serde_json::Value::Object(v)) => v
                .iter()
                .map(|(k, v)| (k.as_str().into(), serde_json_bytes::Value::from(v.clone())))
                .collect(),
            _ => Default::default(),
        };
    let document =
        match ExecutableDocument::parse_and_validate(&subgraph.schema, query, "op.graphql") {
            Ok(d) => d,
            Err(e) => {
                let errors: Vec<serde_json::Value> = e
                    .errors
                    .iter()
                    .map(|d| serde_json::json!({ "message": d.error.to_string() }))
                    .collect();
                return (
                    StatusCode::BAD_REQUEST,
                    Bytes::from(serde_json::json!({ "errors": errors }).to_string()),
                );
            }
        };
    let operation = match document.operations.get(operation_name) {
        Ok(op) => op,
        Err(e) => return request_error(&e.message().to_string()),
    };
    let store = Store {
        data: &subgraph.data,
        schema: &subgraph.schema,
        sdl: &subgraph.sdl,
    };
    let root = DataObject::root(&store, operation.object_type());
    let response = Execution::new(&subgraph.schema, &document)
        .operation(operation)
        .raw_variable_values(&variables)
        .execute_sync(&root);
    match response {
        Ok(response) => match serde_json::to_vec(&response) {
            Ok(bytes) => (StatusCode::OK, Bytes::from(bytes)),
            Err(e) => request_error(&e.to_string()),
        },
        Err(e) => request_error(&e.message().to_string()),
    }
}

fn request_error(message: &str) -> (StatusCode, Bytes) {
    (
        StatusCode::BAD_REQUEST,
        Bytes::from(serde_json::json!({ "errors": [ { "message": message } ] }).to_string()),
    )
}
