//! Idempotent consumers on both databases with the in-process bus: a redelivered event
//! changes nothing, a failing one is retried and then dead-lettered without stalling the
//! events after it, and a message that is no envelope is dead-lettered at once.

#[macro_use]
mod common;

use bytes::Bytes;
use common::notes;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use junction_kit::consumer::{self, Consumer, HandlerError};
use junction_kit::db::Database;
use junction_kit::events::{Envelope, EventBus};
use junction_kit::{testing, with_conn, with_transaction};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const COUNTER: Consumer = Consumer {
    durable: "test_counter",
    filter: "notes.>",
    max_deliveries: 3,
    inactive_threshold: None,
};

/// Adds the event's `add` to note 1's counter, once per event id; fails on `fail: true`.
async fn apply(db: &Database, event: Envelope) -> Result<(), HandlerError> {
    if event.payload["fail"] == true {
        return Err(HandlerError::new("told to fail"));
    }
    let add = event.payload["add"].as_i64().unwrap_or(0);
    with_transaction!(db, |conn| {
        if !consumer::first_delivery(conn, COUNTER.durable, &event.id).await? {
            return Ok(());
        }
        diesel::update(notes::table.filter(notes::id.eq(1)))
            .set(notes::counter.eq(notes::counter + add))
            .execute(conn)
            .await
            .map(|_| ())
    })
    .map_err(HandlerError::new)
}

async fn counter(db: &Database) -> i64 {
    with_conn!(db, |conn| notes::table
        .filter(notes::id.eq(1))
        .select(notes::counter)
        .first::<i64>(conn)
        .await)
    .unwrap()
}

async fn wait_for_counter(db: &Database, want: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while counter(db).await != want {
        assert!(
            tokio::time::Instant::now() < deadline,
            "counter is {}, want {want}",
            counter(db).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn publish(bus: &EventBus, msg_id: &str, event: &Envelope) {
    bus.publish("notes.changed", msg_id, event.to_bytes().unwrap())
        .await
        .unwrap();
}

async fn consumers_apply_each_event_once(db: &Database) {
    with_conn!(db, |conn| diesel::insert_into(notes::table)
        .values(notes::title.eq("tally"))
        .execute(conn)
        .await)
    .unwrap();
    let bus = EventBus::connect(&testing::memory_events_config(Duration::from_millis(200)))
        .await
        .unwrap();
    let mut dead = bus.subscribe("test_dead", "deadletter.>").await.unwrap();
    let shutdown = CancellationToken::new();
    let worker = {
        let db = db.clone();
        tokio::spawn(consumer::run(
            bus.clone(),
            COUNTER,
            shutdown.clone(),
            move |e| {
                let db = db.clone();
                async move { apply(&db, e).await }
            },
        ))
    };

    // The same event twice (as a redelivery after a lost ack would bring it): applied once.
    let first = Envelope::new("notes.changed", "1", serde_json::json!({ "add": 5 }));
    publish(&bus, "m1", &first).await;
    publish(&bus, "m1-again", &first).await;
    // A failing event, then a good one: the good one is not held up for good.
    let failing = Envelope::new("notes.changed", "1", serde_json::json!({ "fail": true }));
    publish(&bus, "m2", &failing).await;
    let second = Envelope::new("notes.changed", "1", serde_json::json!({ "add": 7 }));
    publish(&bus, "m3", &second).await;
    wait_for_counter(db, 12).await;

    let parked = tokio::time::timeout(Duration::from_secs(15), dead.next())
        .await
        .expect("the failing event is dead-lettered")
        .unwrap()
        .unwrap();
    assert_eq!(parked.subject, "deadletter.test_counter");
    assert_eq!(
        Envelope::from_bytes(&parked.payload).unwrap().id,
        failing.id
    );
    parked.ack().await.unwrap();

    // Not an envelope at all: dead-lettered at once.
    bus.publish("notes.changed", "m4", Bytes::from_static(b"{oops"))
        .await
        .unwrap();
    let parked = tokio::time::timeout(Duration::from_secs(15), dead.next())
        .await
        .expect("garbage is dead-lettered")
        .unwrap()
        .unwrap();
    assert_eq!(&parked.payload[..], b"{oops");

    shutdown.cancel();
    worker.await.unwrap();
    assert_eq!(counter(db).await, 12);
}
db_suite!(consumers_apply_each_event_once);
