//! The users subgraph: profiles of registered users and their addresses.
//!
//! Owns the `users` and `addresses` tables. `User` is a federation entity keyed by `id`; other subgraphs
//! add fields to it. Creates a profile for every `accounts.registered` event and publishes
//! `users.created` through the transactional outbox.

mod addresses;
mod events;
mod graphql;
mod store;

pub use graphql::{Mutation, Query, User};

use diesel_migrations::embed_migrations;
use junction_kit::db::Migrations;
use junction_kit::graphql::{graphql_app, graphql_sdl};
use junction_kit::service::{ServiceSpec, no_settings};

pub const NAME: &str = "users";

static MIGRATIONS: Migrations = Migrations {
    postgres: embed_migrations!("../../migrations/users/postgres"),
    sqlite: embed_migrations!("../../migrations/users/sqlite"),
};

/// How `junction` runs this subgraph.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        name: NAME,
        migrations: &MIGRATIONS,
        sdl: graphql_sdl::<Query, Mutation>,
        app: graphql_app::<Query, Mutation>,
        workers: events::workers,
        check_settings: no_settings,
    }
}
