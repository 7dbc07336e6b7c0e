//! Typed configuration: one YAML file plus `JUNCTION_*` environment overrides.
//!
//! The loader is generic so the `junction` binary can nest the router's config and
//! the kit's backend configs in one document. Nesting in environment variables uses
//! a double underscore: `JUNCTION_DATABASE__URL=postgres://…` sets `database.url`.
//! Values are read as YAML scalars, so `JUNCTION_CACHE__MAX_ENTRIES=500` is a number.
//!
//! Every failure names the offending key (and the environment variable, when that is
//! where the value came from) so a bad deployment fails at start with a useful line.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_yaml_ng::{Mapping, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Prefix of environment variables that override config keys.
pub const ENV_PREFIX: &str = "JUNCTION_";
/// Environment variables with the prefix that are not config keys.
const RESERVED_ENV: &[&str] = &["JUNCTION_CONFIG", "JUNCTION_LOG"];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid YAML: {source}")]
    Yaml {
        path: PathBuf,
        source: serde_yaml_ng::Error,
    },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("config key `{key}`{origin}: {message}")]
    Key {
        key: String,
        /// " (from JUNCTION_…)" when the value came from the environment.
        origin: String,
        message: String,
    },
}

impl ConfigError {
    /// A validation failure for `key`.
    pub fn key(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Key {
            key: key.into(),
            origin: String::new(),
            message: message.into(),
        }
    }
}

/// Loads `T` from an optional YAML file, then applies overrides from `env`
/// (pass `std::env::vars()` in production; tests pass their own list).
pub fn load<T: DeserializeOwned>(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError> {
    let mut root = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            parse_yaml(&text).map_err(|source| ConfigError::Yaml {
                path: path.to_owned(),
                source,
            })?
        }
        None => Value::Mapping(Mapping::new()),
    };
    let from_env = apply_env(&mut root, env)?;
    deserialize(root, &from_env)
}

/// Parses a YAML document; an empty document is an empty mapping.
fn parse_yaml(text: &str) -> Result<Value, serde_yaml_ng::Error> {
    let value: Value = serde_yaml_ng::from_str(text)?;
    Ok(match value {
        Value::Null => Value::Mapping(Mapping::new()),
        other => other,
    })
}

/// Applies `JUNCTION_A__B=v` overrides; returns which dotted keys came from which variable.
fn apply_env(
    root: &mut Value,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX) && !RESERVED_ENV.contains(&k.as_str()))
        .collect();
    // Deterministic order so a parent override never silently loses to a child one.
    vars.sort();
    let mut origins = BTreeMap::new();
    for (var, raw) in vars {
        let path: Vec<String> = var[ENV_PREFIX.len()..]
            .split("__")
            .map(|s| s.to_ascii_lowercase())
            .collect();
        if path.iter().any(|p| p.is_empty()) {
            return Err(ConfigError::Env {
                var,
                message: "empty key segment (use `__` between nested keys)".into(),
            });
        }
        let value: Value = serde_yaml_ng::from_str(&raw).unwrap_or(Value::String(raw.clone()));
        set_path(root, &path, value).map_err(|message| ConfigError::Env {
            var: var.clone(),
            message,
        })?;
        origins.insert(path.join("."), var);
    }
    Ok(origins)
}

fn set_path(root: &mut Value, path: &[String], value: Value) -> Result<(), String> {
    let mut node = root;
    for (i, segment) in path.iter().enumerate() {
        if matches!(node, Value::Null) {
            *node = Value::Mapping(Mapping::new());
        }
        let Value::Mapping(map) = node else {
            return Err(format!(
                "`{}` is not a mapping in the config file",
                path[..i].join(".")
            ));
        };
        let key = Value::String(segment.clone());
        if i + 1 == path.len() {
            map.insert(key, value);
            return Ok(());
        }
        node = map.entry(key).or_insert(Value::Null);
    }
    Ok(())
}

fn deserialize<T: DeserializeOwned>(
    root: Value,
    from_env: &BTreeMap<String, String>,
) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(root).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        // serde reports an unknown field at its parent's path; name the field itself.
        let key = match unknown_field_name(&inner) {
            Some(field) if path == "." => field.to_string(),
            // Newer serde_path_to_error versions already end the path with the field.
            Some(field) if path == field || path.ends_with(&format!(".{field}")) => path,
            Some(field) => format!("{path}.{field}"),
            None => path,
        };
        // The variable that set this key, or a key below it (an unknown section).
        let nested = format!("{key}.");
        let origin = from_env
            .iter()
            .find(|(set, _)| **set == key || set.starts_with(&nested))
            .map(|(_, var)| format!(" (from {var})"))
            .unwrap_or_default();
        ConfigError::Key {
            key,
            origin,
            message: strip_location(&inner),
        }
    })
}

fn unknown_field_name(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

/// YAML errors from an in-memory `Value` carry no useful position; drop it.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

// ---------------------------------------------------------------------------
// The kit's own sections. The binary embeds them in its top-level config.
// ---------------------------------------------------------------------------

/// Everything a subgraph process needs to reach its backends.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KitConfig {
    /// Where embedded backends keep their data (SQLite files, blobs).
    pub data_dir: Option<PathBuf>,
    pub log: LogConfig,
    pub database: DatabaseConfig,
    pub events: EventsConfig,
    pub cache: CacheConfig,
    pub blobs: BlobsConfig,
}

impl KitConfig {
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(".junction"))
    }

    /// Checks values serde cannot: URL schemes, ranges, required pairs.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.database.validate("database")?;
        self.events.validate("events")?;
        self.cache.validate("cache")?;
        self.blobs.validate("blobs")?;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable when stderr is a terminal, JSON otherwise.
    #[default]
    Auto,
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// An `EnvFilter` directive such as `info` or `junction_router=debug,info`.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Auto,
            filter: "info".into(),
        }
    }
}

/// `url: postgres://…` selects PostgreSQL; no URL selects SQLite under `data_dir`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub url: Option<String>,
    pub pool_size: u32,
    pub connect_timeout_ms: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: None,
            pool_size: 10,
            connect_timeout_ms: 5_000,
        }
    }
}

impl DatabaseConfig {
    pub fn validate(&self, key: &str) -> Result<(), ConfigError> {
        if let Some(url) = &self.url {
            let parsed = parse_url(&format!("{key}.url"), url)?;
            if !matches!(parsed.scheme(), "postgres" | "postgresql" | "sqlite") {
                return Err(ConfigError::key(
                    format!("{key}.url"),
                    format!(
                        "unsupported scheme `{}` (expected postgres:// or sqlite://)",
                        parsed.scheme()
                    ),
                ));
            }
        }
        if self.pool_size == 0 {
            return Err(ConfigError::key(
                format!("{key}.pool_size"),
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// `url: nats://…` selects NATS JetStream; no URL selects the in-process bus.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    pub url: Option<String>,
    /// How long a delivered message may stay unacknowledged before redelivery.
    pub ack_wait_ms: u64,
    /// Window in which a repeated message id is dropped as a duplicate.
    pub duplicate_window_ms: u64,
    /// Prepended to stream names, so several environments can share one NATS.
    pub stream_prefix: String,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            url: None,
            ack_wait_ms: 30_000,
            duplicate_window_ms: 120_000,
            stream_prefix: String::new(),
        }
    }
}

impl EventsConfig {
    pub fn validate(&self, key: &str) -> Result<(), ConfigError> {
        if let Some(url) = &self.url {
            let parsed = parse_url(&format!("{key}.url"), url)?;
            if !matches!(parsed.scheme(), "nats" | "tls") {
                return Err(ConfigError::key(
                    format!("{key}.url"),
                    format!(
                        "unsupported scheme `{}` (expected nats://)",
                        parsed.scheme()
                    ),
                ));
            }
        }
        if self.ack_wait_ms == 0 {
            return Err(ConfigError::key(
                format!("{key}.ack_wait_ms"),
                "must be positive",
            ));
        }
        if !self
            .stream_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(ConfigError::key(
                format!("{key}.stream_prefix"),
                "may hold only letters, digits, `_` and `-`",
            ));
        }
        Ok(())
    }
}

/// `url: redis://…` selects Redis; no URL selects the in-memory cache.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    pub url: Option<String>,
    pub pool_size: u32,
    /// Capacity of the in-memory cache, in entries.
    pub max_entries: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            url: None,
            pool_size: 10,
            max_entries: 10_000,
        }
    }
}

impl CacheConfig {
    pub fn validate(&self, key: &str) -> Result<(), ConfigError> {
        if let Some(url) = &self.url {
            let parsed = parse_url(&format!("{key}.url"), url)?;
            if !matches!(parsed.scheme(), "redis" | "rediss") {
                return Err(ConfigError::key(
                    format!("{key}.url"),
                    format!(
                        "unsupported scheme `{}` (expected redis://)",
                        parsed.scheme()
                    ),
                ));
            }
        }
        if self.pool_size == 0 {
            return Err(ConfigError::key(
                format!("{key}.pool_size"),
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// `s3:` selects an S3-compatible store; without it blobs live in `dir`
/// (default `<data_dir>/blobs`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlobsConfig {
    pub s3: Option<S3Config>,
    pub dir: Option<PathBuf>,
}

impl BlobsConfig {
    pub fn validate(&self, key: &str) -> Result<(), ConfigError> {
        if let Some(s3) = &self.s3 {
            s3.validate(&format!("{key}.s3"))?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// For example `https://s3.eu-west-1.amazonaws.com` or `http://127.0.0.1:9000`.
    pub endpoint: String,
    pub bucket: String,
    #[serde(default = "default_region")]
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Path-style addressing (`endpoint/bucket/key`); most self-hosted servers need it.
    #[serde(default = "default_true")]
    pub force_path_style: bool,
}

fn default_region() -> String {
    "us-east-1".into()
}

fn default_true() -> bool {
    true
}

impl S3Config {
    pub fn validate(&self, key: &str) -> Result<(), ConfigError> {
        let parsed = parse_url(&format!("{key}.endpoint"), &self.endpoint)?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ConfigError::key(
                format!("{key}.endpoint"),
                "must be an http:// or https:// URL",
            ));
        }
        let valid_bucket = (3..=63).contains(&self.bucket.len())
            && self
                .bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !valid_bucket {
            return Err(ConfigError::key(
                format!("{key}.bucket"),
                "must be 3-63 lowercase letters, digits, `-` or `.`",
            ));
        }
        Ok(())
    }
}

/// Parses a URL, naming `key` on failure.
pub fn parse_url(key: &str, raw: &str) -> Result<url::Url, ConfigError> {
    url::Url::parse(raw).map_err(|e| ConfigError::key(key, format!("invalid URL `{raw}`: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn write(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    #[test]
    fn file_values_and_env_overrides_merge() {
        let file = write("database:\n  url: postgres://a@localhost/db\n  pool_size: 3\n");
        let cfg: KitConfig = load(
            Some(file.path()),
            env(&[
                ("JUNCTION_DATABASE__POOL_SIZE", "7"),
                ("JUNCTION_CACHE__URL", "redis://127.0.0.1:6379"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(
            cfg.database.url.as_deref(),
            Some("postgres://a@localhost/db")
        );
        assert_eq!(cfg.database.pool_size, 7);
        assert_eq!(cfg.cache.url.as_deref(), Some("redis://127.0.0.1:6379"));
        assert_eq!(cfg.events.ack_wait_ms, 30_000);
        cfg.validate().unwrap();
    }

    #[test]
    fn unknown_key_in_file_is_named() {
        let file = write("database:\n  ulr: postgres://x\n");
        let err = load::<KitConfig>(Some(file.path()), env(&[])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("`database.ulr`"), "{text}");
        assert!(text.contains("unknown field"), "{text}");
    }

    #[test]
    fn unknown_key_from_env_names_the_variable() {
        let err = load::<KitConfig>(None, env(&[("JUNCTION_CACHE__SIZE", "3")])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("`cache.size`"), "{text}");
        assert!(text.contains("JUNCTION_CACHE__SIZE"), "{text}");
    }

    #[test]
    fn unknown_section_from_env_names_the_variable() {
        let err = load::<KitConfig>(None, env(&[("JUNCTION_DATABSE__URL", "x")])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("`databse`"), "{text}");
        assert!(text.contains("JUNCTION_DATABSE__URL"), "{text}");
    }

    #[test]
    fn wrong_type_is_named() {
        let err =
            load::<KitConfig>(None, env(&[("JUNCTION_DATABASE__POOL_SIZE", "many")])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("`database.pool_size`"), "{text}");
        assert!(text.contains("JUNCTION_DATABASE__POOL_SIZE"), "{text}");
    }

    #[test]
    fn bad_url_is_named_by_validation() {
        let cfg: KitConfig = load(None, env(&[("JUNCTION_EVENTS__URL", "http://x")])).unwrap();
        let text = cfg.validate().unwrap_err().to_string();
        assert!(text.contains("`events.url`"), "{text}");
        assert!(text.contains("nats://"), "{text}");

        let cfg: KitConfig = load(None, env(&[("JUNCTION_DATABASE__URL", "not a url")])).unwrap();
        let text = cfg.validate().unwrap_err().to_string();
        assert!(text.contains("`database.url`"), "{text}");
    }

    #[test]
    fn top_level_keys_and_enums() {
        let file = write("data_dir: /tmp/x\n");
        let cfg: KitConfig =
            load(Some(file.path()), env(&[("JUNCTION_LOG__FORMAT", "json")])).unwrap();
        assert_eq!(cfg.data_dir(), PathBuf::from("/tmp/x"));
        assert_eq!(cfg.log.format, LogFormat::Json);
        let err = load::<KitConfig>(None, env(&[("JUNCTION_LOG__FORMAT", "xml")])).unwrap_err();
        assert!(err.to_string().contains("`log.format`"), "{err}");
    }

    #[test]
    fn reserved_variables_are_not_keys() {
        let cfg: KitConfig = load(
            None,
            env(&[("JUNCTION_CONFIG", "x.yaml"), ("JUNCTION_LOG", "debug")]),
        )
        .unwrap();
        assert!(cfg.database.url.is_none());
    }

    #[test]
    fn invalid_yaml_names_the_file() {
        let file = write("database: [unclosed\n");
        let err = load::<KitConfig>(Some(file.path()), env(&[])).unwrap_err();
        assert!(matches!(err, ConfigError::Yaml { .. }), "{err}");
    }
}
