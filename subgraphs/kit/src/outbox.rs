//! Transactional outbox: events are written in the same transaction as the change they
//! describe, and a background relay publishes them to the event bus afterwards.
//!
//! Every service's migrations create this table:
//!
//! ```sql
//! -- PostgreSQL
//! CREATE TABLE outbox_events (
//!     seq        BIGSERIAL PRIMARY KEY,
//!     id         TEXT NOT NULL UNIQUE,
//!     event_type TEXT NOT NULL,
//!     payload    TEXT NOT NULL,
//!     created_at TIMESTAMP NOT NULL
//! );
//! -- SQLite
//! CREATE TABLE outbox_events (
//!     seq        INTEGER PRIMARY KEY AUTOINCREMENT,
//!     id         TEXT NOT NULL UNIQUE,
//!     event_type TEXT NOT NULL,
//!     payload    TEXT NOT NULL,
//!     created_at TIMESTAMP NOT NULL
//! );
//! ```
//!
//! `seq` is a 64-bit integer on both (SQLite's `INTEGER PRIMARY KEY` is the 64-bit rowid),
//! so one `diesel::table!` with `BigInt` serves both; `created_at` is a UTC
//! `NaiveDateTime`. `payload` holds the whole JSON [`Envelope`]; `id` is its id and the
//! message id the relay publishes with, so a row published twice (relay crash between
//! publish and delete, or two replicas) is dropped by the bus's duplicate detection.
//!
//! Order: rows are published in `seq` order. On PostgreSQL sequence numbers are taken at
//! insert, not commit, so events of concurrent transactions may be published slightly out
//! of commit order; none is lost, since the relay deletes rows instead of tracking a
//! high-water mark.

use bytes::Bytes;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::db::{Database, DbError, PgConn, SqliteConn};
use crate::events::{Envelope, EventBus};

diesel::table! {
    outbox_events (seq) {
        seq -> BigInt,
        id -> Text,
        event_type -> Text,
        payload -> Text,
        created_at -> Timestamp,
    }
}

/// Rows handled per relay round.
const BATCH: i64 = 100;
/// Relay poll interval when nobody calls [`OutboxHandle::notify`].
const IDLE_POLL: Duration = Duration::from_secs(1);
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

#[derive(Insertable)]
#[diesel(table_name = outbox_events)]
struct NewOutboxRow {
    id: String,
    event_type: String,
    payload: String,
    created_at: chrono::NaiveDateTime,
}

#[derive(Queryable)]
struct OutboxRow {
    seq: i64,
    id: String,
    event_type: String,
    payload: String,
    #[allow(dead_code)] // selected with the row; kept for debugging output
    created_at: chrono::NaiveDateTime,
}

/// A connection the outbox can write to: the PostgreSQL and SQLite connections that
/// [`with_conn!`](crate::with_conn) and [`with_transaction!`](crate::with_transaction)
/// hand out.
pub trait OutboxConnection: Send + sealed::Sealed {
    #[doc(hidden)]
    fn insert_outbox_row(&mut self, row: &Envelope)
    -> impl Future<Output = QueryResult<()>> + Send;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::PgConn {}
    impl Sealed for super::SqliteConn {}
}

fn new_row(envelope: &Envelope) -> QueryResult<NewOutboxRow> {
    let payload = serde_json::to_string(envelope)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    Ok(NewOutboxRow {
        id: envelope.id.clone(),
        event_type: envelope.event_type.clone(),
        payload,
        created_at: chrono::Utc::now().naive_utc(),
    })
}

impl OutboxConnection for PgConn {
    async fn insert_outbox_row(&mut self, envelope: &Envelope) -> QueryResult<()> {
        let row = new_row(envelope)?;
        diesel::insert_into(outbox_events::table)
            .values(row)
            .execute(self)
            .await
            .map(|_| ())
    }
}

impl OutboxConnection for SqliteConn {
    async fn insert_outbox_row(&mut self, envelope: &Envelope) -> QueryResult<()> {
        let row = new_row(envelope)?;
        diesel::insert_into(outbox_events::table)
            .values(row)
            .execute(self)
            .await
            .map(|_| ())
    }
}

/// Records `envelope` for publishing. Call it inside the transaction that makes the
/// change, then [`OutboxHandle::notify`] after the commit.
pub async fn enqueue<C: OutboxConnection>(conn: &mut C, envelope: &Envelope) -> QueryResult<()> {
    conn.insert_outbox_row(envelope).await
}

/// Namespace for starting the relay.
pub struct Outbox;

impl Outbox {
    /// Starts the relay task; it stops when `shutdown` is cancelled.
    pub fn spawn_relay(db: Database, bus: EventBus, shutdown: CancellationToken) -> OutboxHandle {
        let handle = OutboxHandle {
            wake: Arc::new(Notify::new()),
            stopped: CancellationToken::new(),
        };
        let relay = Relay {
            db,
            bus,
            wake: handle.wake.clone(),
        };
        let stopped = handle.stopped.clone();
        tokio::spawn(async move {
            relay.run(shutdown).await;
            stopped.cancel();
        });
        handle
    }
}

/// Talks to the relay task. Cheap to clone.
#[derive(Clone, Debug)]
pub struct OutboxHandle {
    wake: Arc<Notify>,
    stopped: CancellationToken,
}

impl OutboxHandle {
    /// Wakes the relay now instead of at its next poll. A wake-up while the relay is
    /// busy is remembered, so none is lost.
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// Resolves once the relay task has stopped.
    pub async fn stopped(&self) {
        self.stopped.cancelled().await;
    }
}

struct Relay {
    db: Database,
    bus: EventBus,
    wake: Arc<Notify>,
}

#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Publish(#[from] crate::events::EventError),
}

impl Relay {
    async fn run(self, shutdown: CancellationToken) {
        let mut backoff = BACKOFF_START;
        loop {
            if shutdown.is_cancelled() {
                return;
            }
            let pause = match self.relay_batch().await {
                Ok(count) if count as i64 == BATCH => {
                    backoff = BACKOFF_START;
                    continue;
                }
                Ok(_) => {
                    backoff = BACKOFF_START;
                    IDLE_POLL
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "outbox relay failed; will retry");
                    let pause = backoff;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    pause
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Publishes up to one batch of pending rows in order and deletes those published.
    /// Returns how many rows it published.
    async fn relay_batch(&self) -> Result<usize, RelayError> {
        let rows: Vec<OutboxRow> = crate::with_conn!(&self.db, |conn| {
            outbox_events::table
                .order(outbox_events::seq.asc())
                .limit(BATCH)
                .load::<OutboxRow>(conn)
                .await
        })?;
        let mut published = Vec::with_capacity(rows.len());
        let mut failure = None;
        for row in rows {
            match self
                .bus
                .publish(&row.event_type, &row.id, Bytes::from(row.payload))
                .await
            {
                Ok(()) => published.push(row.seq),
                Err(e) => {
                    // Stop here so later rows are not published ahead of this one.
                    failure = Some(e);
                    break;
                }
            }
        }
        if !published.is_empty() {
            let seqs = published.clone();
            crate::with_conn!(&self.db, |conn| {
                diesel::delete(outbox_events::table.filter(outbox_events::seq.eq_any(seqs)))
                    .execute(conn)
                    .await
            })?;
            tracing::debug!(count = published.len(), "outbox events published");
        }
        match failure {
            Some(e) => Err(e.into()),
            None => Ok(published.len()),
        }
    }
}
