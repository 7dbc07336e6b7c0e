//! Persisted queries at the edge, before the document is parsed:
//!
//! - **APQ** (automatic persisted queries): a client sends `extensions.persistedQuery
//!   .sha256Hash` alone; on a miss it gets `PersistedQueryNotFound` and sends the query
//!   with the hash, which registers it. The store is in memory, or in Redis so that
//!   every router replica shares it.
//! - **Manifest ids**: operations registered ahead of time (Apollo's manifest format),
//!   sent as `documentId` or `extensions.persistedQuery.sha256Hash`. Their documents are
//!   compiled when the router starts, so these requests skip parsing and validation.
//! - **Safelisting per client**: a client (named by API key, or else by the
//!   `graphql-client-name` header) whose policy is `persisted_only` may only run
//!   operations from the manifests: free-form text gets `PERSISTED_QUERY_NOT_ALLOWED`,
//!   an unknown id `PERSISTED_QUERY_NOT_FOUND`.

use crate::config::{PersistedQueriesConfig, Policy};
use crate::request::GraphQLRequest;
use crate::response::GraphQLError;
use http::HeaderMap;
use junction_schema::persisted::Manifest;
use serde_json_bytes::Value;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

pub mod codes {
    pub const NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
    pub const NOT_ALLOWED: &str = "PERSISTED_QUERY_NOT_ALLOWED";
    pub const HASH_MISMATCH: &str = "PERSISTED_QUERY_HASH_MISMATCH";
    pub const NOT_SUPPORTED: &str = "PERSISTED_QUERY_NOT_SUPPORTED";
    pub use crate::response::codes::UNAUTHENTICATED;
}

/// Manifests to serve: `client: None` for every client.
#[derive(Debug, Clone)]
pub struct ClientManifest {
    pub client: Option<String>,
    pub manifest: Manifest,
}

/// Why a request is refused before its document is looked at.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub error: Box<GraphQLError>,
    /// APQ misses are answered 200 as Apollo's servers do (clients then retry with the
    /// query); every other refusal is 400, or 401 for an unknown API key.
    pub status: u16,
}

impl Refusal {
    pub(crate) fn new(status: u16, code: &str, message: impl Into<String>) -> Refusal {
        Refusal {
            error: Box::new(GraphQLError::new(message).with_code(code)),
            status,
        }
    }
}

struct Client {
    policy: Policy,
    /// Manifest id → body of this client's own manifests.
    operations: HashMap<String, Arc<str>>,
}

pub struct PersistedQueries {
    apq: Option<Arc<ApqStore>>,
    api_key_header: http::HeaderName,
    client_name_header: http::HeaderName,
    default_policy: Policy,
    clients: HashMap<String, Client>,
    api_keys: HashMap<String, String>,
    /// Manifest id → body, for every client.
    shared: HashMap<String, Arc<str>>,
    /// SHA-256 of every manifest body, per client (`None`: shared): persisted-only
    /// clients may send a registered body as text.
    body_hashes: HashMap<Option<String>, HashSet<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum PersistedError {
    #[error("`router.persisted_queries.{key}`: {message}")]
    Config { key: String, message: String },
    #[error("APQ store: {0}")]
    Redis(String),
}

impl PersistedQueries {
    /// `previous`: the store of the supergraph this one replaces, whose APQ entries
    /// carry over.
    pub fn new(
        config: &PersistedQueriesConfig,
        manifests: Vec<ClientManifest>,
        previous: Option<&PersistedQueries>,
    ) -> Result<PersistedQueries, PersistedError> {
        let header = |key: &str, value: &str| {
            http::HeaderName::from_bytes(value.as_bytes()).map_err(|_| PersistedError::Config {
                key: key.into(),
                message: format!("`{value}` is not a header name"),
            })
        };
        let mut clients: HashMap<String, Client> = config
            .clients
            .iter()
            .map(|(name, c)| {
                (
                    name.clone(),
                    Client {
                        policy: c.policy,
                        operations: HashMap::new(),
                    },
                )
            })
            .collect();
        let mut api_keys = HashMap::new();
        for (name, client) in &config.clients {
            for key in &client.api_keys {
                if api_keys.insert(key.clone(), name.clone()).is_some() {
                    return Err(PersistedError::Config {
                        key: format!("clients.{name}.api_keys"),
                        message: "an API key is given to two clients".into(),
                    });
                }
            }
        }
        let mut shared = HashMap::new();
        let mut body_hashes: HashMap<Option<String>, HashSet<String>> = HashMap::new();
        for ClientManifest { client, manifest } in manifests {
            let target = match &client {
                None => &mut shared,
                Some(name) => match clients.get_mut(name) {
                    Some(c) => &mut c.operations,
                    None => {
                        return Err(PersistedError::Config {
                            key: format!("clients.{name}"),
                            message: "a manifest names a client that is not configured".into(),
                        });
                    }
                },
            };
            let hashes = body_hashes.entry(client.clone()).or_default();
            for operation in manifest.operations {
                hashes.insert(sha256_hex(&operation.body));
                target.insert(operation.id, Arc::from(operation.body));
            }
        }
        let apq = match previous {
            Some(previous) => previous.apq.clone(),
            None if config.apq.enabled => Some(Arc::new(ApqStore::new(&config.apq)?)),
            None => None,
        };
        Ok(PersistedQueries {
            apq,
            api_key_header: header("api_key_header", &config.api_key_header)?,
            client_name_header: header("client_name_header", &config.client_name_header)?,
            default_policy: config.default_policy,
            clients,
            api_keys,
            shared,
            body_hashes,
        })
    }

    /// Every manifest body: the pipeline compiles them ahead of requests.
    pub fn bodies(&self) -> impl Iterator<Item = &Arc<str>> {
        self.shared
            .values()
            .chain(self.clients.values().flat_map(|c| c.operations.values()))
    }

    /// Fills `request.query` from a persisted id, registers APQ queries, and enforces
    /// the client's policy.
    pub async fn resolve<'a>(
        &'a self,
        request: &mut GraphQLRequest,
        headers: &'a HeaderMap,
    ) -> Result<Option<&'a str>, Refusal> {
        let client = self.identify(headers)?;
        let policy = client
            .and_then(|name| self.clients.get(name))
            .map(|c| c.policy)
            .unwrap_or(self.default_policy);
        let (id, is_apq) = match persisted_id(request)? {
            Some(found) => found,
            None => {
                // Free-form text.
                let Some(query) = &request.query else {
                    return Ok(client);
                };
                if policy == Policy::PersistedOnly && !self.is_registered_body(client, query) {
                    return Err(Refusal::new(
                        400,
                        codes::NOT_ALLOWED,
                        "This client may only send persisted operations (by id); \
                         free-form operations are not allowed",
                    ));
                }
                return Ok(client);
            }
        };
        if let Some(body) = self.manifest_body(client, &id) {
            request.query = Some(body.to_string());
            return Ok(client);
        }
        if policy == Policy::PersistedOnly {
            return Err(Refusal::new(
                400,
                codes::NOT_FOUND,
                format!("No persisted operation with id `{id}` is registered for this client"),
            ));
        }
        if !is_apq {
            return Err(Refusal::new(
                400,
                codes::NOT_FOUND,
                format!("No persisted operation with id `{id}`"),
            ));
        }
        let Some(apq) = &self.apq else {
            return Err(Refusal::new(
                400,
                codes::NOT_SUPPORTED,
                "PersistedQueryNotSupported",
            ));
        };
        match &request.query {
            Some(query) => {
                // Registration: the hash must be the query's.
                if sha256_hex(query) != id.to_ascii_lowercase() {
                    return Err(Refusal::new(
                        400,
                        codes::HASH_MISMATCH,
                        "provided sha does not match query",
                    ));
                }
                apq.put(&id.to_ascii_lowercase(), query).await;
                Ok(client)
            }
            None => match apq.get(&id.to_ascii_lowercase()).await {
                Some(query) => {
                    request.query = Some(query);
                    Ok(client)
                }
                None => Err(Refusal::new(
                    200,
                    codes::NOT_FOUND,
                    "PersistedQueryNotFound",
                )),
            },
        }
    }

    /// The client's name: from its API key when it sends one (an unknown key is
    /// refused), else from the client-name header.
    fn identify<'a>(&'a self, headers: &'a HeaderMap) -> Result<Option<&'a str>, Refusal> {
        if let Some(key) = headers.get(&self.api_key_header) {
            let key = key.to_str().unwrap_or_default();
            return match self.api_keys.get(key) {
                Some(name) => Ok(Some(name.as_str())),
                None => Err(Refusal::new(401, codes::UNAUTHENTICATED, "Unknown API key")),
            };
        }
        Ok(headers
            .get(&self.client_name_header)
            .and_then(|v| v.to_str().ok()))
    }

    fn manifest_body(&self, client: Option<&str>, id: &str) -> Option<&Arc<str>> {
        client
            .and_then(|name| self.clients.get(name))
            .and_then(|c| c.operations.get(id))
            .or_else(|| self.shared.get(id))
    }

    fn is_registered_body(&self, client: Option<&str>, query: &str) -> bool {
        let hash = sha256_hex(query);
        let contains = |key: Option<String>| {
            self.body_hashes
                .get(&key)
                .is_some_and(|set| set.contains(&hash))
        };
        contains(None) || client.is_some_and(|c| contains(Some(c.to_owned())))
    }
}

/// The id a request names, and whether it came as APQ (`extensions.persistedQuery`)
/// rather than `documentId`.
fn persisted_id(request: &GraphQLRequest) -> Result<Option<(String, bool)>, Refusal> {
    if let Some(id) = &request.document_id {
        return Ok(Some((id.clone(), false)));
    }
    let Some(extension) = request.extensions.get("persistedQuery") else {
        return Ok(None);
    };
    let bad = || {
        Refusal::new(
            400,
            crate::response::codes::BAD_REQUEST,
            "`extensions.persistedQuery` must be {\"version\": 1, \"sha256Hash\": \"…\"}",
        )
    };
    let Value::Object(extension) = extension else {
        return Err(bad());
    };
    if extension.get("version").and_then(Value::as_i64) != Some(1) {
        return Err(bad());
    }
    match extension.get("sha256Hash").and_then(Value::as_str) {
        Some(hash) if !hash.is_empty() => Ok(Some((hash.to_owned(), true))),
        _ => Err(bad()),
    }
}

pub fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut out = String::with_capacity(64);
    for byte in digest {
        use std::fmt::Write as _;
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// Where APQ documents live between requests.
enum ApqStore {
    Memory(moka::sync::Cache<String, Arc<str>>),
    Redis {
        pool: bb8::Pool<bb8_redis::RedisConnectionManager>,
        prefix: String,
        ttl_seconds: u64,
    },
}

impl ApqStore {
    fn new(config: &crate::config::ApqConfig) -> Result<ApqStore, PersistedError> {
        let Some(url) = &config.redis_url else {
            return Ok(ApqStore::Memory(
                moka::sync::Cache::builder()
                    .max_capacity(config.max_entries)
                    .time_to_live(Duration::from_secs(config.ttl_seconds))
                    .build(),
            ));
        };
        let manager = bb8_redis::RedisConnectionManager::new(url.as_str()).map_err(|e| {
            PersistedError::Config {
                key: "apq.redis_url".into(),
                message: e.to_string(),
            }
        })?;
        // A Redis that is down at start is not fatal: APQ then misses until it is back.
        let pool = bb8::Pool::builder()
            .max_size(8)
            .connection_timeout(Duration::from_secs(2))
            .build_unchecked(manager);
        Ok(ApqStore::Redis {
            pool,
            prefix: config.redis_key_prefix.clone(),
            ttl_seconds: config.ttl_seconds,
        })
    }

    async fn get(&self, hash: &str) -> Option<String> {
        match self {
            ApqStore::Memory(cache) => cache.get(hash).map(|q| q.to_string()),
            ApqStore::Redis { pool, prefix, .. } => {
                let result: Result<Option<String>, String> = async {
                    let mut conn = pool.get().await.map_err(|e| e.to_string())?;
                    redis::cmd("GET")
                        .arg(format!("{prefix}{hash}"))
                        .query_async(&mut *conn)
                        .await
                        .map_err(|e| e.to_string())
                }
                .await;
                result.unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "APQ store unreachable; treating as a miss");
                    None
                })
            }
        }
    }

    async fn put(&self, hash: &str, query: &str) {
        match self {
            ApqStore::Memory(cache) => cache.insert(hash.to_owned(), Arc::from(query)),
            ApqStore::Redis {
                pool,
                prefix,
                ttl_seconds,
            } => {
                let result: Result<(), String> = async {
                    let mut conn = pool.get().await.map_err(|e| e.to_string())?;
                    redis::cmd("SET")
                        .arg(format!("{prefix}{hash}"))
                        .arg(query)
                        .arg("EX")
                        .arg(*ttl_seconds)
                        .query_async(&mut *conn)
                        .await
                        .map_err(|e| e.to_string())
                }
                .await;
                if let Err(e) = result {
                    tracing::warn!(error = %e, "APQ store unreachable; query not registered");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(
            sha256_hex("{ __typename }"),
            "7f56e67dd21ab3f30d1ff8b7bed08893f0a0db86449836189b361dd1e56ddb4b"
        );
    }
}
