//! The service kit: what every Junction subgraph stands on.
//!
//! - [`config`]: typed configuration from YAML plus `JUNCTION_*` overrides.
//! - [`telemetry`]: `tracing` set-up.
//! - [`server`]: serving a federation subgraph over axum, `/health`, `/ready`.
//! - [`service`]: [`service::Deps`] (a subgraph's connected backends) and
//!   [`service::ServiceSpec`] (what a domain crate hands the binary).
//! - Backends, each one enum with a production and an embedded implementation:
//!   [`db`] (PostgreSQL / SQLite), [`events`] (NATS JetStream / in-process),
//!   [`cache`] (Redis / in-memory), [`blobs`] (S3 / local directory).
//! - [`outbox`]: events written with the change they describe, published afterwards.
//! - [`consumer`]: idempotent event consumers (`processed_events`, retries, dead letters).
//! - [`errors`]: GraphQL errors every subgraph reports the same way.
//! - [`graphql`]: a subgraph's federation schema, SDL and app from its root types.

pub mod blobs;
pub mod cache;
pub mod config;
pub mod consumer;
pub mod db;
pub mod errors;
pub mod events;
pub mod graphql;
pub mod outbox;
pub mod server;
pub mod service;
pub mod telemetry;
pub mod testing;
