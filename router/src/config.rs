//! The router's section of the configuration file.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouterConfig {
    /// Address the GraphQL endpoint listens on.
    pub listen: SocketAddr,
    /// Supergraph SDL file (`junction router --supergraph` overrides it).
    pub supergraph: Option<PathBuf>,
    /// Deadline for one subgraph request, unless the subgraph sets its own.
    pub subgraph_timeout_ms: u64,
    /// Per-subgraph overrides, keyed by subgraph name.
    pub subgraphs: BTreeMap<String, SubgraphOverride>,
    /// Answer `__schema` / `__type`.
    pub introspection: bool,
    /// Serve GraphiQL to browsers at the endpoint.
    pub graphiql: bool,
    /// Return the plan in `extensions.queryPlan` when a request sends
    /// `junction-expose-query-plan: true`.
    pub expose_query_plan: bool,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// How many distinct documents to keep parsed, validated and planned.
    pub plan_cache_size: u64,
    pub deduplication: DeduplicationConfig,
    /// Progressive-override labels that are on (`percent(N)` labels are drawn per
    /// request and need no entry).
    pub override_labels: Vec<String>,
    pub limits: LimitsConfig,
}

/// Operation limits, checked before planning.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Deepest field nesting accepted (`{ a { b } }` is 2).
    pub max_depth: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig { max_depth: 100 }
    }
}

/// In-flight de-duplication. Applies to queries only; mutations always run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeduplicationConfig {
    /// Identical concurrent client queries (document, operation, variables) share one
    /// execution and response.
    pub client_queries: bool,
    /// Identical concurrent subgraph fetches share one HTTP request.
    pub subgraph_fetches: bool,
}

impl Default for DeduplicationConfig {
    fn default() -> Self {
        DeduplicationConfig {
            client_queries: true,
            subgraph_fetches: true,
        }
    }
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 4000)),
            supergraph: None,
            subgraph_timeout_ms: 30_000,
            subgraphs: BTreeMap::new(),
            introspection: true,
            graphiql: true,
            expose_query_plan: false,
            max_body_bytes: 2 * 1024 * 1024,
            plan_cache_size: 2_048,
            deduplication: DeduplicationConfig::default(),
            override_labels: Vec::new(),
            limits: LimitsConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SubgraphOverride {
    /// Replaces the routing URL from the supergraph.
    pub url: Option<String>,
    pub timeout_ms: Option<u64>,
    pub http2: Http2,
}

/// How to speak HTTP/2 to a subgraph.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Http2 {
    /// HTTP/2 when TLS negotiates it (ALPN), HTTP/1.1 otherwise.
    #[default]
    Auto,
    /// HTTP/2 without negotiation, also over plain `http://` (h2c): one connection
    /// multiplexes every concurrent fetch.
    PriorKnowledge,
}
