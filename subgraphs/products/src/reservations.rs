//! Stock reservations: stock held for an order from checkout until it is paid (committed)
//! or cancelled, failed or expired (released). Holding takes the quantity off
//! `products.stock` at once, so what a client sees as stock is what can still be sold.

use crate::store::{ProductRow, products};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use junction_kit::db::{Database, DbError};
use junction_kit::events::Envelope;
use junction_kit::{outbox, with_conn, with_transaction};
use std::sync::Mutex;

diesel::table! {
    stock_reservations (id) {
        id -> Text,
        state -> Text,
        expires_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    reservation_items (reservation_id, product_id) {
        reservation_id -> Text,
        product_id -> Text,
        quantity -> Integer,
        unit_price_cents -> BigInt,
        currency -> Text,
        name -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(stock_reservations, reservation_items, products);

pub const HELD: &str = "held";
pub const COMMITTED: &str = "committed";
pub const RELEASED: &str = "released";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = stock_reservations)]
pub struct ReservationRow {
    pub id: String,
    pub state: String,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = reservation_items)]
pub struct ItemRow {
    pub reservation_id: String,
    pub product_id: String,
    pub quantity: i32,
    pub unit_price_cents: i64,
    pub currency: String,
    pub name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ReserveError {
    #[error("product {0} does not exist")]
    NotFound(String),
    #[error("product {product_id} has {available} in stock, not {wanted}")]
    Insufficient {
        product_id: String,
        available: i32,
        wanted: i32,
    },
    #[error("an order cannot mix currencies ({0} and {1})")]
    MixedCurrencies(String, String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Holds `items` (product id, quantity) under `id`, all or nothing, until `expires_at`.
/// Reserving an id again returns the first reservation unchanged (checkout retries), also
/// when the two calls race. `make_event` describes each product's new stock, written to
/// the outbox.
pub async fn reserve(
    db: &Database,
    id: &str,
    items: &[(String, i32)],
    expires_at: NaiveDateTime,
    make_event: impl Fn(&ProductRow) -> Envelope + Sync,
) -> Result<(ReservationRow, Vec<ItemRow>), ReserveError> {
    match reserve_once(db, id, items, expires_at, &make_event).await {
        // A concurrent call with the same id committed first: take its reservation.
        Err(ReserveError::Db(DbError::Query(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )))) => reserve_once(db, id, items, expires_at, &make_event).await,
        other => other,
    }
}

async fn reserve_once(
    db: &Database,
    id: &str,
    items: &[(String, i32)],
    expires_at: NaiveDateTime,
    make_event: &(impl Fn(&ProductRow) -> Envelope + Sync),
) -> Result<(ReservationRow, Vec<ItemRow>), ReserveError> {
    // Why the transaction rolled back, when it was not the database's doing.
    let refused: Mutex<Option<ReserveError>> = Mutex::new(None);
    let refuse = |e: ReserveError| {
        *refused.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
        diesel::result::Error::RollbackTransaction
    };
    let now = chrono::Utc::now().naive_utc();
    let result = with_transaction!(db, |conn| {
        let existing = stock_reservations::table
            .find(id)
            .select(ReservationRow::as_select())
            .first(conn)
            .await
            .optional()?;
        if let Some(existing) = existing {
            let lines = reservation_items::table
                .filter(reservation_items::reservation_id.eq(id))
                .select(ItemRow::as_select())
                .load(conn)
                .await?;
            return Ok((existing, lines));
        }
        let reservation = ReservationRow {
            id: id.to_owned(),
            state: HELD.to_owned(),
            expires_at,
            created_at: now,
        };
        diesel::insert_into(stock_reservations::table)
            .values(&reservation)
            .execute(conn)
            .await?;
        let mut lines: Vec<ItemRow> = Vec::with_capacity(items.len());
        for (product_id, quantity) in items {
            let taken = diesel::update(
                products::table
                    .filter(products::id.eq(product_id))
                    .filter(products::deleted_at.is_null())
                    .filter(products::stock.ge(*quantity)),
            )
            .set(products::stock.eq(products::stock - *quantity))
            .execute(conn)
            .await?;
            let product = products::table
                .find(product_id)
                .filter(products::deleted_at.is_null())
                .select(ProductRow::as_select())
                .first(conn)
                .await
                .optional()?;
            let Some(product) = product else {
                return Err(refuse(ReserveError::NotFound(product_id.clone())));
            };
            if taken == 0 {
                return Err(refuse(ReserveError::Insufficient {
                    product_id: product_id.clone(),
                    available: product.stock,
                    wanted: *quantity,
                }));
            }
            if let Some(first) = <[ItemRow]>::first(&lines).map(|l| l.currency.clone())
                && first != product.currency
            {
                return Err(refuse(ReserveError::MixedCurrencies(
                    first,
                    product.currency,
                )));
            }
            let line = ItemRow {
                reservation_id: id.to_owned(),
                product_id: product_id.clone(),
                quantity: *quantity,
                unit_price_cents: product.price_cents,
                currency: product.currency.clone(),
                name: product.name.clone(),
            };
            diesel::insert_into(reservation_items::table)
                .values(&line)
                .execute(conn)
                .await?;
            outbox::enqueue(conn, &make_event(&product)).await?;
            lines.push(line);
        }
        Ok((reservation, lines))
    });
    match result {
        Ok(found) => Ok(found),
        Err(e) => match refused.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(reason) => Err(reason),
            None => Err(ReserveError::Db(e)),
        },
    }
}

/// Moves a held reservation to `to` (committed or released), once: `consumer`/`event_id`
/// make a redelivered event a no-op. A release puts the stock back; a commit of a
/// reservation that expiry already released (an order paid after its hold ran out) takes
/// the stock again, as much as is left, and logs any shortfall. `make_event` describes
/// each product whose stock changed. Returns whether the reservation moved.
pub async fn settle(
    db: &Database,
    id: &str,
    to: &'static str,
    processed: Option<(&str, &str)>,
    make_event: impl Fn(&ProductRow) -> Envelope + Sync,
) -> Result<bool, DbError> {
    with_transaction!(db, |conn| {
        if let Some((consumer, event_id)) = processed
            && !junction_kit::consumer::first_delivery(conn, consumer, event_id).await?
        {
            return Ok(false);
        }
        let state: Option<String> = stock_reservations::table
            .find(id)
            .select(stock_reservations::state)
            .first(conn)
            .await
            .optional()?;
        // Stock moves back (+) on a release, out again (-) on a late commit.
        let sign = match (state.as_deref(), to) {
            (Some(HELD), RELEASED) => 1,
            (Some(HELD), _) => 0,
            (Some(RELEASED), COMMITTED) => -1,
            _ => return Ok(false),
        };
        diesel::update(stock_reservations::table.find(id))
            .set(stock_reservations::state.eq(to))
            .execute(conn)
            .await?;
        if sign == 0 {
            return Ok(true);
        }
        let lines = reservation_items::table
            .filter(reservation_items::reservation_id.eq(id))
            .select(ItemRow::as_select())
            .load(conn)
            .await?;
        for line in lines {
            // A late commit takes what is left; the guarded update makes a concurrent
            // reservation that took some first make it look again, never go below zero.
            let product = loop {
                let product = products::table
                    .find(&line.product_id)
                    .select(ProductRow::as_select())
                    .first(conn)
                    .await?;
                let change = if sign > 0 {
                    line.quantity
                } else {
                    -line.quantity.min(product.stock.max(0))
                };
                let moved = diesel::update(
                    products::table
                        .find(&line.product_id)
                        .filter(products::stock.eq(product.stock)),
                )
                .set(products::stock.eq(products::stock + change))
                .execute(conn)
                .await?;
                if moved == 1 {
                    if sign < 0 && -change < line.quantity {
                        tracing::error!(
                            reservation = id,
                            product = %line.product_id,
                            short = line.quantity + change,
                            "an order was paid after its stock hold expired, and the stock was sold meanwhile"
                        );
                    }
                    break ProductRow {
                        stock: product.stock + change,
                        ..product
                    };
                }
            };
            outbox::enqueue(conn, &make_event(&product)).await?;
        }
        Ok(true)
    })
}

/// Held reservations whose time is up.
pub async fn expired(db: &Database, now: NaiveDateTime) -> Result<Vec<String>, DbError> {
    with_conn!(db, |conn| {
        stock_reservations::table
            .filter(stock_reservations::state.eq(HELD))
            .filter(stock_reservations::expires_at.le(now))
            .select(stock_reservations::id)
            .limit(500)
            .load(conn)
            .await
    })
}
