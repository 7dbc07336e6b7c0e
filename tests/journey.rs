//! The shop journey through the router, on `junction dev` with the embedded defaults and
//! with PostgreSQL, NATS JetStream, Redis and S3:
//! register and log in (accounts), the profile the users subgraph creates from the
//! `accounts.registered` event, `me` from the verified identity only; forged identity
//! headers, bad tokens and (in a test of its own) expired ones refused; then the shop: cart, checkout (stock held,
//! payment in the background, order paid), a retried checkout, a declined payment (stock
//! released) and an order for more than is in stock.

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
    journey(Platform::start(dir.path(), &journey_env())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn journey_on_real_services() {
    let Some(backends) = real_backends().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut env = backends.env;
    env.extend(journey_env());
    journey(Platform::start(dir.path(), &env)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_token_on_embedded_defaults() {
    let dir = tempfile::tempdir().unwrap();
    expired_token(Platform::start(dir.path(), &short_tokens())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_token_on_real_services() {
    let Some(backends) = real_backends().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut env = backends.env;
    env.extend(short_tokens());
    expired_token(Platform::start(dir.path(), &env)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hold_expiry_on_embedded_defaults() {
    let dir = tempfile::tempdir().unwrap();
    hold_expiry(Platform::start(dir.path(), &short_holds()), None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hold_expiry_on_real_services() {
    let Some(backends) = real_backends().await else {
        return;
    };
    let bus = junction_kit::events::EventBus::connect(&junction_kit::config::EventsConfig {
        url: Some(backends.nats.clone()),
        stream_prefix: backends.stream_prefix.clone(),
        ..Default::default()
    })
    .await
    .expect("NATS connects");
    let dir = tempfile::tempdir().unwrap();
    let mut env = backends.env;
    env.extend(short_holds());
    hold_expiry(Platform::start(dir.path(), &env), Some(bus)).await;
}

/// Stock held for 2 s: shorter than the payment worker's safety margin.
fn short_holds() -> Vec<(String, String)> {
    vec![(
        "JUNCTION_SUBGRAPHS__ORDERS__SETTINGS__RESERVATION_TTL_SECONDS".into(),
        "2".into(),
    )]
}

/// A payment that could not finish before the stock hold ends is not started: the order
/// is cancelled uncharged and its stock comes back. On NATS the test then plays a late
/// `orders.paid` for that reservation (an order paid just as its hold ran out): products
/// takes the stock again rather than selling it twice.
async fn hold_expiry(platform: Platform, bus: Option<junction_kit::events::EventBus>) {
    let owner = platform.admin_token().await;
    let product = platform
        .query_as(
            &owner,
            CREATE_PRODUCT,
            json!({"name": "Clock", "price": 5000, "stock": 3, "category": "decor"}),
        )
        .await["createProduct"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let data = platform
        .query(
            REGISTER,
            json!({"input": {"email": "late@example.com", "password": "slow-payer", "name": "Late"}}),
        )
        .await;
    let bearer = format!(
        "Bearer {}",
        data["register"]["accessToken"].as_str().unwrap()
    );
    platform
        .query_as(&bearer, ADD, json!({"id": product, "n": 2}))
        .await;
    let order = platform
        .query_as(
            &bearer,
            CHECKOUT,
            json!({"key": "late-1", "method": "pm_card_ok"}),
        )
        .await["checkout"]
        .clone();
    // The stock was held (checkout succeeded); the cancellation may already have put it
    // back, so only the end state is checked.
    assert_eq!(order["state"], "PENDING", "{order}");
    let order_id = order["id"].as_str().unwrap();
    let cancelled = settled(&platform, &bearer, order_id).await;
    assert_eq!(cancelled["state"], "CANCELLED", "{cancelled}");
    assert_eq!(
        cancelled["failureReason"],
        "the stock hold expired before payment"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while stock(&platform, &product).await != 3 {
        assert!(Instant::now() < deadline, "the stock never came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let Some(bus) = bus else {
        platform.stop();
        return;
    };
    // The reservation id is the one orders derived for this checkout; read it from the
    // orders.placed event.
    let mut subscription = bus
        .subscribe("test_late_paid", "orders.placed")
        .await
        .unwrap();
    let reservation = loop {
        let delivery = tokio::time::timeout(Duration::from_secs(20), subscription.next())
            .await
            .expect("orders.placed arrives")
            .expect("bus open")
            .expect("delivery");
        delivery.ack().await.unwrap();
        let event = junction_kit::events::Envelope::from_bytes(&delivery.payload).unwrap();
        if event.payload["orderId"] == order_id {
            break event.payload["reservationId"].as_str().unwrap().to_owned();
        }
    };
    let late = junction_kit::events::Envelope::new(
        "orders.paid",
        order_id,
        json!({"orderId": order_id, "reservationId": reservation, "state": "paid"}),
    );
    bus.publish("orders.paid", &late.id, late.to_bytes().unwrap())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while stock(&platform, &product).await != 1 {
        assert!(
            Instant::now() < deadline,
            "a late payment did not take its stock again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    platform.stop();
}

/// Access tokens valid for 2 s, and a router that allows no clock skew.
fn short_tokens() -> Vec<(String, String)> {
    vec![
        (
            "JUNCTION_SUBGRAPHS__ACCOUNTS__SETTINGS__ACCESS_TOKEN_TTL_SECONDS".into(),
            "2".into(),
        ),
        (
            "JUNCTION_ROUTER__AUTH__JWT__LEEWAY_SECONDS".into(),
            "0".into(),
        ),
    ]
}

/// A token works until it expires, then gets a 401 naming the reason; the refresh token
/// gets a new one.
async fn expired_token(platform: Platform) {
    let query = "mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken expiresIn } }";
    let session = platform
        .query(
            query,
            json!({"input": {"email": "brief@example.com", "password": "short-lived", "name": "Brief"}}),
        )
        .await["register"]
        .clone();
    assert_eq!(session["expiresIn"], 2);
    let bearer = format!("Bearer {}", session["accessToken"].as_str().unwrap());
    let (status, body) = me(&platform, &[("authorization", &bearer)]).await;
    assert_eq!(status, 200, "a fresh token works: {body}");

    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let (status, body) = me(&platform, &[("authorization", &bearer)]).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("expired"), "{message}");

    let refreshed = platform
        .query(
            "mutation($token: String!) { refreshSession(refreshToken: $token) { accessToken } }",
            json!({"token": session["refreshToken"]}),
        )
        .await;
    let bearer = format!(
        "Bearer {}",
        refreshed["refreshSession"]["accessToken"].as_str().unwrap()
    );
    let (status, body) = me(&platform, &[("authorization", &bearer)]).await;
    assert_eq!(status, 200, "the refreshed token works: {body}");
    platform.stop();
}

/// Webhooks retry fast and give up after three attempts.
fn journey_env() -> Vec<(String, String)> {
    [
        (
            "JUNCTION_SUBGRAPHS__NOTIFICATIONS__SETTINGS__WEBHOOKS__BACKOFF_MS",
            "100",
        ),
        (
            "JUNCTION_SUBGRAPHS__NOTIFICATIONS__SETTINGS__WEBHOOKS__MAX_BACKOFF_MS",
            "400",
        ),
        (
            "JUNCTION_SUBGRAPHS__NOTIFICATIONS__SETTINGS__WEBHOOKS__MAX_ATTEMPTS",
            "3",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
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

    let partner = Partner::start().await;
    let owner = platform.admin_token().await;
    let secret = register_webhook(&platform, &owner, &partner.url, &[]).await;
    let broken = Partner::start_broken().await;
    register_webhook(&platform, &owner, &broken.url, &["orders.paid"]).await;

    images(&platform, &owner).await;
    catalogue_access(&platform, &owner, &bearer).await;
    addresses(&platform, &bearer, &account_id).await;
    let paid_order = shop(&platform, &owner, &bearer).await;
    notified(&platform, &bearer, &paid_order).await;
    partner.received_signed(&paid_order, &secret).await;
    dead_lettered(&platform, &owner, &broken.url).await;
    platform.stop();
}

const CREATE_PRODUCT: &str = "mutation($name: String!, $price: Int!, $stock: Int!, $category: String!) {
    createProduct(input: {name: $name, priceCents: $price, currency: \"EUR\", stock: $stock, category: $category,
        description: \"Handmade in Porto\"}) { id }
}";
const SEARCH: &str = "query($q: String!) {
    search(query: $q) {
        totalCount facets { category { value count } }
        edges { node { product { name priceCents } highlights { field snippet } } }
    }
}";
const ADD: &str =
    "mutation($id: ID!, $n: Int!) { addToCart(productId: $id, quantity: $n) { itemCount } }";
const CART: &str = "{ cart { itemCount items { quantity product { name priceCents stock } } } }";
const CHECKOUT_TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const CHECKOUT_TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const CHECKOUT: &str = "mutation($key: String!, $method: String!) {
    checkout(idempotencyKey: $key, paymentMethod: $method) { id state totalCents currency items { name quantity unitPriceCents } }
}";
const ORDER: &str = "query($id: ID!) { order(id: $id) { id state failureReason } }";
const STOCK: &str = "query($id: ID!) { product(id: $id) { stock } }";

/// Polls `search(query:)` until it finds `count` products (the index follows product
/// events); returns the result.
async fn searched(platform: &Platform, query: &str, count: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let data = platform.query(SEARCH, json!({"q": query})).await;
        if data["search"]["totalCount"] == count {
            return data["search"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "the index never had {count} products for {query:?}: {data}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn stock(platform: &Platform, product: &str) -> i64 {
    platform.query(STOCK, json!({"id": product})).await["product"]["stock"]
        .as_i64()
        .unwrap()
}

/// Polls the order until it leaves `PENDING`.
async fn settled(platform: &Platform, bearer: &str, order: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let data = platform.query_as(bearer, ORDER, json!({"id": order})).await;
        if data["order"]["state"] != "PENDING" {
            return data["order"].clone();
        }
        assert!(Instant::now() < deadline, "order {order} stayed pending");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Browse, fill the cart, check out (paid), retry the checkout (same order), a declined
/// payment (cancelled, stock back), and an order for more than is in stock (refused).
async fn shop(platform: &Platform, owner: &str, bearer: &str) -> String {
    let lamp = platform
        .query_as(
            owner,
            CREATE_PRODUCT,
            json!({"name": "Lamp", "price": 1999, "stock": 5, "category": "lighting"}),
        )
        .await["createProduct"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mug = platform
        .query_as(
            owner,
            CREATE_PRODUCT,
            json!({"name": "Mug", "price": 650, "stock": 10, "category": "kitchen"}),
        )
        .await["createProduct"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Search finds the lamp despite the typo, once the index has the product events; the
    // product's fields come from the products subgraph.
    let search = searched(platform, "lmap", 1).await;
    assert_eq!(
        search["edges"][0]["node"],
        json!({
            "product": {"name": "Lamp", "priceCents": 1999},
            "highlights": [{"field": "name", "snippet": "<b>Lamp</b>"}],
        })
    );
    assert_eq!(
        search["facets"]["category"],
        json!([{"value": "lighting", "count": 1}])
    );
    searched(platform, "handmade porto", 2).await;

    // The cart needs a signed-in user.
    let (_, body) = platform
        .post(json!({"query": ADD, "variables": {"id": lamp, "n": 1}}))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{body}"
    );

    platform
        .query_as(bearer, ADD, json!({"id": lamp, "n": 2}))
        .await;
    platform
        .query_as(bearer, ADD, json!({"id": mug, "n": 3}))
        .await;
    let cart = platform.query_as(bearer, CART, json!({})).await;
    assert_eq!(cart["cart"]["itemCount"], 5);
    assert_eq!(
        cart["cart"]["items"][0]["product"],
        json!({"name": "Lamp", "priceCents": 1999, "stock": 5}),
        "the cart's products come from the products subgraph: {cart}"
    );

    // Checkout holds the stock at once; the payment succeeds in the background.
    let checkout = json!({"key": "checkout-1", "method": "pm_card_ok"});
    // The client traces its checkout: the events it causes carry the trace (see the
    // partner's webhook).
    let (status, body) = platform
        .post_with(
            json!({"query": CHECKOUT, "variables": checkout}),
            &[
                ("authorization", bearer),
                ("traceparent", CHECKOUT_TRACEPARENT),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let order = body["data"]["checkout"].clone();
    assert_eq!(order["state"], "PENDING", "{order}");
    assert_eq!(order["totalCents"], 2 * 1999 + 3 * 650);
    assert_eq!(order["currency"], "EUR");
    assert_eq!(stock(platform, &lamp).await, 3);
    assert_eq!(stock(platform, &mug).await, 7);
    let cart = platform.query_as(bearer, CART, json!({})).await;
    assert_eq!(cart["cart"]["itemCount"], 0, "checkout empties the cart");

    // A retried checkout (same key) is the same order, not a second one.
    let again = platform.query_as(bearer, CHECKOUT, checkout).await["checkout"].clone();
    assert_eq!(again["id"], order["id"]);
    let order_id = order["id"].as_str().unwrap().to_owned();
    let order_id = order_id.as_str();
    let paid = settled(platform, bearer, order_id).await;
    assert_eq!(paid["state"], "PAID", "{paid}");
    assert_eq!(
        stock(platform, &lamp).await,
        3,
        "a paid order keeps its stock"
    );
    let mine = platform
        .query_as(bearer, "{ me { orders { id state } } }", json!({}))
        .await;
    assert_eq!(
        mine["me"]["orders"],
        json!([{"id": order_id, "state": "PAID"}])
    );

    // The same checkout sent five times at once (a client retrying over a flaky
    // network): one order.
    platform
        .query_as(bearer, ADD, json!({"id": mug, "n": 1}))
        .await;
    let burst = json!({"key": "checkout-burst", "method": "pm_card_ok"});
    let results = futures::future::join_all(
        (0..5).map(|_| platform.query_as(bearer, CHECKOUT, burst.clone())),
    )
    .await;
    let ids: std::collections::BTreeSet<String> = results
        .iter()
        .map(|r| r["checkout"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "{results:?}");
    assert_eq!(stock(platform, &mug).await, 6, "one unit held, once");
    let mine = platform
        .query_as(bearer, "{ myOrders { id } }", json!({}))
        .await;
    assert_eq!(mine["myOrders"].as_array().unwrap().len(), 2, "{mine}");

    // A declined payment cancels the order and puts the stock back.
    platform
        .query_as(bearer, ADD, json!({"id": lamp, "n": 3}))
        .await;
    let declined = platform
        .query_as(
            bearer,
            CHECKOUT,
            json!({"key": "checkout-2", "method": "pm_card_declined"}),
        )
        .await["checkout"]
        .clone();
    assert_eq!(stock(platform, &lamp).await, 0);
    let cancelled = settled(platform, bearer, declined["id"].as_str().unwrap()).await;
    assert_eq!(cancelled["state"], "CANCELLED", "{cancelled}");
    assert_eq!(cancelled["failureReason"], "the card was declined");
    let deadline = Instant::now() + Duration::from_secs(20);
    while stock(platform, &lamp).await != 3 {
        assert!(
            Instant::now() < deadline,
            "the declined order's stock never came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // More than is in stock: refused, naming the product; the cart stays.
    platform
        .query_as(bearer, ADD, json!({"id": lamp, "n": 4}))
        .await;
    let (_, body) = platform
        .post_with(
            json!({"query": CHECKOUT, "variables": {"key": "checkout-3", "method": "pm_card_ok"}}),
            &[("authorization", bearer)],
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "INSUFFICIENT_STOCK",
        "{body}"
    );
    assert_eq!(body["errors"][0]["extensions"]["productId"], lamp.as_str());
    assert_eq!(stock(platform, &lamp).await, 3);
    let cart = platform.query_as(bearer, CART, json!({})).await;
    assert_eq!(cart["cart"]["itemCount"], 4);
    order_id.to_owned()
}

/// The response to a `query` that must fail: a 200 with errors.
async fn refused(
    platform: &Platform,
    bearer: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let headers: Vec<(&str, &str)> = bearer.map(|b| ("authorization", b)).into_iter().collect();
    let (status, body) = platform
        .post_with(json!({"query": query, "variables": variables}), &headers)
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["errors"].is_array(), "{query} was allowed: {body}");
    body
}

/// Catalogue management: nobody anonymous; any user lists what they sell; only the seller
/// or an admin changes it, and only an admin lists for someone else. Emails stay private.
async fn catalogue_access(platform: &Platform, owner: &str, bearer: &str) {
    let create = "mutation($seller: ID) {
        createProduct(input: {name: \"Vase\", priceCents: 2500, currency: \"EUR\", stock: 1, category: \"decor\", sellerId: $seller})
        { id stock seller { id } }
    }";
    let body = refused(platform, None, create, json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{body}"
    );

    let vase = platform.query_as(owner, create, json!({})).await["createProduct"].clone();
    let owner_id = vase["seller"]["id"].as_str().unwrap().to_owned();
    let vase = vase["id"].as_str().unwrap().to_owned();
    let own = platform.query_as(bearer, create, json!({})).await["createProduct"].clone();
    let grace = own["seller"]["id"].as_str().unwrap().to_owned();
    assert_ne!(grace, owner_id, "each is the seller of their own listing");
    let own = own["id"].as_str().unwrap().to_owned();

    let body = refused(platform, Some(bearer), create, json!({"seller": owner_id})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
    for change in [
        "mutation($id: ID!) { updateProduct(id: $id, input: {priceCents: 1}) { id } }",
        "mutation($id: ID!) { adjustStock(id: $id, delta: 100) { id } }",
        "mutation($id: ID!) { deleteProduct(id: $id) }",
    ] {
        let body = refused(platform, Some(bearer), change, json!({"id": vase})).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{change}: {body}"
        );
        let body = refused(platform, None, change, json!({"id": vase})).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{change}: {body}"
        );
    }
    let data = platform
        .query(
            "query($id: ID!) { product(id: $id) { priceCents stock } }",
            json!({"id": vase}),
        )
        .await;
    assert_eq!(
        data["product"],
        json!({"priceCents": 2500, "stock": 1}),
        "nothing changed"
    );

    // The seller restocks their own; an admin may change anyone's.
    let data = platform
        .query_as(
            bearer,
            "mutation($id: ID!) { adjustStock(id: $id, delta: 4) { stock } }",
            json!({"id": own}),
        )
        .await;
    assert_eq!(data["adjustStock"]["stock"], 5);
    let data = platform
        .query_as(owner, "mutation($id: ID!) { updateProduct(id: $id, input: {priceCents: 2000}) { priceCents } }", json!({"id": own}))
        .await;
    assert_eq!(data["updateProduct"]["priceCents"], 2000);

    // A seller's name is public, their email theirs and admins'.
    let seller = "query($id: ID!) { product(id: $id) { seller { name email } } }";
    let data = platform.query(seller, json!({"id": own})).await;
    assert_eq!(
        data["product"]["seller"],
        json!({"name": "Grace", "email": null})
    );
    let data = platform.query_as(owner, seller, json!({"id": own})).await;
    assert_eq!(data["product"]["seller"]["email"], "grace@example.com");

    for (who, id) in [(bearer, &own), (owner, &vase)] {
        let data = platform
            .query_as(
                who,
                "mutation($id: ID!) { deleteProduct(id: $id) }",
                json!({"id": id}),
            )
            .await;
        assert_eq!(data["deleteProduct"], true);
    }
}

/// Saved addresses: the first is the default, a new default takes the flag, bad input
/// names its field, and only the user (or an admin) sees or changes them.
async fn addresses(platform: &Platform, bearer: &str, account_id: &str) {
    let add = "mutation($input: AddressInput!) { addAddress(input: $input) { id label isDefault country } }";
    let address = |label: &str, make_default: bool| {
        json!({"input": {"label": label, "recipient": "Grace Hopper", "line1": "Rua das Flores 12",
            "city": "Porto", "postalCode": "4050-265", "country": "pt", "makeDefault": make_default}})
    };
    let home = platform.query_as(bearer, add, address("Home", false)).await["addAddress"].clone();
    assert_eq!(home["isDefault"], true, "the first address is the default");
    assert_eq!(home["country"], "PT");
    let work = platform.query_as(bearer, add, address("Work", true)).await["addAddress"].clone();
    assert_eq!(work["isDefault"], true);
    let mine = "{ me { addresses { label isDefault city } } }";
    let data = platform.query_as(bearer, mine, json!({})).await;
    assert_eq!(
        data["me"]["addresses"],
        json!([{"label": "Work", "isDefault": true, "city": "Porto"},
               {"label": "Home", "isDefault": false, "city": "Porto"}])
    );

    let mut bad = address("Elsewhere", false);
    bad["input"]["country"] = json!("Portugal");
    let body = refused(platform, Some(bearer), add, bad).await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "input.country",
        "{body}"
    );
    let body = refused(platform, None, add, address("Nobody's", false)).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{body}"
    );

    // Another user sees Grace's name, not her addresses, and cannot touch them.
    let data = platform
        .query(REGISTER, json!({"input": {"email": "alan@example.com", "password": "turing1912", "name": "Alan"}}))
        .await;
    let alan = format!(
        "Bearer {}",
        data["register"]["accessToken"].as_str().unwrap()
    );
    let theirs = "query($id: ID!) { user(id: $id) { name addresses { label } } }";
    let data = platform
        .query_as(&alan, theirs, json!({"id": account_id}))
        .await;
    assert_eq!(data["user"], json!({"name": "Grace", "addresses": null}));
    let update = "mutation($id: ID!, $input: AddressInput!) { updateAddress(id: $id, input: $input) { city } }";
    let mut moved = address("Home", false);
    moved["input"]["city"] = json!("Lisboa");
    let vars = json!({"id": home["id"], "input": moved["input"]});
    let body = refused(platform, Some(&alan), update, vars.clone()).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{body}"
    );
    let remove = "mutation($id: ID!) { removeAddress(id: $id) }";
    let data = platform
        .query_as(&alan, remove, json!({"id": work["id"]}))
        .await;
    assert_eq!(data["removeAddress"], false);

    // Grace moves home, then drops the default: the other address takes over.
    let data = platform.query_as(bearer, update, vars).await;
    assert_eq!(data["updateAddress"]["city"], "Lisboa");
    let data = platform
        .query_as(bearer, remove, json!({"id": work["id"]}))
        .await;
    assert_eq!(data["removeAddress"], true);
    let data = platform.query_as(bearer, mine, json!({})).await;
    assert_eq!(
        data["me"]["addresses"],
        json!([{"label": "Home", "isDefault": true, "city": "Lisboa"}])
    );
}

async fn register_webhook(platform: &Platform, admin: &str, url: &str, events: &[&str]) -> String {
    let query = "mutation($url: String!, $events: [String!]!) {
        registerWebhook(url: $url, eventTypes: $events) { secret webhook { id url } }
    }";
    let (_, body) = platform
        .post_with(
            json!({"query": query, "variables": {"url": url, "events": ["users.created"]}}),
            &[("authorization", admin)],
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "eventTypes",
        "{body}"
    );
    let data = platform
        .query_as(admin, query, json!({"url": url, "events": events}))
        .await;
    data["registerWebhook"]["secret"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The user is told about the order: placed, then paid; and can mark it all read.
async fn notified(platform: &Platform, bearer: &str, order: &str) {
    let query = "{ notifications { kind read order { id state } } unreadNotificationCount }";
    let deadline = Instant::now() + Duration::from_secs(20);
    let list = loop {
        let data = platform.query_as(bearer, query, json!({})).await;
        let list: Vec<Value> = data["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["order"]["id"] == order)
            .cloned()
            .collect();
        if list.len() >= 2 {
            break list;
        }
        assert!(
            Instant::now() < deadline,
            "no notifications for {order}: {data}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let kinds: Vec<&str> = list.iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ORDER_PAID", "ORDER_PLACED"], "newest first");
    // The order's state comes from the orders subgraph, through the router.
    assert_eq!(list[0]["order"]["state"], "PAID");
    let data = platform
        .query_as(bearer, "mutation { markAllNotificationsRead }", json!({}))
        .await;
    assert!(data["markAllNotificationsRead"].as_i64().unwrap() >= 2);
    let data = platform
        .query_as(bearer, "{ unreadNotificationCount }", json!({}))
        .await;
    assert_eq!(data["unreadNotificationCount"], 0);
}

/// A webhook that keeps failing ends `dead` after its attempts.
async fn dead_lettered(platform: &Platform, admin: &str, url: &str) {
    let query = "{ webhooks { url deliveries { eventType state attempts lastError } } }";
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let data = platform.query_as(admin, query, json!({})).await;
        let hook = data["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["url"] == url)
            .cloned()
            .unwrap();
        let deliveries = hook["deliveries"].as_array().unwrap();
        if let Some(dead) = deliveries.iter().find(|d| d["state"] == "dead") {
            assert_eq!(dead["attempts"], 3);
            assert_eq!(dead["eventType"], "orders.paid");
            assert_eq!(dead["lastError"], "HTTP 500 Internal Server Error");
            assert!(deliveries.iter().all(|d| d["eventType"] == "orders.paid"));
            return;
        }
        assert!(Instant::now() < deadline, "never dead-lettered: {hook}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A partner's webhook endpoint: records what it receives; the normal one fails the first
/// attempt for every event (so deliveries are retried), the broken one fails them all.
struct Partner {
    url: String,
    received: std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, String)>>>,
}

impl Partner {
    async fn start() -> Partner {
        Partner::serve(false).await
    }

    async fn start_broken() -> Partner {
        Partner::serve(true).await
    }

    async fn serve(always_fail: bool) -> Partner {
        let received: std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, String)>>> =
            Default::default();
        let log = received.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let log = log.clone();
                async move {
                    let mut log = log.lock().unwrap();
                    let id = headers["x-junction-event-id"].to_str().unwrap().to_owned();
                    let seen = log.iter().any(|(h, _): &(axum::http::HeaderMap, String)| {
                        h["x-junction-event-id"] == id.as_str()
                    });
                    log.push((headers, body));
                    if always_fail || !seen {
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        axum::http::StatusCode::NO_CONTENT
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Partner { url, received }
    }

    /// Waits for `orders.paid` of `order`, delivered twice (the first attempt failed),
    /// both signed with `secret` over the exact body.
    async fn received_signed(&self, order: &str, secret: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let attempts = loop {
            let attempts: Vec<(axum::http::HeaderMap, String)> = self
                .received
                .lock()
                .unwrap()
                .iter()
                .filter(|(h, body)| {
                    h["x-junction-event-type"] == "orders.paid" && body.contains(order)
                })
                .cloned()
                .collect();
            if attempts.len() >= 2 {
                break attempts;
            }
            assert!(
                Instant::now() < deadline,
                "no retried orders.paid webhook for {order}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        for (headers, body) in &attempts {
            let signature = headers["x-junction-signature"].to_str().unwrap();
            let (t, v1) = signature
                .strip_prefix("t=")
                .and_then(|rest| rest.split_once(",v1="))
                .expect("t=…,v1=…");
            use hmac::{KeyInit, Mac};
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
            mac.update(format!("{t}.{body}").as_bytes());
            let expected: String = mac
                .finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(
                v1, expected,
                "the signature verifies with the partner's secret"
            );
            let event: Value = serde_json::from_str(body).unwrap();
            assert_eq!(event["type"], "orders.paid");
            assert_eq!(event["payload"]["orderId"], order);
            // orders.placed → payment worker → payments.succeeded → lifecycle → orders.paid:
            // the trace of the client's checkout all the way.
            let trace = event["trace_context"].as_str().unwrap_or_default();
            assert_eq!(trace.split('-').nth(1), Some(CHECKOUT_TRACE_ID), "{event}");
            assert_eq!(
                headers["x-junction-event-id"],
                event["id"].as_str().unwrap()
            );
        }
        // A webhook for every event also hears of the payment itself.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let payment = self.received.lock().unwrap().iter().any(|(h, body)| {
                h["x-junction-event-type"] == "payments.succeeded" && body.contains(order)
            });
            if payment {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no payments.succeeded webhook for {order}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The first bytes of a 3×2 PNG: enough for anything that reads image headers.
const PNG_3X2: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x03\x00\x00\x00\x02\x08\x02\x00\x00\x00\x12\x34\x56\x78";

/// An image uploaded through a presigned URL, served on `Product.images`, and removed
/// with its product.
async fn images(platform: &Platform, admin: &str) {
    let poster = platform
        .query_as(
            admin,
            CREATE_PRODUCT,
            json!({"name": "Poster", "price": 1500, "stock": 3, "category": "prints"}),
        )
        .await["createProduct"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let upload = platform.query_as(admin,
        "mutation($id: ID!) { createImageUpload(productId: $id, contentType: \"image/png\", filename: \"poster.png\") { uploadUrl image { id } } }",
        json!({"id": poster}),
    )
    .await["createImageUpload"]
        .clone();
    let http = reqwest::Client::new();
    let put = http
        .put(upload["uploadUrl"].as_str().unwrap())
        .header("content-type", "image/png")
        .body(PNG_3X2.to_vec())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "upload: {}", put.status());
    let image = platform
        .query_as(
            admin,
            "mutation($id: ID!) { confirmImageUpload(id: $id) { width height sizeBytes } }",
            json!({"id": upload["image"]["id"]}),
        )
        .await;
    assert_eq!(
        image["confirmImageUpload"],
        json!({"width": 3, "height": 2, "sizeBytes": PNG_3X2.len()})
    );
    // Through the router: the product's images come from the media subgraph.
    let data = platform
        .query(
            "query($id: ID!) { product(id: $id) { name images { filename contentType url } } }",
            json!({"id": poster}),
        )
        .await;
    let image = &data["product"]["images"][0];
    assert_eq!(image["filename"], "poster.png", "{data}");
    let url = image["url"].as_str().unwrap().to_owned();
    let got = http.get(&url).send().await.unwrap();
    assert!(got.status().is_success(), "download: {}", got.status());
    assert_eq!(&got.bytes().await.unwrap()[..], PNG_3X2);
    // A URL with a forged signature is refused (S3's `X-Amz-Signature` or ours).
    let at = url.find("ignature=").expect("a signed URL") + "ignature=".len();
    let flipped = if &url[at..at + 1] == "0" { "1" } else { "0" };
    let tampered = format!("{}{flipped}{}", &url[..at], &url[at + 1..]);
    let refused = http.get(&tampered).send().await.unwrap().status();
    assert_eq!(refused.as_u16(), 403, "{tampered}");

    // Deleting the product removes its image from storage.
    let data = platform
        .query_as(
            admin,
            "mutation($id: ID!) { deleteProduct(id: $id) }",
            json!({"id": poster}),
        )
        .await;
    assert_eq!(data["deleteProduct"], true);
    let deadline = Instant::now() + Duration::from_secs(20);
    while http.get(&url).send().await.unwrap().status().is_success() {
        assert!(
            Instant::now() < deadline,
            "the deleted product's image is still served"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
