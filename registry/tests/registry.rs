//! The registry over HTTP, against real PostgreSQL and against embedded SQLite: tokens
//! and scopes, publish with composition, history, checks, manifests and usage.

use junction_kit::config::DatabaseConfig;
use junction_kit::testing::{postgres_config, unique_name};
use junction_registry::{Registry, create_token};
use serde_json::{Value, json};

const USERS: &str = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])
type Query { user(id: ID!): User users: [User!]! }
type User @key(fields: "id") { id: ID! name: String email: String }
"#;

const REVIEWS: &str = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])
type User @key(fields: "id") { id: ID! reviews: [Review!]! }
type Review { id: ID! body: String! }
"#;

struct Running {
    url: String,
    registry: Registry,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Running {
    async fn start(config: DatabaseConfig) -> Running {
        Running::start_named(config, &unique_name("registry")).await
    }

    /// A registry on the database schema `name` (two with one name are replicas).
    async fn start_named(config: DatabaseConfig, name: &str) -> Running {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::connect_as(&config, name, dir.path())
            .await
            .expect("registry connects");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/graphql", listener.local_addr().unwrap());
        let app = registry.app();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Running {
            url,
            registry,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    async fn token(&self, scopes: &[&str]) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        create_token(
            &self.registry,
            &format!("test-{}", scopes.join("-")),
            &scopes,
        )
        .await
        .unwrap()
    }

    async fn call(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .http
            .post(&self.url)
            .json(&json!({"query": query, "variables": variables}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap().json().await.unwrap()
    }
}

const PUBLISH: &str = "mutation($name: String!, $url: String!, $sdl: String!) {
  publishSubgraph(name: $name, routingUrl: $url, sdl: $sdl) {
    accepted unchanged errors { code message } supergraph { id sdl subgraph summary publishedBy }
  }
}";

async fn publish(r: &Running, token: &str, name: &str, sdl: &str) -> Value {
    let body = r
        .call(
            Some(token),
            PUBLISH,
            json!({"name": name, "url": format!("http://{name}:4000/graphql"), "sdl": sdl}),
        )
        .await;
    body["data"]["publishSubgraph"].clone()
}

async fn journey(r: Running) {
    let publisher = r.token(&["publish"]).await;
    let reader = r.token(&["read"]).await;
    let checker = r.token(&["check"]).await;
    let reporter = r.token(&["report"]).await;

    // Scopes are enforced, and an unknown token is refused.
    let body = r.call(None, "{ supergraph { id } }", json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{body}"
    );
    let body = r
        .call(
            Some(&reader),
            PUBLISH,
            json!({"name": "x", "url": "http://x", "sdl": USERS}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
    let body = r
        .call(Some("jrt_guess"), "{ supergraph { id } }", json!({}))
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("unknown API token"),
        "{body}"
    );

    // Publishing composes; the supergraph history records who and what.
    let first = publish(&r, &publisher, "users", USERS).await;
    assert_eq!(first["accepted"], true, "{first}");
    assert_eq!(first["supergraph"]["summary"], "first supergraph");
    let second = publish(&r, &publisher, "reviews", REVIEWS).await;
    assert_eq!(second["accepted"], true, "{second}");
    let sdl = second["supergraph"]["sdl"].as_str().unwrap();
    junction_schema::Supergraph::parse(sdl).expect("a supergraph the router accepts");
    assert!(sdl.contains("reviews"));
    assert!(
        second["supergraph"]["summary"]
            .as_str()
            .unwrap()
            .contains("API change")
    );
    assert!(
        second["supergraph"]["publishedBy"]
            .as_str()
            .unwrap()
            .starts_with("test-publish")
    );

    // The same schema again changes nothing.
    let again = publish(&r, &publisher, "reviews", REVIEWS).await;
    assert_eq!(again["unchanged"], true);

    // A publish that does not compose is rejected; the last good supergraph stays.
    let conflicting = format!("{REVIEWS}\ntype Query {{ users: [Int] }}\n");
    let rejected = publish(&r, &publisher, "reviews", &conflicting).await;
    assert_eq!(rejected["accepted"], false, "{rejected}");
    assert!(!rejected["errors"].as_array().unwrap().is_empty());
    let current = r
        .call(
            Some(&reader),
            "{ supergraph { id } subgraphs { name sdl } supergraphHistory { id subgraph } }",
            json!({}),
        )
        .await;
    assert_eq!(
        current["data"]["supergraph"]["id"], second["supergraph"]["id"],
        "{current}"
    );
    assert_eq!(current["data"]["subgraphs"].as_array().unwrap().len(), 2);
    let history = current["data"]["supergraphHistory"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{current}");
    assert_eq!(history[0]["subgraph"], "reviews");
    assert_eq!(history[1]["subgraph"], "users");

    // Manifests are validated against the API schema.
    let manifest = |body: &str| {
        json!({"format": "apollo-persisted-query-manifest", "version": 1,
               "operations": [{"id": "p1", "name": "Profile", "type": "query", "body": body}]})
        .to_string()
    };
    let publish_manifest = "mutation($client: String!, $manifest: String!) {
        publishPersistedQueryManifest(client: $client, manifest: $manifest) { accepted errors operations } }";
    let bad = r
        .call(
            Some(&publisher),
            publish_manifest,
            json!({"client": "acme", "manifest": manifest("{ user(id: 1) { nope } }")}),
        )
        .await;
    assert_eq!(
        bad["data"]["publishPersistedQueryManifest"]["accepted"], false,
        "{bad}"
    );
    let good = r
        .call(Some(&publisher), publish_manifest, json!({"client": "acme", "manifest": manifest("query Profile { user(id: 1) { email } }")}))
        .await;
    assert_eq!(
        good["data"]["publishPersistedQueryManifest"]["operations"], 1,
        "{good}"
    );
    let manifests = r
        .call(
            Some(&reader),
            "{ persistedQueryManifests { client manifest } }",
            json!({}),
        )
        .await;
    assert_eq!(
        manifests["data"]["persistedQueryManifests"][0]["client"],
        "acme"
    );

    // Usage reported by routers joins the known operations.
    let reported = r
        .call(
            Some(&reporter),
            "mutation($ops: [UsageInput!]!) { reportUsage(operations: $ops) }",
            json!({"ops": [{"client": "web", "body": "query Names { users { name } }", "count": 12}]}),
        )
        .await;
    assert_eq!(reported["data"]["reportUsage"], 1, "{reported}");

    // A remote check: removing `email` breaks the persisted `Profile`; removing `name`
    // breaks the reported `Names`; adding a field passes.
    let check = "query($sdl: String!) { check(subgraph: \"users\", sdl: $sdl) { passed report } }";
    let result = r
        .call(
            Some(&checker),
            check,
            json!({"sdl": USERS.replace("email: String", "")}),
        )
        .await;
    let result = &result["data"]["check"];
    assert_eq!(result["passed"], false, "{result}");
    let report: Value = serde_json::from_str(result["report"].as_str().unwrap()).unwrap();
    assert_eq!(report["changes"][0]["type"], "FIELD_REMOVED");
    assert_eq!(
        report["changes"][0]["affectedOperations"][0],
        "acme/Profile"
    );
    let result = r
        .call(
            Some(&checker),
            check,
            json!({"sdl": USERS.replace("name: String", "")}),
        )
        .await;
    let report: Value =
        serde_json::from_str(result["data"]["check"]["report"].as_str().unwrap()).unwrap();
    assert_eq!(
        report["changes"][0]["affectedOperations"][0], "web/Names",
        "{report}"
    );
    let result = r
        .call(
            Some(&checker),
            check,
            json!({"sdl": USERS.replace("email: String", "email: String nick: String")}),
        )
        .await;
    assert_eq!(result["data"]["check"]["passed"], true, "{result}");
    // A check token cannot publish.
    let body = r
        .call(
            Some(&checker),
            PUBLISH,
            json!({"name": "users", "url": "http://x", "sdl": USERS}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_over_http_on_postgres() {
    let Some(config) = postgres_config() else {
        return;
    };
    journey(Running::start(config).await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_over_http_on_embedded_sqlite() {
    journey(Running::start(DatabaseConfig::default()).await).await;
}

#[tokio::test]
async fn tokens_are_stored_hashed() {
    let running = Running::start(DatabaseConfig::default()).await;
    let secret = running.token(&["read"]).await;
    let rows = junction_kit::with_conn!(running.registry.database(), |conn| {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use junction_registry::store::registry_tokens::dsl::*;
        registry_tokens
            .select(token_hash)
            .load::<String>(conn)
            .await
    })
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert_ne!(rows[0], secret);
    assert!(!rows[0].contains(&secret[4..]));
    assert_eq!(rows[0].len(), 64);
}

/// Two registry replicas on one PostgreSQL, publishing different subgraphs at the same
/// time: every publish must end up in the supergraph in service (none composed on a stale
/// parent and stored over another).
#[tokio::test(flavor = "multi_thread")]
async fn replicas_publishing_at_once_lose_no_change() {
    let Some(config) = postgres_config() else {
        return;
    };
    let name = unique_name("registry");
    let a = Running::start_named(config.clone(), &name).await;
    let b = Running::start_named(config, &name).await;
    let token = a.token(&["publish", "read"]).await;
    assert_eq!(publish(&a, &token, "users", USERS).await["accepted"], true);

    let names: Vec<String> = (0..8).map(|i| format!("extra{i}")).collect();
    let publishes = names.iter().enumerate().map(|(i, name)| {
        let replica = if i % 2 == 0 { &a } else { &b };
        let sdl = format!(
            "extend schema @link(url: \"https://specs.apollo.dev/federation/v2.9\", import: [\"@key\"])\n\
             type Query {{ {name}: Int }}\n"
        );
        let token = token.clone();
        async move { publish(replica, &token, name, &sdl).await }
    });
    for result in futures::future::join_all(publishes).await {
        assert_eq!(result["accepted"], true, "{result}");
    }
    let body = b
        .call(Some(&token), "{ supergraph { sdl } }", json!({}))
        .await;
    let sdl = body["data"]["supergraph"]["sdl"].as_str().unwrap();
    for name in &names {
        assert!(sdl.contains(&format!("{name}: Int")), "{name} lost:\n{sdl}");
    }
}
