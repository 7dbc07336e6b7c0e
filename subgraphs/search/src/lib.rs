//! The search subgraph: full-text product search.
//!
//! A tantivy index in memory, fed by the product events (`products.created`, `.updated`,
//! `.stock_changed`, `.deleted`). Each replica reads the whole product stream with a
//! durable consumer of its own, so a new or restarted replica rebuilds its index from the
//! stream; before that it loads the catalogue from the products subgraph, for events the
//! stream no longer has (an in-process bus after a restart, expired messages). `search` returns `Product` references (the products subgraph resolves them),
//! with highlights and category facets; matching tolerates typos.

mod bootstrap;
mod events;
mod graphql;
pub mod index;

pub use graphql::{Mutation, Query};

use junction_kit::db::Migrations;
use junction_kit::graphql::graphql_sdl;
use junction_kit::service::{Deps, ServiceSpec, no_settings};
use std::sync::{Arc, OnceLock};

pub const NAME: &str = "search";

static MIGRATIONS: Migrations = Migrations {
    postgres: diesel_migrations::embed_migrations!("../../migrations/search/postgres"),
    sqlite: diesel_migrations::embed_migrations!("../../migrations/search/sqlite"),
};

/// How `junction` runs this subgraph.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        name: NAME,
        migrations: &MIGRATIONS,
        sdl: graphql_sdl::<Query, Mutation>,
        app,
        workers: events::workers,
        check_settings: no_settings,
    }
}

/// The process's index, shared by the app and the consumer that feeds it.
fn index() -> Arc<index::ProductIndex> {
    static INDEX: OnceLock<Arc<index::ProductIndex>> = OnceLock::new();
    INDEX
        .get_or_init(|| Arc::new(index::ProductIndex::new().expect("an empty in-memory index")))
        .clone()
}

fn app(deps: Deps) -> axum::Router {
    let schema =
        async_graphql::Schema::build(Query, Mutation::default(), async_graphql::EmptySubscription)
            .enable_federation()
            .data(deps.clone())
            .data(index())
            .finish();
    junction_kit::server::subgraph_app(schema, deps)
}
