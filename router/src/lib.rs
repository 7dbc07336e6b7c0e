//! The Junction federation router.
//!
//! Data flows one way through the modules: `server` (HTTP) → `request` (envelope) →
//! `operation` (parse, validate, normalise) → `plan` (which subgraph fetches) →
//! `execute` (run them, merge) → `projection` (the client's JSON) → `response`.
//! `pipeline` strings the stages together for one request; shared state is built once
//! per supergraph and passed in.

pub mod auth;
mod config;
mod dedup;
mod execute;
mod introspection;
mod json;
mod labels;
mod operation;
pub mod persisted;
mod pipeline;
mod plan;
mod projection;
mod request;
mod response;
mod server;
pub mod trace;
pub mod usage;

pub use config::{
    ApqConfig, AuthConfig, ClientConfig, DeduplicationConfig, Http2, JwtConfig, LimitsConfig,
    PersistedQueriesConfig, Policy, RouterConfig, SubgraphOverride,
};
pub use response::{GraphQLError, PathSegment};

use execute::{Endpoint, client::SubgraphClient};
use junction_schema::Supergraph;
use pipeline::Pipeline;
use server::ServerState;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error("cannot read supergraph {path}: {source}")]
    ReadSupergraph {
        path: String,
        source: std::io::Error,
    },
    #[error("supergraph {path} cannot be used: {source}")]
    Supergraph {
        path: String,
        source: Box<junction_schema::SupergraphError>,
    },
    #[error(
        "config key `router.subgraphs.{subgraph}`: no subgraph named `{subgraph}` in the supergraph"
    )]
    UnknownSubgraph { subgraph: String },
    #[error("routing URL `{url}` of subgraph `{subgraph}` is not a valid http(s) URL")]
    BadUrl { subgraph: String, url: String },
    #[error("HTTP client: {0}")]
    Client(String),
    #[error(transparent)]
    PersistedQueries(#[from] persisted::PersistedError),
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
    #[error("persisted-query manifest {path}: {message}")]
    Manifest { path: String, message: String },
}

/// Distinct (client, operation) pairs counted between two usage reports; more are dropped
/// (and counted as dropped) rather than letting a client grow the router's memory.
const MAX_RECORDED_OPERATIONS: usize = 10_000;

/// Reads and checks a supergraph SDL file.
pub fn load_supergraph(path: &Path) -> Result<Supergraph, RouterError> {
    let text = std::fs::read_to_string(path).map_err(|source| RouterError::ReadSupergraph {
        path: path.display().to_string(),
        source,
    })?;
    Supergraph::parse(&text).map_err(|source| RouterError::Supergraph {
        path: path.display().to_string(),
        source: Box::new(source),
    })
}

/// A router for one supergraph at a time: turn it into an axum service with
/// [`Router::into_axum`]; [`Router::handle`] swaps the supergraph while it serves.
pub struct Router {
    state: Arc<ServerState>,
    max_body_bytes: usize,
}

/// Replaces a running router's supergraph and manifests. Requests already running finish
/// on the supergraph they started with; new ones use the new one.
#[derive(Clone)]
pub struct RouterHandle {
    state: Arc<ServerState>,
    config: Arc<RouterConfig>,
    client: SubgraphClient,
}

impl Router {
    /// A router with the manifests its configuration names.
    pub fn new(supergraph: Supergraph, config: &RouterConfig) -> Result<Router, RouterError> {
        Router::with_manifests(supergraph, config, Vec::new())
    }

    /// A router that also serves `manifests` (from the registry, say). Every manifest
    /// operation must validate against the supergraph's API schema.
    pub fn with_manifests(
        supergraph: Supergraph,
        config: &RouterConfig,
        manifests: Vec<persisted::ClientManifest>,
    ) -> Result<Router, RouterError> {
        let client = SubgraphClient::new().map_err(|e| RouterError::Client(e.to_string()))?;
        let active = build_active(supergraph, config, manifests, &client, None)?;
        let auth = match &config.auth.jwt {
            Some(jwt) => Some(Arc::new(auth::Authenticator::new(
                jwt.clone(),
                client.clone(),
            )?)),
            None => None,
        };
        Ok(Router {
            state: Arc::new(ServerState {
                active: std::sync::RwLock::new(Arc::new(active)),
                config: Arc::new(config.clone()),
                client,
                graphiql: config.graphiql,
                expose_query_plan: config.expose_query_plan,
                auth,
                usage: config
                    .record_usage
                    .then(|| Arc::new(usage::UsageRecorder::new(MAX_RECORDED_OPERATIONS))),
            }),
            max_body_bytes: config.max_body_bytes,
        })
    }

    pub fn handle(&self) -> RouterHandle {
        RouterHandle {
            state: self.state.clone(),
            config: self.state.config.clone(),
            client: self.state.client.clone(),
        }
    }

    pub fn into_axum(self) -> axum::Router {
        server::routes(self.state, self.max_body_bytes)
    }
}

impl RouterHandle {
    /// The usage counts, when `record_usage` is on.
    pub fn usage(&self) -> Option<Arc<usage::UsageRecorder>> {
        self.state.usage.clone()
    }

    /// Builds everything for `supergraph` first (plans nothing yet, compiles the
    /// manifests), then swaps it in. On error the running supergraph stays.
    pub fn swap(
        &self,
        supergraph: Supergraph,
        manifests: Vec<persisted::ClientManifest>,
    ) -> Result<(), RouterError> {
        let previous = self.state.active();
        let active = build_active(
            supergraph,
            &self.config,
            manifests,
            &self.client,
            Some(&previous.persisted),
        )?;
        *self.state.active.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(active);
        Ok(())
    }
}

fn build_active(
    supergraph: Supergraph,
    config: &RouterConfig,
    mut manifests: Vec<persisted::ClientManifest>,
    client: &SubgraphClient,
    previous: Option<&persisted::PersistedQueries>,
) -> Result<server::Active, RouterError> {
    let pq = &config.persisted_queries;
    let files = pq.manifests.iter().map(|p| (None, p)).chain(
        pq.clients
            .iter()
            .flat_map(|(name, c)| c.manifests.iter().map(move |p| (Some(name.clone()), p))),
    );
    for (client, path) in files {
        let text = std::fs::read_to_string(path).map_err(|e| RouterError::Manifest {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let manifest = junction_schema::persisted::Manifest::parse(&text).map_err(|e| {
            RouterError::Manifest {
                path: path.display().to_string(),
                message: e.to_string(),
            }
        })?;
        manifests.push(persisted::ClientManifest { client, manifest });
    }
    for entry in &manifests {
        if let Some(error) = entry
            .manifest
            .validate(supergraph.api_schema())
            .into_iter()
            .next()
        {
            return Err(RouterError::Manifest {
                path: entry.client.clone().unwrap_or_else(|| "(shared)".into()),
                message: error.to_string(),
            });
        }
    }
    let persisted = persisted::PersistedQueries::new(pq, manifests, previous)?;
    for name in config.subgraphs.keys() {
        if !supergraph.graphs().iter().any(|g| &g.name == name) {
            return Err(RouterError::UnknownSubgraph {
                subgraph: name.clone(),
            });
        }
    }
    let mut endpoints = Vec::with_capacity(supergraph.graphs().len());
    for graph in supergraph.graphs() {
        let overrides = config.subgraphs.get(&graph.name);
        let url = overrides
            .and_then(|o| o.url.clone())
            .unwrap_or_else(|| graph.url.clone());
        let parsed: http::Uri = url.parse().map_err(|_| RouterError::BadUrl {
            subgraph: graph.name.clone(),
            url: url.clone(),
        })?;
        if !matches!(parsed.scheme_str(), Some("http" | "https")) {
            return Err(RouterError::BadUrl {
                subgraph: graph.name.clone(),
                url,
            });
        }
        let timeout = overrides
            .and_then(|o| o.timeout_ms)
            .unwrap_or(config.subgraph_timeout_ms);
        endpoints.push(Endpoint {
            url: parsed,
            timeout: Duration::from_millis(timeout),
            http2_only: overrides.is_some_and(|o| o.http2 == config::Http2::PriorKnowledge),
        });
    }
    let pipeline = Pipeline::new(
        Arc::new(supergraph),
        endpoints,
        client.clone(),
        pipeline::PipelineOptions {
            introspection: config.introspection,
            cache_size: config.plan_cache_size,
            dedup: pipeline::Dedup {
                client_queries: config.deduplication.client_queries,
                subgraph_fetches: config.deduplication.subgraph_fetches,
            },
            active_labels: config.override_labels.iter().cloned().collect(),
            max_depth: config.limits.max_depth,
            pinned: persisted.bodies().cloned().collect(),
        },
    );
    Ok(server::Active {
        pipeline,
        persisted,
    })
}

/// Serves `router` on `listener` until `shutdown` completes, then drains in-flight
/// requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router.into_axum())
        .with_graceful_shutdown(shutdown)
        .await
}

/// The plan for `query` as JSON, without executing it.
pub fn explain(
    supergraph: Supergraph,
    query: &str,
    operation_name: Option<&str>,
) -> Result<String, Vec<GraphQLError>> {
    let client = SubgraphClient::new().map_err(|e| vec![GraphQLError::new(e.to_string())])?;
    let pipeline = Pipeline::new(
        Arc::new(supergraph),
        Vec::new(),
        client,
        pipeline::PipelineOptions {
            introspection: false,
            cache_size: 1,
            dedup: pipeline::Dedup {
                client_queries: false,
                subgraph_fetches: false,
            },
            active_labels: Default::default(),
            max_depth: usize::MAX,
            pinned: Vec::new(),
        },
    );
    let plan = pipeline.explain(query, operation_name)?;
    serde_json::to_string_pretty(&plan).map_err(|e| vec![GraphQLError::new(e.to_string())])
}

/// Entry points for this crate's benchmarks. Not a stable API.
#[doc(hidden)]
pub mod bench_support {
    use junction_schema::Supergraph;

    /// Compiles, normalises and plans `query` with no cache; returns the number of
    /// subgraph requests the plan makes.
    pub fn plan(supergraph: &Supergraph, query: &str) -> Result<usize, String> {
        let document = crate::operation::compile(supergraph.api_schema(), query)
            .map_err(|e| format!("{e:?}"))?;
        let operation = document
            .operations
            .get(None)
            .map_err(|e| e.message().to_string())?;
        let names = crate::operation::condition_variables(&document, operation);
        let conditions = vec![false; names.len()];
        let normalized = crate::operation::normalize(&document, operation, &names, &conditions);
        let plan = crate::plan::build_plan(supergraph, &normalized, &crate::plan::NoLabels)
            .map_err(|e| e.to_string())?;
        Ok(plan.request_count())
    }
}
