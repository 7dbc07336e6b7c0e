//! HTTP: GraphQL over HTTP at `/graphql` (POST JSON, GET query strings), GraphiQL for
//! browsers, and `/health`.

use crate::persisted::{PersistedQueries, Refusal};
use crate::pipeline::{Outcome, Pipeline, RequestOptions};
use crate::request::GraphQLRequest;
use crate::response::{GraphQLError, codes, write_body};
use crate::trace::TraceParent;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const EXPOSE_PLAN_HEADER: &str = "junction-expose-query-plan";

/// What one supergraph needs; swapped whole when the supergraph changes.
pub(crate) struct Active {
    pub pipeline: Pipeline,
    pub persisted: PersistedQueries,
}

pub(crate) struct ServerState {
    pub active: std::sync::RwLock<Arc<Active>>,
    pub config: Arc<crate::RouterConfig>,
    pub client: crate::execute::client::SubgraphClient,
    pub graphiql: bool,
    pub expose_query_plan: bool,
    pub usage: Option<Arc<crate::usage::UsageRecorder>>,
    pub auth: Option<Arc<crate::auth::Authenticator>>,
}

impl ServerState {
    /// The supergraph in service; a request keeps it to the end even if it is swapped.
    pub fn active(&self) -> Arc<Active> {
        self.active
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

pub(crate) fn routes(state: Arc<ServerState>, max_body_bytes: usize) -> axum::Router {
    axum::Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/", get(graphql_get).post(graphql_post))
        .route("/health", get(health))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

async fn health() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"UP"}"#,
    )
}

async fn graphql_post(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let wants = ResponseType::from_accept(&headers);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    if !content_type.starts_with("application/json") {
        return bad_request(
            wants,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "POST requests must use `Content-Type: application/json`",
        );
    }
    let request = match GraphQLRequest::from_json(body) {
        Ok(r) => r,
        Err(e) => return bad_request(wants, StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let options = RequestOptions {
        is_get: false,
        expose_plan: state.expose_query_plan && header_is_true(&headers, EXPOSE_PLAN_HEADER),
        trace: Some(TraceParent::for_request(&headers)),
    };
    respond(wants, run(&state, request, &headers, options).await)
}

/// Resolves persisted ids, runs the operation on the active supergraph, and counts its use.
async fn run(
    state: &ServerState,
    mut request: GraphQLRequest,
    headers: &HeaderMap,
    options: RequestOptions,
) -> Result<Outcome, Refusal> {
    let caller = match &state.auth {
        Some(auth) => auth.authenticate(headers).await?,
        None => None,
    };
    let active = state.active();
    let client = active.persisted.resolve(&mut request, headers).await?;
    let usage = match (&state.usage, request.query.as_deref()) {
        (Some(recorder), Some(query)) => Some((recorder, recorder.prepare(client, query))),
        _ => None,
    };
    let outcome = active.pipeline.run(request, options, caller).await;
    // Only valid operations: they are what a schema check must keep working.
    if let Some((recorder, pending)) = usage
        && !outcome.request_error
    {
        recorder.record(pending);
    }
    Ok(outcome)
}

async fn graphql_get(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let raw = raw.unwrap_or_default();
    let accepts_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let wants = ResponseType::from_accept(&headers);
    if accepts_html && state.graphiql && !raw.contains("query=") {
        return Html(GRAPHIQL_PAGE).into_response();
    }
    let request = match GraphQLRequest::from_query_string(&raw) {
        Ok(r) => r,
        Err(e) => return bad_request(wants, StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let options = RequestOptions {
        is_get: true,
        expose_plan: state.expose_query_plan && header_is_true(&headers, EXPOSE_PLAN_HEADER),
        trace: Some(TraceParent::for_request(&headers)),
    };
    respond(wants, run(&state, request, &headers, options).await)
}

fn header_is_true(headers: &HeaderMap, name: &str) -> bool {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

#[derive(Clone, Copy)]
enum ResponseType {
    GraphQLResponseJson,
    Json,
}

impl ResponseType {
    /// `application/graphql-response+json` when the client lists it, else JSON.
    fn from_accept(headers: &HeaderMap) -> Self {
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if accept.contains(GRAPHQL_RESPONSE_JSON) {
            ResponseType::GraphQLResponseJson
        } else {
            ResponseType::Json
        }
    }

    fn header(self) -> HeaderValue {
        match self {
            ResponseType::GraphQLResponseJson => HeaderValue::from_static(GRAPHQL_RESPONSE_JSON),
            ResponseType::Json => HeaderValue::from_static("application/json"),
        }
    }
}

fn respond(wants: ResponseType, outcome: Result<Outcome, Refusal>) -> Response {
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(refusal) => return refused(wants, refusal),
    };
    // Request errors (nothing executed) are 400, as Apollo's servers answer them;
    // execution errors travel in a 200 next to the data.
    let status = if outcome.request_error {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (
        status,
        [(header::CONTENT_TYPE, wants.header())],
        outcome.body,
    )
        .into_response()
}

fn refused(wants: ResponseType, refusal: Refusal) -> Response {
    let body = write_body(None, &[*refusal.error], None);
    let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, [(header::CONTENT_TYPE, wants.header())], body).into_response()
}

fn bad_request(wants: ResponseType, status: StatusCode, message: &str) -> Response {
    let body = write_body(
        None,
        &[GraphQLError::new(message).with_code(codes::BAD_REQUEST)],
        None,
    );
    (status, [(header::CONTENT_TYPE, wants.header())], body).into_response()
}

/// GraphiQL from a CDN; the page posts to the URL it was served from.
const GRAPHIQL_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Junction GraphiQL</title>
<link rel="stylesheet" href="https://unpkg.com/graphiql@3/graphiql.min.css">
<style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script crossorigin src="https://unpkg.com/react@18/umd/react.production.min.js"></script>
<script crossorigin src="https://unpkg.com/react-dom@18/umd/react-dom.production.min.js"></script>
<script crossorigin src="https://unpkg.com/graphiql@3/graphiql.min.js"></script>
<script>
  const fetcher = GraphiQL.createFetcher({ url: window.location.href.split('?')[0] });
  ReactDOM.createRoot(document.getElementById('graphiql'))
    .render(React.createElement(GraphiQL, { fetcher, defaultEditorToolsVisibility: true }));
</script>
</body>
</html>
"#;
