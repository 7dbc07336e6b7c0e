//! The users table and the queries on it, written once for PostgreSQL and SQLite.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::RunQueryDsl;
use junction_kit::db::{Database, DbError};
use junction_kit::events::Envelope;
use junction_kit::{outbox, with_conn, with_transaction};
use serde::{Deserialize, Serialize};

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    #[error("email is already registered")]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] DbError),
}

pub async fn find(db: &Database, id: &str) -> Result<Option<UserRow>, DbError> {
    with_conn!(db, |conn| {
        users::table
            .find(id)
            .select(UserRow::as_select())
            .first(conn)
            .await
            .optional()
    })
}

/// Up to `limit` users after the cursor `after`, oldest first (ids are time-ordered).
pub async fn page(db: &Database, after: Option<&str>, limit: i64) -> Result<Vec<UserRow>, DbError> {
    with_conn!(db, |conn| {
        let mut query = users::table
            .select(UserRow::as_select())
            .order(users::id.asc())
            .limit(limit)
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(users::id.gt(after));
        }
        query.load(conn).await
    })
}

/// Inserts the user and its `users.created` event in one transaction.
pub async fn insert(db: &Database, row: &UserRow, event: &Envelope) -> Result<(), InsertError> {
    let result = with_transaction!(db, |conn| {
        diesel::insert_into(users::table)
            .values(row)
            .execute(conn)
            .await?;
        outbox::enqueue(conn, event).await
    });
    match result {
        Ok(()) => Ok(()),
        Err(DbError::Query(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _))) => {
            Err(InsertError::EmailTaken)
        }
        Err(other) => Err(InsertError::Db(other)),
    }
}

/// Inserts the profile an event describes, once: a redelivered event (already in
/// `processed_events` for `consumer`) changes nothing and returns `false`.
pub async fn insert_once(
    db: &Database,
    consumer: &str,
    event_id: &str,
    row: &UserRow,
    created: &Envelope,
) -> Result<bool, DbError> {
    with_transaction!(db, |conn| {
        if !junction_kit::consumer::first_delivery(conn, consumer, event_id).await? {
            return Ok(false);
        }
        diesel::insert_into(users::table)
            .values(row)
            .execute(conn)
            .await?;
        outbox::enqueue(conn, created).await?;
        Ok(true)
    })
}
