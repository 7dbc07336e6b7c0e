//! The users subgraph: public profiles of registered users.
//!
//! Owns the `users` table. `User` is a federation entity keyed by `id`; other subgraphs
//! add fields to it. Publishes `users.created` through the transactional outbox.

mod graphql;
mod store;

pub use graphql::{Mutation, Query, User};

use async_graphql::{EmptySubscription, Schema, SchemaBuilder};
use diesel_migrations::embed_migrations;
use junction_kit::db::Migrations;
use junction_kit::service::{Deps, ServiceSpec};

pub const NAME: &str = "users";

static MIGRATIONS: Migrations = Migrations {
    postgres: embed_migrations!("../../migrations/users/postgres"),
    sqlite: embed_migrations!("../../migrations/users/sqlite"),
};

pub type UsersSchema = Schema<Query, Mutation, EmptySubscription>;

/// How `junction` runs this subgraph.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        name: NAME,
        migrations: &MIGRATIONS,
        sdl,
        app,
    }
}

fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query, Mutation, EmptySubscription).enable_federation()
}

/// The schema over connected backends.
pub fn schema(deps: Deps) -> UsersSchema {
    builder().data(deps).finish()
}

fn sdl() -> String {
    builder()
        .finish()
        .sdl_with_options(async_graphql::SDLExportOptions::new().federation())
}

fn app(deps: Deps) -> axum::Router {
    junction_kit::server::subgraph_app(schema(deps.clone()), deps)
}
