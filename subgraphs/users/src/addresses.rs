//! The addresses table: each user's saved postal addresses, one of them the default.
//!
//! Every change writes its `users.address_*` event in the same transaction.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use junction_kit::db::{Database, DbError};
use junction_kit::events::Envelope;
use junction_kit::{outbox, with_conn, with_transaction};
use serde::Serialize;

diesel::table! {
    addresses (id) {
        id -> Text,
        user_id -> Text,
        label -> Nullable<Text>,
        recipient -> Text,
        line1 -> Text,
        line2 -> Nullable<Text>,
        city -> Text,
        region -> Nullable<Text>,
        postal_code -> Text,
        country -> Text,
        is_default -> Bool,
        created_at -> Timestamp,
    }
}

/// A user may keep this many addresses.
pub const MAX_PER_USER: i64 = 20;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = addresses)]
#[serde(rename_all = "camelCase")]
pub struct AddressRow {
    pub id: String,
    pub user_id: String,
    pub label: Option<String>,
    pub recipient: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
    pub is_default: bool,
    pub created_at: NaiveDateTime,
}

impl AddressRow {
    /// The event announcing this address's new state.
    pub fn event(&self, event_type: &str) -> Envelope {
        Envelope::new(
            event_type,
            self.user_id.clone(),
            serde_json::to_value(self).unwrap_or_default(),
        )
    }
}

/// Takes the default flag from the user's other addresses (a macro: the statement runs on
/// either backend's connection inside `with_transaction!`).
macro_rules! clear_default {
    ($conn:expr, $user_id:expr) => {
        diesel::update(
            addresses::table
                .filter(addresses::user_id.eq($user_id))
                .filter(addresses::is_default.eq(true)),
        )
        .set(addresses::is_default.eq(false))
        .execute($conn)
        .await
    };
}

/// The user's addresses, the default first, then oldest first.
pub async fn list(db: &Database, user_id: &str) -> Result<Vec<AddressRow>, DbError> {
    with_conn!(db, |conn| {
        addresses::table
            .filter(addresses::user_id.eq(user_id))
            .order((addresses::is_default.desc(), addresses::id.asc()))
            .select(AddressRow::as_select())
            .load(conn)
            .await
    })
}

pub async fn find(db: &Database, user_id: &str, id: &str) -> Result<Option<AddressRow>, DbError> {
    with_conn!(db, |conn| {
        addresses::table
            .find(id)
            .filter(addresses::user_id.eq(user_id))
            .select(AddressRow::as_select())
            .first(conn)
            .await
            .optional()
    })
}

/// Saves a new address; `None` if the user already has [`MAX_PER_USER`]. The user's first
/// becomes the default whatever `row.is_default` says, and a new default takes the flag
/// from the old one.
pub async fn add(db: &Database, mut row: AddressRow) -> Result<Option<AddressRow>, DbError> {
    with_transaction!(db, |conn| {
        let count: i64 = addresses::table
            .filter(addresses::user_id.eq(&row.user_id))
            .count()
            .get_result(conn)
            .await?;
        if count >= MAX_PER_USER {
            return Ok(None);
        }
        row.is_default = row.is_default || count == 0;
        if row.is_default {
            clear_default!(conn, &row.user_id)?;
        }
        diesel::insert_into(addresses::table)
            .values(&row)
            .execute(conn)
            .await?;
        outbox::enqueue(conn, &row.event("users.address_added")).await?;
        Ok(Some(row))
    })
}

/// Replaces an address the user owns; `false` if there is none. A default stays the
/// default (another address takes the flag by being made the default).
pub async fn update(db: &Database, row: &AddressRow) -> Result<bool, DbError> {
    with_transaction!(db, |conn| {
        if row.is_default {
            clear_default!(conn, &row.user_id)?;
        }
        let changed = diesel::update(
            addresses::table
                .find(&row.id)
                .filter(addresses::user_id.eq(&row.user_id)),
        )
        .set((
            addresses::label.eq(&row.label),
            addresses::recipient.eq(&row.recipient),
            addresses::line1.eq(&row.line1),
            addresses::line2.eq(&row.line2),
            addresses::city.eq(&row.city),
            addresses::region.eq(&row.region),
            addresses::postal_code.eq(&row.postal_code),
            addresses::country.eq(&row.country),
            addresses::is_default.eq(row.is_default),
        ))
        .execute(conn)
        .await?;
        if changed == 0 {
            return Ok(false);
        }
        outbox::enqueue(conn, &row.event("users.address_updated")).await?;
        Ok(true)
    })
}

/// Deletes an address the user owns; `false` if there is none. When it was the default,
/// the oldest remaining address becomes the default.
pub async fn remove(db: &Database, user_id: &str, id: &str) -> Result<bool, DbError> {
    with_transaction!(db, |conn| {
        let row = addresses::table
            .find(id)
            .filter(addresses::user_id.eq(user_id))
            .select(AddressRow::as_select())
            .first(conn)
            .await
            .optional()?;
        let Some(row) = row else {
            return Ok(false);
        };
        diesel::delete(addresses::table.find(id))
            .execute(conn)
            .await?;
        if row.is_default {
            let oldest: Option<String> = addresses::table
                .filter(addresses::user_id.eq(user_id))
                .order(addresses::id.asc())
                .select(addresses::id)
                .first(conn)
                .await
                .optional()?;
            if let Some(oldest) = oldest {
                diesel::update(addresses::table.find(oldest))
                    .set(addresses::is_default.eq(true))
                    .execute(conn)
                    .await?;
            }
        }
        outbox::enqueue(conn, &row.event("users.address_removed")).await?;
        Ok(true)
    })
}
