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
    pub persisted_queries: PersistedQueriesConfig,
    pub auth: AuthConfig,
    /// Count which client runs which valid operation, for usage reports to a registry
    /// ([`crate::usage`]). `junction router --registry` turns it on.
    pub record_usage: bool,
}

/// Persisted queries: APQ, manifests of registered operations, and per-client policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PersistedQueriesConfig {
    pub apq: ApqConfig,
    /// Apollo persisted-query manifests every client may use by id.
    pub manifests: Vec<PathBuf>,
    /// The header a client names itself with (Apollo's convention).
    pub client_name_header: String,
    /// The header that carries a client's API key.
    pub api_key_header: String,
    /// The policy of clients not listed in `clients`.
    pub default_policy: Policy,
    /// Known clients, by name.
    pub clients: BTreeMap<String, ClientConfig>,
}

impl Default for PersistedQueriesConfig {
    fn default() -> Self {
        PersistedQueriesConfig {
            apq: ApqConfig::default(),
            manifests: Vec::new(),
            client_name_header: "graphql-client-name".into(),
            api_key_header: "x-api-key".into(),
            default_policy: Policy::FreeForm,
            clients: BTreeMap::new(),
        }
    }
}

/// Automatic persisted queries (Apollo's APQ protocol).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApqConfig {
    pub enabled: bool,
    /// Share the store between router replicas; in memory when unset.
    pub redis_url: Option<String>,
    pub redis_key_prefix: String,
    pub ttl_seconds: u64,
    /// Entries the in-memory store keeps.
    pub max_entries: u64,
}

impl Default for ApqConfig {
    fn default() -> Self {
        ApqConfig {
            enabled: true,
            redis_url: None,
            redis_key_prefix: "junction:apq:".into(),
            ttl_seconds: 24 * 3600,
            max_entries: 10_000,
        }
    }
}

/// What a client may send.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Any valid operation (first-party clients).
    #[default]
    FreeForm,
    /// Only operations registered in a manifest, by id (or their exact text).
    PersistedOnly,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientConfig {
    pub policy: Policy,
    /// Keys that identify this client in `api_key_header`.
    pub api_keys: Vec<String>,
    /// Manifests only this client may use.
    pub manifests: Vec<PathBuf>,
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
            persisted_queries: PersistedQueriesConfig::default(),
            record_usage: false,
            auth: AuthConfig::default(),
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

/// Authentication at the edge.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Verify bearer JWTs against a JWKS; subgraphs receive the verified identity.
    pub jwt: Option<JwtConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JwtConfig {
    /// Where the public keys are (`junction dev` points it at the accounts subgraph).
    pub jwks_url: String,
    /// Required `iss`, when set.
    pub issuer: Option<String>,
    /// Required `aud`, when set.
    pub audience: Option<String>,
    /// The header carrying the token.
    pub header_name: String,
    /// What precedes the token in it.
    pub header_prefix: String,
    /// Refuse requests without a token (otherwise they run anonymously).
    pub require: bool,
    /// Refetch the JWKS at least this often.
    pub poll_interval_ms: u64,
    /// An unknown `kid` refetches the JWKS, but not more often than this.
    pub min_refetch_interval_ms: u64,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway_seconds: u64,
}

impl Default for JwtConfig {
    fn default() -> Self {
        JwtConfig {
            jwks_url: String::new(),
            issuer: None,
            audience: None,
            header_name: "authorization".into(),
            header_prefix: "Bearer".into(),
            require: false,
            poll_interval_ms: 300_000,
            min_refetch_interval_ms: 10_000,
            leeway_seconds: 30,
        }
    }
}
