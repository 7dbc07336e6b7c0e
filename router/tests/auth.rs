//! JWT authentication: tokens verified against a JWKS served over HTTP (fetched once,
//! refetched for an unknown `kid`), 401 for bad, expired or wrongly signed tokens, and the
//! verified identity sent to subgraphs in headers a client cannot set.

mod common;

use common::{Harness, fixtures_dir};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use junction_router::JwtConfig;
use junction_testkit::Fixture;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// PKCS#8 v1 prefix of an Ed25519 private key; the 32-byte seed follows.
const PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

struct Key {
    kid: String,
    encoding: EncodingKey,
    jwk: Jwk,
}

fn key(kid: &str, seed_byte: u8) -> Key {
    let mut der = PKCS8_PREFIX.to_vec();
    der.extend_from_slice(&[seed_byte; 32]);
    let encoding = EncodingKey::from_ed_der(&der);
    let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::EdDSA).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    Key {
        kid: kid.to_owned(),
        encoding,
        jwk,
    }
}

fn token(key: &Key, sub: &str, scope: &str, expires_in: i64) -> String {
    let now = chrono_now();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid.clone());
    let claims = json!({
        "sub": sub, "scope": scope, "iss": "test-issuer", "aud": "junction",
        "iat": now, "exp": now + expires_in,
    });
    jsonwebtoken::encode(&header, &claims, &key.encoding).unwrap()
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A JWKS server whose key set can change, counting fetches.
struct Jwks {
    url: String,
    keys: Arc<Mutex<JwkSet>>,
    fetches: Arc<AtomicUsize>,
}

async fn serve_jwks(keys: Vec<Jwk>) -> Jwks {
    let keys = Arc::new(Mutex::new(JwkSet { keys }));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (served, counted) = (keys.clone(), fetches.clone());
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            let set = served.lock().unwrap().clone();
            async move { axum::Json(set) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Jwks { url, keys, fetches }
}

async fn post(harness: &Harness, headers: &[(&str, &str)]) -> (u16, Value) {
    let body = json!({"query": "{ users { id name } }"});
    let (status, text) = harness.post_with_headers(&body, headers).await;
    (status, serde_json::from_str(&text).unwrap())
}

#[tokio::test]
async fn tokens_are_verified_and_the_identity_reaches_subgraphs_only_from_the_router() {
    let first = key("k1", 1);
    let jwks = serve_jwks(vec![first.jwk.clone()]).await;
    let fixture = Arc::new(Fixture::load(&fixtures_dir().join("basic-entities")).unwrap());
    let url = jwks.url.clone();
    let harness = Harness::start(fixture, move |config| {
        config.auth.jwt = Some(JwtConfig {
            jwks_url: url,
            issuer: Some("test-issuer".into()),
            audience: Some("junction".into()),
            min_refetch_interval_ms: 0,
            leeway_seconds: 0,
            ..JwtConfig::default()
        });
    })
    .await;

    // Anonymous requests run, and a forged identity header never reaches a subgraph.
    let (status, body) = post(&harness, &[("x-junction-user-id", "admin")]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["users"].is_array());
    let received = harness.subgraphs.received();
    assert!(!received.is_empty());
    for request in &received {
        assert!(request.headers.get("x-junction-user-id").is_none());
        assert!(request.headers.get("x-junction-scopes").is_none());
    }
    harness.subgraphs.clear_log();

    // A valid token: its subject and scopes go to the subgraphs.
    let bearer = format!(
        "Bearer {}",
        token(&first, "user-7", "user orders:read", 300)
    );
    let (status, body) = post(
        &harness,
        &[("authorization", &bearer), ("x-junction-user-id", "admin")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for request in harness.subgraphs.received() {
        assert_eq!(request.headers["x-junction-user-id"], "user-7");
        assert_eq!(request.headers["x-junction-scopes"], "user orders:read");
    }
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1, "the JWKS is cached");

    // Refused with 401 and UNAUTHENTICATED, each for its reason.
    let stranger = key("k1", 9); // same kid, other key: a forged signature
    let wrong_issuer = {
        let now = chrono_now();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("k1".into());
        let claims = json!({"sub": "u", "iss": "elsewhere", "aud": "junction", "exp": now + 300});
        jsonwebtoken::encode(&header, &claims, &first.encoding).unwrap()
    };
    for (token, why) in [
        (token(&first, "user-7", "user", -120), "expired"),
        (token(&stranger, "user-7", "user", 300), "signature"),
        (wrong_issuer, "issuer"),
        ("not.a.jwt".to_owned(), "malformed"),
    ] {
        let bearer = format!("Bearer {token}");
        let (status, body) = post(&harness, &[("authorization", &bearer)]).await;
        assert_eq!(status, 401, "{why}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{why}"
        );
        assert!(
            body["errors"][0]["message"].as_str().unwrap().contains(why),
            "{why}: {body}"
        );
        assert!(body.get("data").is_none(), "{body}");
    }
    let (status, _) = post(&harness, &[("authorization", "Basic abc")]).await;
    assert_eq!(status, 401);

    // Key rotation: a token with a new kid makes the router refetch the JWKS once.
    let second = key("k2", 2);
    jwks.keys.lock().unwrap().keys.push(second.jwk.clone());
    let before = jwks.fetches.load(Ordering::SeqCst);
    let bearer = format!("Bearer {}", token(&second, "user-8", "user", 300));
    let (status, body) = post(&harness, &[("authorization", &bearer)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), before + 1);
    // A kid the JWKS does not have is refused after one refetch.
    let unknown = key("k3", 3);
    let bearer = format!("Bearer {}", token(&unknown, "user-9", "user", 300));
    let (status, body) = post(&harness, &[("authorization", &bearer)]).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("unknown key")
    );
}

#[tokio::test]
async fn a_required_token_refuses_anonymous_requests() {
    let jwks = serve_jwks(vec![key("k1", 1).jwk]).await;
    let fixture = Arc::new(Fixture::load(&fixtures_dir().join("basic-entities")).unwrap());
    let url = jwks.url.clone();
    let harness = Harness::start(fixture, move |config| {
        config.auth.jwt = Some(JwtConfig {
            jwks_url: url,
            require: true,
            ..JwtConfig::default()
        });
    })
    .await;
    let (status, body) = post(&harness, &[]).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert!(harness.subgraphs.received().is_empty());
}
