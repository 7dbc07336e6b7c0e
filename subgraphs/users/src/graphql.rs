//! The users subgraph schema: `User` (an entity keyed by `id`), addresses, queries and
//! `createUser`.
//!
//! A profile's name is public; its email and addresses are for the user and `admin`s only
//! (null for anyone else). Listing users and creating them directly (rather than
//! by registering an account) is for `admin`s.

use crate::addresses::{self, AddressRow};
use crate::store::{self, InsertError, UserRow};
use async_graphql::connection::{Connection, Edge};
use async_graphql::{ComplexObject, Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use junction_kit::errors::{bad_input, internal, not_found};
use junction_kit::events::Envelope;
use junction_kit::graphql::{caller, deps, has_scope, page_size, require_scope};
use junction_kit::server::Identity;
use junction_kit::service::Deps;
use std::time::Duration;

/// How long `user(id)` answers from the cache.
const CACHE_TTL: Duration = Duration::from_secs(60);
const MAX_PAGE: i32 = 100;

/// A registered user's profile.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct User {
    pub id: ID,
    #[graphql(skip)]
    pub email: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

// Private fields answer null, not an error, to other callers: async-graphql 7.2 drops
// the `_entities` index from errors raised under an entity, so the router could not say
// where such an error belongs.
#[ComplexObject]
impl User {
    /// Null unless the caller is this user or an admin.
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        own_or_admin(ctx, &self.id).then_some(self.email.as_str())
    }

    /// Saved postal addresses, the default first. Null unless the caller is this user or
    /// an admin.
    async fn addresses(&self, ctx: &Context<'_>) -> Result<Option<Vec<Address>>> {
        if !own_or_admin(ctx, &self.id) {
            return Ok(None);
        }
        let deps = deps(ctx)?;
        let rows = addresses::list(&deps.db, &self.id)
            .await
            .map_err(|e| internal(deps.service, e))?;
        Ok(Some(rows.into_iter().map(Address::from).collect()))
    }
}

/// Whether the caller may see `user`'s private fields: they are that user, or an admin.
fn own_or_admin(ctx: &Context<'_>, user: &str) -> bool {
    caller(ctx).is_ok_and(|caller| caller == user) || has_scope(ctx, "admin")
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

/// A postal address a user saved (for shipping).
#[derive(SimpleObject, Clone, Debug)]
pub struct Address {
    pub id: ID,
    /// The user's own name for it, such as `Home`.
    pub label: Option<String>,
    /// Who receives parcels there.
    pub recipient: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, such as `PT`.
    pub country: String,
    pub is_default: bool,
}

impl From<AddressRow> for Address {
    fn from(row: AddressRow) -> Self {
        Address {
            id: ID(row.id),
            label: row.label,
            recipient: row.recipient,
            line1: row.line1,
            line2: row.line2,
            city: row.city,
            region: row.region,
            postal_code: row.postal_code,
            country: row.country,
            is_default: row.is_default,
        }
    }
}

#[derive(InputObject, Debug)]
pub struct AddressInput {
    pub label: Option<String>,
    pub recipient: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 (two letters, any case).
    pub country: String,
    /// Make this the default address (a user's first address always is).
    #[graphql(default)]
    pub make_default: bool,
}

impl AddressInput {
    /// The address `id` of `user_id` this input describes, checked and trimmed; the error
    /// names the field at fault.
    fn into_row(self, id: String, user_id: String, is_default: bool) -> Result<AddressRow> {
        let required = |field: &str, value: &str, max: usize| -> Result<String> {
            let value = value.trim();
            if value.is_empty() || value.chars().count() > max {
                return Err(bad_input(
                    &format!("input.{field}"),
                    format!("must be 1 to {max} characters"),
                ));
            }
            Ok(value.to_owned())
        };
        let optional = |field: &str, value: &Option<String>, max: usize| -> Result<_> {
            match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                Some(value) => required(field, value, max).map(Some),
                None => Ok(None),
            }
        };
        let country = self.country.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(bad_input(
                "input.country",
                "must be an ISO 3166-1 alpha-2 code such as PT",
            ));
        }
        Ok(AddressRow {
            id,
            user_id,
            label: optional("label", &self.label, 50)?,
            recipient: required("recipient", &self.recipient, 200)?,
            line1: required("line1", &self.line1, 200)?,
            line2: optional("line2", &self.line2, 200)?,
            city: required("city", &self.city, 100)?,
            region: optional("region", &self.region, 100)?,
            postal_code: required("postalCode", &self.postal_code, 20)?,
            country,
            is_default: is_default || self.make_default,
            created_at: Utc::now().naive_utc(),
        })
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

    /// Users, oldest first (admins only). `after` is the `endCursor` of the previous page.
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> Result<Connection<String, User>> {
        require_scope(ctx, "admin", "listing users")?;
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
    /// Creates a profile without an account (admins only: users get theirs by
    /// registering). Fails with `BAD_USER_INPUT` naming the field at fault.
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> Result<User> {
        require_scope(ctx, "admin", "creating users")?;
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

    /// Saves an address for the caller (at most 20).
    async fn add_address(&self, ctx: &Context<'_>, input: AddressInput) -> Result<Address> {
        let user = caller(ctx)?;
        let deps = deps(ctx)?;
        let row = input.into_row(uuid::Uuid::now_v7().to_string(), user, false)?;
        match addresses::add(&deps.db, row).await {
            Ok(Some(row)) => {
                deps.outbox.notify();
                Ok(Address::from(row))
            }
            Ok(None) => Err(bad_input(
                "input",
                format!(
                    "a user may keep at most {} addresses",
                    addresses::MAX_PER_USER
                ),
            )),
            Err(e) => Err(internal(deps.service, e)),
        }
    }

    /// Replaces one of the caller's addresses.
    async fn update_address(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: AddressInput,
    ) -> Result<Address> {
        let user = caller(ctx)?;
        let deps = deps(ctx)?;
        let missing = || not_found(format_args!("address {}", id.0));
        let current = addresses::find(&deps.db, &user, &id)
            .await
            .map_err(|e| internal(deps.service, e))?
            .ok_or_else(missing)?;
        let mut row = input.into_row(current.id, user, current.is_default)?;
        row.created_at = current.created_at;
        if !addresses::update(&deps.db, &row)
            .await
            .map_err(|e| internal(deps.service, e))?
        {
            return Err(missing());
        }
        deps.outbox.notify();
        Ok(Address::from(row))
    }

    /// Deletes one of the caller's addresses; `false` if there was none. The oldest
    /// remaining address becomes the default when the default goes.
    async fn remove_address(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let user = caller(ctx)?;
        let deps = deps(ctx)?;
        let removed = addresses::remove(&deps.db, &user, &id)
            .await
            .map_err(|e| internal(deps.service, e))?;
        if removed {
            deps.outbox.notify();
        }
        Ok(removed)
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
