//! The products subgraph: the catalogue and its stock.
//!
//! Owns the `products` table. `Product` is a federation entity keyed by `id`; it also
//! adds `products` to the `User` entity. Publishes `products.created` and
//! `products.stock_changed` through the transactional outbox.
//!
//! Stock reservations: the orders subgraph holds stock at checkout (`reserveStock`,
//! `@inaccessible`, scope `internal`); `orders.paid` commits a reservation,
//! `orders.cancelled` and expiry release it.

mod events;
mod graphql;
mod reservations;
mod store;

pub use graphql::{Mutation, Product, Query};

use diesel_migrations::embed_migrations;
use junction_kit::db::Migrations;
use junction_kit::graphql::{graphql_app, graphql_sdl};
use junction_kit::service::{ServiceSpec, no_settings};

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
        workers: events::workers,
        check_settings: no_settings,
    }
}
