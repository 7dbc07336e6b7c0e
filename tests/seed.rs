//! `junction dev --seed`: the demo shop, and the README's first five queries against it.

mod common;

use common::Platform;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The README's queries, word for word (`README.md`, "Your first five queries").
const BROWSE: &str = r#"{
  products(first: 3, filter: { category: "lighting", inStock: true }) {
    edges { node { id name priceCents stock images { url width height } } }
  }
}"#;
const SEARCH: &str = r#"{
  search(query: "walnut lamp", filters: { inStock: true }) {
    totalCount
    facets { category { value count } }
    edges { node { product { name priceCents } highlights { field snippet } } }
  }
}"#;
const LOGIN: &str = r#"mutation {
  login(email: "ada@junction.dev", password: "junction-demo") { accessToken }
}"#;
const ME: &str = r#"{
  me {
    name
    orders { state totalCents items { name quantity } }
    notifications { title read }
  }
}"#;
const BUY: &str = r#"mutation($product: ID!) {
  addToCart(productId: $product, quantity: 1) { itemCount }
  checkout(idempotencyKey: "my-first-order") { id state totalCents }
}"#;

async fn eventually(
    platform: &Platform,
    query: &str,
    headers: &[(&str, &str)],
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = platform.post_with(json!({ "query": query }), headers).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "{body}");
        if done(&body["data"]) {
            return body["data"].clone();
        }
        assert!(Instant::now() < deadline, "never settled: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_shop_answers_the_readme_queries() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start_with(dir.path(), &["--seed"], &[]);
    assert!(
        platform
            .banner
            .iter()
            .any(|l| l.contains("seeded:") && l.contains("300 products")),
        "{:?}",
        platform.banner
    );

    // 1. Browse a category.
    let data = platform.query(BROWSE, json!({})).await;
    let lamps = data["products"]["edges"].as_array().unwrap();
    assert_eq!(lamps.len(), 3);
    assert!(
        lamps
            .iter()
            .all(|e| e["node"]["stock"].as_i64().unwrap() > 0)
    );
    // Each has its picture, served from the URL media signed.
    for lamp in lamps {
        let images = lamp["node"]["images"].as_array().unwrap();
        assert_eq!(images.len(), 1, "{lamp}");
        assert_eq!(
            (&images[0]["width"], &images[0]["height"]),
            (&json!(160), &json!(120))
        );
        let picture = platform
            .http
            .get(images[0]["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(picture.status().as_u16(), 200);
        assert!(picture.bytes().await.unwrap().starts_with(b"\x89PNG"));
    }

    // 2. Search, once the index has every product event.
    eventually(&platform, "{ search { totalCount } }", &[], |d| {
        d["search"]["totalCount"] == 300
    })
    .await;
    let data = platform.query(SEARCH, json!({})).await;
    let mut names: Vec<&str> = data["search"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["product"]["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["Walnut Desk Lamp", "Walnut Floor Lamp"], "{data}");
    let first = &data["search"]["edges"][0]["node"];
    assert!(
        first["highlights"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("<b>Walnut</b>")
    );
    assert_eq!(
        data["search"]["facets"]["category"],
        json!([{"value": "lighting", "count": 2}])
    );

    // 3. Log in; 4. who am I, with my orders and notifications (Ada's order gets paid).
    let data = platform.query(LOGIN, json!({})).await;
    let bearer = format!("Bearer {}", data["login"]["accessToken"].as_str().unwrap());
    let auth = [("authorization", bearer.as_str())];
    let me = eventually(&platform, ME, &auth, |d| {
        d["me"]["orders"][0]["state"] == "PAID"
            && d["me"]["notifications"]
                .as_array()
                .is_some_and(|n| n.len() >= 2)
    })
    .await;
    assert_eq!(me["me"]["name"], "Ada Lovelace");
    assert_eq!(me["me"]["orders"][0]["items"].as_array().unwrap().len(), 2);

    // 5. Buy the first lamp.
    let product = lamps[0]["node"]["id"].as_str().unwrap();
    let (status, body) = platform
        .post_with(
            json!({"query": BUY, "variables": {"product": product}}),
            &auth,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["checkout"]["state"], "PENDING");
    platform.stop();

    // Seeding again leaves the shop as it is.
    let platform = Platform::start_with(dir.path(), &["--seed"], &[]);
    assert!(
        platform.banner.iter().any(|l| l.contains("already there")),
        "{:?}",
        platform.banner
    );
    platform.stop();
}
