//! Serving a federation subgraph: `/graphql` (POST, and GET with GraphiQL for browsers),
//! `/health` (the process is up) and `/ready` (its backends answer), with graceful
//! shutdown.

use crate::service::Deps;
use async_graphql::http::GraphiQLSource;
use async_graphql::{ObjectType, Schema, SubscriptionType};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use std::future::Future;
use std::sync::Arc;

/// Header carrying the verified user id. Clients cannot set it: the router never passes
/// client headers on, and sets this one from a validated token.
pub const USER_ID_HEADER: &str = "x-junction-user-id";
/// Header carrying the verified token's scopes, space-separated.
pub const SCOPES_HEADER: &str = "x-junction-scopes";

/// The caller, as the router vouched for it. Put in every request's context data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub user_id: Option<String>,
    pub scopes: Vec<String>,
}

impl Identity {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let user_id = text(USER_ID_HEADER).map(str::to_owned);
        let scopes = match (&user_id, text(SCOPES_HEADER)) {
            // Scopes only come with a verified user.
            (Some(_), Some(scopes)) => scopes.split_whitespace().map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        Identity { user_id, scopes }
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// The caller's `traceparent` (the router's span), if it looks like one: events keep it,
/// so nothing longer or stranger is taken.
fn trace_context(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("traceparent")?.to_str().ok()?.trim();
    let plausible = (55..=128).contains(&value.len())
        && value.split('-').count() >= 4
        && value.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    plausible.then(|| value.to_owned())
}

struct AppState<Q, M, S> {
    schema: Schema<Q, M, S>,
    deps: Deps,
}

/// The HTTP app for a subgraph schema.
pub fn subgraph_app<Q, M, S>(schema: Schema<Q, M, S>, deps: Deps) -> axum::Router
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let state = Arc::new(AppState { schema, deps });
    axum::Router::new()
        .route(
            "/graphql",
            get(graphiql::<Q, M, S>).post(graphql::<Q, M, S>),
        )
        .route("/health", get(|| async { "ok" }))
        .route("/ready", get(ready::<Q, M, S>))
        .with_state(state)
}

async fn graphql<Q, M, S>(
    State(state): State<Arc<AppState<Q, M, S>>>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> GraphQLResponse
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let request = request.into_inner().data(Identity::from_headers(&headers));
    let trace = trace_context(&headers);
    crate::events::with_trace_context(trace, state.schema.execute(request))
        .await
        .into()
}

async fn graphiql<Q, M, S>(
    State(state): State<Arc<AppState<Q, M, S>>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    match raw.filter(|q| !q.is_empty()) {
        Some(raw) => match async_graphql::http::parse_query_string(&raw) {
            Ok(request) => {
                let request = request.data(Identity::from_headers(&headers));
                let trace = trace_context(&headers);
                let response =
                    crate::events::with_trace_context(trace, state.schema.execute(request)).await;
                GraphQLResponse::from(response).into_response()
            }
            Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
        },
        None => {
            let wants_html = headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|a| a.contains("text/html"));
            if wants_html {
                Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response()
            } else {
                (
                    StatusCode::BAD_REQUEST,
                    "send a GraphQL request: POST a JSON body, or GET with ?query=",
                )
                    .into_response()
            }
        }
    }
}

async fn ready<Q, M, S>(State(state): State<Arc<AppState<Q, M, S>>>) -> Response
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let checks = state.deps.check().await;
    let ok = checks.iter().all(|(_, r)| r.is_ok());
    let body = serde_json::json!({
        "ready": ok,
        "checks": checks
            .iter()
            .map(|(name, result)| (name.to_string(), match result {
                Ok(()) => serde_json::Value::String("ok".into()),
                Err(e) => serde_json::Value::String(e.clone()),
            }))
            .collect::<serde_json::Map<_, _>>(),
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

/// Serves `app` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
