//! Cache behaviour, run identically against Redis and the in-process cache.

use junction_kit::cache::{Cache, CacheError};
use junction_kit::config::CacheConfig;
use junction_kit::testing;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug)]
enum Backend {
    Redis,
    Memory,
}

fn config(backend: Backend) -> Option<CacheConfig> {
    match backend {
        Backend::Redis => testing::redis_config(),
        Backend::Memory => Some(CacheConfig::default()),
    }
}

/// Runs the same async test body against both caches, as two tests. The body gets the
/// config and a namespace of its own.
macro_rules! cache_suite {
    ($name:ident) => {
        mod $name {
            use super::Backend;

            async fn run(backend: Backend) {
                let Some(cfg) = super::config(backend) else {
                    return;
                };
                let namespace = junction_kit::testing::unique_name("kit_cache");
                super::$name(&cfg, &namespace).await;
            }

            #[tokio::test]
            async fn redis() {
                run(Backend::Redis).await;
            }

            #[tokio::test]
            async fn memory() {
                run(Backend::Memory).await;
            }
        }
    };
}

async fn set_get_delete(cfg: &CacheConfig, namespace: &str) {
    let cache = Cache::connect(cfg, namespace).await.expect("connect");
    cache.ping().await.expect("ping");
    assert_eq!(cache.get("missing").await.expect("get"), None);

    cache.set("k", b"first", LONG).await.expect("set");
    assert_eq!(
        cache.get("k").await.expect("get").as_deref(),
        Some(&b"first"[..])
    );
    cache.set("k", b"second", LONG).await.expect("overwrite");
    assert_eq!(
        cache.get("k").await.expect("get").as_deref(),
        Some(&b"second"[..])
    );

    cache.delete("k").await.expect("delete");
    assert_eq!(cache.get("k").await.expect("get"), None);
    cache
        .delete("k")
        .await
        .expect("deleting a missing key is fine");
}
cache_suite!(set_get_delete);

async fn binary_values_are_intact(cfg: &CacheConfig, namespace: &str) {
    let cache = Cache::connect(cfg, namespace).await.expect("connect");
    let value: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    cache.set("bin", &value, LONG).await.expect("set");
    assert_eq!(
        cache.get("bin").await.expect("get").as_deref(),
        Some(&value[..])
    );
    cache.set("empty", b"", LONG).await.expect("set empty");
    assert_eq!(
        cache.get("empty").await.expect("get").as_deref(),
        Some(&b""[..])
    );
}
cache_suite!(binary_values_are_intact);

async fn entries_expire(cfg: &CacheConfig, namespace: &str) {
    let cache = Cache::connect(cfg, namespace).await.expect("connect");
    cache
        .set("short", b"v", Duration::from_millis(300))
        .await
        .expect("set");
    cache.set("long", b"v", LONG).await.expect("set");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while cache.get("short").await.expect("get").is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "entry with a 300 ms TTL still present after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(cache.get("long").await.expect("get").is_some());

    // Rewriting an entry gives it the new TTL.
    cache
        .set("long", b"v2", Duration::from_millis(200))
        .await
        .expect("set");
    while cache.get("long").await.expect("get").is_some() {
        assert!(tokio::time::Instant::now() < deadline, "TTL not replaced");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let zero = cache.set("zero", b"v", Duration::ZERO).await;
    assert!(matches!(zero, Err(CacheError::InvalidTtl)), "{zero:?}");
}
cache_suite!(entries_expire);

async fn namespaces_isolate(cfg: &CacheConfig, namespace: &str) {
    let one = Cache::connect(cfg, &format!("{namespace}_one"))
        .await
        .expect("connect");
    let two = Cache::connect(cfg, &format!("{namespace}_two"))
        .await
        .expect("connect");
    one.set("shared-key", b"one", LONG).await.expect("set");
    assert_eq!(two.get("shared-key").await.expect("get"), None);
    two.set("shared-key", b"two", LONG).await.expect("set");
    two.delete("shared-key").await.expect("delete");
    assert_eq!(
        one.get("shared-key").await.expect("get").as_deref(),
        Some(&b"one"[..])
    );
}
cache_suite!(namespaces_isolate);

#[tokio::test]
async fn unreachable_redis_fails_at_connect() {
    let cfg = CacheConfig {
        url: Some("redis://127.0.0.1:1".into()),
        ..CacheConfig::default()
    };
    let result = tokio::time::timeout(Duration::from_secs(15), Cache::connect(&cfg, "ns"))
        .await
        .expect("connect must give up by itself");
    assert!(matches!(result, Err(CacheError::Connect(_))), "{result:?}");
}

#[tokio::test]
async fn bad_namespace_is_rejected() {
    for bad in ["", "a:b"] {
        let result = Cache::connect(&CacheConfig::default(), bad).await;
        assert!(matches!(result, Err(CacheError::Config(_))), "{bad}");
    }
}

#[tokio::test]
async fn memory_capacity_is_bounded() {
    let cfg = CacheConfig {
        max_entries: 10,
        ..CacheConfig::default()
    };
    let cache = Cache::connect(&cfg, "cap").await.unwrap();
    for i in 0..200 {
        cache.set(&format!("k{i}"), b"v", LONG).await.unwrap();
    }
    let Cache::Memory(_) = &cache else {
        panic!("expected the memory cache")
    };
    let mut present = 0;
    for i in 0..200 {
        if cache.get(&format!("k{i}")).await.unwrap().is_some() {
            present += 1;
        }
    }
    // moka evicts asynchronously, so allow some slack above the bound, but far below 200.
    assert!(
        present <= 20,
        "{present} entries kept with max_entries = 10"
    );
}
