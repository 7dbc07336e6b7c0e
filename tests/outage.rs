//! No event lost when NATS is down: `junction dev` on PostgreSQL, Redis, S3 and a NATS
//! server of the test's own. NATS is killed, a checkout still succeeds (its events wait in
//! the outbox), and when NATS is back on the same storage the order is paid: every event
//! published exactly once, the payment made once.

mod common;

use common::{Platform, free_port, real_backends};
use junction_kit::events::{Envelope, EventBus};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `nats-server` from PATH or the sbin directories Debian puts it in.
fn nats_server_binary() -> PathBuf {
    if let Ok(path) = std::env::var("TEST_NATS_SERVER") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
        .expect("nats-server is installed (`cargo xtask test` installs it)")
}

fn start_nats(port: u16, store: &Path) -> Child {
    let child = Command::new(nats_server_binary())
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(store)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nats-server starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nats-server did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// Every event of `subject_filter` in the stream, by type and aggregate.
async fn events(bus: &EventBus, durable: &str, filter: &str) -> Vec<Envelope> {
    let mut subscription = bus.subscribe(durable, filter).await.unwrap();
    let mut out = Vec::new();
    while let Ok(Some(Ok(delivery))) =
        tokio::time::timeout(Duration::from_secs(2), subscription.next()).await
    {
        out.push(Envelope::from_bytes(&delivery.payload).unwrap());
        delivery.ack().await.unwrap();
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn checkout_while_nats_is_down_loses_and_doubles_nothing() {
    let Some(mut backends) = real_backends().await else {
        return;
    };
    let store = tempfile::tempdir().unwrap();
    let port = free_port();
    let nats_url = format!("nats://127.0.0.1:{port}");
    let mut nats = start_nats(port, store.path());
    for (key, value) in &mut backends.env {
        if key == "JUNCTION_EVENTS__URL" {
            *value = nats_url.clone();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path(), &backends.env);

    let session = platform
        .query(
            "mutation { register(input: {email: \"ops@example.com\", password: \"outage-proof\", name: \"Ops\"}) { accessToken } }",
            json!({}),
        )
        .await;
    let bearer = format!(
        "Bearer {}",
        session["register"]["accessToken"].as_str().unwrap()
    );
    // Ops sells the radio (any signed-in user may list what they sell).
    let product = platform
        .query_as(
            &bearer,
            "mutation { createProduct(input: {name: \"Radio\", priceCents: 4200, currency: \"EUR\", stock: 2}) { id } }",
            json!({}),
        )
        .await["createProduct"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    platform
        .query_as(
            &bearer,
            "mutation($id: ID!) { addToCart(productId: $id) { itemCount } }",
            json!({"id": product}),
        )
        .await;

    // NATS goes away; checkout still works, and the order waits for its payment.
    nats.kill().unwrap();
    nats.wait().unwrap();
    let order = platform
        .query_as(
            &bearer,
            "mutation { checkout(idempotencyKey: \"during-outage\") { id state } }",
            json!({}),
        )
        .await["checkout"]
        .clone();
    assert_eq!(order["state"], "PENDING");
    let order_id = order["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let state = |data: Value| {
        data["order"]["state"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let query = "query($id: ID!) { order(id: $id) { state } }";
    assert_eq!(
        state(
            platform
                .query_as(&bearer, query, json!({"id": order_id}))
                .await
        ),
        "PENDING",
        "nothing can pay the order while the bus is down"
    );

    // NATS is back on the same storage: the outbox drains and the order gets paid.
    let mut nats = start_nats(port, store.path());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = state(
            platform
                .query_as(&bearer, query, json!({"id": order_id}))
                .await,
        );
        if now == "PAID" {
            break;
        }
        assert_eq!(now, "PENDING");
        assert!(
            Instant::now() < deadline,
            "the order was never paid after NATS returned"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Exactly one of each event for this order, and one payment.
    let bus = EventBus::connect(&junction_kit::config::EventsConfig {
        url: Some(nats_url),
        stream_prefix: backends.stream_prefix.clone(),
        ..junction_kit::testing::memory_events_config(Duration::from_secs(30))
    })
    .await
    .unwrap();
    let orders = events(&bus, "outage_orders", "orders.>").await;
    let payments = events(&bus, "outage_payments", "payments.>").await;
    let count = |list: &[Envelope], kind: &str| {
        list.iter()
            .filter(|e| e.event_type == kind && e.payload["orderId"] == order_id.as_str())
            .count()
    };
    assert_eq!(count(&orders, "orders.placed"), 1);
    assert_eq!(count(&orders, "orders.paid"), 1);
    assert_eq!(count(&payments, "payments.succeeded"), 1);
    assert_eq!(count(&payments, "payments.failed"), 0);

    platform.stop();
    let _ = nats.kill();
    let _ = nats.wait();
}
