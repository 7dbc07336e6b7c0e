//! GraphQL over HTTP at the router's edge: content types, methods, status codes.

mod common;

use common::{Harness, fixtures_dir};
use serde_json::{Value, json};
use std::sync::Arc;

async fn harness() -> Harness {
    let fixture =
        junction_testkit::Fixture::load(&fixtures_dir().join("basic-entities")).expect("fixture");
    Harness::start(Arc::new(fixture), |_| {}).await
}

#[tokio::test]
async fn answers_in_the_media_type_the_client_accepts() {
    let harness = harness().await;
    let body = json!({ "query": "{ users { id } }" });
    let response = harness
        .http
        .post(&harness.endpoint)
        .header(
            "accept",
            "application/graphql-response+json, application/json",
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/graphql-response+json"
    );
    let response = harness
        .http
        .post(&harness.endpoint)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn health_answers_once_a_supergraph_is_loaded() {
    let harness = harness().await;
    let url = harness.endpoint.replace("/graphql", "/health");
    let response = harness.http.get(url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "status": "UP" })
    );
}

#[tokio::test]
async fn get_serves_queries_and_refuses_mutations() {
    let fixture =
        junction_testkit::Fixture::load(&fixtures_dir().join("mutations-serial")).expect("fixture");
    let mutation = fixture
        .cases
        .iter()
        .find(|c| c.name == "same_subgraph_adjacent")
        .expect("case")
        .query
        .clone();
    let harness = Harness::start(Arc::new(fixture), |_| {}).await;
    let get = |q: &str| format!("{}?query={}", harness.endpoint, urlencode(q));
    let response = harness
        .http
        .get(get("{ __typename }"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let response = harness.http.get(get(&mutation)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(body.get("data").is_none());
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "MUTATION_NOT_ALLOWED_WITH_GET"
    );
    assert!(
        harness.subgraphs.received().is_empty(),
        "nothing was executed"
    );
}

#[tokio::test]
async fn malformed_envelopes_are_bad_requests() {
    let harness = harness().await;
    let send = |content_type: &'static str, body: &'static str| {
        harness
            .http
            .post(&harness.endpoint)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    assert_eq!(
        send("text/plain", "{}").await.unwrap().status().as_u16(),
        415
    );
    for body in [
        "{",
        "[]",
        "3",
        r#"{"query": 7}"#,
        r#"{"query": "{ users { id } }", "variables": [1]}"#,
        "{}",
    ] {
        let response = send("application/json", body).await.unwrap();
        assert_eq!(response.status().as_u16(), 400, "{body}");
        let json: Value = response.json().await.unwrap();
        assert!(json["errors"][0]["message"].is_string(), "{body}");
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
