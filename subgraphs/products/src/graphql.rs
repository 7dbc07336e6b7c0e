//! The products subgraph schema: `Product` (an entity keyed by `id`), `User.products`,
//! catalogue queries, and catalogue management.
//!
//! Anyone may browse. Any signed-in user may list products they sell (the catalogue is a
//! marketplace); only the product's seller or an `admin` may change, restock or delete it,
//! and only an `admin` may list a product for someone else.

use crate::reservations::{self, ItemRow, ReserveError};
use crate::store::{self, Filter, ProductRow, StockError};
use async_graphql::connection::{Connection, Edge};
use async_graphql::{
    ComplexObject, Context, ErrorExtensions, ID, InputObject, Object, Result, SimpleObject,
};
use chrono::Utc;
use junction_kit::errors::{bad_input, internal, not_found};
use junction_kit::graphql::{caller, deps, forbidden, has_scope, page_size, require_scope};

const MAX_PAGE: i32 = 100;
/// How long `product(id)` may answer from the cache when no event invalidated it.
const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// Something for sale.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Product {
    pub id: ID,
    pub name: String,
    pub description: String,
    /// Price in the currency's minor unit (cents).
    pub price_cents: i32,
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
    pub stock: i32,
    /// A slug such as `lighting`.
    pub category: String,
    #[graphql(skip)]
    pub seller_id: Option<String>,
}

#[ComplexObject]
impl Product {
    /// The user selling it; the users subgraph resolves the rest of `User`.
    async fn seller(&self) -> Option<User> {
        self.seller_id.clone().map(|id| User { id: ID(id) })
    }
}

impl From<ProductRow> for Product {
    fn from(row: ProductRow) -> Self {
        Product {
            id: ID(row.id),
            name: row.name,
            description: row.description,
            // Validated to fit on the way in.
            price_cents: i32::try_from(row.price_cents).unwrap_or(i32::MAX),
            currency: row.currency,
            stock: row.stock,
            category: row.category,
            seller_id: row.seller_id,
        }
    }
}

/// A user as the products subgraph knows it: by key, plus the products they sell.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct User {
    pub id: ID,
}

#[ComplexObject]
impl User {
    /// Products this user sells, oldest first.
    async fn products(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> Result<Vec<Product>> {
        let deps = deps(ctx)?;
        let first = page_size(first, MAX_PAGE)?;
        let filter = Filter {
            seller_id: Some(self.id.to_string()),
            ..Filter::default()
        };
        let rows = store::page(&deps.db, &filter, None, i64::from(first))
            .await
            .map_err(|e| internal(deps.service, e))?;
        Ok(rows.into_iter().map(Product::from).collect())
    }
}

#[derive(InputObject, Debug, Default)]
pub struct ProductFilter {
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
    pub min_price_cents: Option<i32>,
    pub max_price_cents: Option<i32>,
    pub in_stock: Option<bool>,
    pub category: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct CreateProductInput {
    pub name: String,
    #[graphql(default)]
    pub description: String,
    pub price_cents: i32,
    pub currency: String,
    #[graphql(default)]
    pub stock: i32,
    #[graphql(default_with = "\"general\".to_string()")]
    pub category: String,
    pub seller_id: Option<ID>,
}

/// What to change; unset fields stay as they are.
#[derive(InputObject, Debug, Default)]
pub struct UpdateProductInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub price_cents: Option<i32>,
    pub category: Option<String>,
}

/// One product and quantity to hold.
#[derive(InputObject, Debug)]
#[graphql(inaccessible)]
pub struct StockItemInput {
    pub product_id: ID,
    pub quantity: i32,
}

/// Stock held for an order, with the prices it was held at.
#[derive(SimpleObject, Debug)]
#[graphql(inaccessible)]
pub struct Reservation {
    pub id: ID,
    /// `held`, `committed` or `released`.
    pub state: String,
    pub expires_at: chrono::DateTime<Utc>,
    pub lines: Vec<ReservationLine>,
}

#[derive(SimpleObject, Debug)]
#[graphql(inaccessible)]
pub struct ReservationLine {
    pub product_id: ID,
    pub name: String,
    pub quantity: i32,
    pub unit_price_cents: i64,
    pub currency: String,
}

impl From<ItemRow> for ReservationLine {
    fn from(row: ItemRow) -> Self {
        ReservationLine {
            product_id: ID(row.product_id),
            name: row.name,
            quantity: row.quantity,
            unit_price_cents: row.unit_price_cents,
            currency: row.currency,
        }
    }
}

/// Reservations expire after at most this long.
const MAX_RESERVATION_SECONDS: i32 = 3_600;

#[derive(Default)]
pub struct Query;

#[Object]
impl Query {
    /// One product (cached; product events invalidate the entry).
    async fn product(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Product>> {
        let deps = deps(ctx)?;
        let row = deps
            .cache
            .read_through(
                &store::cache_key(&id),
                CACHE_TTL,
                store::find(&deps.db, &id),
            )
            .await
            .map_err(|e| internal(deps.service, e))?;
        Ok(row.map(Product::from))
    }

    /// The catalogue, oldest first. `after` is the `endCursor` of the previous page.
    async fn products(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
        filter: Option<ProductFilter>,
    ) -> Result<Connection<String, Product>> {
        let deps = deps(ctx)?;
        let first = page_size(first, MAX_PAGE)?;
        let filter = filter.unwrap_or_default();
        let store_filter = Filter {
            name_contains: filter.name_contains.filter(|s| !s.is_empty()),
            min_price_cents: filter.min_price_cents.map(i64::from),
            max_price_cents: filter.max_price_cents.map(i64::from),
            in_stock: filter.in_stock,
            seller_id: None,
            category: filter.category.filter(|c| !c.is_empty()),
        };
        let mut rows = store::page(
            &deps.db,
            &store_filter,
            after.as_deref(),
            i64::from(first) + 1,
        )
        .await
        .map_err(|e| internal(deps.service, e))?;
        let has_next = rows.len() > first as usize;
        rows.truncate(first as usize);
        let mut connection = Connection::new(after.is_some(), has_next);
        connection.edges.extend(
            rows.into_iter()
                .map(|row| Edge::new(row.id.clone(), Product::from(row))),
        );
        Ok(connection)
    }

    /// Resolves `Product` references from other subgraphs.
    #[graphql(entity)]
    async fn find_product_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Product>> {
        self.product(ctx, id).await
    }

    /// Lets other subgraphs' `User` references gain `products`.
    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> User {
        User { id }
    }
}

#[derive(Default)]
pub struct Mutation;

#[Object]
impl Mutation {
    /// Adds a product to the catalogue, sold by the caller (an `admin` may name another
    /// `sellerId`). Fails with `BAD_USER_INPUT` naming the field.
    async fn create_product(
        &self,
        ctx: &Context<'_>,
        input: CreateProductInput,
    ) -> Result<Product> {
        let deps = deps(ctx)?;
        let caller = caller(ctx)?;
        let seller_id = match input.seller_id {
            Some(seller) if seller.0 != caller && !has_scope(ctx, "admin") => {
                return Err(forbidden(
                    "only an admin may list a product for another seller",
                ));
            }
            Some(seller) => seller.0,
            None => caller,
        };
        let name = check_name(&input.name)?;
        check_description(&input.description)?;
        check_price(input.price_cents)?;
        let category = check_category(&input.category)?;
        let currency = input.currency.trim().to_ascii_uppercase();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(bad_input(
                "input.currency",
                "must be a three-letter ISO 4217 code",
            ));
        }
        if input.stock < 0 {
            return Err(bad_input("input.stock", "must not be negative"));
        }
        let row = ProductRow {
            id: uuid::Uuid::now_v7().to_string(),
            name,
            description: input.description,
            price_cents: i64::from(input.price_cents),
            currency,
            stock: input.stock,
            seller_id: Some(seller_id),
            created_at: Utc::now().naive_utc(),
            category,
            deleted_at: None,
        };
        let event = store::product_event("created", &row);
        store::insert(&deps.db, &row, &event)
            .await
            .map_err(|e| internal(deps.service, e))?;
        deps.outbox.notify();
        Ok(Product::from(row))
    }

    /// Holds stock for an order, all items or none (scope `internal`: the orders
    /// subgraph calls it at checkout; clients never see it). Reserving the same id again
    /// returns the first reservation. Fails with `INSUFFICIENT_STOCK` naming the product.
    #[graphql(inaccessible)]
    async fn reserve_stock(
        &self,
        ctx: &Context<'_>,
        reservation_id: ID,
        items: Vec<StockItemInput>,
        #[graphql(default = 900)] ttl_seconds: i32,
    ) -> Result<Reservation> {
        require_scope(ctx, "internal", "reserving stock")?;
        let deps = deps(ctx)?;
        if items.is_empty() {
            return Err(bad_input("items", "must not be empty"));
        }
        if !(1..=MAX_RESERVATION_SECONDS).contains(&ttl_seconds) {
            return Err(bad_input(
                "ttlSeconds",
                format!("must be between 1 and {MAX_RESERVATION_SECONDS}"),
            ));
        }
        let mut wanted: Vec<(String, i32)> = Vec::new();
        for item in items {
            if item.quantity <= 0 {
                return Err(bad_input("items.quantity", "must be positive"));
            }
            match wanted.iter_mut().find(|(id, _)| *id == item.product_id.0) {
                Some((_, quantity)) => *quantity += item.quantity,
                None => wanted.push((item.product_id.0, item.quantity)),
            }
        }
        // A fixed order of updates: two checkouts of the same products cannot deadlock.
        wanted.sort();
        let expires_at = Utc::now().naive_utc() + chrono::Duration::seconds(ttl_seconds.into());
        let reserved = reservations::reserve(
            &deps.db,
            &reservation_id,
            &wanted,
            expires_at,
            store::stock_changed,
        )
        .await;
        match reserved {
            Ok((reservation, lines)) => {
                deps.outbox.notify();
                // Read-your-writes here; other replicas hear it from the events.
                for line in &lines {
                    deps.cache
                        .invalidate(&store::cache_key(&line.product_id))
                        .await;
                }
                Ok(Reservation {
                    id: ID(reservation.id),
                    state: reservation.state,
                    expires_at: reservation.expires_at.and_utc(),
                    lines: lines.into_iter().map(ReservationLine::from).collect(),
                })
            }
            Err(ReserveError::Db(e)) => Err(internal(deps.service, e)),
            Err(e @ ReserveError::NotFound(_)) => Err(not_found(e)),
            Err(e @ ReserveError::MixedCurrencies(..)) => Err(bad_input("items", e)),
            Err(e @ ReserveError::Insufficient { .. }) => {
                let product = match &e {
                    ReserveError::Insufficient { product_id, .. } => product_id.clone(),
                    _ => String::new(),
                };
                Err(
                    async_graphql::Error::new(e.to_string()).extend_with(move |_, ext| {
                        ext.set("code", "INSUFFICIENT_STOCK");
                        ext.set("productId", product.clone());
                    }),
                )
            }
        }
    }

    /// Changes a product's name, description, price or category (its seller or an admin).
    async fn update_product(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateProductInput,
    ) -> Result<Product> {
        let deps = deps(ctx)?;
        let Some(mut row) = managed(ctx, &id).await? else {
            return Err(not_found(format_args!("product {}", id.0)));
        };
        if let Some(name) = &input.name {
            row.name = check_name(name)?;
        }
        if let Some(description) = input.description {
            check_description(&description)?;
            row.description = description;
        }
        if let Some(price) = input.price_cents {
            check_price(price)?;
            row.price_cents = i64::from(price);
        }
        if let Some(category) = &input.category {
            row.category = check_category(category)?;
        }
        if !store::update(&deps.db, &row)
            .await
            .map_err(|e| internal(deps.service, e))?
        {
            return Err(not_found(format_args!("product {}", id.0)));
        }
        deps.outbox.notify();
        deps.cache.invalidate(&store::cache_key(&row.id)).await;
        Ok(Product::from(row))
    }

    /// Removes a product from the catalogue (its seller or an admin; orders keep it).
    /// `false` if there was none.
    async fn delete_product(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let deps = deps(ctx)?;
        if managed(ctx, &id).await?.is_none() {
            return Ok(false);
        }
        let deleted = store::delete(&deps.db, &id)
            .await
            .map_err(|e| internal(deps.service, e))?;
        if deleted {
            deps.outbox.notify();
            deps.cache.invalidate(&store::cache_key(&id)).await;
        }
        Ok(deleted)
    }

    /// Adds `delta` (negative to remove) to the stock; never below zero (its seller or an
    /// admin).
    async fn adjust_stock(&self, ctx: &Context<'_>, id: ID, delta: i32) -> Result<Product> {
        let deps = deps(ctx)?;
        if managed(ctx, &id).await?.is_none() {
            return Err(not_found(format_args!("product {}", id.0)));
        }
        let result = store::adjust_stock(&deps.db, &id, delta, store::stock_changed).await;
        match result {
            Ok(row) => {
                deps.outbox.notify();
                deps.cache.invalidate(&store::cache_key(&row.id)).await;
                Ok(Product::from(row))
            }
            Err(StockError::NotFound) => Err(not_found(format_args!("product {}", id.0))),
            Err(e @ StockError::Insufficient { .. }) => Err(bad_input("delta", e)),
            Err(StockError::Db(e)) => Err(internal(deps.service, e)),
        }
    }
}

/// The product, if the caller may manage it: `UNAUTHENTICATED` without a caller,
/// `FORBIDDEN` unless they sell it or are an admin. (The seller never changes, so the
/// check cannot go stale before the write.)
async fn managed(ctx: &Context<'_>, id: &str) -> Result<Option<ProductRow>> {
    let deps = deps(ctx)?;
    let caller = caller(ctx)?;
    let row = store::find(&deps.db, id)
        .await
        .map_err(|e| internal(deps.service, e))?;
    match row {
        Some(row)
            if row.seller_id.as_deref() != Some(caller.as_str()) && !has_scope(ctx, "admin") =>
        {
            Err(forbidden(format_args!(
                "only its seller or an admin may change product {id}"
            )))
        }
        row => Ok(row),
    }
}

fn check_name(name: &str) -> Result<String> {
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(bad_input("input.name", "must be 1 to 200 characters"));
    }
    Ok(name)
}

fn check_description(description: &str) -> Result<()> {
    if description.chars().count() > 10_000 {
        return Err(bad_input(
            "input.description",
            "must be at most 10000 characters",
        ));
    }
    Ok(())
}

fn check_price(price_cents: i32) -> Result<()> {
    if price_cents < 0 {
        return Err(bad_input("input.priceCents", "must not be negative"));
    }
    Ok(())
}

/// Categories are slugs: lowercase letters, digits and `-`.
fn check_category(category: &str) -> Result<String> {
    let category = category.trim().to_lowercase();
    let valid = !category.is_empty()
        && category.len() <= 50
        && category
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(bad_input(
            "input.category",
            "must be a slug of lowercase letters, digits and `-`",
        ));
    }
    Ok(category)
}
