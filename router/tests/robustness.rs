//! Router behaviour the reference corpus cannot show: deadlines and in-flight sharing.

mod common;

use common::{Harness, scenario};
use serde_json::{Value, json};
use std::time::Duration;

/// No test may hang: everything runs under this bound.
const BOUND: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_slow_subgraph_times_out_with_an_error_not_a_hang() {
    let harness = Harness::start(scenario("slow"), |config| {
        config.subgraph_timeout_ms = 50;
    })
    .await;
    let (status, body) =
        tokio::time::timeout(BOUND, harness.post(&json!({ "query": "{ items { id } }" })))
            .await
            .expect("answers");
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["data"], Value::Null);
    assert_eq!(body["errors"][0]["extensions"]["code"], "GATEWAY_TIMEOUT");
    assert_eq!(body["errors"][0]["extensions"]["serviceName"], "slow");
}

async fn concurrently(harness: &Harness, body: Value, count: usize) -> Vec<Value> {
    let requests = (0..count).map(|_| harness.post(&body));
    let responses = tokio::time::timeout(BOUND, futures::future::join_all(requests))
        .await
        .expect("answers");
    responses
        .into_iter()
        .map(|(status, body)| {
            assert_eq!(status, 200, "{body}");
            serde_json::from_str(&body).unwrap()
        })
        .collect()
}

#[tokio::test]
async fn identical_concurrent_queries_share_one_execution() {
    let harness = Harness::start(scenario("slow"), |config| {
        config.deduplication.client_queries = true;
        config.deduplication.subgraph_fetches = false;
    })
    .await;
    let responses = concurrently(&harness, json!({ "query": "{ items { id name } }" }), 8).await;
    for response in &responses {
        assert_eq!(
            response,
            &json!({ "data": { "items": [ { "id": "1", "name": "one" }, { "id": "2", "name": "two" } ] } })
        );
    }
    assert_eq!(harness.subgraphs.received().len(), 1);
}

#[tokio::test]
async fn identical_concurrent_subgraph_fetches_share_one_request() {
    // Different client documents (aliases differ only in the client's view are still
    // different documents), same subgraph fetch: client dedup cannot merge them.
    let harness = Harness::start(scenario("slow"), |config| {
        config.deduplication.client_queries = false;
        config.deduplication.subgraph_fetches = true;
    })
    .await;
    let plain = json!({ "query": "{ items { id } }" });
    let named = json!({ "query": "query Other { items { id } }" });
    let a = harness.post(&plain);
    let b = harness.post(&named);
    let c = harness.post(&plain);
    let (a, b, c) = tokio::time::timeout(BOUND, async { tokio::join!(a, b, c) })
        .await
        .expect("answers");
    assert_eq!(a.1, c.1);
    // The named operation sends a differently named subgraph operation, so two fetches.
    assert!(b.1.contains("\"items\""));
    assert_eq!(harness.subgraphs.received().len(), 2);
}

#[tokio::test]
async fn nothing_is_shared_when_both_switches_are_off() {
    let harness = Harness::start(scenario("slow"), |config| {
        config.deduplication.client_queries = false;
        config.deduplication.subgraph_fetches = false;
    })
    .await;
    concurrently(&harness, json!({ "query": "{ items { id } }" }), 4).await;
    assert_eq!(harness.subgraphs.received().len(), 4);
}

#[tokio::test]
async fn mutations_are_never_shared() {
    let harness = Harness::start(scenario("slow"), |_| {}).await;
    let responses = concurrently(&harness, json!({ "query": "mutation { bump }" }), 4).await;
    assert!(
        responses
            .iter()
            .all(|r| r == &json!({ "data": { "bump": 1 } }))
    );
    assert_eq!(harness.subgraphs.received().len(), 4);
}

fn corpus(name: &str) -> std::sync::Arc<junction_testkit::Fixture> {
    std::sync::Arc::new(
        junction_testkit::Fixture::load(&common::fixtures_dir().join(name)).expect("fixture"),
    )
}

#[tokio::test]
async fn operations_deeper_than_the_limit_are_refused_before_planning() {
    let harness = Harness::start(corpus("basic-entities"), |config| {
        config.limits.max_depth = 3;
    })
    .await;
    let (status, body) = harness
        .post(&json!({ "query": "{ users { reviews { author { name } } } }" }))
        .await;
    assert_eq!(status, 400);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert!(body.get("data").is_none());
    assert_eq!(body["errors"][0]["extensions"]["code"], "MAX_DEPTH_LIMIT");
    assert!(
        harness.subgraphs.received().is_empty(),
        "nothing was fetched"
    );
    // Fragments add no depth; three levels pass.
    let (status, _) = harness
        .post(&json!({ "query": "{ users { ... on User { reviews { body } } } }" }))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_plan_is_returned_only_when_asked_and_allowed() {
    let harness = Harness::start(corpus("basic-entities"), |_| {}).await;
    let body = json!({ "query": "{ users { name reviews { body } } }" });
    let asked = harness
        .http
        .post(&harness.endpoint)
        .header("junction-expose-query-plan", "true")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let plan = &asked["extensions"]["queryPlan"];
    assert_eq!(plan["kind"], "QueryPlan");
    assert_eq!(plan["requests"], 2);
    assert_eq!(plan["waves"], 2);
    let (_, plain) = harness.post(&body).await;
    assert!(!plain.contains("queryPlan"));

    let hidden = Harness::start(corpus("basic-entities"), |config| {
        config.expose_query_plan = false;
    })
    .await;
    let refused = hidden
        .http
        .post(&hidden.endpoint)
        .header("junction-expose-query-plan", "true")
        .json(&body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!refused.contains("queryPlan"), "{refused}");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let harness = Harness::start(corpus("basic-entities"), |config| {
        config.max_body_bytes = 1024;
    })
    .await;
    let huge = format!("{{ users {{ {} }} }}", "name ".repeat(400));
    let (status, _) = harness.post(&json!({ "query": huge })).await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn subgraphs_can_be_reached_over_http2_without_tls() {
    let fixture = corpus("basic-entities");
    let query = json!({ "query": "{ users { name reviews { body } } }" });
    let plain = Harness::start(fixture.clone(), |_| {}).await;
    let (_, expected) = plain.post(&query).await;
    assert!(
        plain
            .subgraphs
            .received()
            .iter()
            .all(|r| r.version == http::Version::HTTP_11)
    );

    let h2c = Harness::start(fixture, |config| {
        for subgraph in config.subgraphs.values_mut() {
            subgraph.http2 = junction_router::Http2::PriorKnowledge;
        }
    })
    .await;
    let (status, body) = h2c.post(&query).await;
    assert_eq!(status, 200);
    assert_eq!(body, expected);
    let received = h2c.subgraphs.received();
    assert_eq!(received.len(), 2);
    assert!(received.iter().all(|r| r.version == http::Version::HTTP_2));
}
