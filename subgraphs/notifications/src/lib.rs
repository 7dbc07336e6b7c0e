//! The notifications subgraph: what users are told about their orders, and partner
//! webhooks.
//!
//! Owns the `notifications`, `webhooks` and `webhook_deliveries` tables. Consumes the
//! order events (`orders.placed`, `orders.paid`, `orders.cancelled`, `orders.shipped`):
//! each becomes a notification for its user and a delivery for every interested webhook,
//! in one transaction, once. Deliveries are signed with HMAC-SHA256, retried with
//! exponential backoff, and dead-lettered after the last attempt.

mod events;
mod graphql;
mod settings;
mod store;
pub mod webhooks;

pub use graphql::{Mutation, Query};
pub use settings::Settings;

use diesel_migrations::embed_migrations;
use junction_kit::db::Migrations;
use junction_kit::graphql::{graphql_app, graphql_sdl};
use junction_kit::service::ServiceSpec;

pub const NAME: &str = "notifications";

static MIGRATIONS: Migrations = Migrations {
    postgres: embed_migrations!("../../migrations/notifications/postgres"),
    sqlite: embed_migrations!("../../migrations/notifications/sqlite"),
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
