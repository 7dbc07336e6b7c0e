//! The accounts subgraph over HTTP, on embedded SQLite and on real PostgreSQL: register,
//! login, refresh rotation with replay detection, logout, the JWKS and key rotation, and
//! the `accounts.registered` event.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use junction_accounts::keys::{AUDIENCE, Claims, ISSUER};
use junction_kit::blobs::Blobs;
use junction_kit::cache::Cache;
use junction_kit::config::{BlobsConfig, CacheConfig, DatabaseConfig};
use junction_kit::db::Database;
use junction_kit::events::{Envelope, EventBus};
use junction_kit::outbox::Outbox;
use junction_kit::service::Deps;
use junction_kit::testing::{memory_events_config, postgres_config, unique_name};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

struct Running {
    graphql: String,
    jwks: String,
    events: EventBus,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
    stop: CancellationToken,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn start(database: DatabaseConfig) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let spec = junction_accounts::spec();
    let db = Database::connect(&database, &unique_name("accounts"), dir.path())
        .await
        .expect("database");
    db.migrate(spec.migrations).await.expect("migrations");
    let events = EventBus::connect(&memory_events_config(Duration::from_secs(5)))
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let deps = Deps {
        service: spec.name,
        outbox: Outbox::spawn_relay(db.clone(), events.clone(), stop.clone()),
        db,
        events: events.clone(),
        cache: Cache::connect(&CacheConfig::default(), "accounts")
            .await
            .unwrap(),
        blobs: Blobs::connect(&BlobsConfig::default(), "accounts", dir.path())
            .await
            .unwrap(),
        peers: Default::default(),
        settings: serde_json::Value::Null,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = (spec.app)(deps);
    let until = stop.clone();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(until.cancelled_owned())
            .await
    });
    Running {
        graphql: format!("{base}/graphql"),
        jwks: format!("{base}{}", junction_accounts::JWKS_PATH),
        events,
        http: reqwest::Client::new(),
        _dir: dir,
        stop,
    }
}

impl Running {
    async fn call(&self, query: &str, variables: Value, headers: &[(&str, &str)]) -> Value {
        let mut request = self
            .http
            .post(&self.graphql)
            .json(&json!({"query": query, "variables": variables}));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap().json().await.unwrap()
    }

    async fn jwks(&self) -> JwkSet {
        self.http
            .get(&self.jwks)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

const SESSION: &str = "accessToken tokenType expiresIn refreshToken account { id email scopes }";

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
}

/// Verifies `token` against the JWKS the subgraph serves; returns its claims.
async fn verify(running: &Running, token: &str) -> Claims {
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let jwks = running.jwks().await;
    let jwk = jwks.find(&kid).expect("the token's key is published");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .expect("valid token")
        .claims
}

async fn journey(running: Running) {
    let mut registered = running
        .events
        .subscribe("accounts_test", "accounts.>")
        .await
        .unwrap();
    let register =
        format!("mutation($input: RegisterInput!) {{ register(input: $input) {{ {SESSION} }} }}");
    let input = |email: &str, password: &str| json!({"input": {"email": email, "password": password, "name": "Ada"}});

    // Bad input names the field.
    let body = running
        .call(&register, input("ada", "long enough"), &[])
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let body = running
        .call(&register, input("ada@example.com", "short"), &[])
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");

    let body = running
        .call(&register, input("Ada@Example.com", "correct horse"), &[])
        .await;
    let session = &body["data"]["register"];
    assert_eq!(session["tokenType"], "Bearer", "{body}");
    assert_eq!(session["account"]["email"], "ada@example.com");
    assert_eq!(session["account"]["scopes"], json!(["user"]));
    let account_id = session["account"]["id"].as_str().unwrap().to_owned();
    let claims = verify(&running, session["accessToken"].as_str().unwrap()).await;
    assert_eq!(claims.sub, account_id);
    assert_eq!(claims.scope, "user");
    assert!(claims.exp - claims.iat <= 15 * 60);

    // The profile service learns of the account through the outbox.
    let delivery = tokio::time::timeout(Duration::from_secs(10), registered.next())
        .await
        .expect("accounts.registered published")
        .unwrap()
        .unwrap();
    let event = Envelope::from_bytes(&delivery.payload).unwrap();
    assert_eq!(event.event_type, "accounts.registered");
    assert_eq!(event.payload["id"], account_id);
    assert_eq!(event.payload["name"], "Ada");
    delivery.ack().await.unwrap();

    let body = running
        .call(&register, input("ada@example.com", "another one"), &[])
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");

    // Login.
    let login = format!(
        "mutation($email: String!, $password: String!) {{ login(email: $email, password: $password) {{ {SESSION} }} }}"
    );
    for (email, password) in [
        ("ada@example.com", "wrong horse"),
        ("nobody@example.com", "correct horse"),
    ] {
        let body = running
            .call(&login, json!({"email": email, "password": password}), &[])
            .await;
        assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
        assert!(body["data"].is_null(), "{body}");
    }
    let body = running
        .call(
            &login,
            json!({"email": "ada@example.com", "password": "correct horse"}),
            &[],
        )
        .await;
    let first_refresh = body["data"]["login"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();

    // Refresh rotates the token; replaying the used one signs out the whole chain.
    let refresh = format!(
        "mutation($token: String!) {{ refreshSession(refreshToken: $token) {{ {SESSION} }} }}"
    );
    let body = running
        .call(&refresh, json!({"token": first_refresh}), &[])
        .await;
    let second_refresh = body["data"]["refreshSession"]["refreshToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    assert_ne!(second_refresh, first_refresh);
    let body = running
        .call(&refresh, json!({"token": first_refresh}), &[])
        .await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
    let body = running
        .call(&refresh, json!({"token": second_refresh}), &[])
        .await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");

    // Logout revokes.
    let body = running
        .call(
            &login,
            json!({"email": "ada@example.com", "password": "correct horse"}),
            &[],
        )
        .await;
    let token = body["data"]["login"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let logout = "mutation($token: String!) { logout(refreshToken: $token) }";
    let body = running.call(logout, json!({"token": token}), &[]).await;
    assert_eq!(body["data"]["logout"], true, "{body}");
    let body = running.call(&refresh, json!({"token": token}), &[]).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");

    // `account` is the caller's, from the identity the router forwards.
    let body = running
        .call(
            "{ account { id email } }",
            json!({}),
            &[("x-junction-user-id", &account_id)],
        )
        .await;
    assert_eq!(
        body["data"]["account"]["email"], "ada@example.com",
        "{body}"
    );
    let body = running.call("{ account { id } }", json!({}), &[]).await;
    assert!(body["data"]["account"].is_null(), "{body}");

    // Key rotation needs `admin`; the old key stays published, new tokens use the new one.
    let rotate = "mutation { rotateSigningKey }";
    let user = [
        ("x-junction-user-id", account_id.as_str()),
        ("x-junction-scopes", "user"),
    ];
    let body = running.call(rotate, json!({}), &user).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let forged = [("x-junction-scopes", "admin")];
    let body = running.call(rotate, json!({}), &forged).await;
    assert_eq!(
        code(&body),
        "FORBIDDEN",
        "scopes without a user count for nothing: {body}"
    );
    let admin = [
        ("x-junction-user-id", account_id.as_str()),
        ("x-junction-scopes", "user admin"),
    ];
    let old_kid = jsonwebtoken::decode_header(session["accessToken"].as_str().unwrap())
        .unwrap()
        .kid
        .unwrap();
    let body = running.call(rotate, json!({}), &admin).await;
    let new_kid = body["data"]["rotateSigningKey"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    assert_ne!(new_kid, old_kid);
    let body = running
        .call(
            &login,
            json!({"email": "ada@example.com", "password": "correct horse"}),
            &[],
        )
        .await;
    let token = body["data"]["login"]["accessToken"].as_str().unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(token).unwrap().kid.as_deref(),
        Some(new_kid.as_str())
    );
    verify(&running, token).await;
    let jwks = running.jwks().await;
    assert!(
        jwks.find(&old_kid).is_some(),
        "the old key is still published"
    );
    assert!(jwks.find(&new_kid).is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn accounts_on_embedded_sqlite() {
    journey(start(DatabaseConfig::default()).await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn accounts_on_postgres() {
    let Some(config) = postgres_config() else {
        return;
    };
    journey(start(config).await).await;
}
