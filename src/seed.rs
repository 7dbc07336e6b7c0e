//! `junction dev --seed`: a demo shop loaded through the router's public API, so the
//! endpoint is interesting at once: an admin, three customers, 300 products in six
//! categories, each with a picture, and a few orders (paid and cancelled). Seeding twice changes nothing: a
//! shop whose owner can already log in is left alone.

use anyhow::{Context, Result, bail};
use futures::{StreamExt, TryStreamExt};
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
    let mut pictures = Vec::new();
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
                pictures.push(product_picture(c, m, n)?);
            }
        }
    }
    // Uploads go through media's presigned URLs, a few at a time.
    futures::stream::iter(products.iter().zip(pictures))
        .map(|(product, picture)| shop.upload_picture(&owner, product, picture))
        .buffer_unordered(8)
        .try_collect::<()>()
        .await?;

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

    /// Gives `product` its picture: an upload URL from media, the PUT, then the confirmation
    /// that makes media read the image's size.
    async fn upload_picture(&self, token: &str, product: &str, picture: Vec<u8>) -> Result<()> {
        let data = self
            .call(
                Some(token),
                "mutation($id: ID!) { createImageUpload(productId: $id, contentType: \"image/png\", filename: \"picture.png\") { uploadUrl image { id } } }",
                json!({"id": product}),
            )
            .await?;
        let upload = &data["createImageUpload"];
        let status = self
            .http
            .put(text(&upload["uploadUrl"])?)
            .header("content-type", "image/png")
            .body(picture)
            .send()
            .await
            .context("uploading a product picture")?
            .status();
        if !status.is_success() {
            bail!("uploading a product picture: HTTP {status}");
        }
        self.call(
            Some(token),
            "mutation($id: ID!) { confirmImageUpload(id: $id) { id } }",
            json!({"id": upload["image"]["id"]}),
        )
        .await
        .map(|_| ())
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

const PICTURE_WIDTH: u32 = 160;
const PICTURE_HEIGHT: u32 = 120;

/// A PNG placeholder for a product: the category picks the hue, the material the
/// lightness, the product a shape (a disc, a tall or a wide block) on a soft gradient.
fn product_picture(category: usize, material: usize, noun: usize) -> Result<Vec<u8>> {
    let hue = category as f32 * 60.0 + noun as f32 * 7.0;
    let light = 0.35 + material as f32 * 0.04;
    let (w, h) = (PICTURE_WIDTH as f32, PICTURE_HEIGHT as f32);
    let inside = |x: f32, y: f32| match noun % 3 {
        0 => (x - w / 2.0).powi(2) + (y - h / 2.0).powi(2) < (h / 3.0).powi(2),
        1 => (x - w / 2.0).abs() < w / 8.0 && (y - h / 2.0).abs() < h / 3.0,
        _ => (x - w / 2.0).abs() < w / 3.0 && (y - h / 2.0).abs() < h / 6.0,
    };
    let mut pixels = Vec::with_capacity((PICTURE_WIDTH * PICTURE_HEIGHT * 3) as usize);
    for y in 0..PICTURE_HEIGHT {
        for x in 0..PICTURE_WIDTH {
            let (xf, yf) = (x as f32, y as f32);
            let (saturation, lightness) = if inside(xf, yf) {
                (0.65, light)
            } else {
                (0.25, 0.92 - 0.12 * yf / h)
            };
            pixels.extend_from_slice(&hsl_to_rgb(hue, saturation, lightness));
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, PICTURE_WIDTH, PICTURE_HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(&pixels))
        .context("encoding a product picture")?;
    Ok(out)
}

/// HSL (hue in degrees, saturation and lightness in 0..=1) to 8-bit RGB.
fn hsl_to_rgb(hue: f32, saturation: f32, lightness: f32) -> [u8; 3] {
    let chroma = (1.0 - (2.0 * lightness - 1.0).abs()) * saturation;
    let sector = (hue.rem_euclid(360.0)) / 60.0;
    let x = chroma * (1.0 - (sector % 2.0 - 1.0).abs());
    let (r, g, b) = match sector as u32 {
        0 => (chroma, x, 0.0),
        1 => (x, chroma, 0.0),
        2 => (0.0, chroma, x),
        3 => (0.0, x, chroma),
        4 => (x, 0.0, chroma),
        _ => (chroma, 0.0, x),
    };
    let m = lightness - chroma / 2.0;
    let channel = |v: f32| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    [channel(r), channel(g), channel(b)]
}

fn text(value: &Value) -> Result<String> {
    value
        .as_str()
        .map(str::to_owned)
        .context("unexpected answer from the router")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_are_pngs_of_their_size_and_differ() {
        let picture = |c, m, n| product_picture(c, m, n).unwrap();
        let first = picture(0, 0, 0);
        let size = imagesize::blob_size(&first).expect("a readable image");
        assert_eq!((size.width, size.height), (160, 120));
        assert!(first.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_ne!(first, picture(1, 0, 0), "categories differ");
        assert_ne!(first, picture(0, 1, 0), "materials differ");
    }

    #[test]
    fn hsl_primaries() {
        assert_eq!(hsl_to_rgb(0.0, 1.0, 0.5), [255, 0, 0]);
        assert_eq!(hsl_to_rgb(120.0, 1.0, 0.5), [0, 255, 0]);
        assert_eq!(hsl_to_rgb(240.0, 1.0, 0.5), [0, 0, 255]);
        assert_eq!(hsl_to_rgb(0.0, 0.0, 1.0), [255, 255, 255]);
    }
}
