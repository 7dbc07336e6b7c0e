//! Criterion benchmarks: planning the federation benchmark's query, and whole requests
//! through the router's HTTP service against in-process subgraphs whose responses are
//! memoised (canned after the first request), with de-duplication off so every
//! iteration does the full work.
//!
//! `cargo bench -p junction-router`

use axum::body::Body;
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use http_body_util::BodyExt;
use junction_router::{Router, RouterConfig, SubgraphOverride};
use std::path::Path;
use std::sync::Arc;
use tower::ServiceExt;

fn bench_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bench")
}

fn query() -> String {
    std::fs::read_to_string(bench_dir().join("cases/test_query.graphql")).expect("bench query")
}

fn planning(c: &mut Criterion) {
    let supergraph =
        junction_router::load_supergraph(&bench_dir().join("supergraph.graphql")).expect("loads");
    let query = query();
    assert_eq!(
        junction_router::bench_support::plan(&supergraph, &query),
        Ok(7)
    );
    c.bench_function("plan/bench_query_uncached", |b| {
        b.iter(|| junction_router::bench_support::plan(&supergraph, &query))
    });
}

fn requests(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let fixture = Arc::new(junction_testkit::Fixture::load(&bench_dir()).expect("fixture"));
    let subgraphs = runtime
        .block_on(junction_testkit::serve(
            fixture,
            "127.0.0.1:0".parse().unwrap(),
        ))
        .expect("subgraphs serve");
    let mut config = RouterConfig::default();
    config.deduplication.client_queries = false;
    config.deduplication.subgraph_fetches = false;
    for (name, url) in subgraphs.urls() {
        config.subgraphs.insert(
            name,
            SubgraphOverride {
                url: Some(url),
                ..SubgraphOverride::default()
            },
        );
    }
    let supergraph =
        junction_router::load_supergraph(&bench_dir().join("supergraph.graphql")).expect("loads");
    let app = Router::new(supergraph, &config)
        .expect("router")
        .into_axum();
    let body = serde_json::json!({ "query": query() }).to_string();
    let expected_len = std::fs::read_to_string(bench_dir().join("cases/test_query.expected.json"))
        .expect("expected")
        .trim_end()
        .len();
    let send = || {
        let app = app.clone();
        let body = body.clone();
        async move {
            let request = Request::post("/graphql")
                .header("content-type", "application/json")
                .body(Body::from(body))
                .expect("request");
            let response = app.oneshot(request).await.expect("response");
            let bytes = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            assert_eq!(bytes.len(), expected_len);
        }
    };
    runtime.block_on(send());
    c.bench_function("request/bench_query_7_fetches", |b| {
        b.to_async(&runtime).iter(send)
    });
    drop(subgraphs);
}

criterion_group!(benches, planning, requests);
criterion_main!(benches);
