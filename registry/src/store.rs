//! The registry's tables and the queries on them, written once for PostgreSQL and
//! SQLite.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use junction_kit::db::{Database, DbError};
use junction_kit::{with_conn, with_transaction};

diesel::table! {
    registry_subgraphs (id) {
        id -> Text,
        name -> Text,
        routing_url -> Text,
        sdl -> Text,
        published_by -> Text,
        published_at -> Timestamp,
    }
}

diesel::table! {
    registry_supergraphs (id) {
        id -> Text,
        sdl -> Text,
        subgraph -> Text,
        summary -> Text,
        published_by -> Text,
        created_at -> Timestamp,
        parent_id -> Nullable<Text>,
    }
}

diesel::table! {
    registry_tokens (id) {
        id -> Text,
        name -> Text,
        token_hash -> Text,
        scopes -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    registry_manifests (client) {
        client -> Text,
        manifest -> Text,
        published_by -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    registry_usage (id) {
        id -> Text,
        client -> Text,
        body -> Text,
        count -> BigInt,
        reported_at -> Timestamp,
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = registry_subgraphs)]
pub struct SubgraphRow {
    pub id: String,
    pub name: String,
    pub routing_url: String,
    pub sdl: String,
    pub published_by: String,
    pub published_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = registry_supergraphs)]
pub struct SupergraphRow {
    pub id: String,
    pub sdl: String,
    pub subgraph: String,
    pub summary: String,
    pub published_by: String,
    pub created_at: NaiveDateTime,
    /// The supergraph this one was composed on top of (`""` for the first); unique.
    pub parent_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = registry_tokens)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub token_hash: String,
    pub scopes: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = registry_manifests)]
pub struct ManifestRow {
    pub client: String,
    pub manifest: String,
    pub published_by: String,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = registry_usage)]
pub struct UsageRow {
    pub id: String,
    pub client: String,
    pub body: String,
    pub count: i64,
    pub reported_at: NaiveDateTime,
}

pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// Time-ordered ids: ordering by id is ordering by insertion.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The newest version of each subgraph, by name.
pub async fn current_subgraphs(db: &Database) -> Result<Vec<SubgraphRow>, DbError> {
    let rows: Vec<SubgraphRow> = with_conn!(db, |conn| {
        registry_subgraphs::table
            .select(SubgraphRow::as_select())
            .order((
                registry_subgraphs::name.asc(),
                registry_subgraphs::id.desc(),
            ))
            .load(conn)
            .await
    })?;
    let mut newest: Vec<SubgraphRow> = Vec::new();
    for row in rows {
        if newest.last().is_none_or(|last| last.name != row.name) {
            newest.push(row);
        }
    }
    Ok(newest)
}

pub async fn latest_supergraph(db: &Database) -> Result<Option<SupergraphRow>, DbError> {
    with_conn!(db, |conn| {
        registry_supergraphs::table
            .select(SupergraphRow::as_select())
            .order(registry_supergraphs::id.desc())
            .first(conn)
            .await
            .optional()
    })
}

pub async fn supergraph_history(db: &Database, limit: i64) -> Result<Vec<SupergraphRow>, DbError> {
    with_conn!(db, |conn| {
        registry_supergraphs::table
            .select(SupergraphRow::as_select())
            .order(registry_supergraphs::id.desc())
            .limit(limit)
            .load(conn)
            .await
    })
}

/// Stores a subgraph version and the supergraph it composed to, together.
pub async fn publish(
    db: &Database,
    subgraph: &SubgraphRow,
    supergraph: Option<&SupergraphRow>,
) -> Result<(), DbError> {
    with_transaction!(db, |conn| {
        diesel::insert_into(registry_subgraphs::table)
            .values(subgraph)
            .execute(conn)
            .await?;
        if let Some(supergraph) = supergraph {
            diesel::insert_into(registry_supergraphs::table)
                .values(supergraph)
                .execute(conn)
                .await?;
        }
        Ok(())
    })
}

pub async fn insert_token(db: &Database, row: &TokenRow) -> Result<(), DbError> {
    with_conn!(db, |conn| {
        diesel::insert_into(registry_tokens::table)
            .values(row)
            .execute(conn)
            .await
            .map(|_| ())
    })
}

pub async fn token_by_hash(db: &Database, hash: &str) -> Result<Option<TokenRow>, DbError> {
    with_conn!(db, |conn| {
        registry_tokens::table
            .filter(registry_tokens::token_hash.eq(hash))
            .select(TokenRow::as_select())
            .first(conn)
            .await
            .optional()
    })
}

pub async fn upsert_manifest(db: &Database, row: &ManifestRow) -> Result<(), DbError> {
    with_transaction!(db, |conn| {
        diesel::delete(registry_manifests::table.find(&row.client))
            .execute(conn)
            .await?;
        diesel::insert_into(registry_manifests::table)
            .values(row)
            .execute(conn)
            .await
            .map(|_| ())
    })
}

pub async fn manifests(db: &Database) -> Result<Vec<ManifestRow>, DbError> {
    with_conn!(db, |conn| {
        registry_manifests::table
            .select(ManifestRow::as_select())
            .order(registry_manifests::client.asc())
            .load(conn)
            .await
    })
}

pub async fn insert_usage(db: &Database, rows: &[UsageRow]) -> Result<(), DbError> {
    // Row by row in one transaction: SQLite has no multi-row insert in diesel.
    with_transaction!(db, |conn| {
        for row in rows {
            diesel::insert_into(registry_usage::table)
                .values(row)
                .execute(conn)
                .await?;
        }
        Ok(())
    })
}

/// Distinct operation bodies reported since `since`, with their clients.
pub async fn usage_since(
    db: &Database,
    since: NaiveDateTime,
) -> Result<Vec<(String, String)>, DbError> {
    with_conn!(db, |conn| {
        registry_usage::table
            .filter(registry_usage::reported_at.ge(since))
            .select((registry_usage::client, registry_usage::body))
            .distinct()
            .load(conn)
            .await
    })
}
