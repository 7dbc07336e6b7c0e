//! The shop journey through the router, on `junction dev` with the embedded defaults and
//! with PostgreSQL, NATS JetStream, Redis and S3:
//! register and log in (accounts), the profile the users subgraph creates from the
//! `accounts.registered` event, `me` from the verified identity only; forged identity
//! headers and bad or expired tokens refused.

mod common;

use common::{Platform, real_backends};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const REGISTER: &str = "mutation($input: RegisterInput!) {
    register(input: $input) { accessToken refreshToken expiresIn account { id email } }
}";
const LOGIN: &str = "mutation($email: String!, $password: String!) {
    login(email: $email, password: $password) { accessToken }
}";
const ME: &str = "{ me { id email name } }";

async fn me(platform: &Platform, headers: &[(&str, &str)]) -> (u16, Value) {
    platform.post_with(json!({ "query": ME }), headers).await
}

#[tokio::test(flavor = "multi_thread")]
async fn journey_on_embedded_defaults() {
    let dir = tempfile::tempdir().unwrap();
    journey(Platform::start(dir.path(), &[])).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn journey_on_real_services() {
    let Some(backends) = real_backends().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    journey(Platform::start(dir.path(), &backends.env)).await;
}

async fn journey(platform: Platform) {
    let data = platform
        .query(
            REGISTER,
            json!({"input": {"email": "grace@example.com", "password": "hopper1906", "name": "Grace"}}),
        )
        .await;
    let session = &data["register"];
    let account_id = session["account"]["id"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {}", session["accessToken"].as_str().unwrap());

    // The profile appears once the users subgraph has consumed accounts.registered.
    let deadline = Instant::now() + Duration::from_secs(20);
    let profile = loop {
        let (status, body) = me(&platform, &[("authorization", &bearer)]).await;
        assert_eq!(status, 200, "{body}");
        if !body["data"]["me"].is_null() {
            break body["data"]["me"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "no profile for the new account: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        profile,
        json!({"id": account_id, "email": "grace@example.com", "name": "Grace"})
    );

    // A client claiming an identity in the router's headers is nobody.
    let (status, body) = me(&platform, &[("x-junction-user-id", &account_id)]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["me"].is_null(), "{body}");

    // Bad tokens are refused with 401, before any subgraph is called.
    let tampered = {
        let token = session["accessToken"].as_str().unwrap();
        let (rest, signature) = token.rsplit_once('.').unwrap();
        let flipped = if signature.starts_with('A') { "B" } else { "A" };
        format!("Bearer {rest}.{flipped}{}", &signature[1..])
    };
    for header in [tampered.as_str(), "Bearer not-a-token", "Token abc"] {
        let (status, body) = me(&platform, &[("authorization", header)]).await;
        assert_eq!(status, 401, "{header}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    }

    // Wrong password: an error, no token. The right one: a token that works.
    let (status, body) = platform
        .post(json!({"query": LOGIN, "variables": {"email": "grace@example.com", "password": "wrong-password"}}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{body}"
    );
    let data = platform
        .query(
            LOGIN,
            json!({"email": "grace@example.com", "password": "hopper1906"}),
        )
        .await;
    let bearer = format!("Bearer {}", data["login"]["accessToken"].as_str().unwrap());
    let (_, body) = me(&platform, &[("authorization", &bearer)]).await;
    assert_eq!(body["data"]["me"]["id"], account_id.as_str(), "{body}");

    platform.stop();
}
