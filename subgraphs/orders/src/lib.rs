//! The orders subgraph: carts, checkout and the order lifecycle.
//!
//! Owns the `cart_items`, `orders`, `order_items` and `payments` tables. Checkout holds
//! the stock in the products subgraph (`reserveStock`), then creates the pending order,
//! empties the cart and records `orders.placed` in one transaction; an idempotency key
//! makes retries return the same order. A pool of payment workers consumes
//! `orders.placed`, asks a simulated provider (latency and failure rate in
//! `subgraphs.orders.settings`), and publishes `payments.succeeded` or `payments.failed`;
//! those move the order to paid or cancelled (`orders.paid`, `orders.cancelled`), which
//! commits or releases the stock.

mod events;
mod graphql;
mod products;
mod settings;
mod store;

pub use events::DECLINED_METHOD;
pub use graphql::{Mutation, Query};
pub use settings::Settings;

use diesel_migrations::embed_migrations;
use junction_kit::db::Migrations;
use junction_kit::graphql::{graphql_app, graphql_sdl};
use junction_kit::service::ServiceSpec;

pub const NAME: &str = "orders";

static MIGRATIONS: Migrations = Migrations {
    postgres: embed_migrations!("../../migrations/orders/postgres"),
    sqlite: embed_migrations!("../../migrations/orders/sqlite"),
};

/// How `junction` runs this subgraph.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        name: NAME,
        migrations: &MIGRATIONS,
        sdl: graphql_sdl::<Query, Mutation>,
        app: graphql_app::<Query, Mutation>,
        workers: events::workers,
        check_settings: Settings::check,
    }
}
