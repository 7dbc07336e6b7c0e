//! `junction schema …`: the schema tooling a platform team runs in CI.
//!
//! Every command returns its exit code rather than an error: 0 when it passed, 1 when
//! the check failed (the schema does not compose, or the change breaks clients), 2 when
//! it could not run at all (unreadable files, a subgraph or registry that is down).

mod check;
mod compose;
mod publish;
mod supergraph_config;

use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum SchemaCommand {
    /// Compose the subgraphs a Rover-style `supergraph.yaml` lists into a supergraph SDL.
    Compose {
        /// The subgraph list: name, routing_url, and a schema from a `file` or fetched
        /// from a running subgraph's `_service { sdl }` (`subgraph_url`).
        #[arg(long)]
        config: PathBuf,
        /// Write the supergraph here instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Check a proposed subgraph schema: does it compose, what does it change in the API
    /// schema (breaking, dangerous, safe), and which known operations does it break.
    Check {
        /// The subgraph that changes (a new name adds a subgraph).
        #[arg(long)]
        subgraph: String,
        /// The proposed SDL of that subgraph.
        #[arg(long)]
        schema: PathBuf,
        /// What is in service now: a Rover `supergraph.yaml` listing the subgraphs, or
        /// the registry's URL (its subgraphs, persisted operations and recent usage).
        #[arg(long, alias = "config")]
        against: String,
        /// API token for a registry (`check` scope).
        #[arg(long, env = "JUNCTION_REGISTRY__TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Where the router reaches the subgraph, when it is new.
        #[arg(long)]
        routing_url: Option<String>,
        /// Known operations: Apollo persisted-query manifests (JSON) or GraphQL documents.
        /// Breaking changes none of them uses are reported as safe by usage.
        #[arg(long = "operations")]
        operations: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: check::Format,
    },
    /// Publish a subgraph schema to the registry, which composes it; a schema that does
    /// not compose is rejected and the supergraph in service stays.
    Publish {
        #[arg(long)]
        subgraph: String,
        #[arg(long)]
        schema: PathBuf,
        #[arg(long)]
        routing_url: String,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Publish a client's persisted-query manifest (Apollo's format) to the registry.
    PublishManifest {
        #[arg(long)]
        client: String,
        #[arg(long)]
        manifest: PathBuf,
        #[command(flatten)]
        registry: RegistryArgs,
    },
}

#[derive(clap::Args)]
pub struct RegistryArgs {
    /// The registry's GraphQL URL.
    #[arg(long, env = "JUNCTION_REGISTRY__URL")]
    registry: String,
    /// API token with the `publish` scope.
    #[arg(long, env = "JUNCTION_REGISTRY__TOKEN", hide_env_values = true)]
    token: String,
}

/// Exit codes shared by the schema commands.
pub mod exit {
    pub const PASS: i32 = 0;
    pub const FAILED: i32 = 1;
    pub const COULD_NOT_RUN: i32 = 2;
}

pub fn run(command: SchemaCommand) -> i32 {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::COULD_NOT_RUN;
        }
    };
    runtime.block_on(async move {
        match command {
            SchemaCommand::Compose { config, output } => {
                compose::run(&config, output.as_deref()).await
            }
            SchemaCommand::Check {
                subgraph,
                schema,
                against,
                token,
                routing_url,
                operations,
                format,
            } => {
                check::run(check::CheckArgs {
                    subgraph,
                    schema,
                    against,
                    token,
                    routing_url,
                    operations,
                    format,
                })
                .await
            }
            SchemaCommand::Publish {
                subgraph,
                schema,
                routing_url,
                registry,
            } => publish::subgraph(&registry, &subgraph, &schema, &routing_url).await,
            SchemaCommand::PublishManifest {
                client,
                manifest,
                registry,
            } => publish::manifest(&registry, &client, &manifest).await,
        }
    })
}
