//! End to end: the real `junction` binary on random 127.0.0.1 ports.
//!
//! - embedded defaults (SQLite, in-process bus, memory cache, local blobs): a query that
//!   crosses both subgraphs in both directions, data kept across a restart, bad input;
//! - real PostgreSQL, NATS JetStream, Redis and S3: the same query, and a mutation whose
//!   event a NATS subscriber receives;
//! - bad configuration refused at start with the key named.

mod common;

use common::{BIN, Platform, RealBackends, clear_junction_env, real_backends};
use junction_kit::events::{Envelope, EventBus};
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;

const CREATE_USER: &str = "mutation($email: String!, $name: String!) {
    createUser(input: { email: $email, name: $name }) { id email name }
}";
const CREATE_PRODUCT: &str = "mutation($seller: ID) {
    createProduct(input: { name: \"Lamp\", priceCents: 1999, currency: \"eur\", stock: 3, sellerId: $seller }) { id currency }
}";
/// products → users (Product.seller) → products (User.products).
const CROSSING: &str = "{
    products(first: 10) {
        edges { node { name priceCents seller { name email products { name stock } } } }
        pageInfo { hasNextPage }
    }
}";

/// As an admin, creates a user and their product, then checks the query that crosses
/// both subgraphs; returns the user's id.
async fn exercise_cross_subgraph(platform: &Platform, email: &str) -> String {
    let admin = platform.admin_token().await;
    let created = platform
        .query_as(
            &admin,
            CREATE_USER,
            json!({ "email": email, "name": "Ada" }),
        )
        .await;
    let user_id = created["createUser"]["id"].as_str().unwrap().to_string();
    assert_eq!(created["createUser"]["email"], email);

    let product = platform
        .query_as(&admin, CREATE_PRODUCT, json!({ "seller": user_id }))
        .await;
    assert_eq!(product["createProduct"]["currency"], "EUR");

    // Emails are for admins (and their owners) to see.
    let data = platform.query_as(&admin, CROSSING, json!({})).await;
    assert_eq!(
        data,
        json!({ "products": {
            "edges": [ { "node": {
                "name": "Lamp", "priceCents": 1999,
                "seller": { "name": "Ada", "email": email, "products": [ { "name": "Lamp", "stock": 3 } ] }
            } } ],
            "pageInfo": { "hasNextPage": false }
        } })
    );

    // users → products, with the user resolved by id.
    let data = platform
        .query(
            "query($id: ID!) { user(id: $id) { name products { name } } }",
            json!({ "id": user_id }),
        )
        .await;
    assert_eq!(
        data,
        json!({ "user": { "name": "Ada", "products": [ { "name": "Lamp" } ] } })
    );
    user_id
}

#[tokio::test]
async fn embedded_defaults_cross_subgraph_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path(), &[]);
    exercise_cross_subgraph(&platform, "ada@example.com").await;

    // Bad input gets a GraphQL error and a 4xx, never a 500.
    let (status, body) = platform.post(json!({ "query": "{ products { " })).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "GRAPHQL_PARSE_FAILED"
    );
    assert!(body.get("data").is_none());

    let (status, body) = platform
        .post(json!({
            "query": "query($n: Int!) { products(first: $n) { pageInfo { hasNextPage } } }",
            "variables": { "n": "ten" }
        }))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    let (status, body) = platform
        .post(json!({ "query": "{ products { edges { node { nope } } } }" }))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    assert!(body["errors"][0]["locations"].is_array());

    // Creating users directly is for admins.
    let bad_user =
        json!({ "query": CREATE_USER, "variables": { "email": "not-an-email", "name": "X" } });
    let (status, body) = platform.post(bad_user.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );

    // A validation error from a subgraph names the field.
    let admin = platform.admin_token().await;
    let (status, body) = platform
        .post_with(bad_user, &[("authorization", &admin)])
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], Value::Null);
    assert_eq!(body["errors"][0]["extensions"]["field"], "input.email");
    assert_eq!(body["errors"][0]["extensions"]["serviceName"], "users");

    // Not JSON at all.
    let response = platform
        .http
        .post(&platform.endpoint)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);

    // GET works for queries; browsers get GraphiQL.
    let response = platform
        .http
        .get(format!("{}?query=%7B__typename%7D", platform.endpoint))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "data": { "__typename": "Query" } })
    );
    let page = platform
        .http
        .get(&platform.endpoint)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("graphiql"), "{page}");

    // Every subgraph reports itself alive and its backends reachable.
    let names: Vec<&str> = platform.subgraphs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "accounts",
            "users",
            "products",
            "orders",
            "notifications",
            "search",
            "media"
        ]
    );
    for (name, url) in &platform.subgraphs {
        let base = url.trim_end_matches("/graphql");
        let health = platform
            .http
            .get(format!("{base}/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status().as_u16(), 200, "{name}");
        let ready = platform
            .http
            .get(format!("{base}/ready"))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status().as_u16(), 200, "{name}");
        let body: Value = ready.json().await.unwrap();
        assert_eq!(body["ready"], true, "{name}: {body}");
        for check in ["database", "events", "cache", "blobs"] {
            assert_eq!(body["checks"][check], "ok", "{name}: {body}");
        }
    }

    platform.stop();

    // Data survives a restart (SQLite files under the data dir).
    let platform = Platform::start(dir.path(), &[]);
    let admin = platform.admin_token().await;
    let data = platform
        .query_as(&admin, "{ users { edges { node { email } } } }", json!({}))
        .await;
    let emails: Vec<&str> = data["users"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["email"].as_str().unwrap())
        .collect();
    assert!(emails.contains(&"ada@example.com"), "{data}");
    // The in-process bus forgot the product events, yet search loads the catalogue from
    // the products subgraph when it starts.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let data = platform
            .query("{ search(query: \"lamp\") { totalCount } }", json!({}))
            .await;
        if data["search"]["totalCount"] == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "search is empty after a restart: {data}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    platform.stop();
}

/// A fresh PostgreSQL database for one test, created through the kit.
#[tokio::test]
async fn real_backends_cross_subgraph_and_event_delivery() {
    let Some(RealBackends {
        env,
        nats,
        stream_prefix: prefix,
    }) = real_backends().await
    else {
        return;
    };

    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path(), &env);
    let user_id = exercise_cross_subgraph(&platform, "grace@example.com").await;

    // The users.created event went through the outbox to JetStream: a durable consumer
    // created now still receives it (the stream keeps it).
    let bus = EventBus::connect(&junction_kit::config::EventsConfig {
        url: Some(nats),
        stream_prefix: prefix,
        ..Default::default()
    })
    .await
    .expect("NATS connects");
    let mut subscription = bus
        .subscribe("e2e-test", "users.created")
        .await
        .expect("subscribes");
    // The admin's own profile (from registering) is in the stream too.
    let envelope = loop {
        let delivery = tokio::time::timeout(Duration::from_secs(20), subscription.next())
            .await
            .expect("event arrives within 20 s")
            .expect("bus open")
            .expect("delivery");
        delivery.ack().await.expect("ack");
        let envelope = Envelope::from_bytes(&delivery.payload).expect("envelope");
        assert_eq!(envelope.event_type, "users.created");
        if envelope.aggregate_id == user_id {
            break envelope;
        }
    };
    assert_eq!(envelope.payload["email"], "grace@example.com");
    // The router started a trace for the request; the event carries it.
    let trace = envelope.trace_context.expect("a trace context");
    assert!(trace.starts_with("00-") && trace.len() == 55, "{trace}");

    // The stock change is published too, on its own subject.
    let product_id = platform
        .query("{ products { edges { node { id } } } }", json!({}))
        .await["products"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let admin = platform.admin_token().await;
    let adjusted = platform
        .query_as(
            &admin,
            "mutation($id: ID!) { adjustStock(id: $id, delta: -2) { stock } }",
            json!({ "id": product_id }),
        )
        .await;
    assert_eq!(adjusted, json!({ "adjustStock": { "stock": 1 } }));
    let (status, body) = platform
        .post_with(
            json!({
                "query": "mutation($id: ID!) { adjustStock(id: $id, delta: -5) { stock } }",
                "variables": { "id": product_id }
            }),
            &[("authorization", &admin)],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let mut stock_events = bus
        .subscribe("e2e-stock", "products.stock_changed")
        .await
        .expect("subscribes");
    let delivery = tokio::time::timeout(Duration::from_secs(20), stock_events.next())
        .await
        .expect("stock event arrives")
        .expect("bus open")
        .expect("delivery");
    let envelope = Envelope::from_bytes(&delivery.payload).unwrap();
    assert_eq!(envelope.payload, json!({ "id": product_id, "stock": 1 }));
    platform.stop();
}

/// Runs `junction dev` expecting it to refuse to start; returns stderr.
fn refused(args: &[&str], env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(BIN);
    command
        .args(["dev", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(args);
    clear_junction_env(&mut command);
    for (k, v) in env {
        command.env(k, v);
    }
    // A configuration accepted by mistake would start the platform and never return:
    // give it a deadline, and kill it.
    let mut child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("junction runs");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("junction started with a configuration it should refuse: {env:?} {args:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success(), "junction should refuse to start");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("piped"), &mut stderr)
        .expect("stderr");
    stderr
}

#[test]
fn bad_configuration_is_refused_naming_the_key() {
    let stderr = refused(&[], &[("JUNCTION_DATABSE__URL", "postgres://x")]);
    assert!(stderr.contains("`databse`"), "{stderr}");
    assert!(stderr.contains("JUNCTION_DATABSE__URL"), "{stderr}");

    let stderr = refused(&[], &[("JUNCTION_EVENTS__URL", "http://localhost:4222")]);
    assert!(stderr.contains("`events.url`"), "{stderr}");

    let stderr = refused(&[], &[("JUNCTION_CACHE__URL", "not a url")]);
    assert!(stderr.contains("`cache.url`"), "{stderr}");

    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "router:\n  lisen: 127.0.0.1:1\n").unwrap();
    let path = file.path().to_str().unwrap();
    let stderr = refused(&["--config", path], &[]);
    assert!(stderr.contains("`router.lisen`"), "{stderr}");

    let stderr = refused(
        &[],
        &[("JUNCTION_SUBGRAPHS__PAYMENTS__LISTEN", "127.0.0.1:1")],
    );
    assert!(stderr.contains("`subgraphs.payments`"), "{stderr}");

    // A service's own settings are checked at start-up too.
    let stderr = refused(
        &[],
        &[(
            "JUNCTION_SUBGRAPHS__ORDERS__SETTINGS__PAYMENTS__FAILURE_RATE",
            "2",
        )],
    );
    assert!(stderr.contains("`subgraphs.orders.settings`"), "{stderr}");
    assert!(stderr.contains("payments.failure_rate"), "{stderr}");
    let stderr = refused(
        &[],
        &[(
            "JUNCTION_SUBGRAPHS__ACCOUNTS__SETTINGS__ACCESS_TOKEN_TTL_SECONDS",
            "0",
        )],
    );
    assert!(stderr.contains("`subgraphs.accounts.settings`"), "{stderr}");
    assert!(stderr.contains("access_token_ttl_seconds"), "{stderr}");
    let stderr = refused(
        &[],
        &[(
            "JUNCTION_SUBGRAPHS__ACCOUNTS__SETTINGS__SIGNING_KEY_SECRET",
            "too-short",
        )],
    );
    assert!(stderr.contains("signing_key_secret"), "{stderr}");
    assert!(
        !stderr.contains("too-short"),
        "the secret is never printed: {stderr}"
    );

    // A backend that is down fails fast with the backend named.
    let stderr = refused(
        &[],
        &[(
            "JUNCTION_DATABASE__URL",
            "postgres://postgres@127.0.0.1:1/x",
        )],
    );
    assert!(stderr.contains("database"), "{stderr}");
}

#[test]
fn migrate_applies_each_migration_once() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        let mut command = Command::new(BIN);
        command.arg("migrate");
        clear_junction_env(&mut command);
        command.env("JUNCTION_DATA_DIR", dir.path());
        let output = command.output().expect("junction runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let first = run();
    let second = run();
    for service in [
        "accounts",
        "users",
        "products",
        "orders",
        "notifications",
        "search",
        "media",
    ] {
        assert!(first.contains(&format!("{service}: ")), "{first}");
        assert!(
            !first.contains(&format!("{service}: 0 migration(s)")),
            "{service} applied nothing on a fresh data dir: {first}"
        );
        assert!(
            second.contains(&format!("{service}: 0 migration(s) applied")),
            "{second}"
        );
    }
    assert!(dir.path().join("users.sqlite").exists());
}
