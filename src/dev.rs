//! Running processes: the whole platform (`dev`), one subgraph, or the router alone.

use crate::config::Config;
use crate::services;
use anyhow::{Context, Result, anyhow};
use junction_kit::events::EventBus;
use junction_kit::service::{Deps, ServiceSpec};
use junction_schema::{SubgraphInput, Supergraph};
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// `junction dev`: every subgraph on its own 127.0.0.1 port, composed, behind the router.
pub async fn run(config: Config, seed: bool, shutdown: CancellationToken) -> Result<()> {
    let kit = config.kit();
    let data_dir = kit.data_dir();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    let events = EventBus::connect(&kit.events)
        .await
        .context("connecting the event bus")?;

    let mut tasks = JoinSet::new();
    let mut inputs = Vec::new();
    let mut outboxes = Vec::new();
    let mut workers = Vec::new();
    // Listen first, so every service knows where the others are.
    let mut listeners = Vec::new();
    let mut peers = std::collections::BTreeMap::new();
    for spec in services::all() {
        let listen = config
            .subgraphs
            .get(spec.name)
            .and_then(|s| s.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = bind(listen, &format!("subgraph `{}`", spec.name)).await?;
        let url = format!("http://{}/graphql", listener.local_addr()?);
        peers.insert(spec.name.to_string(), url);
        listeners.push((spec, listener));
    }
    let peers = junction_kit::service::Peers::new(peers);
    for (spec, listener) in listeners {
        let deps = Deps::connect(
            &kit,
            &spec,
            events.clone(),
            peers.clone(),
            config.settings(spec.name),
            shutdown.clone(),
        )
        .await?;
        outboxes.push(deps.outbox.clone());
        workers.extend((spec.workers)(&deps, &shutdown));
        let app = (spec.app)(deps);
        let stop = shutdown.clone();
        let name = spec.name;
        tasks.spawn(async move {
            junction_kit::server::serve(listener, app, stop.cancelled_owned())
                .await
                .with_context(|| format!("subgraph `{name}` server"))
        });
        inputs.push(SubgraphInput {
            name: spec.name.to_string(),
            url: peers.url(spec.name).unwrap_or_default().to_owned(),
            sdl: (spec.sdl)(),
        });
    }

    let sdl = junction_schema::compose(&inputs).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
        anyhow!("the subgraphs do not compose:\n{}", lines.join("\n"))
    })?;
    let supergraph_path = data_dir.join("supergraph.graphql");
    std::fs::write(&supergraph_path, &sdl)
        .with_context(|| format!("writing {}", supergraph_path.display()))?;
    let supergraph = Supergraph::parse(&sdl).context("the composed supergraph cannot be loaded")?;

    let mut router_config = config.router.clone();
    // Local development: plans on request are worth more than hiding them.
    router_config.expose_query_plan = true;
    // Tokens are the accounts subgraph's unless the configuration names another JWKS;
    // `router.auth.jwt` settings without a `jwks_url` (a leeway, say) apply to them.
    let configured = router_config.auth.jwt.as_ref();
    if configured.is_none_or(|jwt| jwt.jwks_url.is_empty())
        && let Some(accounts) = inputs.iter().find(|i| i.name == junction_accounts::NAME)
    {
        let jwt = router_config.auth.jwt.get_or_insert_with(Default::default);
        jwt.jwks_url = accounts
            .url
            .replace("/graphql", junction_accounts::JWKS_PATH);
        jwt.issuer
            .get_or_insert_with(|| junction_accounts::keys::ISSUER.to_owned());
        jwt.audience
            .get_or_insert_with(|| junction_accounts::keys::AUDIENCE.to_owned());
    }
    let router = junction_router::Router::new(supergraph, &router_config)?;
    let listener = bind(router_config.listen, "router").await?;
    let endpoint = format!("http://{}/graphql", listener.local_addr()?);
    let stop = shutdown.clone();
    tasks.spawn(async move {
        junction_router::serve(listener, router, stop.cancelled_owned())
            .await
            .context("router server")
    });

    println!("Junction dev is running.");
    println!("  GraphQL endpoint: {endpoint}  (open it in a browser for GraphiQL)");
    for input in &inputs {
        println!("  subgraph {:<10} {}", input.name, input.url);
    }
    println!("  supergraph: {}", supergraph_path.display());
    println!("  data:       {}", data_dir.display());
    println!(
        "  backends:   database={} events={} cache={} blobs={}",
        if kit.database.url.is_some() {
            "postgres"
        } else {
            "sqlite"
        },
        events.backend_name(),
        if kit.cache.url.is_some() {
            "redis"
        } else {
            "memory"
        },
        if kit.blobs.s3.is_some() {
            "s3"
        } else {
            "local-dir"
        },
    );
    if seed {
        match crate::seed::load(&endpoint).await {
            Ok(Some(seeded)) => println!(
                "  seeded:     the demo shop ({} products, {} orders); log in as {} or ada@junction.dev, password {}",
                seeded.products,
                seeded.orders,
                crate::seed::OWNER_EMAIL,
                crate::seed::PASSWORD
            ),
            Ok(None) => println!("  seeded:     the demo shop was already there"),
            Err(e) => {
                shutdown.cancel();
                let _ = wait_all(&mut tasks, &shutdown).await;
                return Err(e.context("seeding the demo shop"));
            }
        }
    }
    println!("Press Ctrl-C to stop.");

    let result = wait_all(&mut tasks, &shutdown).await;
    shutdown.cancel();
    for worker in workers {
        let _ = worker.await;
    }
    for outbox in outboxes {
        outbox.stopped().await;
    }
    result
}

/// `junction subgraph NAME`.
pub async fn run_subgraph(
    config: &Config,
    spec: ServiceSpec,
    listen: SocketAddr,
    shutdown: CancellationToken,
) -> Result<()> {
    let kit = config.kit();
    let events = EventBus::connect(&kit.events)
        .await
        .context("connecting the event bus")?;
    let deps = Deps::connect(
        &kit,
        &spec,
        events,
        config.peers(),
        config.settings(spec.name),
        shutdown.clone(),
    )
    .await?;
    let outbox = deps.outbox.clone();
    let workers = (spec.workers)(&deps, &shutdown);
    let listener = bind(listen, &format!("subgraph `{}`", spec.name)).await?;
    println!(
        "subgraph {} listening on http://{}/graphql",
        spec.name,
        listener.local_addr()?
    );
    let app = (spec.app)(deps);
    let served = junction_kit::server::serve(listener, app, shutdown.clone().cancelled_owned())
        .await
        .context("subgraph server");
    shutdown.cancel();
    for worker in workers {
        let _ = worker.await;
    }
    outbox.stopped().await;
    served
}

/// `junction router`.
pub async fn run_router(
    config: &Config,
    supergraph: Supergraph,
    shutdown: CancellationToken,
) -> Result<()> {
    let router = junction_router::Router::new(supergraph, &config.router)?;
    let listener = bind(config.router.listen, "router").await?;
    println!(
        "router listening: GraphQL endpoint http://{}/graphql",
        listener.local_addr()?
    );
    junction_router::serve(listener, router, shutdown.cancelled_owned())
        .await
        .context("router server")
}

/// `junction router --registry URL`: the registry's supergraph, polled and hot-swapped.
pub async fn run_router_from_registry(
    config: &Config,
    url: String,
    shutdown: CancellationToken,
) -> Result<()> {
    use crate::registry_poll::{RegistryClient, first_snapshot, poll, report_usage};
    let interval = std::time::Duration::from_millis(config.registry.poll_interval_ms);
    let client = RegistryClient::new(url.clone(), config.registry.token.clone())?;
    let Some(snapshot) = first_snapshot(&client, interval, &shutdown).await? else {
        return Ok(());
    };
    let report_every = config.registry.report_usage_interval_ms;
    let mut router_config = config.router.clone();
    router_config.record_usage |= report_every > 0;
    let router = junction_router::Router::with_manifests(
        snapshot.supergraph,
        &router_config,
        snapshot.manifests,
    )?;
    if let Some(usage) = router.handle().usage()
        && report_every > 0
    {
        tokio::spawn(report_usage(
            client.clone(),
            usage,
            std::time::Duration::from_millis(report_every),
            shutdown.clone(),
        ));
    }
    tokio::spawn(poll(
        client,
        router.handle(),
        snapshot.version,
        interval,
        shutdown.clone(),
    ));
    let listener = bind(config.router.listen, "router").await?;
    println!(
        "router listening: GraphQL endpoint http://{}/graphql (supergraph from {url})",
        listener.local_addr()?
    );
    junction_router::serve(listener, router, shutdown.cancelled_owned())
        .await
        .context("router server")
}

/// `junction registry serve`.
pub async fn run_registry(config: &Config, shutdown: CancellationToken) -> Result<()> {
    let kit = config.kit();
    let registry = junction_registry::Registry::connect(&kit.database, &kit.data_dir())
        .await
        .context("starting the registry")?;
    let listener = bind(config.registry.listen, "registry").await?;
    println!(
        "registry listening: http://{}/graphql",
        listener.local_addr()?
    );
    axum::serve(listener, registry.app())
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .context("registry server")
}

async fn bind(address: SocketAddr, what: &str) -> Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .with_context(|| format!("{what} cannot listen on {address}"))
}

/// Waits for every server; if one fails, stops the others and reports it.
async fn wait_all(tasks: &mut JoinSet<Result<()>>, shutdown: &CancellationToken) -> Result<()> {
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        let outcome = match joined {
            Ok(result) => result,
            Err(e) => Err(anyhow!("a server task failed: {e}")),
        };
        if let Err(e) = outcome {
            if first_error.is_none() {
                first_error = Some(e);
            }
            shutdown.cancel();
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
