//! Rover's `supergraph.yaml`: which subgraphs make the supergraph and where their schemas
//! come from. The same file works with `rover supergraph compose`.
//!
//! ```yaml
//! federation_version: =2.9.0
//! subgraphs:
//!   products:
//!     routing_url: http://products:4001/graphql
//!     schema:
//!       file: ./products.graphql
//!   users:
//!     routing_url: http://users:4002/graphql
//!     schema:
//!       subgraph_url: http://127.0.0.1:4002/graphql   # fetched with `_service { sdl }`
//!       introspection_headers:
//!         authorization: Bearer …
//! ```

use anyhow::{Context, Result, bail};
use junction_schema::SubgraphInput;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupergraphConfig {
    /// Accepted for Rover compatibility: `2`, `=2.x.y`. Federation 1 subgraphs are
    /// upgraded either way, as Rover's Federation 2 composition does.
    #[serde(default)]
    pub federation_version: Option<serde_yaml_ng::Value>,
    pub subgraphs: BTreeMap<String, SubgraphEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubgraphEntry {
    pub routing_url: Option<String>,
    pub schema: SchemaSource,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaSource {
    pub file: Option<PathBuf>,
    pub subgraph_url: Option<String>,
    #[serde(default)]
    pub introspection_headers: BTreeMap<String, String>,
    pub sdl: Option<String>,
    pub graphref: Option<String>,
    pub subgraph: Option<String>,
}

impl SupergraphConfig {
    pub fn read(path: &Path) -> Result<SupergraphConfig> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let deserializer = serde_yaml_ng::Deserializer::from_str(&text);
        let config: SupergraphConfig = serde_path_to_error::deserialize(deserializer)
            .map_err(|e| anyhow::anyhow!("{}: `{}`: {}", path.display(), e.path(), e.inner()))?;
        if let Some(version) = &config.federation_version {
            let text = match version {
                serde_yaml_ng::Value::Number(n) => n.to_string(),
                serde_yaml_ng::Value::String(s) => s.clone(),
                _ => String::new(),
            };
            let digits = text.trim_start_matches('=');
            if !(digits == "2" || digits.starts_with("2.")) {
                bail!(
                    "{}: `federation_version`: `{text}` is not supported (use 2 or =2.x.y)",
                    path.display()
                );
            }
        }
        if config.subgraphs.is_empty() {
            bail!("{}: `subgraphs`: lists no subgraph", path.display());
        }
        Ok(config)
    }

    /// Reads or fetches every subgraph's SDL. Relative files are relative to `base_dir`
    /// (the config file's directory, as in Rover).
    pub async fn resolve(&self, base_dir: &Path) -> Result<Vec<SubgraphInput>> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context("building the HTTP client")?;
        let mut inputs = Vec::with_capacity(self.subgraphs.len());
        for (name, entry) in &self.subgraphs {
            let source = &entry.schema;
            let key = format!("subgraphs.{name}.schema");
            let sdl = match (&source.file, &source.subgraph_url, &source.sdl) {
                (Some(file), None, None) => {
                    let path = base_dir.join(file);
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("`{key}.file`: reading {}", path.display()))?
                }
                (None, Some(url), None) => fetch_sdl(&client, url, &source.introspection_headers)
                    .await
                    .with_context(|| format!("`{key}.subgraph_url`: fetching from {url}"))?,
                (None, None, Some(sdl)) => sdl.clone(),
                (None, None, None) if source.graphref.is_some() => bail!(
                    "`{key}.graphref`: GraphOS graph refs ({}{}) are not supported; use \
                     `file`, `subgraph_url` or `sdl`",
                    source.graphref.as_deref().unwrap_or_default(),
                    source
                        .subgraph
                        .as_deref()
                        .map(|s| format!(", subgraph {s}"))
                        .unwrap_or_default()
                ),
                _ => bail!("`{key}`: give exactly one of `file`, `subgraph_url` or `sdl`"),
            };
            let url = entry
                .routing_url
                .clone()
                .or_else(|| source.subgraph_url.clone())
                .with_context(|| format!("`subgraphs.{name}.routing_url` is missing"))?;
            inputs.push(SubgraphInput {
                name: name.clone(),
                url,
                sdl,
            });
        }
        Ok(inputs)
    }
}

/// `{ _service { sdl } }` against a running subgraph.
pub async fn fetch_sdl(
    client: &reqwest::Client,
    url: &str,
    headers: &BTreeMap<String, String>,
) -> Result<String> {
    let mut request = client
        .post(url)
        .json(&serde_json::json!({"query": "query SubgraphIntrospectQuery { _service { sdl } }"}));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .with_context(|| format!("HTTP {status}: the response is not JSON"))?;
    if let Some(sdl) = body.pointer("/data/_service/sdl").and_then(|v| v.as_str()) {
        return Ok(sdl.to_owned());
    }
    let errors = body
        .get("errors")
        .map(|e| e.to_string())
        .unwrap_or_else(|| "no `data._service.sdl` in the response".into());
    bail!("HTTP {status}: {errors}")
}
