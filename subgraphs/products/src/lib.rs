//! The products subgraph: the catalogue and its stock.
//!
//! Owns the `products` table. `Product` is a federation entity keyed by `id`; it also
//! adds `products` to the `User` entity. Publishes `products.created` and
//! `products.stock_changed` through the transactional outbox.

mod graphql;
mod store;

pub use graphql::{Mutation, Product, Query};

use diesel_migrations::embed_migrations;
use junction_kit::db::Migrations;
use junction_kit::graphql::{graphql_app, graphql_sdl};
use junction_kit::service::{ServiceSpec, no_workers};

pub const NAME: &str = "products";

static MIGRATIONS: Migrations = Migrations {
    postgres: embed_migrations!("../../migrations/products/postgres"),
    sqlite: embed_migrations!("../../migrations/products/sqlite"),
};

/// How `junction` runs this subgraph.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        name: NAME,
        migrations: &MIGRATIONS,
        sdl: graphql_sdl::<Query, Mutation>,
        app: graphql_app::<Query, Mutation>,
        workers: no_workers,
    }
}
