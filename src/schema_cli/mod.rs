//! `junction schema …`: the schema tooling a platform team runs in CI.
//!
//! Every command returns its exit code rather than an error: 0 when it passed, 1 when
//! the check failed (the schema does not compose, or the change breaks clients), 2 when
//! it could not run at all (unreadable files, a subgraph or registry that is down).

mod compose;
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
        }
    })
}
