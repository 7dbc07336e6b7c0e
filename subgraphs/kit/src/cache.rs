//! Cache: Redis or an in-process cache, with per-entry TTLs.
//!
//! Every key is stored as `<namespace>:<key>` so services sharing one Redis never see
//! each other's entries.

use bytes::Bytes;
use moka::Expiry;
use std::time::{Duration, Instant};

use crate::config::CacheConfig;

/// How long connecting to Redis (and waiting for a pooled connection) may take.
const REDIS_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("invalid cache configuration: {0}")]
    Config(String),
    #[error("cannot connect to the cache: {0}")]
    Connect(String),
    #[error("cache connection pool: {0}")]
    Pool(String),
    #[error("cache command failed: {0}")]
    Command(String),
    #[error("invalid TTL: must be at least one millisecond")]
    InvalidTtl,
}

impl From<redis::RedisError> for CacheError {
    fn from(err: redis::RedisError) -> Self {
        CacheError::Command(err.to_string())
    }
}

impl From<bb8::RunError<redis::RedisError>> for CacheError {
    fn from(err: bb8::RunError<redis::RedisError>) -> Self {
        match err {
            bb8::RunError::User(e) => CacheError::Pool(e.to_string()),
            bb8::RunError::TimedOut => {
                CacheError::Pool("timed out waiting for a free connection".into())
            }
        }
    }
}

#[derive(Clone, Debug)]
pub enum Cache {
    Redis(RedisCache),
    Memory(MemoryCache),
}

#[derive(Clone, Debug)]
pub struct RedisCache {
    pool: bb8::Pool<bb8_redis::RedisConnectionManager>,
    prefix: String,
}

#[derive(Clone, Debug)]
pub struct MemoryCache {
    entries: moka::future::Cache<String, Entry>,
    prefix: String,
}

#[derive(Clone, Debug)]
struct Entry {
    value: Bytes,
    ttl: Duration,
}

/// Each entry lives for the TTL it was last written with.
struct EntryTtl;

impl Expiry<String, Entry> for EntryTtl {
    fn expire_after_create(&self, _key: &String, entry: &Entry, _at: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }

    fn expire_after_update(
        &self,
        _key: &String,
        entry: &Entry,
        _at: Instant,
        _remaining: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }
}

impl Cache {
    /// `key`'s value from the cache, or else from `load` (then cached for `ttl`). The
    /// cache is an optimisation: when it fails, `load` answers and the failure is logged.
    pub async fn read_through<T, E>(
        &self,
        key: &str,
        ttl: Duration,
        load: impl std::future::Future<Output = Result<Option<T>, E>>,
    ) -> Result<Option<T>, E>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        match self.get(key).await {
            Ok(Some(bytes)) => {
                if let Ok(value) = serde_json::from_slice::<T>(&bytes) {
                    return Ok(Some(value));
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, key, "cache read failed"),
        }
        let value = load.await?;
        if let Some(value) = &value
            && let Ok(bytes) = serde_json::to_vec(value)
            && let Err(e) = self.set(key, &bytes, ttl).await
        {
            tracing::warn!(error = %e, key, "cache write failed");
        }
        Ok(value)
    }

    /// Drops `key`, logging a failure (the entry then lives until its TTL).
    pub async fn invalidate(&self, key: &str) {
        if let Err(e) = self.delete(key).await {
            tracing::warn!(error = %e, key, "cache invalidation failed");
        }
    }

    /// `url` set: Redis (fails if unreachable); unset: in-process, `max_entries` large.
    pub async fn connect(cfg: &CacheConfig, namespace: &str) -> Result<Cache, CacheError> {
        if namespace.is_empty() || namespace.contains(':') {
            return Err(CacheError::Config(format!(
                "invalid namespace `{namespace}`: must be non-empty without `:`"
            )));
        }
        let prefix = format!("{namespace}:");
        match cfg.url.as_deref() {
            Some(url) => connect_redis(url, cfg.pool_size, prefix).await,
            None => Ok(Cache::Memory(MemoryCache {
                entries: moka::future::Cache::builder()
                    .max_capacity(cfg.max_entries)
                    .expire_after(EntryTtl)
                    .build(),
                prefix,
            })),
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Cache::Redis(_) => "redis",
            Cache::Memory(_) => "memory",
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, CacheError> {
        match self {
            Cache::Redis(redis) => {
                let mut conn = redis.pool.get().await?;
                let value: Option<Vec<u8>> = redis::cmd("GET")
                    .arg(redis.key(key))
                    .query_async(&mut *conn)
                    .await?;
                Ok(value.map(Bytes::from))
            }
            Cache::Memory(memory) => Ok(memory
                .entries
                .get(&memory.key(key))
                .await
                .map(|entry| entry.value)),
        }
    }

    /// Stores `value` for `ttl` (at least 1 ms), replacing any previous value and TTL.
    pub async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        if millis == 0 {
            return Err(CacheError::InvalidTtl);
        }
        match self {
            Cache::Redis(redis) => {
                let mut conn = redis.pool.get().await?;
                let () = redis::cmd("SET")
                    .arg(redis.key(key))
                    .arg(value)
                    .arg("PX")
                    .arg(millis)
                    .query_async(&mut *conn)
                    .await?;
                Ok(())
            }
            Cache::Memory(memory) => {
                let entry = Entry {
                    value: Bytes::copy_from_slice(value),
                    ttl,
                };
                memory.entries.insert(memory.key(key), entry).await;
                Ok(())
            }
        }
    }

    /// Removes `key`; removing a missing key is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), CacheError> {
        match self {
            Cache::Redis(redis) => {
                let mut conn = redis.pool.get().await?;
                let _removed: i64 = redis::cmd("DEL")
                    .arg(redis.key(key))
                    .query_async(&mut *conn)
                    .await?;
                Ok(())
            }
            Cache::Memory(memory) => {
                memory.entries.invalidate(&memory.key(key)).await;
                Ok(())
            }
        }
    }

    /// Readiness check (for Redis: `PING`).
    pub async fn ping(&self) -> Result<(), CacheError> {
        match self {
            Cache::Redis(redis) => redis.ping().await,
            Cache::Memory(_) => Ok(()),
        }
    }
}

impl RedisCache {
    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn ping(&self) -> Result<(), CacheError> {
        let mut conn = self.pool.get().await?;
        let reply: String = redis::cmd("PING").query_async(&mut *conn).await?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(CacheError::Command(format!(
                "unexpected PING reply `{reply}`"
            )))
        }
    }
}

impl MemoryCache {
    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

/// Logs connection failures inside the pool, which otherwise only surface as a timeout.
#[derive(Debug, Clone, Copy)]
struct LogRedisErrors;

impl bb8::ErrorSink<redis::RedisError> for LogRedisErrors {
    fn sink(&self, error: redis::RedisError) {
        tracing::warn!(%error, "redis connection failed");
    }

    fn boxed_clone(&self) -> Box<dyn bb8::ErrorSink<redis::RedisError>> {
        Box::new(*self)
    }
}

async fn connect_redis(url: &str, pool_size: u32, prefix: String) -> Result<Cache, CacheError> {
    let manager = bb8_redis::RedisConnectionManager::new(url)
        .map_err(|e| CacheError::Config(format!("invalid Redis URL: {e}")))?;
    let pool = bb8::Pool::builder()
        .max_size(pool_size.max(1))
        .connection_timeout(REDIS_CONNECT_TIMEOUT)
        .error_sink(Box::new(LogRedisErrors))
        .build(manager)
        .await
        .map_err(|e| CacheError::Connect(e.to_string()))?;
    let cache = RedisCache { pool, prefix };
    // Fail at start, with the reason, rather than on the first request.
    let checked = tokio::time::timeout(REDIS_CONNECT_TIMEOUT, async {
        let mut conn = cache
            .pool
            .dedicated_connection()
            .await
            .map_err(|e| CacheError::Connect(e.to_string()))?;
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(|e| CacheError::Connect(e.to_string()))?;
        Ok::<(), CacheError>(())
    })
    .await;
    match checked {
        Ok(Ok(())) => Ok(Cache::Redis(cache)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(CacheError::Connect(format!(
            "no answer within {REDIS_CONNECT_TIMEOUT:?}"
        ))),
    }
}
