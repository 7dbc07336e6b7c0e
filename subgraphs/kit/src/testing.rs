//! Helpers for tests of every crate that need the real backends.
//!
//! Real-backend tests read their server addresses from `TEST_*` variables (set by
//! `cargo xtask test`). A missing variable fails the test, unless
//! `JUNCTION_TEST_SKIP_SERVICES=1`, in which case the test skips itself.

use std::time::Duration;

use crate::config::{BlobsConfig, CacheConfig, DatabaseConfig, EventsConfig, S3Config};

pub const SKIP_SERVICES_VAR: &str = "JUNCTION_TEST_SKIP_SERVICES";

/// The value of `var`; `None` (after printing a notice) when it is unset and services
/// are skipped. Panics when it is unset and services are not skipped.
pub fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => Some(value),
        _ if std::env::var(SKIP_SERVICES_VAR).as_deref() == Ok("1") => {
            eprintln!("skipped: {var} is not set and {SKIP_SERVICES_VAR}=1");
            None
        }
        _ => panic!(
            "{var} is not set. Tests against real services need them running: use \
             `cargo xtask test`, which starts them and sets the TEST_* variables, or set \
             {SKIP_SERVICES_VAR}=1 to skip these tests"
        ),
    }
}

/// `<prefix>_<12 hex digits>`, lowercase `[a-z0-9_]`: a fresh name for a schema, key
/// prefix or stream so parallel tests never share state.
pub fn unique_name(prefix: &str) -> String {
    let clean: String = prefix
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '_') => c,
            _ => '_',
        })
        .collect();
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{clean}_{}", &id[..12])
}

/// PostgreSQL from `TEST_POSTGRES_URL`.
pub fn postgres_config() -> Option<DatabaseConfig> {
    Some(DatabaseConfig {
        url: Some(service_url("TEST_POSTGRES_URL")?),
        pool_size: 5,
        connect_timeout_ms: 5_000,
    })
}

/// The in-process bus with the given ack wait.
pub fn memory_events_config(ack_wait: Duration) -> EventsConfig {
    EventsConfig {
        url: None,
        ack_wait_ms: ack_wait.as_millis().max(1) as u64,
        duplicate_window_ms: 120_000,
        stream_prefix: String::new(),
    }
}

/// NATS from `TEST_NATS_URL`, with a stream prefix of its own (`T<hex>_`).
pub fn nats_config(ack_wait: Duration) -> Option<EventsConfig> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    Some(EventsConfig {
        url: Some(service_url("TEST_NATS_URL")?),
        stream_prefix: format!("T{}_", &id[..12]),
        ..memory_events_config(ack_wait)
    })
}

/// Redis from `TEST_REDIS_URL`.
pub fn redis_config() -> Option<CacheConfig> {
    Some(CacheConfig {
        url: Some(service_url("TEST_REDIS_URL")?),
        ..CacheConfig::default()
    })
}

/// The S3-compatible server from `TEST_S3_ENDPOINT`, `TEST_S3_ACCESS_KEY` and
/// `TEST_S3_SECRET_KEY`, using `bucket` (created at connect if missing).
pub fn s3_config(bucket: &str) -> Option<BlobsConfig> {
    let endpoint = service_url("TEST_S3_ENDPOINT")?;
    let access_key_id = service_url("TEST_S3_ACCESS_KEY")?;
    let secret_access_key = service_url("TEST_S3_SECRET_KEY")?;
    Some(BlobsConfig {
        s3: Some(S3Config {
            endpoint,
            bucket: bucket.to_string(),
            region: "us-east-1".into(),
            access_key_id,
            secret_access_key,
            force_path_style: true,
        }),
        dir: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_are_clean_and_distinct() {
        let a = unique_name("Kit-DB");
        let b = unique_name("Kit-DB");
        assert_ne!(a, b);
        assert!(a.starts_with("kit_db_"), "{a}");
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_'),
            "{a}"
        );
    }
}
