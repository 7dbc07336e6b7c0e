//! The notification, webhook and delivery tables, written once for PostgreSQL and SQLite.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use junction_kit::consumer::first_delivery;
use junction_kit::db::{Database, DbError};
use junction_kit::{with_conn, with_transaction};

diesel::table! {
    notifications (id) {
        id -> Text,
        user_id -> Text,
        kind -> Text,
        title -> Text,
        body -> Text,
        order_id -> Nullable<Text>,
        read_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        url -> Text,
        secret -> Text,
        event_types -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        webhook_id -> Text,
        event_id -> Text,
        event_type -> Text,
        payload -> Text,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(webhooks, webhook_deliveries);

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const DEAD: &str = "dead";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = notifications)]
pub struct NotificationRow {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub order_id: Option<String>,
    pub read_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    pub id: String,
    pub url: String,
    pub secret: String,
    pub event_types: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

impl WebhookRow {
    /// Whether this webhook wants events of `event_type`.
    pub fn wants(&self, event_type: &str) -> bool {
        self.event_types.trim().is_empty()
            || self.event_types.split_whitespace().any(|t| t == event_type)
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_type: String,
    pub payload: String,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

pub async fn webhooks(db: &Database) -> Result<Vec<WebhookRow>, DbError> {
    with_conn!(db, |conn| {
        webhooks::table
            .order(webhooks::created_at.asc())
            .select(WebhookRow::as_select())
            .load(conn)
            .await
    })
}

pub async fn insert_webhook(db: &Database, row: &WebhookRow) -> Result<(), DbError> {
    with_conn!(db, |conn| {
        diesel::insert_into(webhooks::table)
            .values(row)
            .execute(conn)
            .await
            .map(|_| ())
    })
}

/// Records an event's notification (if any) and its webhook deliveries, once per event.
pub async fn record_event(
    db: &Database,
    consumer: &str,
    event_id: &str,
    notification: Option<&NotificationRow>,
    deliveries: &[DeliveryRow],
) -> Result<bool, DbError> {
    with_transaction!(db, |conn| {
        if !first_delivery(conn, consumer, event_id).await? {
            return Ok(false);
        }
        if let Some(notification) = notification {
            diesel::insert_into(notifications::table)
                .values(notification)
                .execute(conn)
                .await?;
        }
        for delivery in deliveries {
            diesel::insert_into(webhook_deliveries::table)
                .values(delivery)
                .execute(conn)
                .await?;
        }
        Ok(true)
    })
}

/// The user's notifications, newest first.
pub async fn notifications_of(
    db: &Database,
    user_id: &str,
    unread_only: bool,
    limit: i64,
) -> Result<Vec<NotificationRow>, DbError> {
    with_conn!(db, |conn| {
        let mut query = notifications::table
            .filter(notifications::user_id.eq(user_id))
            .order(notifications::id.desc())
            .limit(limit)
            .select(NotificationRow::as_select())
            .into_boxed();
        if unread_only {
            query = query.filter(notifications::read_at.is_null());
        }
        query.load(conn).await
    })
}

pub async fn unread_count(db: &Database, user_id: &str) -> Result<i64, DbError> {
    with_conn!(db, |conn| {
        notifications::table
            .filter(notifications::user_id.eq(user_id))
            .filter(notifications::read_at.is_null())
            .count()
            .get_result(conn)
            .await
    })
}

/// Marks the user's notification `id` (or, with `None`, all of them) read; returns how
/// many changed.
pub async fn mark_read(db: &Database, user_id: &str, id: Option<&str>) -> Result<usize, DbError> {
    let at = now();
    with_conn!(db, |conn| {
        let mut update = diesel::update(notifications::table)
            .filter(notifications::user_id.eq(user_id))
            .filter(notifications::read_at.is_null())
            .into_boxed();
        if let Some(id) = id {
            update = update.filter(notifications::id.eq(id.to_owned()));
        }
        update
            .set(notifications::read_at.eq(Some(at)))
            .execute(conn)
            .await
    })
}

/// Pending deliveries whose time has come, with their webhook.
pub async fn due_deliveries(
    db: &Database,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<(DeliveryRow, WebhookRow)>, DbError> {
    with_conn!(db, |conn| {
        webhook_deliveries::table
            .inner_join(webhooks::table.on(webhooks::id.eq(webhook_deliveries::webhook_id)))
            .filter(webhook_deliveries::state.eq(PENDING))
            .filter(webhook_deliveries::next_attempt_at.le(now))
            .order(webhook_deliveries::next_attempt_at.asc())
            .limit(limit)
            .select((DeliveryRow::as_select(), WebhookRow::as_select()))
            .load(conn)
            .await
    })
}

/// Records an attempt: `state` (pending again, delivered or dead), when to retry, why
/// it failed.
pub async fn record_attempt(
    db: &Database,
    id: &str,
    state: &str,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    last_error: Option<String>,
) -> Result<(), DbError> {
    with_conn!(db, |conn| {
        diesel::update(webhook_deliveries::table.find(id))
            .set((
                webhook_deliveries::state.eq(state),
                webhook_deliveries::attempts.eq(attempts),
                webhook_deliveries::next_attempt_at.eq(next_attempt_at),
                webhook_deliveries::last_error.eq(last_error),
            ))
            .execute(conn)
            .await
            .map(|_| ())
    })
}

pub async fn deliveries_of(
    db: &Database,
    webhook_id: &str,
    limit: i64,
) -> Result<Vec<DeliveryRow>, DbError> {
    with_conn!(db, |conn| {
        webhook_deliveries::table
            .filter(webhook_deliveries::webhook_id.eq(webhook_id))
            .order(webhook_deliveries::created_at.desc())
            .limit(limit)
            .select(DeliveryRow::as_select())
            .load(conn)
            .await
    })
}

/// Takes a due delivery for one attempt: moves its next attempt to `lease_until`, only if
/// nobody else did since it was read. `false`: another replica has it.
pub async fn claim(
    db: &Database,
    id: &str,
    seen_next_attempt: NaiveDateTime,
    lease_until: NaiveDateTime,
) -> Result<bool, DbError> {
    with_conn!(db, |conn| {
        diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::id.eq(id))
                .filter(webhook_deliveries::state.eq(PENDING))
                .filter(webhook_deliveries::next_attempt_at.eq(seen_next_attempt)),
        )
        .set(webhook_deliveries::next_attempt_at.eq(lease_until))
        .execute(conn)
        .await
        .map(|n| n == 1)
    })
}
