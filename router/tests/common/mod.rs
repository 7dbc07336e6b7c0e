//! Running fixtures: the testkit's subgraphs behind a real router on 127.0.0.1.

#![allow(dead_code)] // each test binary uses part of this module

use junction_router::{Router, RouterConfig, SubgraphOverride};
use junction_testkit::{Fixture, RunningFixture};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Fixtures for router behaviour the reference corpus cannot show (timeouts, sharing).
pub fn scenario(name: &str) -> Arc<Fixture> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(name);
    Arc::new(Fixture::load(&dir).unwrap_or_else(|e| panic!("scenario {name}: {e}")))
}

/// A fixture's subgraphs and a router over its supergraph.
pub struct Harness {
    pub subgraphs: RunningFixture,
    pub endpoint: String,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Harness {
    pub async fn start(
        fixture: Arc<Fixture>,
        configure: impl FnOnce(&mut RouterConfig),
    ) -> Harness {
        let supergraph_sdl = match &fixture.supergraph {
            Some(sdl) => sdl.clone(),
            // Scenario fixtures are composed with our own composer.
            None => {
                let inputs: Vec<junction_schema::SubgraphInput> = fixture
                    .subgraphs
                    .iter()
                    .map(|s| junction_schema::SubgraphInput {
                        name: s.name.clone(),
                        url: format!("http://{}.invalid/graphql", s.name),
                        sdl: s.sdl.clone(),
                    })
                    .collect();
                junction_schema::compose(&inputs)
                    .unwrap_or_else(|e| panic!("fixture {} does not compose: {e:?}", fixture.name))
            }
        };
        let subgraphs = junction_testkit::serve(fixture.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .expect("fixture subgraphs start");
        let mut config = RouterConfig::default();
        for (name, url) in subgraphs.urls() {
            config.subgraphs.insert(
                name,
                SubgraphOverride {
                    url: Some(url),
                    ..SubgraphOverride::default()
                },
            );
        }
        config.expose_query_plan = true;
        configure(&mut config);
        let supergraph = junction_schema::Supergraph::parse(&supergraph_sdl)
            .unwrap_or_else(|e| panic!("fixture {}: supergraph: {e}", fixture.name));
        let router = Router::new(supergraph, &config).expect("router builds");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}/graphql", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(junction_router::serve(listener, router, async {
            let _ = stopped.await;
        }));
        Harness {
            subgraphs,
            endpoint,
            http: reqwest::Client::new(),
            stop: Some(stop),
        }
    }

    /// POSTs `body`; returns the status and the raw body.
    pub async fn post(&self, body: &Value) -> (u16, String) {
        self.post_with_headers(body, &[]).await
    }

    /// POSTs `body` with extra request headers; returns the status and the raw body.
    pub async fn post_with_headers(&self, body: &Value, headers: &[(&str, &str)]) -> (u16, String) {
        let mut request = self.http.post(&self.endpoint).json(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("router answers");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// JSON re-serialised compactly in its own key order (so order differences show).
pub fn canonical(value: &Value) -> String {
    serde_json::to_string(value).unwrap()
}

/// A real service's URL from the environment (`cargo xtask test` sets the `TEST_*`
/// variables); `None` only when `JUNCTION_TEST_SKIP_SERVICES=1` says to skip.
pub fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => Some(value),
        _ if std::env::var("JUNCTION_TEST_SKIP_SERVICES").as_deref() == Ok("1") => {
            eprintln!("skipped: {var} is not set and JUNCTION_TEST_SKIP_SERVICES=1");
            None
        }
        _ => panic!(
            "{var} is not set: run `cargo xtask test`, which starts the services, or set \
             JUNCTION_TEST_SKIP_SERVICES=1 to skip tests that need them"
        ),
    }
}
