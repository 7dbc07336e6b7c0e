//! The production shape on real services: each subgraph its own process (`junction
//! subgraph NAME`, as one pod each) on PostgreSQL, NATS JetStream, Redis and S3; a
//! supergraph composed from their running SDLs by `junction schema compose`; and
//! `junction router` in front. Every subgraph must report its backends ready, and a short
//! shop journey must cross them all through events and the router.

mod common;

use common::{Process, free_port, real_backends};
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

const SUBGRAPHS: [&str; 7] = [
    "accounts",
    "users",
    "products",
    "orders",
    "notifications",
    "search",
    "media",
];

#[tokio::test(flavor = "multi_thread")]
async fn each_subgraph_alone_and_together_behind_the_router() {
    let Some(backends) = real_backends().await else {
        return;
    };
    let ports: Vec<u16> = SUBGRAPHS.iter().map(|_| free_port()).collect();
    let url = |name: &str| {
        let i = SUBGRAPHS.iter().position(|n| *n == name).unwrap();
        format!("http://127.0.0.1:{}/graphql", ports[i])
    };
    // Every process gets the same configuration, as a Helm release would give them.
    let mut env = backends.env.clone();
    for name in SUBGRAPHS {
        env.push((
            format!("JUNCTION_SUBGRAPHS__{}__URL", name.to_uppercase()),
            url(name),
        ));
    }
    env.extend(
        [
            (
                "JUNCTION_SUBGRAPHS__ACCOUNTS__SETTINGS__ADMIN_EMAILS",
                "[owner@example.com]".to_owned(),
            ),
            (
                "JUNCTION_SUBGRAPHS__ACCOUNTS__SETTINGS__SIGNING_KEY_SECRET",
                "production-shape-signing-key-secret-0123456789".to_owned(),
            ),
            (
                "JUNCTION_ROUTER__AUTH__JWT__JWKS_URL",
                url("accounts").replace("/graphql", "/.well-known/jwks.json"),
            ),
            (
                "JUNCTION_ROUTER__AUTH__JWT__ISSUER",
                "junction-accounts".to_owned(),
            ),
            (
                "JUNCTION_ROUTER__AUTH__JWT__AUDIENCE",
                "junction".to_owned(),
            ),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );

    let http = reqwest::Client::new();
    let mut processes = Vec::new();
    for (name, port) in SUBGRAPHS.iter().zip(&ports) {
        let listen = format!("127.0.0.1:{port}");
        let (process, line) = Process::start(
            name,
            &["subgraph", name, "--listen", &listen],
            &env,
            "listening on",
        );
        assert!(line.contains(&url(name)), "{line}");
        let ready: Value = http
            .get(url(name).replace("/graphql", "/ready"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ready["ready"], true, "{name}: {ready}");
        for check in ["database", "events", "cache", "blobs"] {
            assert_eq!(ready["checks"][check], "ok", "{name}: {ready}");
        }
        processes.push(process);
    }

    // Rover's supergraph.yaml, each schema read from the running subgraph.
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = String::from("federation_version: =2.9.0\nsubgraphs:\n");
    for name in SUBGRAPHS {
        yaml.push_str(&format!(
            "  {name}:\n    routing_url: {0}\n    schema:\n      subgraph_url: {0}\n",
            url(name)
        ));
    }
    let config = dir.path().join("supergraph.yaml");
    std::fs::write(&config, yaml).unwrap();
    let supergraph = dir.path().join("supergraph.graphql");
    let composed = Command::new(common::BIN)
        .args(["schema", "compose", "--config"])
        .arg(&config)
        .arg("--output")
        .arg(&supergraph)
        .output()
        .unwrap();
    assert!(
        composed.status.success(),
        "{}",
        String::from_utf8_lossy(&composed.stderr)
    );
    let (router, line) = Process::start(
        "router",
        &[
            "router",
            "--supergraph",
            supergraph.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        &env,
        "GraphQL endpoint",
    );
    let endpoint = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_owned();
    let shop = Shop { http, endpoint };

    let owner = shop.register("owner@example.com", "Owner").await;
    let product = shop
        .call(
            Some(&owner),
            "mutation { createProduct(input: {name: \"Kettle\", priceCents: 3900, currency: \"EUR\", stock: 4, category: \"kitchen\"}) { id } }",
            json!({}),
        )
        .await["createProduct"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // search (its own process) hears of it over NATS.
    shop.until("{ search(query: \"kettle\") { totalCount } }", None, |d| {
        d["search"]["totalCount"] == 1
    })
    .await;

    let customer = shop.register("ada@example.com", "Ada").await;
    shop.until("{ me { name } }", Some(&customer), |d| {
        d["me"]["name"] == "Ada"
    })
    .await;
    shop.call(
        Some(&customer),
        "mutation($id: ID!) { addToCart(productId: $id, quantity: 2) { itemCount } }",
        json!({"id": product}),
    )
    .await;
    let order = shop
        .call(
            Some(&customer),
            "mutation { checkout(idempotencyKey: \"prod-1\", paymentMethod: \"pm_card_ok\") { id state } }",
            json!({}),
        )
        .await["checkout"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // orders' payment worker, products' reservation, notifications: all over NATS.
    let query = format!(
        "{{ order(id: \"{order}\") {{ state items {{ product {{ stock }} }} }} notifications {{ kind }} }}"
    );
    shop.until(&query, Some(&customer), |d| {
        d["order"]["state"] == "PAID"
            && d["order"]["items"][0]["product"]["stock"] == 2
            && d["notifications"].as_array().is_some_and(|n| n.len() >= 2)
    })
    .await;

    // The signing keys' private halves are encrypted in the database.
    let seeds = signing_key_seeds(&backends.env).await;
    assert!(!seeds.is_empty());
    assert!(seeds.iter().all(|s| s.starts_with("v1:")), "{seeds:?}");

    router.stop();
    for process in processes {
        process.stop();
    }
}

async fn signing_key_seeds(env: &[(String, String)]) -> Vec<String> {
    use diesel::sql_types::Text;
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Seed {
        #[diesel(sql_type = Text)]
        seed: String,
    }
    let url = env
        .iter()
        .find(|(k, _)| k == "JUNCTION_DATABASE__URL")
        .map(|(_, v)| v.clone());
    let config = junction_kit::config::DatabaseConfig {
        url,
        ..Default::default()
    };
    let db = junction_kit::db::Database::connect(&config, "accounts", std::path::Path::new("."))
        .await
        .expect("database");
    let rows: Vec<Seed> = junction_kit::with_conn!(&db, |conn| {
        diesel::sql_query("SELECT seed FROM signing_keys")
            .load(conn)
            .await
    })
    .expect("signing keys");
    rows.into_iter().map(|r| r.seed).collect()
}

struct Shop {
    http: reqwest::Client,
    endpoint: String,
}

impl Shop {
    async fn post(&self, bearer: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .http
            .post(&self.endpoint)
            .json(&json!({"query": query, "variables": variables}));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("router answers");
        assert_eq!(response.status().as_u16(), 200);
        response.json().await.expect("JSON")
    }

    async fn call(&self, bearer: Option<&str>, query: &str, variables: Value) -> Value {
        let body = self.post(bearer, query, variables).await;
        assert!(body.get("errors").is_none(), "{query}: {body}");
        body["data"].clone()
    }

    async fn register(&self, email: &str, name: &str) -> String {
        let data = self
            .call(
                None,
                "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }",
                json!({"input": {"email": email, "password": "production-shape", "name": name}}),
            )
            .await;
        data["register"]["accessToken"].as_str().unwrap().to_owned()
    }

    /// Polls `query` until `done` holds for its data.
    async fn until(&self, query: &str, bearer: Option<&str>, done: impl Fn(&Value) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let body = self.post(bearer, query, json!({})).await;
            if done(&body["data"]) {
                return;
            }
            assert!(Instant::now() < deadline, "{query} never got there: {body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
