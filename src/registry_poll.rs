//! A router's side of the registry: fetch the supergraph and manifests, then poll and
//! hot-swap. When the registry is down the router keeps serving what it has.

use anyhow::{Context, Result, anyhow, bail};
use junction_router::RouterHandle;
use junction_router::persisted::ClientManifest;
use junction_router::usage::UsageRecorder;
use junction_schema::Supergraph;
use junction_schema::persisted::Manifest;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const QUERY: &str = "{ supergraph { id sdl } persistedQueryManifests { client manifest } }";

/// What the registry serves now.
pub struct Snapshot {
    /// Changes when the supergraph or any manifest changes.
    pub version: String,
    pub supergraph: Supergraph,
    pub manifests: Vec<ClientManifest>,
}

#[derive(Clone)]
pub struct RegistryClient {
    http: reqwest::Client,
    url: String,
    token: Option<String>,
}

impl RegistryClient {
    pub fn new(url: String, token: Option<String>) -> Result<RegistryClient> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .context("building the HTTP client")?;
        Ok(RegistryClient { http, url, token })
    }

    /// Runs a GraphQL operation against the registry; errors name the registry's message.
    pub async fn call(
        &self,
        query: &str,
        variables: serde_json::Value,
    ) -> Result<serde_json::Value> {
        let mut request = self
            .http
            .post(&self.url)
            .json(&json!({"query": query, "variables": variables}));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("registry {} is unreachable", self.url))?;
        let status = response.status();
        let body: serde_json::Value = response
            .json()
            .await
            .with_context(|| format!("registry answered HTTP {status} without JSON"))?;
        if let Some(errors) = body.get("errors").and_then(|e| e.as_array())
            && let Some(first) = errors.first()
        {
            bail!(
                "registry: {}",
                first["message"].as_str().unwrap_or("unknown error")
            );
        }
        Ok(body["data"].clone())
    }

    pub async fn snapshot(&self) -> Result<Option<Snapshot>> {
        let data = self.call(QUERY, json!({})).await?;
        let Some(sdl) = data["supergraph"]["sdl"].as_str() else {
            return Ok(None);
        };
        let mut version = data["supergraph"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let mut manifests = Vec::new();
        for entry in data["persistedQueryManifests"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let client = entry["client"].as_str().unwrap_or_default().to_owned();
            let text = entry["manifest"].as_str().unwrap_or_default();
            version.push_str(&format!(
                "|{client}:{}",
                junction_router::persisted::sha256_hex(text)
            ));
            let manifest =
                Manifest::parse(text).map_err(|e| anyhow!("manifest of `{client}`: {e}"))?;
            manifests.push(ClientManifest {
                client: Some(client),
                manifest,
            });
        }
        let supergraph = Supergraph::parse(sdl).context("the registry's supergraph")?;
        Ok(Some(Snapshot {
            version,
            supergraph,
            manifests,
        }))
    }
}

/// Waits until the registry has a supergraph (retrying every `interval`).
pub async fn first_snapshot(
    client: &RegistryClient,
    interval: Duration,
    shutdown: &CancellationToken,
) -> Result<Option<Snapshot>> {
    loop {
        match client.snapshot().await {
            Ok(Some(snapshot)) => return Ok(Some(snapshot)),
            Ok(None) => tracing::warn!("the registry has no supergraph yet; waiting"),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "cannot fetch the supergraph; retrying")
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(None),
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

/// Polls every `interval` and swaps in what changed, until `shutdown`.
pub async fn poll(
    client: RegistryClient,
    handle: RouterHandle,
    mut version: String,
    interval: Duration,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        match client.snapshot().await {
            Ok(Some(snapshot)) if snapshot.version != version => {
                match handle.swap(snapshot.supergraph, snapshot.manifests) {
                    Ok(()) => {
                        tracing::info!(version = %snapshot.version, "new supergraph in service");
                        version = snapshot.version;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "the registry's supergraph is unusable; keeping the current one")
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "registry unreachable; serving the last good supergraph")
            }
        }
    }
}

const REPORT_USAGE: &str =
    "mutation($operations: [UsageInput!]!) { reportUsage(operations: $operations) }";

/// Sends the operations clients ran every `interval` (and once more at shutdown). Counts
/// the registry did not take are kept for the next report.
pub async fn report_usage(
    client: RegistryClient,
    usage: Arc<UsageRecorder>,
    interval: Duration,
    shutdown: CancellationToken,
) {
    loop {
        let stopping = tokio::select! {
            _ = shutdown.cancelled() => true,
            _ = tokio::time::sleep(interval) => false,
        };
        let operations = usage.drain();
        if !operations.is_empty() {
            let payload: Vec<serde_json::Value> = operations
                .iter()
                .map(|op| json!({"client": op.client, "body": op.body, "count": op.count}))
                .collect();
            match client
                .call(REPORT_USAGE, json!({ "operations": payload }))
                .await
            {
                Ok(_) => tracing::debug!(operations = operations.len(), "usage reported"),
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "usage report failed; keeping the counts for the next one");
                    usage.restore(operations);
                }
            }
        }
        if stopping {
            return;
        }
    }
}
