//! Shared by the database and outbox tests: the test migrations and a database per test.
#![allow(dead_code)] // each test crate uses a different part

use diesel_migrations::embed_migrations;
use junction_kit::config::DatabaseConfig;
use junction_kit::db::{Database, Migrations};
use junction_kit::testing;

pub static MIGRATIONS: Migrations = Migrations {
    postgres: embed_migrations!("tests/migrations/postgres"),
    sqlite: embed_migrations!("tests/migrations/sqlite"),
};

diesel::table! {
    notes (id) {
        id -> BigInt,
        title -> Text,
        counter -> BigInt,
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A migrated database of its own: a fresh schema on PostgreSQL, a temp dir on SQLite.
pub struct TestDb {
    pub db: Database,
    pub service: String,
    _dir: tempfile::TempDir,
}

impl TestDb {
    /// `None` when PostgreSQL is wanted but skipped (see `testing::service_url`).
    pub async fn new(backend: Backend) -> Option<TestDb> {
        let test_db = TestDb::unmigrated(backend).await?;
        test_db.db.migrate(&MIGRATIONS).await.expect("migrate");
        Some(test_db)
    }

    pub async fn unmigrated(backend: Backend) -> Option<TestDb> {
        let cfg = match backend {
            Backend::Postgres => testing::postgres_config()?,
            Backend::Sqlite => DatabaseConfig::default(),
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let service = testing::unique_name("kit");
        let db = Database::connect(&cfg, &service, dir.path())
            .await
            .expect("connect");
        Some(TestDb {
            db,
            service,
            _dir: dir,
        })
    }

    /// Drops the PostgreSQL schema (the SQLite file goes with the temp dir).
    pub async fn cleanup(self) {
        if let Database::Postgres(_) = self.db {
            use diesel_async::RunQueryDsl;
            let drop_schema = format!("DROP SCHEMA \"{}\" CASCADE", self.service);
            junction_kit::with_conn!(&self.db, |conn| diesel::sql_query(drop_schema)
                .execute(conn)
                .await)
            .expect("drop schema");
        }
    }
}

/// Runs the same async test body against PostgreSQL and SQLite, as two tests.
macro_rules! db_suite {
    ($name:ident) => {
        mod $name {
            use super::common::{Backend, TestDb};

            async fn run(backend: Backend) {
                let Some(test_db) = TestDb::new(backend).await else {
                    return;
                };
                super::$name(&test_db.db).await;
                test_db.cleanup().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run(Backend::Postgres).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(Backend::Sqlite).await;
            }
        }
    };
}
