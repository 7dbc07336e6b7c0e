//! The media subgraph: product images.
//!
//! Owns the `images` table; the bytes live in blob storage (S3, or a local directory in
//! `junction dev`). Clients upload and download through presigned URLs, never through
//! GraphQL. Contributes `images` to the `Product` entity, and removes a product's images
//! when it is deleted (`products.deleted`).

mod events;
mod graphql;
mod store;
mod urls;

pub use graphql::{Mutation, Query};

use diesel_migrations::embed_migrations;
use junction_kit::db::Migrations;
use junction_kit::graphql::{graphql_app, graphql_sdl};
use junction_kit::service::{Deps, ServiceSpec, no_settings};

pub const NAME: &str = "media";

static MIGRATIONS: Migrations = Migrations {
    postgres: embed_migrations!("../../migrations/media/postgres"),
    sqlite: embed_migrations!("../../migrations/media/sqlite"),
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

fn app(deps: Deps) -> axum::Router {
    let blobs = deps.blobs.clone();
    let local = axum::Router::new()
        .route(
            &format!("{}{{*key}}", urls::LOCAL_PREFIX),
            axum::routing::put(urls::upload).get(urls::download),
        )
        .layer(axum::extract::DefaultBodyLimit::max(urls::MAX_UPLOAD_BYTES))
        .with_state(blobs);
    graphql_app::<Query, Mutation>(deps).merge(local)
}
