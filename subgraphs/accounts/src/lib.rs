//! The accounts subgraph: credentials and sessions.
//!
//! Owns the `accounts`, `refresh_tokens` and `signing_keys` tables. Passwords are hashed
//! with Argon2id; access tokens are short-lived EdDSA JWTs whose public keys it serves at
//! `/.well-known/jwks.json` (the router verifies tokens against it); refresh tokens are
//! stored hashed, used once, and revocable. Publishes `accounts.registered`.

mod graphql;
pub mod keys;
mod store;

/// The accounts service's settings (`subgraphs.accounts.settings`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Accounts registered with these emails get the `admin` scope (operators, the
    /// demo shop's owner).
    pub admin_emails: Vec<String>,
    /// How long an access token is valid, 1 s to [`keys::MAX_ACCESS_TTL`] (default 15 min).
    pub access_token_ttl_seconds: i64,
    /// Encrypts the signing keys' private halves in the database (at least 32 characters;
    /// give it from a secret store, e.g. `JUNCTION_SUBGRAPHS__ACCOUNTS__SETTINGS__SIGNING_KEY_SECRET`).
    /// Unset, they are stored unencrypted.
    pub signing_key_secret: Option<Secret>,
}

/// A string kept out of `Debug` output.
#[derive(Clone, serde::Deserialize)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            admin_emails: Vec::new(),
            access_token_ttl_seconds: keys::DEFAULT_ACCESS_TTL.num_seconds(),
            signing_key_secret: None,
        }
    }
}

impl Settings {
    pub fn parse(value: &serde_json::Value) -> Result<Settings, String> {
        let settings: Settings = junction_kit::service::parse_settings(value)?;
        let max = keys::MAX_ACCESS_TTL.num_seconds();
        if !(1..=max).contains(&settings.access_token_ttl_seconds) {
            return Err(format!(
                "access_token_ttl_seconds: must be between 1 and {max}"
            ));
        }
        if settings
            .signing_key_secret
            .as_ref()
            .is_some_and(|Secret(s)| s.chars().count() < 32)
        {
            return Err("signing_key_secret: must be at least 32 characters".into());
        }
        Ok(settings)
    }

    /// Encrypts (or not) the signing keys at rest.
    pub fn seed_cipher(&self) -> keys::SeedCipher {
        keys::SeedCipher::new(self.signing_key_secret.as_ref().map(|Secret(s)| s.as_str()))
    }

    /// How long the access tokens it issues are valid.
    pub fn access_ttl(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.access_token_ttl_seconds)
    }

    fn check(value: &serde_json::Value) -> Result<(), String> {
        Settings::parse(value).map(|_| ())
    }
}

pub use graphql::{Mutation, Query};

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use diesel_migrations::embed_migrations;
use junction_kit::db::Migrations;
use junction_kit::graphql::{graphql_app, graphql_sdl};
use junction_kit::service::{Deps, ServiceSpec, no_workers};

pub const NAME: &str = "accounts";

/// Where the JWKS is served, relative to the subgraph's address.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

static MIGRATIONS: Migrations = Migrations {
    postgres: embed_migrations!("../../migrations/accounts/postgres"),
    sqlite: embed_migrations!("../../migrations/accounts/sqlite"),
};

/// How `junction` runs this subgraph.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        name: NAME,
        migrations: &MIGRATIONS,
        sdl: graphql_sdl::<Query, Mutation>,
        app,
        workers: no_workers,
        check_settings: Settings::check,
    }
}

fn app(deps: Deps) -> axum::Router {
    let db = deps.db.clone();
    // Checked at start-up.
    let cipher = Settings::parse(&deps.settings)
        .unwrap_or_default()
        .seed_cipher();
    graphql_app::<Query, Mutation>(deps).route(
        JWKS_PATH,
        axum::routing::get(move || {
            let db = db.clone();
            let cipher = cipher.clone();
            async move {
                // A fresh install gets its first key here rather than at the first login.
                let published = match keys::active(&db, &cipher).await {
                    Ok(_) => keys::jwks(&db, &cipher).await,
                    Err(e) => Err(e),
                };
                match published {
                    Ok(set) => (
                        [(header::CACHE_CONTROL, "public, max-age=300")],
                        axum::Json(set),
                    )
                        .into_response(),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot serve the JWKS");
                        StatusCode::SERVICE_UNAVAILABLE.into_response()
                    }
                }
            }
        }),
    )
}
