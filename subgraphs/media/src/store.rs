//! The images table, written once for PostgreSQL and SQLite.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use junction_kit::consumer::first_delivery;
use junction_kit::db::{Database, DbError};
use junction_kit::{with_conn, with_transaction};

diesel::table! {
    images (id) {
        id -> Text,
        product_id -> Text,
        blob_key -> Text,
        content_type -> Text,
        filename -> Text,
        state -> Text,
        size_bytes -> Nullable<BigInt>,
        width -> Nullable<Integer>,
        height -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

pub const PENDING: &str = "pending";
pub const READY: &str = "ready";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = images)]
pub struct ImageRow {
    pub id: String,
    pub product_id: String,
    pub blob_key: String,
    pub content_type: String,
    pub filename: String,
    pub state: String,
    pub size_bytes: Option<i64>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub created_at: NaiveDateTime,
}

pub async fn insert(db: &Database, row: &ImageRow) -> Result<(), DbError> {
    with_conn!(db, |conn| {
        diesel::insert_into(images::table)
            .values(row)
            .execute(conn)
            .await
            .map(|_| ())
    })
}

pub async fn find(db: &Database, id: &str) -> Result<Option<ImageRow>, DbError> {
    with_conn!(db, |conn| {
        images::table
            .find(id)
            .select(ImageRow::as_select())
            .first(conn)
            .await
            .optional()
    })
}

/// The product's ready images, oldest first.
pub async fn of_product(db: &Database, product_id: &str) -> Result<Vec<ImageRow>, DbError> {
    with_conn!(db, |conn| {
        images::table
            .filter(images::product_id.eq(product_id))
            .filter(images::state.eq(READY))
            .order(images::id.asc())
            .select(ImageRow::as_select())
            .load(conn)
            .await
    })
}

pub async fn mark_ready(
    db: &Database,
    id: &str,
    size_bytes: i64,
    dimensions: Option<(i32, i32)>,
) -> Result<(), DbError> {
    with_conn!(db, |conn| {
        diesel::update(images::table.find(id))
            .set((
                images::state.eq(READY),
                images::size_bytes.eq(Some(size_bytes)),
                images::width.eq(dimensions.map(|d| d.0)),
                images::height.eq(dimensions.map(|d| d.1)),
            ))
            .execute(conn)
            .await
            .map(|_| ())
    })
}

/// Every blob key of a product's images, pending ones included.
pub async fn blob_keys_of(db: &Database, product_id: &str) -> Result<Vec<String>, DbError> {
    with_conn!(db, |conn| {
        images::table
            .filter(images::product_id.eq(product_id))
            .select(images::blob_key)
            .load::<String>(conn)
            .await
    })
}

/// Forgets every image of a deleted product, once per event (its blobs are deleted
/// before, so a failure in between only repeats harmless deletes).
pub async fn remove_product(
    db: &Database,
    consumer: &str,
    event_id: &str,
    product_id: &str,
) -> Result<(), DbError> {
    with_transaction!(db, |conn| {
        if !first_delivery(conn, consumer, event_id).await? {
            return Ok(());
        }
        diesel::delete(images::table.filter(images::product_id.eq(product_id)))
            .execute(conn)
            .await
            .map(|_| ())
    })
}
