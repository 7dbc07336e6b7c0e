//! Event bus behaviour, run identically against NATS JetStream and the in-process bus.

use bytes::Bytes;
use junction_kit::config::EventsConfig;
use junction_kit::events::{Delivery, EventBus, EventError, Subscription};
use junction_kit::testing;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const ACK_WAIT: Duration = Duration::from_millis(800);
/// Upper bound for any single wait; far above ACK_WAIT so only a real failure hits it.
const PATIENCE: Duration = Duration::from_secs(15);

#[derive(Clone, Copy, Debug)]
enum Backend {
    Nats,
    Memory,
}

/// A bus of its own (own stream prefix on NATS); `None` when NATS is skipped.
async fn bus(backend: Backend) -> Option<(EventBus, EventsConfig)> {
    let cfg = match backend {
        Backend::Nats => testing::nats_config(ACK_WAIT)?,
        Backend::Memory => testing::memory_events_config(ACK_WAIT),
    };
    let bus = EventBus::connect(&cfg).await.expect("connect");
    Some((bus, cfg))
}

/// Deletes the streams a NATS test created.
async fn cleanup(cfg: &EventsConfig) {
    use futures::StreamExt;
    let Some(url) = &cfg.url else { return };
    let client = async_nats::connect(url.as_str()).await.expect("nats");
    let jetstream = async_nats::jetstream::new(client);
    let names: Vec<String> = jetstream
        .stream_names()
        .filter_map(|name| async move { name.ok() })
        .collect()
        .await;
    for name in names {
        if name.starts_with(&cfg.stream_prefix) {
            jetstream.delete_stream(&name).await.expect("delete stream");
        }
    }
}

async fn recv(sub: &mut Subscription) -> Delivery {
    tokio::time::timeout(PATIENCE, sub.next())
        .await
        .expect("no message in time")
        .expect("bus closed")
        .expect("receive error")
}

fn text(delivery: &Delivery) -> &str {
    std::str::from_utf8(&delivery.payload).expect("utf-8 payload")
}

async fn publish(bus: &EventBus, subject: &str, id: &str, body: &str) {
    bus.publish(subject, id, Bytes::from(body.to_string()))
        .await
        .expect("publish");
}

/// Runs the same async test body against both buses, as two tests.
macro_rules! bus_suite {
    ($name:ident) => {
        mod $name {
            use super::Backend;

            async fn run(backend: Backend) {
                let Some((bus, cfg)) = super::bus(backend).await else {
                    return;
                };
                super::$name(&bus).await;
                super::cleanup(&cfg).await;
            }

            #[tokio::test]
            async fn nats() {
                run(Backend::Nats).await;
            }

            #[tokio::test]
            async fn memory() {
                run(Backend::Memory).await;
            }
        }
    };
}

async fn published_before_subscribe_is_received_intact(bus: &EventBus) {
    let binary: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    bus.publish("orders.created", "m-1", Bytes::from(binary.clone()))
        .await
        .expect("publish");
    let mut sub = bus
        .subscribe("reader", "orders.created")
        .await
        .expect("sub");
    let delivery = recv(&mut sub).await;
    assert_eq!(delivery.subject, "orders.created");
    assert_eq!(delivery.msg_id.as_deref(), Some("m-1"));
    assert_eq!(delivery.payload.as_ref(), binary.as_slice());
    assert_eq!(delivery.delivery_count, 1);
    delivery.ack().await.expect("ack");

    // And one published while subscribed.
    publish(bus, "orders.created", "m-2", "second").await;
    let delivery = recv(&mut sub).await;
    assert_eq!(text(&delivery), "second");
    delivery.ack().await.expect("ack");
}
bus_suite!(published_before_subscribe_is_received_intact);

async fn duplicate_msg_id_is_delivered_once(bus: &EventBus) {
    publish(bus, "orders.created", "same-id", "original").await;
    publish(bus, "orders.created", "same-id", "retry").await;
    publish(bus, "orders.created", "other-id", "next").await;
    let mut sub = bus.subscribe("dedup", "orders.created").await.expect("sub");
    let first = recv(&mut sub).await;
    assert_eq!(text(&first), "original");
    first.ack().await.expect("ack");
    let second = recv(&mut sub).await;
    assert_eq!(
        text(&second),
        "next",
        "the duplicate must have been dropped"
    );
    second.ack().await.expect("ack");
}
bus_suite!(duplicate_msg_id_is_delivered_once);

async fn unacked_message_is_redelivered(bus: &EventBus) {
    publish(bus, "orders.created", "r-1", "unacked").await;
    let mut sub = bus.subscribe("slow", "orders.created").await.expect("sub");
    let first = recv(&mut sub).await;
    assert_eq!(first.delivery_count, 1);
    // Not acknowledged: it comes back after the ack wait.
    let again = recv(&mut sub).await;
    assert_eq!(text(&again), "unacked");
    assert_eq!(again.msg_id.as_deref(), Some("r-1"));
    assert_eq!(again.delivery_count, 2);
    again.ack().await.expect("ack");
}
bus_suite!(unacked_message_is_redelivered);

async fn nak_redelivers(bus: &EventBus) {
    publish(bus, "orders.created", "n-1", "retry me").await;
    publish(bus, "orders.created", "n-2", "after").await;
    let mut sub = bus.subscribe("naker", "orders.created").await.expect("sub");
    let first = recv(&mut sub).await;
    assert_eq!(text(&first), "retry me");
    first.nak().await.expect("nak");
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let delivery = recv(&mut sub).await;
        seen.push((text(&delivery).to_string(), delivery.delivery_count));
        delivery.ack().await.expect("ack");
    }
    seen.sort();
    assert_eq!(
        seen,
        vec![("after".to_string(), 1), ("retry me".to_string(), 2)]
    );
}
bus_suite!(nak_redelivers);

async fn durable_resumes_after_drop(bus: &EventBus) {
    for i in 1..=3 {
        publish(
            bus,
            "orders.created",
            &format!("d-{i}"),
            &format!("event {i}"),
        )
        .await;
    }
    {
        let mut sub = bus
            .subscribe("resumer", "orders.created")
            .await
            .expect("sub");
        for i in 1..=2 {
            let delivery = recv(&mut sub).await;
            assert_eq!(text(&delivery), format!("event {i}"));
            delivery.ack().await.expect("ack");
        }
    }
    let mut sub = bus
        .subscribe("resumer", "orders.created")
        .await
        .expect("resub");
    let delivery = recv(&mut sub).await;
    assert_eq!(
        text(&delivery),
        "event 3",
        "acked messages must not come back"
    );
    delivery.ack().await.expect("ack");
    publish(bus, "orders.created", "d-4", "event 4").await;
    let delivery = recv(&mut sub).await;
    assert_eq!(text(&delivery), "event 4");
    delivery.ack().await.expect("ack");

    // A different durable starts from the beginning.
    let mut other = bus
        .subscribe("newcomer", "orders.created")
        .await
        .expect("sub");
    assert_eq!(text(&recv(&mut other).await), "event 1");
}
bus_suite!(durable_resumes_after_drop);

async fn filter_excludes_other_subjects(bus: &EventBus) {
    publish(bus, "catalog.item.created", "f-1", "created 1").await;
    publish(bus, "catalog.item.deleted", "f-2", "deleted").await;
    publish(bus, "catalog.price.changed", "f-3", "price").await;
    publish(bus, "catalog.item.created", "f-4", "created 2").await;
    publish(bus, "other.item.created", "f-5", "other domain").await;

    let mut exact = bus
        .subscribe("exact", "catalog.item.created")
        .await
        .expect("sub");
    for expected in ["created 1", "created 2"] {
        let delivery = recv(&mut exact).await;
        assert_eq!(text(&delivery), expected);
        delivery.ack().await.expect("ack");
    }

    let mut items = bus.subscribe("items", "catalog.item.*").await.expect("sub");
    for expected in ["created 1", "deleted", "created 2"] {
        let delivery = recv(&mut items).await;
        assert_eq!(text(&delivery), expected);
        delivery.ack().await.expect("ack");
    }

    let mut all = bus.subscribe("all", "catalog.>").await.expect("sub");
    for expected in ["created 1", "deleted", "price", "created 2"] {
        let delivery = recv(&mut all).await;
        assert_eq!(text(&delivery), expected);
        delivery.ack().await.expect("ack");
    }
    // The sentinel proves nothing else (e.g. the other domain) was queued before it.
    publish(bus, "catalog.item.created", "f-6", "sentinel").await;
    assert_eq!(text(&recv(&mut all).await), "sentinel");
}
bus_suite!(filter_excludes_other_subjects);

async fn shared_durable_splits_work(bus: &EventBus) {
    const TOTAL: usize = 20;
    for i in 0..TOTAL {
        publish(bus, "jobs.queued", &format!("j-{i}"), &format!("job {i}")).await;
    }
    let received = Arc::new(Mutex::new(Vec::<String>::new()));
    let done = CancellationToken::new();
    let mut workers = Vec::new();
    for _ in 0..2 {
        let mut sub = bus.subscribe("workers", "jobs.queued").await.expect("sub");
        let received = received.clone();
        let done = done.clone();
        workers.push(tokio::spawn(async move {
            loop {
                let delivery = tokio::select! {
                    _ = done.cancelled() => return,
                    next = sub.next() => next.expect("open").expect("receive"),
                };
                delivery.ack().await.expect("ack");
                let mut all = received.lock().unwrap();
                all.push(text(&delivery).to_string());
                if all.len() >= TOTAL {
                    done.cancel();
                }
            }
        }));
    }
    tokio::time::timeout(PATIENCE, done.cancelled())
        .await
        .expect("all jobs received in time");
    for worker in workers {
        worker.await.expect("worker");
    }
    let all = received.lock().unwrap().clone();
    let distinct: HashSet<&String> = all.iter().collect();
    assert_eq!(all.len(), TOTAL, "no message twice: {all:?}");
    assert_eq!(distinct.len(), TOTAL);
}
bus_suite!(shared_durable_splits_work);

async fn invalid_subjects_are_rejected(bus: &EventBus) {
    for subject in ["nodomain", "orders.*", "Orders.created", "orders..x", ""] {
        let result = bus.publish(subject, "x", Bytes::new()).await;
        assert!(
            matches!(result, Err(EventError::InvalidSubject { .. })),
            "{subject}: {result:?}"
        );
    }
    for filter in ["*.created", ">", "orders.>.x"] {
        let result = bus.subscribe("d", filter).await;
        assert!(
            matches!(result, Err(EventError::InvalidSubject { .. })),
            "{filter}"
        );
    }
    let result = bus.subscribe("bad.durable", "orders.created").await;
    assert!(matches!(result, Err(EventError::InvalidDurable(_))));
    bus.ping().await.expect("ping");
}
bus_suite!(invalid_subjects_are_rejected);

#[tokio::test]
async fn memory_bus_closes_when_dropped() {
    let bus = EventBus::connect(&testing::memory_events_config(ACK_WAIT))
        .await
        .unwrap();
    let mut sub = bus.subscribe("d", "orders.created").await.unwrap();
    let waiting = tokio::spawn(async move { sub.next().await.is_none() });
    drop(bus);
    let closed = tokio::time::timeout(PATIENCE, waiting)
        .await
        .expect("subscription must end")
        .unwrap();
    assert!(closed);
}

#[tokio::test]
async fn unreachable_nats_fails_at_connect() {
    let cfg = EventsConfig {
        url: Some("nats://127.0.0.1:1".into()),
        ..EventsConfig::default()
    };
    let result = tokio::time::timeout(PATIENCE, EventBus::connect(&cfg))
        .await
        .expect("connect must give up by itself");
    assert!(matches!(result, Err(EventError::Connect(_))), "{result:?}");
}

#[tokio::test]
async fn stream_per_domain_with_prefix() {
    let Some(cfg) = testing::nats_config(ACK_WAIT) else {
        return;
    };
    let bus = EventBus::connect(&cfg).await.unwrap();
    publish(&bus, "users.created", "s-1", "u").await;
    publish(&bus, "products.stock_changed", "s-2", "p").await;
    let client = async_nats::connect(cfg.url.as_deref().unwrap())
        .await
        .unwrap();
    let jetstream = async_nats::jetstream::new(client);
    let prefix = &cfg.stream_prefix;
    for (domain, subjects) in [("USERS", "users.>"), ("PRODUCTS", "products.>")] {
        let name = format!("{prefix}{domain}");
        let mut stream = jetstream.get_stream(&name).await.expect("stream exists");
        let info = stream.info().await.unwrap();
        // Subjects on the wire carry the prefix too, so environments never overlap.
        assert_eq!(info.config.subjects, vec![format!("{prefix}.{subjects}")]);
        assert_eq!(
            info.config.storage,
            async_nats::jetstream::stream::StorageType::File
        );
        assert_eq!(info.state.messages, 1);
    }
    cleanup(&cfg).await;
}

#[tokio::test]
async fn a_replica_consumer_is_deleted_once_inactive() {
    let Some(cfg) = testing::nats_config(ACK_WAIT) else {
        return;
    };
    let bus = EventBus::connect(&cfg).await.unwrap();
    publish(&bus, "users.created", "r-1", "u").await;
    let client = async_nats::connect(cfg.url.as_deref().unwrap())
        .await
        .unwrap();
    let jetstream = async_nats::jetstream::new(client);
    let stream = jetstream
        .get_stream(format!("{}USERS", cfg.stream_prefix))
        .await
        .unwrap();

    let shared = bus.subscribe("shared", "users.>").await.unwrap();
    let mut replica = bus
        .subscribe_with("replica", "users.>", Some(Duration::from_secs(1)))
        .await
        .unwrap();
    recv(&mut replica).await.ack().await.unwrap();
    drop(replica);
    drop(shared);

    // Nobody pulls any more: the replica's consumer goes, the shared one stays.
    let deadline = std::time::Instant::now() + PATIENCE;
    while stream.consumer_info("replica").await.is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the inactive replica consumer is still there"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(stream.consumer_info("shared").await.is_ok());
    cleanup(&cfg).await;
}
