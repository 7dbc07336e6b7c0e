//! Database access: PostgreSQL or embedded SQLite behind one enum.
//!
//! Domain code is written once against diesel's DSL and runs on either backend through
//! [`with_conn!`](crate::with_conn) (a pooled connection) or
//! [`with_transaction!`](crate::with_transaction) (a pooled connection inside a
//! transaction). Both macros expand the body once per backend, so it is type-checked
//! against both concrete connection types.
//!
//! PostgreSQL: every service owns a schema named after it, created at connect, and every
//! pooled connection has `search_path` set to it, so services can share one database
//! without their tables (or diesel's `__diesel_schema_migrations`) colliding.
//!
//! SQLite: one file `<data_dir>/<service>.sqlite` in WAL mode.

use diesel::ConnectionError;
use diesel::migration::{Migration, MigrationSource};
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, PoolError};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use futures::FutureExt;
use std::path::Path;
use std::time::Duration;

use crate::config::DatabaseConfig;

/// An async SQLite connection: diesel's sync connection run on tokio's blocking pool.
pub type SqliteConn =
    diesel_async::sync_connection_wrapper::SyncConnectionWrapper<diesel::SqliteConnection>;
pub type PgConn = AsyncPgConnection;
pub type PgPool = bb8::Pool<AsyncDieselConnectionManager<PgConn>>;
pub type SqlitePool = bb8::Pool<AsyncDieselConnectionManager<SqliteConn>>;

/// SQLite allows one writer at a time; more connections only add lock waits (bounded by
/// `busy_timeout`), so the pool stays small whatever `pool_size` says. A few connections
/// still let reads proceed while a write is in progress (WAL).
const SQLITE_MAX_POOL: u32 = 4;

/// Applied to every SQLite connection. `busy_timeout` comes first so that switching to
/// WAL waits for a concurrent opener instead of failing.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid database configuration: {0}")]
    Config(String),
    #[error("cannot connect to the {backend} database: {message}")]
    Connect {
        backend: &'static str,
        message: String,
    },
    #[error("database connection pool: {0}")]
    Pool(String),
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database migration failed: {0}")]
    Migration(String),
}

impl From<bb8::RunError<PoolError>> for DbError {
    fn from(err: bb8::RunError<PoolError>) -> Self {
        match err {
            bb8::RunError::User(e) => DbError::Pool(e.to_string()),
            bb8::RunError::TimedOut => {
                DbError::Pool("timed out waiting for a free connection".into())
            }
        }
    }
}

/// The migrations of one service, one set per backend (their SQL dialects differ).
///
/// Declare it as a `static` so [`Database::migrate`] can run it on a blocking thread:
/// `static MIGRATIONS: Migrations = Migrations { postgres: embed_migrations!("…"), sqlite: embed_migrations!("…") };`
pub struct Migrations {
    pub postgres: EmbeddedMigrations,
    pub sqlite: EmbeddedMigrations,
}

#[derive(Clone, Debug)]
pub enum Database {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

impl Database {
    /// Connects to the configured backend and checks that it is reachable.
    ///
    /// `service` names the PostgreSQL schema or the SQLite file; it must match `[a-z0-9_]+`.
    pub async fn connect(
        cfg: &DatabaseConfig,
        service: &str,
        data_dir: &Path,
    ) -> Result<Database, DbError> {
        validate_service_name(service)?;
        let timeout = Duration::from_millis(cfg.connect_timeout_ms.max(1));
        match cfg.url.as_deref() {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                connect_postgres(url, service, cfg.pool_size, timeout)
                    .await
                    .map(Database::Postgres)
            }
            Some(url) if url.starts_with("sqlite:") => {
                let path = url
                    .strip_prefix("sqlite://")
                    .filter(|p| !p.is_empty() && *p != ":memory:")
                    .ok_or_else(|| {
                        DbError::Config(format!(
                            "`{url}`: expected sqlite://<file path> (an in-memory database \
                             cannot be shared by a connection pool)"
                        ))
                    })?;
                connect_sqlite(Path::new(path), cfg.pool_size, timeout)
                    .await
                    .map(Database::Sqlite)
            }
            Some(url) => Err(DbError::Config(format!(
                "unsupported database URL `{}` (expected postgres:// or sqlite://)",
                redact(url)
            ))),
            None => {
                std::fs::create_dir_all(data_dir).map_err(|e| DbError::Connect {
                    backend: "sqlite",
                    message: format!("cannot create data directory {}: {e}", data_dir.display()),
                })?;
                let path = data_dir.join(format!("{service}.sqlite"));
                connect_sqlite(&path, cfg.pool_size, timeout)
                    .await
                    .map(Database::Sqlite)
            }
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Database::Postgres(_) => "postgres",
            Database::Sqlite(_) => "sqlite",
        }
    }

    /// Readiness check: runs `SELECT 1` on a pooled connection.
    pub async fn ping(&self) -> Result<(), DbError> {
        crate::with_conn!(self, |conn| diesel::sql_query("SELECT 1")
            .execute(conn)
            .await
            .map(|_| ()))
    }

    /// Applies pending migrations for this backend; returns the versions applied (empty
    /// when the schema is up to date).
    ///
    /// diesel's migration harness is synchronous, so it runs on a blocking thread over
    /// diesel-async's `AsyncConnectionWrapper` (which is why the migrations are `'static`).
    pub async fn migrate(&self, migrations: &'static Migrations) -> Result<Vec<String>, DbError> {
        match self {
            Database::Postgres(pool) => {
                let conn = pool.get_owned().await?;
                run_migrations(conn, &migrations.postgres).await
            }
            Database::Sqlite(pool) => {
                let conn = pool.get_owned().await?;
                run_migrations(conn, &migrations.sqlite).await
            }
        }
    }
}

/// Lets `&'static EmbeddedMigrations` be passed where diesel wants a source by value.
struct StaticSource(&'static EmbeddedMigrations);

impl<DB: diesel::backend::Backend> MigrationSource<DB> for StaticSource
where
    EmbeddedMigrations: MigrationSource<DB>,
{
    fn migrations(&self) -> diesel::migration::Result<Vec<Box<dyn Migration<DB>>>> {
        self.0.migrations()
    }
}

async fn run_migrations<C>(
    conn: C,
    source: &'static EmbeddedMigrations,
) -> Result<Vec<String>, DbError>
where
    C: AsyncConnection + 'static,
    AsyncConnectionWrapper<C>: MigrationHarness<C::Backend> + Send + 'static,
    StaticSource: MigrationSource<C::Backend>,
{
    // Built here, inside the runtime, so the wrapper captures the runtime handle.
    let mut harness = AsyncConnectionWrapper::<C>::from(conn);
    let (harness, result) = tokio::task::spawn_blocking(move || {
        let result = harness
            .run_pending_migrations(StaticSource(source))
            .map(|versions| versions.iter().map(|v| v.to_string()).collect::<Vec<_>>())
            .map_err(|e| DbError::Migration(e.to_string()));
        (harness, result)
    })
    .await
    .map_err(|e| DbError::Migration(format!("migration task failed: {e}")))?;
    // Returned to the pool here, on the runtime, not on the blocking thread.
    drop(harness);
    result
}

fn validate_service_name(service: &str) -> Result<(), DbError> {
    let valid = !service.is_empty()
        && service.len() <= 63
        && service
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(DbError::Config(format!(
            "invalid service name `{service}`: use 1-63 characters from [a-z0-9_]"
        )))
    }
}

/// The URL without its password, for error messages.
fn redact(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => raw.to_string(),
    }
}

async fn connect_postgres(
    url: &str,
    service: &str,
    pool_size: u32,
    timeout: Duration,
) -> Result<PgPool, DbError> {
    let connect_error = |message: String| DbError::Connect {
        backend: "postgres",
        message,
    };
    // One direct connection first: fails fast with the server's own error, and creates
    // the schema before any pooled connection points its search_path at it.
    let mut conn = tokio::time::timeout(timeout, AsyncPgConnection::establish(url))
        .await
        .map_err(|_| connect_error(format!("{} did not answer within {timeout:?}", redact(url))))?
        .map_err(|e| connect_error(format!("{}: {e}", redact(url))))?;
    let create = format!("CREATE SCHEMA IF NOT EXISTS \"{service}\"");
    if let Err(e) = conn.batch_execute(&create).await {
        // Two processes creating the schema at once race on the catalog; the loser sees
        // a unique violation although the schema now exists.
        let raced = matches!(
            e,
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            )
        );
        if !raced {
            return Err(connect_error(format!(
                "cannot create schema `{service}`: {e}"
            )));
        }
    }
    drop(conn);

    let schema = service.to_string();
    let mut manager_config = ManagerConfig::<AsyncPgConnection>::default();
    manager_config.custom_setup = Box::new(move |url| {
        let set_path = format!("SET search_path TO \"{schema}\"");
        let url = url.to_string();
        async move {
            let mut conn = AsyncPgConnection::establish(&url).await?;
            conn.batch_execute(&set_path)
                .await
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::new_with_config(url, manager_config);
    bb8::Pool::builder()
        .max_size(pool_size.max(1))
        .connection_timeout(timeout)
        .error_sink(Box::new(LogPoolErrors("postgres")))
        .build(manager)
        .await
        .map_err(|e| connect_error(e.to_string()))
}

async fn connect_sqlite(
    path: &Path,
    pool_size: u32,
    timeout: Duration,
) -> Result<SqlitePool, DbError> {
    let path_text = path.to_str().ok_or_else(|| {
        DbError::Config(format!("SQLite path {} is not valid UTF-8", path.display()))
    })?;
    let mut manager_config = ManagerConfig::<SqliteConn>::default();
    manager_config.custom_setup = Box::new(|path| {
        let path = path.to_string();
        async move {
            let mut conn = SqliteConn::establish(&path).await?;
            conn.batch_execute(SQLITE_PRAGMAS)
                .await
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::new_with_config(path_text, manager_config);
    let pool = bb8::Pool::builder()
        .max_size(pool_size.clamp(1, SQLITE_MAX_POOL))
        .connection_timeout(timeout)
        .error_sink(Box::new(LogPoolErrors("sqlite")))
        .build(manager)
        .await
        .map_err(|e| DbError::Connect {
            backend: "sqlite",
            message: format!("{}: {e}", path.display()),
        })?;
    // Open one connection now so a bad path fails at start, not at the first request.
    pool.get().await.map_err(|e| DbError::Connect {
        backend: "sqlite",
        message: format!("{}: {}", path.display(), DbError::from(e)),
    })?;
    Ok(pool)
}

/// Logs connection failures inside the pool, which otherwise only surface as a timeout.
#[derive(Debug, Clone, Copy)]
struct LogPoolErrors(&'static str);

impl bb8::ErrorSink<PoolError> for LogPoolErrors {
    fn sink(&self, error: PoolError) {
        tracing::warn!(backend = self.0, %error, "database connection failed");
    }

    fn boxed_clone(&self) -> Box<dyn bb8::ErrorSink<PoolError>> {
        Box::new(*self)
    }
}

#[doc(hidden)]
pub use diesel_async::AsyncConnection as __AsyncConnection;

#[doc(hidden)]
pub fn __as_db(db: &Database) -> &Database {
    db
}

#[doc(hidden)]
pub fn __finish<T>(result: diesel::QueryResult<T>) -> Result<T, DbError> {
    result.map_err(DbError::Query)
}

/// Runs `body` with `conn` bound to a pooled connection (`&mut AsyncPgConnection` or
/// `&mut SqliteConn`), once per backend arm.
///
/// The body is an expression of type `diesel::QueryResult<T>` (`?` inside it returns
/// from the body); the macro evaluates to `Result<T, DbError>`.
///
/// ```no_run
/// use diesel::prelude::*;
/// use diesel_async::{AsyncConnection, RunQueryDsl};
/// use junction_kit::db::{Database, DbError};
/// use junction_kit::events::Envelope;
/// use junction_kit::{outbox, with_conn};
///
/// diesel::table! {
///     users (id) {
///         id -> BigInt,
///         name -> Text,
///     }
/// }
///
/// async fn example(db: &Database, id: i64) -> Result<(), DbError> {
///     let name: Option<String> = with_conn!(db, |conn| {
///         users::table
///             .filter(users::id.eq(id))
///             .select(users::name)
///             .first::<String>(conn)
///             .await
///             .optional()
///     })?;
///     let event = Envelope::new("users.renamed", id.to_string(), serde_json::json!({}));
///     let total = with_conn!(db, |conn| {
///         conn.transaction(async |c| {
///             diesel::update(users::table.find(id))
///                 .set(users::name.eq("renamed"))
///                 .execute(c)
///                 .await?;
///             outbox::enqueue(c, &event).await?;
///             users::table.count().get_result::<i64>(c).await
///         })
///         .await
///     })?;
///     println!("{name:?} {total}");
///     Ok(())
/// }
/// ```
#[macro_export]
macro_rules! with_conn {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $crate::db::__as_db($db) {
            $crate::db::Database::Postgres(pool) => match pool.get().await {
                ::core::result::Result::Ok(mut pooled) => {
                    let $conn: &mut $crate::db::PgConn = &mut *pooled;
                    $crate::db::__finish(async { $body }.await)
                }
                ::core::result::Result::Err(e) => {
                    ::core::result::Result::Err($crate::db::DbError::from(e))
                }
            },
            $crate::db::Database::Sqlite(pool) => match pool.get().await {
                ::core::result::Result::Ok(mut pooled) => {
                    let $conn: &mut $crate::db::SqliteConn = &mut *pooled;
                    $crate::db::__finish(async { $body }.await)
                }
                ::core::result::Result::Err(e) => {
                    ::core::result::Result::Err($crate::db::DbError::from(e))
                }
            },
        }
    };
}

/// Like [`with_conn!`](crate::with_conn), but the body runs inside a transaction that
/// commits when it returns `Ok` and rolls back on `Err`.
///
/// On SQLite the transaction starts with `BEGIN IMMEDIATE`, taking the write lock up
/// front: a deferred transaction that reads and then writes fails at once with
/// `SQLITE_BUSY` when another connection wrote in between, while an immediate one waits
/// (up to `busy_timeout`). Prefer this macro for read-modify-write sequences.
#[macro_export]
macro_rules! with_transaction {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $crate::db::__as_db($db) {
            $crate::db::Database::Postgres(pool) => match pool.get().await {
                ::core::result::Result::Ok(mut pooled) => {
                    let conn: &mut $crate::db::PgConn = &mut *pooled;
                    $crate::db::__finish(
                        <$crate::db::PgConn as $crate::db::__AsyncConnection>::transaction(
                            conn,
                            async |$conn| $body,
                        )
                        .await,
                    )
                }
                ::core::result::Result::Err(e) => {
                    ::core::result::Result::Err($crate::db::DbError::from(e))
                }
            },
            $crate::db::Database::Sqlite(pool) => match pool.get().await {
                ::core::result::Result::Ok(mut pooled) => {
                    let conn: &mut $crate::db::SqliteConn = &mut *pooled;
                    $crate::db::__finish(conn.immediate_transaction(async |$conn| $body).await)
                }
                ::core::result::Result::Err(e) => {
                    ::core::result::Result::Err($crate::db::DbError::from(e))
                }
            },
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names() {
        assert!(validate_service_name("users").is_ok());
        assert!(validate_service_name("svc_2").is_ok());
        for bad in ["", "Users", "a-b", "a\"b", "a.b", &"x".repeat(64)] {
            assert!(
                matches!(validate_service_name(bad), Err(DbError::Config(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn redacts_passwords() {
        let text = redact("postgres://u:secret@h:5432/db");
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("u:***@h"), "{text}");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
