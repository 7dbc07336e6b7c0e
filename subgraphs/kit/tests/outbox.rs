//! Transactional outbox: both databases with the in-process bus, and PostgreSQL with NATS.
//!
//! Bus outages are simulated with the in-process bus's `fail_next_publishes` test hook.

#[macro_use]
mod common;

use bytes::Bytes;
use common::{Backend, TestDb, notes};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use junction_kit::db::Database;
use junction_kit::events::{Delivery, Envelope, EventBus, Subscription};
use junction_kit::outbox::{self, Outbox, OutboxHandle, outbox_events};
use junction_kit::{testing, with_conn, with_transaction};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const PATIENCE: Duration = Duration::from_secs(15);

async fn recv(sub: &mut Subscription) -> Delivery {
    tokio::time::timeout(PATIENCE, sub.next())
        .await
        .expect("no event in time")
        .expect("bus closed")
        .expect("receive error")
}

async fn pending_rows(db: &Database) -> i64 {
    with_conn!(db, |conn| outbox_events::table
        .count()
        .get_result::<i64>(conn)
        .await)
    .expect("count outbox")
}

/// Waits until the relay has deleted every row.
async fn drained(db: &Database) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while pending_rows(db).await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "outbox not drained");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Inserts a note and its event in one transaction, then wakes the relay.
async fn create_note(db: &Database, relay: &OutboxHandle, title: &str) -> Envelope {
    let event = Envelope::new(
        "notes.created",
        title,
        serde_json::json!({ "title": title }),
    );
    with_transaction!(db, |conn| {
        diesel::insert_into(notes::table)
            .values(notes::title.eq(title))
            .execute(conn)
            .await?;
        outbox::enqueue(conn, &event).await
    })
    .expect("transaction");
    relay.notify();
    event
}

struct Fixture {
    bus: EventBus,
    relay: OutboxHandle,
    shutdown: CancellationToken,
}

impl Fixture {
    fn start(db: &Database, bus: EventBus) -> Fixture {
        let shutdown = CancellationToken::new();
        let relay = Outbox::spawn_relay(db.clone(), bus.clone(), shutdown.clone());
        Fixture {
            bus,
            relay,
            shutdown,
        }
    }

    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(PATIENCE, self.relay.stopped())
            .await
            .expect("relay stops on shutdown");
    }
}

async fn memory_bus() -> EventBus {
    EventBus::connect(&testing::memory_events_config(Duration::from_secs(5)))
        .await
        .expect("memory bus")
}

async fn committed_event_is_published(db: &Database) {
    let fixture = Fixture::start(db, memory_bus().await);
    let mut sub = fixture
        .bus
        .subscribe("reader", "notes.>")
        .await
        .expect("sub");
    let event = create_note(db, &fixture.relay, "hello").await;

    let delivery = recv(&mut sub).await;
    assert_eq!(delivery.subject, "notes.created");
    assert_eq!(delivery.msg_id.as_deref(), Some(event.id.as_str()));
    assert_eq!(
        Envelope::from_bytes(&delivery.payload).expect("envelope"),
        event
    );
    delivery.ack().await.expect("ack");
    drained(db).await;
    fixture.stop().await;
}
db_suite!(committed_event_is_published);

async fn rolled_back_event_is_not_published(db: &Database) {
    let fixture = Fixture::start(db, memory_bus().await);
    let mut sub = fixture
        .bus
        .subscribe("reader", "notes.>")
        .await
        .expect("sub");
    let lost = Envelope::new("notes.created", "lost", serde_json::json!({}));
    let result = with_transaction!(db, |conn| {
        outbox::enqueue(conn, &lost).await?;
        Err::<(), _>(diesel::result::Error::RollbackTransaction)
    });
    assert!(result.is_err());
    fixture.relay.notify();
    assert_eq!(pending_rows(db).await, 0);

    let kept = create_note(db, &fixture.relay, "kept").await;
    let delivery = recv(&mut sub).await;
    assert_eq!(
        delivery.msg_id.as_deref(),
        Some(kept.id.as_str()),
        "the rolled-back event must never be published"
    );
    fixture.stop().await;
}
db_suite!(rolled_back_event_is_not_published);

async fn bus_outage_then_exactly_once(db: &Database) {
    let bus = memory_bus().await;
    let EventBus::Memory(memory) = &bus else {
        panic!("expected the memory bus")
    };
    memory.fail_next_publishes(3);
    let fixture = Fixture::start(db, bus.clone());
    let mut sub = bus.subscribe("reader", "notes.>").await.expect("sub");

    let event = create_note(db, &fixture.relay, "survives").await;
    let delivery = recv(&mut sub).await;
    assert_eq!(delivery.msg_id.as_deref(), Some(event.id.as_str()));
    assert_eq!(delivery.delivery_count, 1);
    delivery.ack().await.expect("ack");
    drained(db).await;

    // Anything the relay published twice would sit before this marker. (The marker's
    // own publish succeeding also shows the relay used up all three injected failures.)
    bus.publish("notes.marker", "marker", Bytes::from_static(b"m"))
        .await
        .expect("marker");
    let next = recv(&mut sub).await;
    assert_eq!(
        next.subject, "notes.marker",
        "event published more than once"
    );
    fixture.stop().await;
}
db_suite!(bus_outage_then_exactly_once);

async fn many_events_keep_their_order(db: &Database) {
    const COUNT: usize = 250; // more than two relay batches
    let fixture = Fixture::start(db, memory_bus().await);
    let mut sub = fixture
        .bus
        .subscribe("reader", "notes.>")
        .await
        .expect("sub");
    let events: Vec<Envelope> = (0..COUNT)
        .map(|i| Envelope::new("notes.created", format!("n{i}"), serde_json::json!(i)))
        .collect();
    with_transaction!(db, |conn| {
        for event in &events {
            outbox::enqueue(conn, event).await?;
        }
        Ok(())
    })
    .expect("enqueue");
    fixture.relay.notify();
    for event in &events {
        let delivery = recv(&mut sub).await;
        assert_eq!(delivery.msg_id.as_deref(), Some(event.id.as_str()));
        delivery.ack().await.expect("ack");
    }
    drained(db).await;
    fixture.stop().await;
}
db_suite!(many_events_keep_their_order);

/// Without `notify`, the relay still finds new rows on its periodic poll.
async fn relay_polls_without_notify(db: &Database) {
    let fixture = Fixture::start(db, memory_bus().await);
    let mut sub = fixture
        .bus
        .subscribe("reader", "notes.>")
        .await
        .expect("sub");
    let event = Envelope::new("notes.created", "quiet", serde_json::json!({}));
    with_conn!(db, |conn| outbox::enqueue(conn, &event).await).expect("enqueue");
    let delivery = recv(&mut sub).await;
    assert_eq!(delivery.msg_id.as_deref(), Some(event.id.as_str()));
    fixture.stop().await;
}
db_suite!(relay_polls_without_notify);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_with_nats() {
    let Some(cfg) = testing::nats_config(Duration::from_secs(5)) else {
        return;
    };
    let Some(test_db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let bus = EventBus::connect(&cfg).await.expect("nats");
    let fixture = Fixture::start(&test_db.db, bus);
    let mut sub = fixture
        .bus
        .subscribe("reader", "notes.created")
        .await
        .expect("sub");
    let event = create_note(&test_db.db, &fixture.relay, "over nats").await;
    let delivery = recv(&mut sub).await;
    assert_eq!(delivery.subject, "notes.created");
    assert_eq!(delivery.msg_id.as_deref(), Some(event.id.as_str()));
    assert_eq!(
        Envelope::from_bytes(&delivery.payload).expect("envelope"),
        event
    );
    delivery.ack().await.expect("ack");
    drained(&test_db.db).await;
    fixture.stop().await;

    let client = async_nats::connect(cfg.url.as_deref().unwrap())
        .await
        .unwrap();
    async_nats::jetstream::new(client)
        .delete_stream(format!("{}NOTES", cfg.stream_prefix))
        .await
        .expect("delete stream");
    test_db.cleanup().await;
}
