//! The accounts, refresh-token and signing-key tables, written once for PostgreSQL and
//! SQLite.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::RunQueryDsl;
use junction_kit::db::{Database, DbError};
use junction_kit::events::Envelope;
use junction_kit::{outbox, with_conn, with_transaction};

diesel::table! {
    accounts (id) {
        id -> Text,
        email -> Text,
        password_hash -> Text,
        scopes -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        account_id -> Text,
        family_id -> Text,
        token_hash -> Text,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        seed -> Text,
        created_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(accounts, refresh_tokens);

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = accounts)]
pub struct AccountRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub scopes: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub id: String,
    pub account_id: String,
    pub family_id: String,
    pub token_hash: String,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    pub kid: String,
    pub seed: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("email is already registered")]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] DbError),
}

pub fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// Creates the account, its first refresh token and its `accounts.registered` event in
/// one transaction.
pub async fn register(
    db: &Database,
    account: &AccountRow,
    token: &RefreshTokenRow,
    event: &Envelope,
) -> Result<(), StoreError> {
    let result = with_transaction!(db, |conn| {
        diesel::insert_into(accounts::table)
            .values(account)
            .execute(conn)
            .await?;
        diesel::insert_into(refresh_tokens::table)
            .values(token)
            .execute(conn)
            .await?;
        outbox::enqueue(conn, event).await
    });
    match result {
        Ok(()) => Ok(()),
        Err(DbError::Query(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _))) => {
            Err(StoreError::EmailTaken)
        }
        Err(other) => Err(StoreError::Db(other)),
    }
}

pub async fn account_by_email(db: &Database, email: &str) -> Result<Option<AccountRow>, DbError> {
    with_conn!(db, |conn| {
        accounts::table
            .filter(accounts::email.eq(email))
            .select(AccountRow::as_select())
            .first(conn)
            .await
            .optional()
    })
}

pub async fn account(db: &Database, id: &str) -> Result<Option<AccountRow>, DbError> {
    with_conn!(db, |conn| {
        accounts::table
            .find(id)
            .select(AccountRow::as_select())
            .first(conn)
            .await
            .optional()
    })
}

pub async fn insert_refresh_token(db: &Database, row: &RefreshTokenRow) -> Result<(), DbError> {
    with_conn!(db, |conn| {
        diesel::insert_into(refresh_tokens::table)
            .values(row)
            .execute(conn)
            .await
            .map(|_| ())
    })
}

/// What presenting a refresh token did.
#[derive(Debug)]
pub enum Rotation {
    /// The token was live: it is revoked now and `replacement` stored in its place.
    Rotated(AccountRow),
    /// Unknown or expired.
    Invalid,
    /// Already revoked: a replayed token. Its whole family is revoked now.
    Replayed,
}

/// Revokes the live token whose hash is `hash` and stores `replacement` (same family) in
/// one transaction. A second use of the same token finds it revoked.
pub async fn rotate_refresh_token(
    db: &Database,
    hash: &str,
    make_replacement: impl Fn(&RefreshTokenRow) -> RefreshTokenRow + Sync,
) -> Result<Rotation, DbError> {
    let at = now();
    with_transaction!(db, |conn| {
        let found = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(hash))
            .select(RefreshTokenRow::as_select())
            .first(conn)
            .await
            .optional()?;
        let Some(token) = found else {
            return Ok(Rotation::Invalid);
        };
        if token.revoked_at.is_some() {
            diesel::update(
                refresh_tokens::table
                    .filter(refresh_tokens::family_id.eq(&token.family_id))
                    .filter(refresh_tokens::revoked_at.is_null()),
            )
            .set(refresh_tokens::revoked_at.eq(Some(at)))
            .execute(conn)
            .await?;
            return Ok(Rotation::Replayed);
        }
        if token.expires_at <= at {
            return Ok(Rotation::Invalid);
        }
        // Conditional on still being live, so two concurrent refreshes cannot both win.
        let revoked = diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::id.eq(&token.id))
                .filter(refresh_tokens::revoked_at.is_null()),
        )
        .set(refresh_tokens::revoked_at.eq(Some(at)))
        .execute(conn)
        .await?;
        if revoked == 0 {
            return Ok(Rotation::Replayed);
        }
        diesel::insert_into(refresh_tokens::table)
            .values(make_replacement(&token))
            .execute(conn)
            .await?;
        let account = accounts::table
            .find(&token.account_id)
            .select(AccountRow::as_select())
            .first(conn)
            .await?;
        Ok(Rotation::Rotated(account))
    })
}

/// Revokes the family of the token whose hash is `hash` (logout). `false` when unknown.
pub async fn revoke_family(db: &Database, hash: &str) -> Result<bool, DbError> {
    let at = now();
    with_transaction!(db, |conn| {
        let family = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(hash))
            .select(refresh_tokens::family_id)
            .first::<String>(conn)
            .await
            .optional()?;
        let Some(family) = family else {
            return Ok(false);
        };
        diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::family_id.eq(&family))
                .filter(refresh_tokens::revoked_at.is_null()),
        )
        .set(refresh_tokens::revoked_at.eq(Some(at)))
        .execute(conn)
        .await?;
        Ok(true)
    })
}

/// Signing keys created after `since`, newest first.
pub async fn signing_keys_since(
    db: &Database,
    since: NaiveDateTime,
) -> Result<Vec<SigningKeyRow>, DbError> {
    with_conn!(db, |conn| {
        signing_keys::table
            .filter(signing_keys::created_at.gt(since))
            .order((signing_keys::created_at.desc(), signing_keys::kid.desc()))
            .select(SigningKeyRow::as_select())
            .load(conn)
            .await
    })
}

pub async fn insert_signing_key(db: &Database, row: &SigningKeyRow) -> Result<(), DbError> {
    with_conn!(db, |conn| {
        diesel::insert_into(signing_keys::table)
            .values(row)
            .execute(conn)
            .await
            .map(|_| ())
    })
}
