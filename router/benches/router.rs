//! Criterion benchmarks: planning the federation benchmark's query, and whole requests
//! through the router's HTTP service against in-process subgraphs whose responses are
//! memoised (canned after the first request), with de-duplication off so every
//! iteration does the full work: free-form text, the same operation by manifest id, and
//! free-form text with usage recording on.
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
    let load = || {
        junction_router::load_supergraph(&bench_dir().join("supergraph.graphql")).expect("loads")
    };
    let query = query();
    let manifest = junction_schema::persisted::Manifest::parse(
        &serde_json::json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [{"id": "bench", "name": "TestQuery", "type": "query", "body": query}]
        })
        .to_string(),
    )
    .expect("manifest");
    let plain = Router::new(load(), &config).expect("router").into_axum();
    let persisted = Router::with_manifests(
        load(),
        &config,
        vec![junction_router::persisted::ClientManifest {
            client: None,
            manifest,
        }],
    )
    .expect("router")
    .into_axum();
    let mut recording = config.clone();
    recording.record_usage = true;
    let recording = Router::new(load(), &recording).expect("router").into_axum();

    let free_form = serde_json::json!({ "query": query }).to_string();
    let by_id = serde_json::json!({ "documentId": "bench" }).to_string();
    let expected_len = std::fs::read_to_string(bench_dir().join("cases/test_query.expected.json"))
        .expect("expected")
        .trim_end()
        .len();
    let send = |app: &axum::Router, body: &String| {
        let app = app.clone();
        let body = body.clone();
        async move {
            let request = Request::post("/graphql")
                .header("content-type", "application/json")
                .header("graphql-client-name", "bench")
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
    for (name, app, body) in [
        ("request/bench_query_7_fetches", &plain, &free_form),
        ("request/bench_query_by_manifest_id", &persisted, &by_id),
        (
            "request/bench_query_recording_usage",
            &recording,
            &free_form,
        ),
    ] {
        runtime.block_on(send(app, body));
        c.bench_function(name, |b| b.to_async(&runtime).iter(|| send(app, body)));
    }
    drop(subgraphs);
}

criterion_group!(benches, planning, requests);
criterion_main!(benches);
