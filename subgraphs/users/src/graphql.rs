//! The users subgraph schema: `User` (an entity keyed by `id`), queries and `createUser`.

use crate::store::{self, InsertError, UserRow};
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use junction_kit::errors::{bad_input, internal};
use junction_kit::events::Envelope;
use junction_kit::graphql::{deps, page_size};
use junction_kit::server::Identity;
use junction_kit::service::Deps;
use std::time::Duration;

/// How long `user(id)` answers from the cache.
const CACHE_TTL: Duration = Duration::from_secs(60);
const MAX_PAGE: i32 = 100;

/// A registered user's public profile.
#[derive(SimpleObject, Clone, Debug)]
pub struct User {
    pub id: ID,
    pub email: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: ID(row.id),
            email: row.email,
            name: row.name,
            created_at: row.created_at.and_utc(),
        }
    }
}

#[derive(InputObject, Debug)]
pub struct CreateUserInput {
    pub email: String,
    pub name: String,
}

#[derive(Default)]
pub struct Query;

#[Object]
impl Query {
    /// The caller, when the router forwarded a verified identity.
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let identity = ctx.data_opt::<Identity>();
        match identity.and_then(|i| i.user_id.as_deref()) {
            Some(id) => find_cached(deps(ctx)?, id).await,
            None => Ok(None),
        }
    }

    async fn user(&self, ctx: &Context<'_>, id: ID) -> Result<Option<User>> {
        find_cached(deps(ctx)?, &id).await
    }

    /// Users, oldest first. `after` is the `endCursor` of the previous page.
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> Result<Connection<String, User>> {
        let deps = deps(ctx)?;
        let first = page_size(first, MAX_PAGE)?;
        let mut rows = store::page(&deps.db, after.as_deref(), i64::from(first) + 1)
            .await
            .map_err(|e| internal(deps.service, e))?;
        let has_next = rows.len() > first as usize;
        rows.truncate(first as usize);
        let mut connection = Connection::new(after.is_some(), has_next);
        connection.edges.extend(
            rows.into_iter()
                .map(|row| Edge::new(row.id.clone(), User::from(row))),
        );
        Ok(connection)
    }

    /// Resolves `User` references from other subgraphs.
    #[graphql(entity)]
    async fn find_user_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<User>> {
        find_cached(deps(ctx)?, &id).await
    }
}

#[derive(Default)]
pub struct Mutation;

#[Object]
impl Mutation {
    /// Registers a user. Fails with `BAD_USER_INPUT` naming the field at fault.
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> Result<User> {
        let deps = deps(ctx)?;
        let email = input.email.trim().to_ascii_lowercase();
        let name = input.name.trim().to_string();
        if let Err(problem) = check_email(&email) {
            return Err(bad_input("input.email", problem));
        }
        if name.is_empty() || name.chars().count() > 100 {
            return Err(bad_input("input.name", "must be 1 to 100 characters"));
        }
        let row = UserRow {
            id: uuid::Uuid::now_v7().to_string(),
            email,
            name,
            created_at: Utc::now().naive_utc(),
        };
        let event = Envelope::new(
            "users.created",
            row.id.clone(),
            serde_json::json!({ "id": row.id, "email": row.email, "name": row.name }),
        );
        match store::insert(&deps.db, &row, &event).await {
            Ok(()) => {
                deps.outbox.notify();
                Ok(User::from(row))
            }
            Err(InsertError::EmailTaken) => Err(bad_input("input.email", "is already registered")),
            Err(InsertError::Db(e)) => Err(internal(deps.service, e)),
        }
    }
}

async fn find_cached(deps: &Deps, id: &str) -> Result<Option<User>> {
    let row = deps
        .cache
        .read_through(&format!("user:{id}"), CACHE_TTL, store::find(&deps.db, id))
        .await
        .map_err(|e| internal(deps.service, e))?;
    Ok(row.map(User::from))
}

/// A deliberately small check: one `@`, something before it, a dotted domain after it,
/// no whitespace. Delivery is the real test of an address.
fn check_email(email: &str) -> Result<(), &'static str> {
    if email.len() > 254 {
        return Err("must be at most 254 characters");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err("must be an email address like name@example.com");
    };
    let valid = !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(())
    } else {
        Err("must be an email address like name@example.com")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_check() {
        assert!(check_email("ada@example.com").is_ok());
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@x@y.z",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }
}
