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
    /// Keyed by subgraph name.
    pub subgraphs: BTreeMap<String, SubgraphConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SubgraphConfig {
    /// Where the subgraph listens; `junction dev` picks a free port when unset.
    pub listen: Option<SocketAddr>,
}

impl Config {
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let config: Config = junction_kit::config::load(file, std::env::vars())?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.kit().validate()?;
        for name in self.subgraphs.keys() {
            if !crate::services::all().iter().any(|s| s.name == name) {
                let known: Vec<&str> = crate::services::all().iter().map(|s| s.name).collect();
                return Err(ConfigError::key(
                    format!("subgraphs.{name}"),
                    format!("unknown subgraph (known: {})", known.join(", ")),
                ));
            }
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
