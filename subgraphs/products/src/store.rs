//! The products table and its queries, written once for PostgreSQL and SQLite.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use junction_kit::db::{Database, DbError};
use junction_kit::events::Envelope;
use junction_kit::{outbox, with_conn, with_transaction};

diesel::table! {
    products (id) {
        id -> Text,
        name -> Text,
        description -> Text,
        price_cents -> BigInt,
        currency -> Text,
        stock -> Integer,
        seller_id -> Nullable<Text>,
        created_at -> Timestamp,
        category -> Text,
        deleted_at -> Nullable<Timestamp>,
    }
}

#[derive(
    Debug, Clone, PartialEq, Queryable, Selectable, Insertable, serde::Serialize, serde::Deserialize,
)]
#[diesel(table_name = products)]
pub struct ProductRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub price_cents: i64,
    pub currency: String,
    pub stock: i32,
    pub seller_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub category: String,
    pub deleted_at: Option<NaiveDateTime>,
}

/// Conditions of `products(filter:)`; all optional, combined with AND.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub name_contains: Option<String>,
    pub min_price_cents: Option<i64>,
    pub max_price_cents: Option<i64>,
    pub in_stock: Option<bool>,
    pub seller_id: Option<String>,
    pub category: Option<String>,
}

/// Where `product(id)` caches a product.
pub fn cache_key(id: &str) -> String {
    format!("product:{id}")
}

pub async fn find(db: &Database, id: &str) -> Result<Option<ProductRow>, DbError> {
    with_conn!(db, |conn| {
        products::table
            .find(id)
            .filter(products::deleted_at.is_null())
            .select(ProductRow::as_select())
            .first(conn)
            .await
            .optional()
    })
}

/// Up to `limit` products after the cursor, oldest first (ids are time-ordered).
pub async fn page(
    db: &Database,
    filter: &Filter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<ProductRow>, DbError> {
    with_conn!(db, |conn| {
        let mut query = products::table
            .filter(products::deleted_at.is_null())
            .select(ProductRow::as_select())
            .order(products::id.asc())
            .limit(limit)
            .into_boxed();
        if let Some(category) = &filter.category {
            query = query.filter(products::category.eq(category.clone()));
        }
        if let Some(after) = after {
            query = query.filter(products::id.gt(after));
        }
        if let Some(text) = &filter.name_contains {
            // LIKE is case-insensitive for ASCII on SQLite; lower() makes PostgreSQL agree.
            let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
            query = query.filter(
                diesel::dsl::sql::<diesel::sql_types::Bool>("lower(name) LIKE ")
                    .bind::<diesel::sql_types::Text, _>(pattern)
                    .sql(" ESCAPE '\\'"),
            );
        }
        if let Some(min) = filter.min_price_cents {
            query = query.filter(products::price_cents.ge(min));
        }
        if let Some(max) = filter.max_price_cents {
            query = query.filter(products::price_cents.le(max));
        }
        match filter.in_stock {
            Some(true) => query = query.filter(products::stock.gt(0)),
            Some(false) => query = query.filter(products::stock.eq(0)),
            None => {}
        }
        if let Some(seller) = &filter.seller_id {
            query = query.filter(products::seller_id.eq(seller.clone()));
        }
        query.load(conn).await
    })
}

fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `products.<kind>` (created, updated, deleted) with the whole product, so a consumer
/// (the search index) needs nothing else.
pub fn product_event(kind: &str, row: &ProductRow) -> Envelope {
    Envelope::new(
        format!("products.{kind}"),
        row.id.clone(),
        serde_json::json!({
            "id": row.id,
            "name": row.name,
            "description": row.description,
            "priceCents": row.price_cents,
            "currency": row.currency,
            "stock": row.stock,
            "category": row.category,
            "sellerId": row.seller_id,
        }),
    )
}

/// Saves `row` (an existing product, changed) and its `products.updated` event; deleted
/// products are not updated. Returns whether it was there.
pub async fn update(db: &Database, row: &ProductRow) -> Result<bool, DbError> {
    let event = product_event("updated", row);
    with_transaction!(db, |conn| {
        let changed = diesel::update(
            products::table
                .filter(products::id.eq(&row.id))
                .filter(products::deleted_at.is_null()),
        )
        .set((
            products::name.eq(&row.name),
            products::description.eq(&row.description),
            products::price_cents.eq(row.price_cents),
            products::category.eq(&row.category),
        ))
        .execute(conn)
        .await?;
        if changed == 1 {
            outbox::enqueue(conn, &event).await?;
        }
        Ok(changed == 1)
    })
}

/// Hides a product from the catalogue (orders keep referring to it) and records
/// `products.deleted`. Returns whether it was there.
pub async fn delete(db: &Database, id: &str) -> Result<bool, DbError> {
    let at = chrono::Utc::now().naive_utc();
    with_transaction!(db, |conn| {
        let changed = diesel::update(
            products::table
                .filter(products::id.eq(id))
                .filter(products::deleted_at.is_null()),
        )
        .set(products::deleted_at.eq(Some(at)))
        .execute(conn)
        .await?;
        if changed == 0 {
            return Ok(false);
        }
        let row = products::table
            .find(id)
            .select(ProductRow::as_select())
            .first(conn)
            .await?;
        outbox::enqueue(conn, &product_event("deleted", &row)).await?;
        Ok(true)
    })
}

/// `products.stock_changed` for `row`'s stock as it is now.
pub fn stock_changed(row: &ProductRow) -> Envelope {
    Envelope::new(
        "products.stock_changed",
        row.id.clone(),
        serde_json::json!({ "id": row.id, "stock": row.stock }),
    )
}

/// Inserts the product and its `products.created` event in one transaction.
pub async fn insert(db: &Database, row: &ProductRow, event: &Envelope) -> Result<(), DbError> {
    with_transaction!(db, |conn| {
        diesel::insert_into(products::table)
            .values(row)
            .execute(conn)
            .await?;
        outbox::enqueue(conn, event).await
    })
}

#[derive(Debug, thiserror::Error)]
pub enum StockError {
    #[error("product not found")]
    NotFound,
    #[error("stock would become negative (current stock is {current})")]
    Insufficient { current: i32 },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Adds `delta` to the stock unless that makes it negative; records
/// `products.stock_changed` in the same transaction. Returns the updated row.
pub async fn adjust_stock(
    db: &Database,
    id: &str,
    delta: i32,
    make_event: impl Fn(&ProductRow) -> Envelope + Sync,
) -> Result<ProductRow, StockError> {
    enum Outcome {
        Updated(ProductRow),
        Insufficient(i32),
        Missing,
    }
    let outcome = with_transaction!(db, |conn| {
        // One conditional UPDATE: atomic on both backends without row locks.
        let changed = diesel::update(
            products::table
                .filter(products::id.eq(id))
                .filter(products::stock.ge(-delta)),
        )
        .set(products::stock.eq(products::stock + delta))
        .execute(conn)
        .await?;
        let row = products::table
            .find(id)
            .select(ProductRow::as_select())
            .first(conn)
            .await
            .optional()?;
        match row {
            None => Ok(Outcome::Missing),
            Some(row) if changed == 0 => Ok(Outcome::Insufficient(row.stock)),
            Some(row) => {
                outbox::enqueue(conn, &make_event(&row)).await?;
                Ok(Outcome::Updated(row))
            }
        }
    })?;
    match outcome {
        Outcome::Updated(row) => Ok(row),
        Outcome::Insufficient(current) => Err(StockError::Insufficient { current }),
        Outcome::Missing => Err(StockError::NotFound),
    }
}
