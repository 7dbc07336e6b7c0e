//! Test doubles of federation subgraphs, driven by SDL and JSON data.
//!
//! A fixture (see [`fixture`]) describes subgraphs and their data; [`server::serve`] runs
//! them on one port, each at `/<name>`, executing operations with apollo-compiler over
//! the data (see [`data`]). The router's integration tests, the differential corpus
//! checked against Apollo Gateway, and the load benchmark all use it.

pub mod data;
pub mod fixture;
pub mod server;

pub use fixture::{Behavior, Case, Fixture, FixtureError, SubgraphFixture};
pub use server::{Received, RunningFixture, serve};
