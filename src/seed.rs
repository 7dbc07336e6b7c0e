//! `junction dev --seed`: a demo shop loaded through the router's public API, so the
//! endpoint is interesting at once: an admin, three customers, 300 products in six
//! categories, and a few orders (paid and cancelled). Seeding twice changes nothing: a
//! shop whose owner can already log in is left alone.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// The seeded shop owner (scope `admin`); every seeded account uses [`PASSWORD`].
pub const OWNER_EMAIL: &str = "owner@junction.dev";
pub const PASSWORD: &str = "junction-demo";
const CUSTOMERS: [(&str, &str); 3] = [
    ("ada@junction.dev", "Ada Lovelace"),
    ("grace@junction.dev", "Grace Hopper"),
    ("alan@junction.dev", "Alan Turing"),
];

const CATEGORIES: [(&str, [&str; 5]); 6] = [
    (
        "lighting",
        [
            "Desk Lamp",
            "Floor Lamp",
            "Pendant Light",
            "Lantern",
            "Wall Sconce",
        ],
    ),
    (
        "kitchen",
        [
            "Mug",
            "Teapot",
            "Salad Bowl",
            "Chopping Board",
            "Espresso Cup",
        ],
    ),
    (
        "furniture",
        ["Side Table", "Stool", "Bookshelf", "Armchair", "Bench"],
    ),
    (
        "textiles",
        [
            "Throw Blanket",
            "Cushion",
            "Rug",
            "Table Runner",
            "Tea Towel",
        ],
    ),
    (
        "outdoor",
        [
            "Planter",
            "Bird Feeder",
            "Garden Chair",
            "Watering Can",
            "Hammock",
        ],
    ),
    (
        "stationery",
        [
            "Notebook",
            "Fountain Pen",
            "Desk Tray",
            "Bookmark",
            "Pencil Case",
        ],
    ),
];
const MATERIALS: [&str; 10] = [
    "Brass", "Oak", "Linen", "Ceramic", "Walnut", "Copper", "Marble", "Woven", "Glass", "Cotton",
];

/// What seeding did.
pub struct Seeded {
    pub products: usize,
    pub orders: usize,
}

pub async fn load(endpoint: &str) -> Result<Option<Seeded>> {
    let shop = Shop {
        http: reqwest::Client::new(),
        endpoint: endpoint.to_owned(),
    };
    if shop.login(OWNER_EMAIL).await.is_ok() {
        return Ok(None);
    }
    // The owner (an admin) lists the catalogue: products are sold by them.
    let owner = shop.register(OWNER_EMAIL, "Shop Owner").await?;
    let mut customers = Vec::new();
    for (email, name) in CUSTOMERS {
        customers.push(shop.register(email, name).await?);
    }

    let mut products = Vec::new();
    for (c, (category, nouns)) in CATEGORIES.iter().enumerate() {
        for (m, material) in MATERIALS.iter().enumerate() {
            for (n, noun) in nouns.iter().enumerate() {
                let i = c * 50 + m * 5 + n;
                // Deterministic variety: prices from 4.90 to 199.90, one product in
                // seven out of stock (those at i % 7 == 3: not the ones ordered below).
                let price = 490 + ((i * 7919) % 1950) as i64 * 10;
                let stock = if i % 7 == 3 { 0 } else { (i * 31) % 40 + 1 };
                let data = shop
                    .call(
                        Some(&owner),
                        "mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }",
                        json!({"input": {
                            "name": format!("{material} {noun}"),
                            "description": format!(
                                "A {} {} made from {}. Part of the demo catalogue.",
                                material.to_lowercase(), noun.to_lowercase(), material.to_lowercase()
                            ),
                            "priceCents": price,
                            "currency": "EUR",
                            "stock": stock,
                            "category": category,
                        }}),
                    )
                    .await?;
                products.push(text(&data["createProduct"]["id"])?);
            }
        }
    }

    // Ada's order is paid; Grace's card is declined; Alan has something in his cart.
    let orders = [
        (
            &customers[0],
            vec![(&products[0], 1), (&products[50], 2)],
            "pm_card_ok",
            "seed-1",
        ),
        (
            &customers[1],
            vec![(&products[100], 1)],
            "pm_card_declined",
            "seed-2",
        ),
    ];
    for (token, items, method, key) in &orders {
        for (product, quantity) in items {
            shop.add_to_cart(token, product, *quantity).await?;
        }
        shop.call(
            Some(token),
            "mutation($key: String!, $method: String!) { checkout(idempotencyKey: $key, paymentMethod: $method) { id } }",
            json!({"key": key, "method": method}),
        )
        .await?;
    }
    shop.add_to_cart(&customers[2], &products[151], 1).await?;
    Ok(Some(Seeded {
        products: products.len(),
        orders: orders.len(),
    }))
}

struct Shop {
    http: reqwest::Client,
    endpoint: String,
}

impl Shop {
    /// Runs an operation as `token` (a bearer token) or anonymously; GraphQL errors fail.
    async fn call(&self, token: Option<&str>, query: &str, variables: Value) -> Result<Value> {
        let mut request = self
            .http
            .post(&self.endpoint)
            .json(&json!({"query": query, "variables": variables}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let body: Value = request
            .send()
            .await
            .context("the router is unreachable")?
            .json()
            .await
            .context("the router answered without JSON")?;
        if let Some(error) = body["errors"].as_array().and_then(|e| e.first()) {
            bail!("{}", error["message"].as_str().unwrap_or("GraphQL error"));
        }
        Ok(body["data"].clone())
    }

    async fn register(&self, email: &str, name: &str) -> Result<String> {
        let data = self
            .call(
                None,
                "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }",
                json!({"input": {"email": email, "password": PASSWORD, "name": name}}),
            )
            .await
            .with_context(|| format!("registering {email}"))?;
        text(&data["register"]["accessToken"])
    }

    async fn login(&self, email: &str) -> Result<String> {
        let data = self
            .call(
                None,
                "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }",
                json!({"email": email, "password": PASSWORD}),
            )
            .await?;
        text(&data["login"]["accessToken"])
    }

    async fn add_to_cart(&self, token: &str, product: &str, quantity: i32) -> Result<()> {
        self.call(
            Some(token),
            "mutation($id: ID!, $n: Int!) { addToCart(productId: $id, quantity: $n) { itemCount } }",
            json!({"id": product, "n": quantity}),
        )
        .await
        .map(|_| ())
    }
}

fn text(value: &Value) -> Result<String> {
    value
        .as_str()
        .map(str::to_owned)
        .context("unexpected answer from the router")
}
