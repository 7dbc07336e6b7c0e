//! `junction-testkit serve DIR [--listen ADDR]`: serves a fixture's subgraphs and prints
//! `name url` lines, for the differential refresh script and the load benchmark.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "junction-testkit")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the subgraphs of a fixture directory until killed.
    Serve {
        dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let Command::Serve { dir, listen } = cli.command;
    let fixture = junction_testkit::Fixture::load(&dir)
        .with_context(|| format!("loading fixture {}", dir.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async move {
        let running = junction_testkit::serve(Arc::new(fixture), listen).await?;
        for (name, url) in running.urls() {
            println!("{name} {url}");
        }
        println!("ready");
        tokio::signal::ctrl_c().await?;
        drop(running);
        Ok(())
    })
}
