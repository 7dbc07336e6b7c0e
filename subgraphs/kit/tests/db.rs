//! Database behaviour, run identically against PostgreSQL and SQLite.

#[macro_use]
mod common;

use common::{Backend, MIGRATIONS, TestDb, notes};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use junction_kit::config::DatabaseConfig;
use junction_kit::db::{Database, DbError};
use junction_kit::{with_conn, with_transaction};
use std::time::Duration;

#[derive(Queryable, Debug, PartialEq)]
struct Note {
    id: i64,
    title: String,
    counter: i64,
}

async fn count(db: &Database) -> i64 {
    with_conn!(db, |conn| notes::table
        .count()
        .get_result::<i64>(conn)
        .await)
    .expect("count")
}

async fn migrate_applies_once(backend: Backend) {
    let Some(test_db) = TestDb::unmigrated(backend).await else {
        return;
    };
    let applied = test_db
        .db
        .migrate(&MIGRATIONS)
        .await
        .expect("first migrate");
    assert_eq!(
        applied,
        vec!["20240101000001", "20240101000002", "20240101000003"]
    );
    let again = test_db
        .db
        .migrate(&MIGRATIONS)
        .await
        .expect("second migrate");
    assert!(again.is_empty(), "nothing pending, got {again:?}");
    assert_eq!(count(&test_db.db).await, 0);
    test_db.cleanup().await;
}

#[tokio::test]
async fn migrate_applies_once_postgres() {
    migrate_applies_once(Backend::Postgres).await;
}

#[tokio::test]
async fn migrate_applies_once_sqlite() {
    migrate_applies_once(Backend::Sqlite).await;
}

async fn insert_select_update(db: &Database) {
    let id = with_conn!(db, |conn| {
        diesel::insert_into(notes::table)
            .values(notes::title.eq("first"))
            .execute(conn)
            .await?;
        notes::table
            .select(notes::id)
            .order(notes::id.desc())
            .first::<i64>(conn)
            .await
    })
    .expect("insert");

    let found = with_conn!(db, |conn| {
        notes::table
            .filter(notes::id.eq(id))
            .first::<Note>(conn)
            .await
            .optional()
    })
    .expect("select");
    assert_eq!(
        found,
        Some(Note {
            id,
            title: "first".into(),
            counter: 0
        })
    );

    let updated = with_conn!(db, |conn| {
        diesel::update(notes::table.filter(notes::id.eq(id)))
            .set((
                notes::title.eq("renamed"),
                notes::counter.eq(notes::counter + 5),
            ))
            .execute(conn)
            .await
    })
    .expect("update");
    assert_eq!(updated, 1);

    // `?` inside the body returns from the body, like a closure.
    let (title, counter) = with_conn!(db, |conn| {
        let note = notes::table.find(id).first::<Note>(conn).await?;
        Ok((note.title, note.counter))
    })
    .expect("reselect");
    assert_eq!((title.as_str(), counter), ("renamed", 5));

    let missing = with_conn!(db, |conn| {
        notes::table
            .find(id + 1000)
            .first::<Note>(conn)
            .await
            .optional()
    })
    .expect("missing");
    assert_eq!(missing, None);
}
db_suite!(insert_select_update);

async fn transactions_commit_or_roll_back(db: &Database) {
    // Inside with_conn!, with diesel-async's own transaction (an async closure).
    let committed = with_conn!(db, |conn| {
        conn.transaction(async |c| {
            diesel::insert_into(notes::table)
                .values(notes::title.eq("kept"))
                .execute(c)
                .await?;
            notes::table.count().get_result::<i64>(c).await
        })
        .await
    })
    .expect("committed transaction");
    assert_eq!(committed, 1);

    let failed = with_conn!(db, |conn| {
        conn.transaction(async |c| {
            diesel::insert_into(notes::table)
                .values(notes::title.eq("discarded"))
                .execute(c)
                .await?;
            Err::<(), _>(diesel::result::Error::RollbackTransaction)
        })
        .await
    });
    assert!(
        matches!(
            failed,
            Err(DbError::Query(diesel::result::Error::RollbackTransaction))
        ),
        "{failed:?}"
    );
    assert_eq!(count(db).await, 1);

    // with_transaction! behaves the same way.
    let failed = with_transaction!(db, |conn| {
        diesel::insert_into(notes::table)
            .values(notes::title.eq("discarded too"))
            .execute(conn)
            .await?;
        // A failing statement aborts the transaction.
        diesel::sql_query("SELECT * FROM no_such_table")
            .execute(conn)
            .await
    });
    assert!(matches!(failed, Err(DbError::Query(_))), "{failed:?}");
    with_transaction!(db, |conn| {
        diesel::insert_into(notes::table)
            .values(notes::title.eq("kept too"))
            .execute(conn)
            .await
    })
    .expect("with_transaction commit");

    let titles = with_conn!(db, |conn| {
        notes::table
            .select(notes::title)
            .order(notes::id)
            .load::<String>(conn)
            .await
    })
    .expect("titles");
    assert_eq!(titles, vec!["kept", "kept too"]);
}
db_suite!(transactions_commit_or_roll_back);

/// Read-then-write transactions from many tasks at once; on SQLite this is where a
/// deferred transaction would fail with SQLITE_BUSY.
async fn concurrent_writes_all_land(db: &Database) {
    const TASKS: usize = 8;
    const PER_TASK: usize = 10;
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let db = db.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..PER_TASK {
                with_transaction!(&db, |conn| {
                    let seen = notes::table.count().get_result::<i64>(conn).await?;
                    diesel::insert_into(notes::table)
                        .values((
                            notes::title.eq(format!("task {task} write {i}")),
                            notes::counter.eq(seen),
                        ))
                        .execute(conn)
                        .await
                })
                .expect("concurrent write");
            }
        }));
    }
    for handle in handles {
        handle.await.expect("task");
    }
    assert_eq!(count(db).await, (TASKS * PER_TASK) as i64);
}
db_suite!(concurrent_writes_all_land);

async fn ping_and_name(db: &Database) {
    db.ping().await.expect("ping");
    assert!(["postgres", "sqlite"].contains(&db.backend_name()));
}
db_suite!(ping_and_name);

#[tokio::test]
async fn unreachable_postgres_fails_fast() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = DatabaseConfig {
        // Port 1 on loopback: nothing listens, the connection is refused.
        url: Some("postgres://postgres:secret@127.0.0.1:1/none".into()),
        pool_size: 2,
        connect_timeout_ms: 2_000,
    };
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        Database::connect(&cfg, "svc", dir.path()),
    )
    .await
    .expect("connect must give up by itself");
    match result {
        Err(DbError::Connect { backend, message }) => {
            assert_eq!(backend, "postgres");
            assert!(!message.contains("secret"), "{message}");
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
}

#[tokio::test]
async fn invalid_service_names_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let postgres = DatabaseConfig {
        url: Some("postgres://postgres@127.0.0.1:1/none".into()),
        ..DatabaseConfig::default()
    };
    for cfg in [postgres, DatabaseConfig::default()] {
        for bad in ["Users", "a\"; DROP SCHEMA public; --", "", "a-b"] {
            let result = Database::connect(&cfg, bad, dir.path()).await;
            assert!(
                matches!(result, Err(DbError::Config(_))),
                "{bad}: {result:?}"
            );
        }
    }
    // Nothing was created for the rejected names.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn sqlite_file_lives_in_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("nested").join("data");
    let db = Database::connect(&DatabaseConfig::default(), "files", &data_dir)
        .await
        .expect("connect");
    assert_eq!(db.backend_name(), "sqlite");
    db.migrate(&MIGRATIONS).await.expect("migrate");
    assert!(data_dir.join("files.sqlite").is_file());
    let mode = with_conn!(&db, |conn| {
        diesel::sql_query("PRAGMA journal_mode")
            .load::<JournalMode>(conn)
            .await
    })
    .expect("pragma");
    assert_eq!(mode[0].journal_mode.to_lowercase(), "wal");
}

#[derive(QueryableByName)]
struct JournalMode {
    #[diesel(sql_type = diesel::sql_types::Text)]
    journal_mode: String,
}

#[tokio::test]
async fn postgres_services_get_separate_schemas() {
    let Some(cfg) = junction_kit::testing::postgres_config() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut dbs = Vec::new();
    for _ in 0..2 {
        let service = junction_kit::testing::unique_name("kit_schema");
        let db = Database::connect(&cfg, &service, dir.path())
            .await
            .expect("connect");
        // Both have the same tables (and migration bookkeeping) without clashing.
        assert_eq!(db.migrate(&MIGRATIONS).await.expect("migrate").len(), 3);
        dbs.push((db, service));
    }
    with_conn!(&dbs[0].0, |conn| {
        diesel::insert_into(notes::table)
            .values(notes::title.eq("only in the first"))
            .execute(conn)
            .await
    })
    .expect("insert");
    assert_eq!(count(&dbs[0].0).await, 1);
    assert_eq!(count(&dbs[1].0).await, 0);
    for (db, service) in dbs {
        let drop_schema = format!("DROP SCHEMA \"{service}\" CASCADE");
        with_conn!(&db, |conn| diesel::sql_query(drop_schema)
            .execute(conn)
            .await)
        .expect("drop schema");
    }
}
