//! `junction schema publish` and `publish-manifest`: CI on merge.

use super::{RegistryArgs, exit};
use crate::registry_poll::RegistryClient;
use serde_json::json;
use std::path::Path;

pub async fn subgraph(
    registry: &RegistryArgs,
    name: &str,
    schema: &Path,
    routing_url: &str,
) -> i32 {
    let sdl = match std::fs::read_to_string(schema) {
        Ok(sdl) => sdl,
        Err(e) => {
            eprintln!("error: reading {}: {e}", schema.display());
            return exit::COULD_NOT_RUN;
        }
    };
    let result = call(
        registry,
        "mutation($name: String!, $url: String!, $sdl: String!) {
          publishSubgraph(name: $name, routingUrl: $url, sdl: $sdl) {
            accepted unchanged errors { code message } supergraph { id summary }
          }
        }",
        json!({"name": name, "url": routing_url, "sdl": sdl}),
    )
    .await;
    let data = match result {
        Ok(data) => data["publishSubgraph"].clone(),
        Err(code) => return code,
    };
    if data["accepted"] == true {
        if data["unchanged"] == true {
            println!("`{name}` is unchanged; nothing published");
        } else {
            println!(
                "published `{name}`; supergraph {}: {}",
                data["supergraph"]["id"].as_str().unwrap_or("?"),
                data["supergraph"]["summary"].as_str().unwrap_or("")
            );
        }
        return exit::PASS;
    }
    for error in data["errors"].as_array().into_iter().flatten() {
        eprintln!("error: {}", error["message"].as_str().unwrap_or_default());
    }
    eprintln!("error: `{name}` does not compose; the registry kept the supergraph in service");
    exit::FAILED
}

pub async fn manifest(registry: &RegistryArgs, client: &str, path: &Path) -> i32 {
    let manifest = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: reading {}: {e}", path.display());
            return exit::COULD_NOT_RUN;
        }
    };
    let result = call(
        registry,
        "mutation($client: String!, $manifest: String!) {
          publishPersistedQueryManifest(client: $client, manifest: $manifest) { accepted errors operations }
        }",
        json!({"client": client, "manifest": manifest}),
    )
    .await;
    let data = match result {
        Ok(data) => data["publishPersistedQueryManifest"].clone(),
        Err(code) => return code,
    };
    if data["accepted"] == true {
        println!(
            "published {} operation(s) for client `{client}`",
            data["operations"]
        );
        return exit::PASS;
    }
    for error in data["errors"].as_array().into_iter().flatten() {
        eprintln!("error: {}", error.as_str().unwrap_or_default());
    }
    exit::FAILED
}

async fn call(
    registry: &RegistryArgs,
    query: &str,
    variables: serde_json::Value,
) -> Result<serde_json::Value, i32> {
    let client = RegistryClient::new(registry.registry.clone(), Some(registry.token.clone()))
        .map_err(|e| {
            eprintln!("error: {e:#}");
            exit::COULD_NOT_RUN
        })?;
    client.call(query, variables).await.map_err(|e| {
        eprintln!("error: {e:#}");
        exit::COULD_NOT_RUN
    })
}
