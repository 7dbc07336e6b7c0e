//! Persisted queries through a real router: APQ (in memory and in a real Redis shared by
//! two routers), manifest ids, and per-client safelisting.

mod common;

use common::{Harness, fixtures_dir, service_url};
use junction_router::{ClientConfig, Policy, RouterConfig};
use junction_testkit::Fixture;
use serde_json::{Value, json};
use std::sync::Arc;

const QUERY: &str = "query Users { users { id name } }";

fn fixture() -> Arc<Fixture> {
    Arc::new(Fixture::load(&fixtures_dir().join("basic-entities")).unwrap())
}

fn sha256(text: &str) -> String {
    junction_router::persisted::sha256_hex(text)
}

fn apq(hash: &str) -> Value {
    json!({"persistedQuery": {"version": 1, "sha256Hash": hash}})
}

async fn post(harness: &Harness, body: Value, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request = harness.http.post(&harness.endpoint).json(&body);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

#[tokio::test]
async fn apq_miss_then_register_then_hit_in_memory() {
    let harness = Harness::start(fixture(), |_| {}).await;
    let hash = sha256(QUERY);

    let (status, body) = post(&harness, json!({"extensions": apq(&hash)}), &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND");
    assert!(body.get("data").is_none());

    let (status, body) = post(
        &harness,
        json!({"query": QUERY, "extensions": apq(&hash)}),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["users"].is_array(), "{body}");

    let (status, hit) = post(&harness, json!({"extensions": apq(&hash)}), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(hit, body, "the hash alone runs the registered query");

    // The hash must be the query's.
    let (status, body) = post(
        &harness,
        json!({"query": "{ users { id } }", "extensions": apq(&hash)}),
        &[],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(code(&body), "PERSISTED_QUERY_HASH_MISMATCH");

    // A malformed extension is a clear request error.
    let (status, body) = post(
        &harness,
        json!({"extensions": {"persistedQuery": {"version": 2, "sha256Hash": hash}}}),
        &[],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(code(&body), "BAD_REQUEST");
}

#[tokio::test(flavor = "multi_thread")]
async fn apq_registered_on_one_router_hits_on_another_through_redis() {
    let Some(redis) = service_url("TEST_REDIS_URL") else {
        return;
    };
    // A prefix of our own so concurrent runs never see each other's entries.
    let prefix = format!("junction:test:{}:", std::process::id());
    let configure = |config: &mut RouterConfig| {
        config.persisted_queries.apq.redis_url = Some(redis.clone());
        config.persisted_queries.apq.redis_key_prefix = prefix.clone();
    };
    let first = Harness::start(fixture(), configure).await;
    let second = Harness::start(fixture(), configure).await;
    // Unique text, so no earlier run's entry can answer.
    let query = format!(
        "query Users{} {{ users {{ id name }} }}",
        std::process::id()
    );
    let hash = sha256(&query);

    let (_, body) = post(&second, json!({"extensions": apq(&hash)}), &[]).await;
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND");

    let (status, registered) = post(
        &first,
        json!({"query": query, "extensions": apq(&hash)}),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{registered}");
    assert!(registered["data"]["users"].is_array());

    let (status, hit) = post(&second, json!({"extensions": apq(&hash)}), &[]).await;
    assert_eq!(status, 200, "{hit}");
    assert_eq!(
        hit, registered,
        "the second router ran the query the first registered"
    );
}

fn manifest_file(dir: &tempfile::TempDir, name: &str, operations: Value) -> std::path::PathBuf {
    let path = dir.path().join(name);
    let manifest = json!({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": operations,
    });
    std::fs::write(&path, manifest.to_string()).unwrap();
    path
}

#[tokio::test]
async fn persisted_only_client_is_refused_free_form_and_served_by_manifest_id() {
    let dir = tempfile::tempdir().unwrap();
    let partner = manifest_file(
        &dir,
        "partner.json",
        json!([{"id": "users-v1", "name": "Users", "type": "query", "body": QUERY}]),
    );
    let harness = Harness::start(fixture(), |config| {
        config.persisted_queries.clients.insert(
            "acme".into(),
            ClientConfig {
                policy: Policy::PersistedOnly,
                api_keys: vec!["acme-secret".into()],
                manifests: vec![partner.clone()],
            },
        );
        config.persisted_queries.clients.insert(
            "web".into(),
            ClientConfig {
                policy: Policy::FreeForm,
                ..ClientConfig::default()
            },
        );
    })
    .await;
    let acme = [("x-api-key", "acme-secret")];

    // Free-form text from the persisted-only client.
    let (status, body) = post(&harness, json!({"query": "{ users { id } }"}), &acme).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_ALLOWED");
    assert!(body.get("data").is_none());

    // The same client by id: `documentId` and `extensions.persistedQuery`.
    let (status, by_document_id) = post(&harness, json!({"documentId": "users-v1"}), &acme).await;
    assert_eq!(status, 200, "{by_document_id}");
    assert!(
        by_document_id["data"]["users"].is_array(),
        "{by_document_id}"
    );
    let (status, by_extension) =
        post(&harness, json!({"extensions": apq("users-v1")}), &acme).await;
    assert_eq!(status, 200);
    assert_eq!(by_extension, by_document_id);

    // Its registered text is accepted as text too (the same operation).
    let (status, _) = post(&harness, json!({"query": QUERY}), &acme).await;
    assert_eq!(status, 200);

    // An id it has not registered, and APQ registration, are refused.
    let (status, body) = post(&harness, json!({"documentId": "nope"}), &acme).await;
    assert_eq!(status, 400);
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND");
    let other = "{ users { id } }";
    let (_, body) = post(
        &harness,
        json!({"query": other, "extensions": apq(&sha256(other))}),
        &acme,
    )
    .await;
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND");

    // A first-party client (by name) may still send free-form operations, but not the
    // partner's ids.
    let web = [("graphql-client-name", "web")];
    let (status, body) = post(&harness, json!({"query": "{ users { id } }"}), &web).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["users"].is_array());
    let (status, body) = post(&harness, json!({"documentId": "users-v1"}), &web).await;
    assert_eq!(status, 400);
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND");

    // A wrong API key is not a client at all.
    let (status, body) = post(&harness, json!({"query": QUERY}), &[("x-api-key", "guess")]).await;
    assert_eq!(status, 401);
    assert_eq!(code(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn default_policy_persisted_only_locks_down_unnamed_clients() {
    let dir = tempfile::tempdir().unwrap();
    let shared = manifest_file(&dir, "shared.json", json!([{"id": "u", "body": QUERY}]));
    let harness = Harness::start(fixture(), |config| {
        config.persisted_queries.default_policy = Policy::PersistedOnly;
        config.persisted_queries.manifests = vec![shared.clone()];
    })
    .await;
    let (status, body) = post(&harness, json!({"query": "{ users { id } }"}), &[]).await;
    assert_eq!((status, code(&body)), (400, "PERSISTED_QUERY_NOT_ALLOWED"));
    let (status, body) = post(&harness, json!({"documentId": "u"}), &[]).await;
    assert_eq!(status, 200, "{body}");
    // GET works with `documentId` too.
    let response = harness
        .http
        .get(format!("{}?documentId=u", harness.endpoint))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let get: Value = response.json().await.unwrap();
    assert_eq!(get, body);
}

#[test]
fn a_manifest_operation_that_does_not_validate_stops_the_router_starting() {
    let dir = tempfile::tempdir().unwrap();
    let bad = manifest_file(
        &dir,
        "bad.json",
        json!([{"id": "x", "body": "{ users { nope } }"}]),
    );
    let fixture = fixture();
    let supergraph =
        junction_schema::Supergraph::parse(fixture.supergraph.as_deref().unwrap()).unwrap();
    let mut config = RouterConfig::default();
    config.persisted_queries.manifests = vec![bad];
    let error = junction_router::Router::new(supergraph, &config)
        .err()
        .expect("refused")
        .to_string();
    assert!(error.contains("`x`") && error.contains("nope"), "{error}");
}
