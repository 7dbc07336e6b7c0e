//! The platform's one configuration document: the kit's backend sections, the router's
//! section and per-subgraph settings. Loaded by the kit's loader (YAML file plus
//! `JUNCTION_*` overrides) and validated before anything starts.

use junction_kit::config::{
    BlobsConfig, CacheConfig, ConfigError, DatabaseConfig, EventsConfig, KitConfig, LogConfig,
};
use junction_router::RouterConfig;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub data_dir: Option<PathBuf>,
    pub log: LogConfig,
    pub database: DatabaseConfig,
    pub events: EventsConfig,
    pub cache: CacheConfig,
    pub blobs: BlobsConfig,
    pub router: RouterConfig,
    pub registry: RegistrySection,
    /// Keyed by subgraph name.
    pub subgraphs: BTreeMap<String, SubgraphConfig>,
}

/// The schema registry: where `junction registry` listens, and where routers and the
/// schema commands find it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrySection {
    pub listen: SocketAddr,
    /// The registry's GraphQL URL (`junction router` polls it when set).
    pub url: Option<String>,
    /// An API token (`read` scope for routers).
    pub token: Option<String>,
    /// How often a router asks for a new supergraph.
    pub poll_interval_ms: u64,
    /// How often a router reports which operations its clients ran (the token needs the
    /// `report` scope); 0 turns usage reporting off.
    pub report_usage_interval_ms: u64,
}

impl Default for RegistrySection {
    fn default() -> Self {
        RegistrySection {
            listen: SocketAddr::from(([127, 0, 0, 1], 4100)),
            url: None,
            token: None,
            poll_interval_ms: 10_000,
            report_usage_interval_ms: 60_000,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SubgraphConfig {
    /// Where the subgraph listens; `junction dev` picks a free port when unset.
    pub listen: Option<SocketAddr>,
    /// Its GraphQL URL for the other subgraphs (`junction subgraph`; `junction dev` knows).
    pub url: Option<String>,
    /// The service's own settings (see each service's documentation).
    pub settings: serde_json::Value,
}

impl Config {
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let config: Config = junction_kit::config::load(file, std::env::vars())?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.kit().validate()?;
        for (name, subgraph) in &self.subgraphs {
            let Some(spec) = crate::services::find(name) else {
                let known: Vec<&str> = crate::services::all().iter().map(|s| s.name).collect();
                return Err(ConfigError::key(
                    format!("subgraphs.{name}"),
                    format!("unknown subgraph (known: {})", known.join(", ")),
                ));
            };
            (spec.check_settings)(&subgraph.settings).map_err(|message| {
                ConfigError::key(format!("subgraphs.{name}.settings"), message)
            })?;
        }
        if self.registry.poll_interval_ms == 0 {
            return Err(ConfigError::key(
                "registry.poll_interval_ms",
                "must be positive",
            ));
        }
        if self.router.subgraph_timeout_ms == 0 {
            return Err(ConfigError::key(
                "router.subgraph_timeout_ms",
                "must be positive",
            ));
        }
        Ok(())
    }

    /// The sections the service kit reads.
    pub fn kit(&self) -> KitConfig {
        KitConfig {
            data_dir: self.data_dir.clone(),
            log: self.log.clone(),
            database: self.database.clone(),
            events: self.events.clone(),
            cache: self.cache.clone(),
            blobs: self.blobs.clone(),
        }
    }
}

impl Config {
    /// Where each subgraph's GraphQL endpoint is, from `subgraphs.<name>.url`.
    pub fn peers(&self) -> junction_kit::service::Peers {
        junction_kit::service::Peers::new(
            self.subgraphs
                .iter()
                .filter_map(|(name, s)| Some((name.clone(), s.url.clone()?)))
                .collect(),
        )
    }

    /// `subgraphs.<name>.settings` (null when unset).
    pub fn settings(&self, name: &str) -> serde_json::Value {
        self.subgraphs
            .get(name)
            .map(|s| s.settings.clone())
            .unwrap_or_default()
    }
}

impl Config {
    /// Adds `email` to the accounts service's `admin_emails` (`junction dev --seed` makes
    /// its shop owner an admin).
    pub fn make_admin(&mut self, email: &str) {
        let settings = &mut self
            .subgraphs
            .entry("accounts".into())
            .or_default()
            .settings;
        if !settings.is_object() {
            *settings = serde_json::json!({});
        }
        let admins = settings.as_object_mut().map(|s| {
            s.entry("admin_emails")
                .or_insert_with(|| serde_json::json!([]))
        });
        if let Some(serde_json::Value::Array(list)) = admins
            && !list.iter().any(|e| e == email)
        {
            list.push(serde_json::Value::String(email.to_owned()));
        }
    }
}
