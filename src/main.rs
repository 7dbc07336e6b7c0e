//! `junction`: the whole platform in one binary.

mod config;
mod dev;
mod registry_poll;
mod schema_cli;
mod seed;
mod services;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use config::Config;
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "junction",
    version,
    about = "GraphQL federation platform: router, subgraphs and schema tooling"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum RegistryCommand {
    /// Serve the registry's GraphQL API (database from `database`, PostgreSQL or SQLite).
    Serve {
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Create an API token and print its secret (stored only as a hash).
    CreateToken {
        #[arg(long)]
        name: String,
        /// Comma-separated: read, check, publish, report.
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
    },
}

/// The platform configuration, for the commands that run services.
#[derive(clap::Args)]
struct PlatformArgs {
    /// Configuration file (YAML). `JUNCTION_*` environment variables override its keys.
    #[arg(long, env = "JUNCTION_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run every subgraph and the router on this machine (embedded backends unless configured).
    Dev {
        #[command(flatten)]
        platform: PlatformArgs,
        /// Router address (default: `router.listen`, 127.0.0.1:4000).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Where embedded backends keep data (default: `data_dir`, ./.junction).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Load the demo shop (accounts, 300 products, orders) unless it is there already.
        #[arg(long)]
        seed: bool,
    },
    /// Run one subgraph (the production shape: one per pod).
    Subgraph {
        #[command(flatten)]
        platform: PlatformArgs,
        /// accounts, users, products, orders, notifications, search or media
        name: String,
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Run the router alone over a supergraph file.
    Router {
        #[command(flatten)]
        platform: PlatformArgs,
        #[arg(long)]
        supergraph: Option<PathBuf>,
        /// Fetch the supergraph (and persisted-query manifests) from this registry and
        /// poll it for new ones (default: `registry.url`).
        #[arg(long)]
        registry: Option<String>,
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// The schema registry.
    Registry {
        #[command(flatten)]
        platform: PlatformArgs,
        #[command(subcommand)]
        command: RegistryCommand,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        platform: PlatformArgs,
        /// Only this subgraph (default: all).
        #[arg(long)]
        service: Option<String>,
    },
    /// Print the query plan for an operation.
    Plan {
        #[arg(long)]
        supergraph: PathBuf,
        /// The operation text, or `@file` to read it from a file.
        #[arg(long)]
        query: String,
        #[arg(long)]
        operation_name: Option<String>,
    },
    /// Print a subgraph's federation SDL.
    Sdl { name: String },
    /// Schema tooling for CI: compose, check, publish.
    #[command(subcommand)]
    Schema(schema_cli::SchemaCommand),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Command::Schema(command) = cli.command {
        // Schema commands report through their exit code: 0 pass, 1 check failed, 2 could
        // not run.
        std::process::exit(schema_cli::run(command));
    }
    let config_file = match &cli.command {
        Command::Dev { platform, .. }
        | Command::Subgraph { platform, .. }
        | Command::Router { platform, .. }
        | Command::Migrate { platform, .. }
        | Command::Registry { platform, .. } => platform.config.clone(),
        _ => None,
    };
    let mut config = Config::load(config_file.as_deref())?;
    junction_kit::telemetry::init(&config.log)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Dev {
                listen,
                data_dir,
                seed,
                ..
            } => {
                if let Some(listen) = listen {
                    config.router.listen = listen;
                }
                if let Some(dir) = data_dir {
                    config.data_dir = Some(dir);
                }
                if seed {
                    config.make_admin(seed::OWNER_EMAIL);
                }
                dev::run(config, seed, shutdown_signal()).await
            }
            Command::Subgraph { name, listen, .. } => {
                let Some(spec) = services::find(&name) else {
                    bail!("unknown subgraph `{name}` (known: {})", known_services());
                };
                let listen = listen
                    .or_else(|| config.subgraphs.get(&name).and_then(|s| s.listen))
                    .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 4001)));
                dev::run_subgraph(&config, spec, listen, shutdown_signal()).await
            }
            Command::Router {
                supergraph,
                registry,
                listen,
                ..
            } => {
                if let Some(listen) = listen {
                    config.router.listen = listen;
                }
                if let Some(url) = registry.or_else(|| config.registry.url.clone()) {
                    return dev::run_router_from_registry(&config, url, shutdown_signal()).await;
                }
                let Some(path) = supergraph.or_else(|| config.router.supergraph.clone()) else {
                    bail!(
                        "no supergraph: pass --supergraph FILE or --registry URL, or set \
                         `router.supergraph` or `registry.url`"
                    );
                };
                let supergraph = junction_router::load_supergraph(&path)?;
                dev::run_router(&config, supergraph, shutdown_signal()).await
            }
            Command::Registry { command, .. } => match command {
                RegistryCommand::Serve { listen } => {
                    if let Some(listen) = listen {
                        config.registry.listen = listen;
                    }
                    dev::run_registry(&config, shutdown_signal()).await
                }
                RegistryCommand::CreateToken { name, scopes } => {
                    let kit = config.kit();
                    let registry =
                        junction_registry::Registry::connect(&kit.database, &kit.data_dir())
                            .await?;
                    let secret = junction_registry::create_token(&registry, &name, &scopes).await?;
                    println!("{secret}");
                    Ok(())
                }
            },
            Command::Migrate { service, .. } => {
                let specs: Vec<_> = match service {
                    Some(name) => vec![services::find(&name).with_context(|| {
                        format!("unknown subgraph `{name}` (known: {})", known_services())
                    })?],
                    None => services::all().to_vec(),
                };
                for spec in specs {
                    let applied = junction_kit::service::migrate(&config.kit(), &spec).await?;
                    println!("{}: {} migration(s) applied", spec.name, applied.len());
                }
                Ok(())
            }
            Command::Plan {
                supergraph,
                query,
                operation_name,
            } => {
                let query = match query.strip_prefix('@') {
                    Some(file) => {
                        std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?
                    }
                    None => query,
                };
                let supergraph = junction_router::load_supergraph(&supergraph)?;
                match junction_router::explain(supergraph, &query, operation_name.as_deref()) {
                    Ok(plan) => {
                        println!("{plan}");
                        Ok(())
                    }
                    Err(errors) => {
                        for error in errors {
                            eprintln!("error: {}", error.message);
                        }
                        bail!("the operation cannot be planned")
                    }
                }
            }
            Command::Sdl { name } => {
                let Some(spec) = services::find(&name) else {
                    bail!("unknown subgraph `{name}` (known: {})", known_services());
                };
                print!("{}", (spec.sdl)());
                Ok(())
            }
            Command::Schema(_) => unreachable!("handled before the runtime starts"),
        }
    })
}

fn known_services() -> String {
    services::all()
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Cancelled on Ctrl-C or SIGTERM.
fn shutdown_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for SIGTERM");
                        let _ = ctrl_c.await;
                        cancel.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
        cancel.cancel();
    });
    token
}
