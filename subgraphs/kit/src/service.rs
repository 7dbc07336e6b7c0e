//! What a domain subgraph gets from the kit ([`Deps`]) and what it gives the binary
//! ([`ServiceSpec`]).

use crate::blobs::Blobs;
use crate::cache::Cache;
use crate::config::KitConfig;
use crate::db::{Database, Migrations};
use crate::events::EventBus;
use crate::outbox::{Outbox, OutboxHandle};
use tokio_util::sync::CancellationToken;

/// How the `junction` binary runs a subgraph: its name, migrations, SDL and HTTP app.
#[derive(Clone, Copy)]
pub struct ServiceSpec {
    pub name: &'static str,
    pub migrations: &'static Migrations,
    /// The federation SDL (`_service { sdl }`), for composition without a server.
    pub sdl: fn() -> String,
    /// The HTTP app serving the subgraph over connected backends.
    pub app: fn(Deps) -> axum::Router,
    /// Background work next to the app (event consumers, worker pools), stopped by the
    /// token; the binary waits for the tasks at shutdown.
    pub workers: fn(&Deps, &CancellationToken) -> Vec<tokio::task::JoinHandle<()>>,
    /// Checks the service's own settings (`subgraphs.<name>.settings`) at start-up; the
    /// error names the bad key.
    pub check_settings: fn(&serde_json::Value) -> Result<(), String>,
}

/// Reads a service's settings (`null` gives the defaults); the error names the bad key
/// (`payments.failure_rate: invalid type…`).
pub fn parse_settings<T>(value: &serde_json::Value) -> Result<T, String>
where
    T: serde::de::DeserializeOwned + Default,
{
    if value.is_null() {
        return Ok(T::default());
    }
    serde_path_to_error::deserialize(value.clone())
        .map_err(|e| format!("{}: {}", e.path(), e.inner()))
}

/// [`ServiceSpec::check_settings`] of a service without settings.
pub fn no_settings(settings: &serde_json::Value) -> Result<(), String> {
    match settings {
        serde_json::Value::Null => Ok(()),
        serde_json::Value::Object(map) if map.is_empty() => Ok(()),
        _ => Err("this service has no settings".into()),
    }
}

/// Where the other subgraphs are (by name), for the rare call one service makes to another
/// directly rather than through the router.
#[derive(Debug, Clone, Default)]
pub struct Peers(std::sync::Arc<std::collections::BTreeMap<String, String>>);

impl Peers {
    pub fn new(urls: std::collections::BTreeMap<String, String>) -> Peers {
        Peers(std::sync::Arc::new(urls))
    }

    /// The GraphQL URL of subgraph `name`.
    pub fn url(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// POSTs a GraphQL request to subgraph `peer` as service `caller` (scope `internal`:
    /// the router never sends that identity), in the current trace; returns the response
    /// body, errors included, for the caller to read.
    pub async fn graphql(
        &self,
        caller: &str,
        peer: &str,
        query: &str,
        variables: serde_json::Value,
        timeout: std::time::Duration,
    ) -> Result<serde_json::Value, PeerError> {
        static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
        let url = self
            .url(peer)
            .ok_or_else(|| PeerError::NoUrl(peer.to_owned()))?;
        let unavailable = |e: reqwest::Error| PeerError::Unavailable {
            peer: peer.to_owned(),
            message: e.to_string(),
        };
        let mut request = CLIENT
            .get_or_init(reqwest::Client::new)
            .post(url)
            .timeout(timeout)
            .header(crate::server::USER_ID_HEADER, format!("service:{caller}"))
            .header(crate::server::SCOPES_HEADER, "internal")
            .json(&serde_json::json!({"query": query, "variables": variables}));
        if let Some(trace) = crate::events::current_trace_context() {
            request = request.header("traceparent", trace);
        }
        let response = request.send().await.map_err(unavailable)?;
        response.json().await.map_err(unavailable)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("no URL for `{0}` (subgraphs.{0}.url)")]
    NoUrl(String),
    #[error("the {peer} subgraph is unavailable: {message}")]
    Unavailable { peer: String, message: String },
}

/// [`ServiceSpec::workers`] of a service with no background work.
pub fn no_workers(_: &Deps, _: &CancellationToken) -> Vec<tokio::task::JoinHandle<()>> {
    Vec::new()
}

#[derive(Debug, thiserror::Error)]
pub enum KitError {
    #[error("service `{service}`: database: {source}")]
    Database {
        service: String,
        source: crate::db::DbError,
    },
    #[error("service `{service}`: migrations: {source}")]
    Migrate {
        service: String,
        source: crate::db::DbError,
    },
    #[error("service `{service}`: cache: {source}")]
    Cache {
        service: String,
        source: crate::cache::CacheError,
    },
    #[error("service `{service}`: blobs: {source}")]
    Blobs {
        service: String,
        source: crate::blobs::BlobError,
    },
    #[error("events: {0}")]
    Events(#[from] crate::events::EventError),
}

/// A subgraph's connected backends. Cheap to clone.
#[derive(Clone)]
pub struct Deps {
    pub service: &'static str,
    pub db: Database,
    pub events: EventBus,
    pub cache: Cache,
    pub blobs: Blobs,
    /// Wake the outbox relay after committing events.
    pub outbox: OutboxHandle,
    pub peers: Peers,
    /// `subgraphs.<name>.settings`, already checked by [`ServiceSpec::check_settings`].
    pub settings: serde_json::Value,
}

impl Deps {
    /// Connects the service's own backends, applies its migrations and starts its outbox
    /// relay. `events` is shared: one bus per process (so services in `junction dev`
    /// see each other's events on the in-process bus).
    pub async fn connect(
        config: &KitConfig,
        spec: &ServiceSpec,
        events: EventBus,
        peers: Peers,
        settings: serde_json::Value,
        shutdown: CancellationToken,
    ) -> Result<Deps, KitError> {
        let service = spec.name;
        let data_dir = config.data_dir();
        let db = Database::connect(&config.database, service, &data_dir)
            .await
            .map_err(|source| KitError::Database {
                service: service.into(),
                source,
            })?;
        let applied = db
            .migrate(spec.migrations)
            .await
            .map_err(|source| KitError::Migrate {
                service: service.into(),
                source,
            })?;
        if !applied.is_empty() {
            tracing::info!(service, migrations = ?applied, "applied migrations");
        }
        let cache = Cache::connect(&config.cache, service)
            .await
            .map_err(|source| KitError::Cache {
                service: service.into(),
                source,
            })?;
        let blobs = Blobs::connect(&config.blobs, service, &data_dir)
            .await
            .map_err(|source| KitError::Blobs {
                service: service.into(),
                source,
            })?;
        let outbox = Outbox::spawn_relay(db.clone(), events.clone(), shutdown);
        tracing::info!(
            service,
            database = db.backend_name(),
            events = events.backend_name(),
            cache = cache.backend_name(),
            blobs = blobs.backend_name(),
            "backends connected"
        );
        Ok(Deps {
            service,
            db,
            events,
            cache,
            blobs,
            outbox,
            peers,
            settings,
        })
    }

    /// Readiness: each backend answers a trivial request.
    pub async fn check(&self) -> Vec<(&'static str, Result<(), String>)> {
        let (db, events, cache, blobs) = tokio::join!(
            self.db.ping(),
            self.events.ping(),
            self.cache.ping(),
            self.blobs.ping()
        );
        vec![
            ("database", db.map_err(|e| e.to_string())),
            ("events", events.map_err(|e| e.to_string())),
            ("cache", cache.map_err(|e| e.to_string())),
            ("blobs", blobs.map_err(|e| e.to_string())),
        ]
    }
}

/// Applies `spec`'s migrations and returns the versions applied (`junction migrate`).
pub async fn migrate(config: &KitConfig, spec: &ServiceSpec) -> Result<Vec<String>, KitError> {
    let db = Database::connect(&config.database, spec.name, &config.data_dir())
        .await
        .map_err(|source| KitError::Database {
            service: spec.name.into(),
            source,
        })?;
    db.migrate(spec.migrations)
        .await
        .map_err(|source| KitError::Migrate {
            service: spec.name.into(),
            source,
        })
}
