//! Idempotent event consumers.
//!
//! Delivery is at least once, so a consumer records each event it applied in its
//! service's `processed_events` table, in the same transaction as the change the event
//! causes ([`first_delivery`]); a redelivered event then changes nothing. Every consuming
//! service's migrations create the table:
//!
//! ```sql
//! CREATE TABLE processed_events (
//!     consumer     TEXT NOT NULL,
//!     event_id     TEXT NOT NULL,
//!     processed_at TIMESTAMP NOT NULL,
//!     PRIMARY KEY (consumer, event_id)
//! );
//! ```
//!
//! [`run`] drives a durable subscription: an event the handler applies is acknowledged;
//! one it fails on is redelivered after a backoff, and after `max_deliveries` attempts (or
//! at once, when it is not an event envelope at all) it goes to the dead-letter subject
//! `deadletter.<durable>` and is acknowledged, so one bad message cannot stall the rest.

use crate::db::{PgConn, SqliteConn};
use crate::events::{Delivery, Envelope, EventBus};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

diesel::table! {
    processed_events (consumer, event_id) {
        consumer -> Text,
        event_id -> Text,
        processed_at -> Timestamp,
    }
}

#[derive(Insertable)]
#[diesel(table_name = processed_events)]
struct ProcessedRow<'a> {
    consumer: &'a str,
    event_id: &'a str,
    processed_at: chrono::NaiveDateTime,
}

/// A connection [`first_delivery`] can write to (what `with_transaction!` hands out).
pub trait ConsumerConnection: Send {
    #[doc(hidden)]
    fn insert_processed(
        &mut self,
        consumer: &str,
        event_id: &str,
    ) -> impl Future<Output = QueryResult<usize>> + Send;
}

impl ConsumerConnection for PgConn {
    async fn insert_processed(&mut self, consumer: &str, event_id: &str) -> QueryResult<usize> {
        diesel::insert_into(processed_events::table)
            .values(row(consumer, event_id))
            .on_conflict_do_nothing()
            .execute(self)
            .await
    }
}

impl ConsumerConnection for SqliteConn {
    async fn insert_processed(&mut self, consumer: &str, event_id: &str) -> QueryResult<usize> {
        diesel::insert_into(processed_events::table)
            .values(row(consumer, event_id))
            .on_conflict_do_nothing()
            .execute(self)
            .await
    }
}

fn row<'a>(consumer: &'a str, event_id: &'a str) -> ProcessedRow<'a> {
    ProcessedRow {
        consumer,
        event_id,
        processed_at: chrono::Utc::now().naive_utc(),
    }
}

/// Records that `consumer` applied `event_id`. `false` when it already had: skip the
/// event (and let the transaction commit nothing else).
pub async fn first_delivery<C: ConsumerConnection>(
    conn: &mut C,
    consumer: &str,
    event_id: &str,
) -> QueryResult<bool> {
    Ok(conn.insert_processed(consumer, event_id).await? == 1)
}

/// A durable consumer's identity and limits.
#[derive(Debug, Clone, Copy)]
pub struct Consumer {
    /// The durable consumer name, also the `consumer` column of `processed_events`.
    pub durable: &'static str,
    /// Subjects it receives (`orders.placed`, `products.>`).
    pub filter: &'static str,
    /// Attempts before a failing event is dead-lettered.
    pub max_deliveries: u64,
    /// For a consumer of one replica (a name of its own): on NATS, the server deletes it
    /// after this long without a pull, so stopped replicas leave nothing behind. `None`
    /// for a service's shared consumer, which must outlive every replica.
    pub inactive_threshold: Option<std::time::Duration>,
}

/// Why a handler could not apply an event (it will be redelivered).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HandlerError(pub String);

impl HandlerError {
    pub fn new(error: impl std::fmt::Display) -> HandlerError {
        HandlerError(error.to_string())
    }
}

const RETRY_START: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// Consumes `consumer.filter` until `shutdown`, calling `handle` for each event.
pub async fn run<F, Fut>(bus: EventBus, consumer: Consumer, shutdown: CancellationToken, handle: F)
where
    F: Fn(Envelope) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), HandlerError>> + Send,
{
    let mut backoff = RETRY_START;
    'subscribe: loop {
        let subscribed = tokio::select! {
            _ = shutdown.cancelled() => return,
            s = bus.subscribe_with(consumer.durable, consumer.filter, consumer.inactive_threshold) => s,
        };
        let mut subscription = match subscribed {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(consumer = consumer.durable, error = %e, "cannot subscribe; retrying");
                if sleep_or_stop(&shutdown, backoff).await {
                    return;
                }
                backoff = (backoff * 2).min(RETRY_MAX);
                continue;
            }
        };
        backoff = RETRY_START;
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => return,
                next = subscription.next() => next,
            };
            match next {
                None => continue 'subscribe,
                Some(Err(e)) => {
                    tracing::warn!(consumer = consumer.durable, error = %e, "delivery failed; resubscribing");
                    if sleep_or_stop(&shutdown, backoff).await {
                        return;
                    }
                    continue 'subscribe;
                }
                Some(Ok(delivery)) => {
                    if deliver(&bus, &consumer, &delivery, &handle, &shutdown).await {
                        return;
                    }
                }
            }
        }
    }
}

/// Handles one delivery; `true` when shutdown interrupted it.
async fn deliver<F, Fut>(
    bus: &EventBus,
    consumer: &Consumer,
    delivery: &Delivery,
    handle: &F,
    shutdown: &CancellationToken,
) -> bool
where
    F: Fn(Envelope) -> Fut,
    Fut: Future<Output = Result<(), HandlerError>>,
{
    let outcome = match Envelope::from_bytes(&delivery.payload) {
        Ok(envelope) => {
            let trace = envelope.trace_context.clone();
            crate::events::with_trace_context(trace, handle(envelope))
                .await
                .map_err(|e| e.0)
        }
        Err(e) => {
            dead_letter(
                bus,
                consumer,
                delivery,
                &format!("not an event envelope: {e}"),
            )
            .await;
            return false;
        }
    };
    match outcome {
        Ok(()) => {
            if let Err(e) = delivery.ack().await {
                // Redelivered later; `processed_events` makes that harmless.
                tracing::warn!(consumer = consumer.durable, error = %e, "ack failed");
            }
            false
        }
        Err(reason) if delivery.delivery_count >= consumer.max_deliveries => {
            dead_letter(bus, consumer, delivery, &reason).await;
            false
        }
        Err(reason) => {
            tracing::warn!(
                consumer = consumer.durable,
                subject = %delivery.subject,
                attempt = delivery.delivery_count,
                error = %reason,
                "event handler failed; it will be redelivered"
            );
            let wait = RETRY_START
                .saturating_mul(1 << delivery.delivery_count.min(6))
                .min(RETRY_MAX);
            if sleep_or_stop(shutdown, wait).await {
                return true;
            }
            let _ = delivery.nak().await;
            false
        }
    }
}

/// Parks a message on `deadletter.<durable>` and acknowledges it.
async fn dead_letter(bus: &EventBus, consumer: &Consumer, delivery: &Delivery, reason: &str) {
    tracing::error!(
        consumer = consumer.durable,
        subject = %delivery.subject,
        attempts = delivery.delivery_count,
        error = %reason,
        "event dead-lettered"
    );
    let subject = format!("deadletter.{}", consumer.durable);
    let msg_id = delivery
        .msg_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    match bus
        .publish(&subject, &msg_id, delivery.payload.clone())
        .await
    {
        Ok(()) => {
            let _ = delivery.ack().await;
        }
        // Not acknowledged: it comes back and is dead-lettered once the bus takes it.
        Err(e) => tracing::error!(error = %e, "cannot dead-letter; the event will return"),
    }
}

async fn sleep_or_stop(shutdown: &CancellationToken, wait: Duration) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(wait) => false,
    }
}
