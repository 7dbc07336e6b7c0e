//! The products subgraph: the catalogue and its stock.
//!
//! Owns the `products` table. `Product` is a federation entity keyed by `id`; it also
//! adds `products` to the `User` entity. Publishes `products.created` and
//! `products.stock_changed` through the transactional outbox.

mod graphql;
mod store;

pub use graphql::{Mutation, Product, Query};

use async_graphql::{EmptySubscription, Schema, SchemaBuilder};
use diesel_migrations::embed_migrations;
use junction_kit::db::Migrations;
use junction_kit::service::{Deps, ServiceSpec};

pub const NAME: &str = "products";

static MIGRATIONS: Migrations = Migrations {
    postgres: embed_migrations!("../../migrations/products/postgres"),
    sqlite: embed_migrations!("../../migrations/products/sqlite"),
};

pub type ProductsSchema = Schema<Query, Mutation, EmptySubscription>;

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
pub fn schema(deps: Deps) -> ProductsSchema {
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
