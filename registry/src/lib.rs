//! The schema registry: a GraphQL API (async-graphql) over PostgreSQL or SQLite that
//! keeps every published subgraph version, composes on publish (a publish that does not
//! compose is rejected and the last good supergraph stays), keeps the supergraph history
//! (who, when, what changed), runs checks, stores persisted-query manifests per client
//! and the operation usage routers report.
//!
//! Callers authenticate with `Authorization: Bearer <token>`. Tokens are scoped (`read`,
//! `check`, `publish`, `report`) and stored as SHA-256 hashes; only
//! [`create_token`] ever sees the secret.

mod api;
pub mod store;

use junction_kit::config::DatabaseConfig;
use junction_kit::db::{Database, DbError, Migrations};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;

pub use api::{Caller, Scope};

static MIGRATIONS: Migrations = Migrations {
    postgres: diesel_migrations::embed_migrations!("../migrations/registry/postgres"),
    sqlite: diesel_migrations::embed_migrations!("../migrations/registry/sqlite"),
};

/// The registry's state: its database and the lock that serialises publishes.
#[derive(Clone)]
pub struct Registry {
    db: Database,
    /// One publish composes at a time, so each composes against the one before it.
    publish_lock: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("registry database: {0}")]
    Db(#[from] DbError),
    #[error("unknown scope `{0}` (known: read, check, publish, report)")]
    UnknownScope(String),
}

impl Registry {
    /// Connects (the `registry` schema or SQLite file) and applies migrations.
    pub async fn connect(
        config: &DatabaseConfig,
        data_dir: &Path,
    ) -> Result<Registry, RegistryError> {
        Registry::connect_as(config, "registry", data_dir).await
    }

    /// Like [`Registry::connect`], with another PostgreSQL schema / SQLite file name
    /// (tests run side by side).
    pub async fn connect_as(
        config: &DatabaseConfig,
        name: &str,
        data_dir: &Path,
    ) -> Result<Registry, RegistryError> {
        let db = Database::connect(config, name, data_dir).await?;
        db.migrate(&MIGRATIONS).await?;
        Ok(Registry {
            db,
            publish_lock: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The HTTP app: `POST /graphql` (GraphiQL on `GET`), `GET /health`.
    pub fn app(&self) -> axum::Router {
        api::app(self.clone())
    }
}

/// Creates a token named `name` with `scopes`; returns the secret, which is stored only
/// as its hash.
pub async fn create_token(
    registry: &Registry,
    name: &str,
    scopes: &[String],
) -> Result<String, RegistryError> {
    let mut parsed = Vec::new();
    for scope in scopes {
        parsed.push(Scope::parse(scope).ok_or_else(|| RegistryError::UnknownScope(scope.clone()))?);
    }
    let secret = format!(
        "jrt_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let row = store::TokenRow {
        id: store::new_id(),
        name: name.to_owned(),
        token_hash: hash_token(&secret),
        scopes: parsed
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(","),
        created_at: store::now(),
    };
    store::insert_token(&registry.db, &row).await?;
    Ok(secret)
}

pub(crate) fn hash_token(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
