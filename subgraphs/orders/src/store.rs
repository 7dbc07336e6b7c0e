//! The cart, order and payment tables, written once for PostgreSQL and SQLite.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::RunQueryDsl;
use junction_kit::consumer::first_delivery;
use junction_kit::db::{Database, DbError};
use junction_kit::events::Envelope;
use junction_kit::{outbox, with_conn, with_transaction};

diesel::table! {
    cart_items (user_id, product_id) {
        user_id -> Text,
        product_id -> Text,
        quantity -> Integer,
        added_at -> Timestamp,
    }
}

diesel::table! {
    orders (id) {
        id -> Text,
        user_id -> Text,
        state -> Text,
        total_cents -> BigInt,
        currency -> Text,
        idempotency_key -> Text,
        reservation_id -> Text,
        payment_method -> Text,
        failure_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    order_items (order_id, product_id) {
        order_id -> Text,
        product_id -> Text,
        name -> Text,
        quantity -> Integer,
        unit_price_cents -> BigInt,
    }
}

diesel::table! {
    payments (id) {
        id -> Text,
        order_id -> Text,
        succeeded -> Bool,
        amount_cents -> BigInt,
        currency -> Text,
        failure_reason -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

pub const PENDING: &str = "pending";
pub const PAID: &str = "paid";
pub const SHIPPED: &str = "shipped";
pub const CANCELLED: &str = "cancelled";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = cart_items)]
pub struct CartItemRow {
    pub user_id: String,
    pub product_id: String,
    pub quantity: i32,
    pub added_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub id: String,
    pub user_id: String,
    pub state: String,
    pub total_cents: i64,
    pub currency: String,
    pub idempotency_key: String,
    pub reservation_id: String,
    pub payment_method: String,
    pub failure_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_items)]
pub struct OrderItemRow {
    pub order_id: String,
    pub product_id: String,
    pub name: String,
    pub quantity: i32,
    pub unit_price_cents: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = payments)]
pub struct PaymentRow {
    pub id: String,
    pub order_id: String,
    pub succeeded: bool,
    pub amount_cents: i64,
    pub currency: String,
    pub failure_reason: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

pub async fn cart(db: &Database, user_id: &str) -> Result<Vec<CartItemRow>, DbError> {
    with_conn!(db, |conn| {
        cart_items::table
            .filter(cart_items::user_id.eq(user_id))
            .order(cart_items::added_at.asc())
            .select(CartItemRow::as_select())
            .load(conn)
            .await
    })
}

/// Adds `quantity` of a product to the cart (or more of it); returns the new quantity,
/// or `None` when that would pass `max`.
pub async fn add_to_cart(
    db: &Database,
    user_id: &str,
    product_id: &str,
    quantity: i32,
    max: i32,
) -> Result<Option<i32>, DbError> {
    with_transaction!(db, |conn| {
        let current = cart_items::table
            .find((user_id, product_id))
            .select(cart_items::quantity)
            .first::<i32>(conn)
            .await
            .optional()?;
        let total = current.unwrap_or(0) + quantity;
        if total > max {
            return Ok(None);
        }
        match current {
            Some(_) => {
                diesel::update(cart_items::table.find((user_id, product_id)))
                    .set(cart_items::quantity.eq(total))
                    .execute(conn)
                    .await?;
            }
            None => {
                diesel::insert_into(cart_items::table)
                    .values(CartItemRow {
                        user_id: user_id.to_owned(),
                        product_id: product_id.to_owned(),
                        quantity: total,
                        added_at: now(),
                    })
                    .execute(conn)
                    .await?;
            }
        }
        Ok(Some(total))
    })
}

pub async fn remove_from_cart(
    db: &Database,
    user_id: &str,
    product_id: &str,
) -> Result<(), DbError> {
    with_conn!(db, |conn| {
        diesel::delete(cart_items::table.find((user_id, product_id)))
            .execute(conn)
            .await
            .map(|_| ())
    })
}

pub async fn order(db: &Database, id: &str) -> Result<Option<OrderRow>, DbError> {
    with_conn!(db, |conn| {
        orders::table
            .find(id)
            .select(OrderRow::as_select())
            .first(conn)
            .await
            .optional()
    })
}

pub async fn order_by_key(
    db: &Database,
    user_id: &str,
    key: &str,
) -> Result<Option<OrderRow>, DbError> {
    with_conn!(db, |conn| {
        orders::table
            .filter(orders::user_id.eq(user_id))
            .filter(orders::idempotency_key.eq(key))
            .select(OrderRow::as_select())
            .first(conn)
            .await
            .optional()
    })
}

/// The user's orders, newest first.
pub async fn orders_of(db: &Database, user_id: &str, limit: i64) -> Result<Vec<OrderRow>, DbError> {
    with_conn!(db, |conn| {
        orders::table
            .filter(orders::user_id.eq(user_id))
            .order(orders::id.desc())
            .limit(limit)
            .select(OrderRow::as_select())
            .load(conn)
            .await
    })
}

pub async fn items(db: &Database, order_id: &str) -> Result<Vec<OrderItemRow>, DbError> {
    with_conn!(db, |conn| {
        order_items::table
            .filter(order_items::order_id.eq(order_id))
            .select(OrderItemRow::as_select())
            .load(conn)
            .await
    })
}

/// What placing an order did.
pub enum Placed {
    New,
    /// A checkout with the same idempotency key got there first.
    Existing,
}

/// Creates the order and its items, empties the cart, and records `orders.placed`, in one
/// transaction.
pub async fn place(
    db: &Database,
    order: &OrderRow,
    lines: &[OrderItemRow],
    placed: &Envelope,
) -> Result<Placed, DbError> {
    let result = with_transaction!(db, |conn| {
        diesel::insert_into(orders::table)
            .values(order)
            .execute(conn)
            .await?;
        // Row by row: diesel's SQLite backend has no multi-row insert.
        for line in lines {
            diesel::insert_into(order_items::table)
                .values(line)
                .execute(conn)
                .await?;
        }
        diesel::delete(cart_items::table.filter(cart_items::user_id.eq(&order.user_id)))
            .execute(conn)
            .await?;
        outbox::enqueue(conn, placed).await
    });
    match result {
        Ok(()) => Ok(Placed::New),
        Err(DbError::Query(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _))) => {
            Ok(Placed::Existing)
        }
        Err(e) => Err(e),
    }
}

/// Moves an order from `from` to `to` (with a failure reason, for cancellations) and
/// records `event(order)` in the same transaction. Only an order in `from` moves, so
/// transitions race safely; `processed` makes a redelivered event a no-op. Returns the
/// order when it moved.
pub async fn transition(
    db: &Database,
    id: &str,
    from: &[&str],
    to: &'static str,
    reason: Option<String>,
    processed: Option<(&str, &str)>,
    event: impl Fn(&OrderRow) -> Envelope + Sync,
) -> Result<Option<OrderRow>, DbError> {
    let at = now();
    with_transaction!(db, |conn| {
        if let Some((consumer, event_id)) = processed
            && !first_delivery(conn, consumer, event_id).await?
        {
            return Ok(None);
        }
        let moved = diesel::update(
            orders::table
                .filter(orders::id.eq(id))
                .filter(orders::state.eq_any(from)),
        )
        .set((
            orders::state.eq(to),
            orders::failure_reason.eq(&reason),
            orders::updated_at.eq(at),
        ))
        .execute(conn)
        .await?;
        if moved == 0 {
            return Ok(None);
        }
        let order = orders::table
            .find(id)
            .select(OrderRow::as_select())
            .first(conn)
            .await?;
        outbox::enqueue(conn, &event(&order)).await?;
        Ok(Some(order))
    })
}

/// Records a payment outcome and its event, once per `orders.placed` event and per order.
/// Returns `false` when the event was already handled.
pub async fn record_payment(
    db: &Database,
    consumer: &str,
    event_id: &str,
    payment: &PaymentRow,
    outcome: &Envelope,
) -> Result<bool, DbError> {
    with_transaction!(db, |conn| {
        if !first_delivery(conn, consumer, event_id).await? {
            return Ok(false);
        }
        let inserted = diesel::insert_into(payments::table)
            .values(payment)
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        if inserted == 0 {
            return Ok(false);
        }
        outbox::enqueue(conn, outcome).await?;
        Ok(true)
    })
}
