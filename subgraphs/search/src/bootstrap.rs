//! Filling the index from the products subgraph before the events: `junction dev`'s
//! in-process bus forgets events when the process stops, and a NATS stream may have let
//! old ones expire. The consumer starts after this, from the beginning of the stream, and
//! every event carries the product's whole state (or its stock), so replaying events older
//! than the snapshot ends where the snapshot is, and newer ones win.

use crate::index::{IndexedProduct, ProductIndex};
use junction_kit::service::Deps;
use serde::Deserialize;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const PAGE: &str = "query($after: String) {
    products(first: 100, after: $after) {
        edges { node { id name description priceCents stock category } }
        pageInfo { hasNextPage endCursor }
    }
}";
const TIMEOUT: Duration = Duration::from_secs(10);
/// Products may start after search: keep asking for about a minute, then rely on events.
const ATTEMPTS: u32 = 12;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    edges: Vec<Edge>,
    page_info: PageInfo,
}

#[derive(Deserialize)]
struct Edge {
    node: Node,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Node {
    id: String,
    name: String,
    description: String,
    price_cents: i64,
    stock: i64,
    category: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

/// Indexes every product the products subgraph lists; returns how many, or `None` when
/// it has no URL for products, stayed unreachable, or shutdown came first.
pub async fn load(
    deps: &Deps,
    index: &ProductIndex,
    shutdown: &CancellationToken,
) -> Option<usize> {
    deps.peers.url("products")?;
    let mut delay = Duration::from_millis(250);
    for attempt in 1..=ATTEMPTS {
        match load_once(deps, index).await {
            Ok(count) => return Some(count),
            Err(e) if attempt == ATTEMPTS => {
                tracing::warn!(error = %e, "cannot read the catalogue; the index follows events only");
            }
            Err(e) => {
                tracing::debug!(error = %e, attempt, "cannot read the catalogue yet; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return None,
                    _ = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(8));
            }
        }
    }
    None
}

async fn load_once(deps: &Deps, index: &ProductIndex) -> Result<usize, String> {
    let mut after: Option<String> = None;
    let mut count = 0;
    loop {
        let body = deps
            .peers
            .graphql(
                crate::NAME,
                "products",
                PAGE,
                serde_json::json!({ "after": after }),
                TIMEOUT,
            )
            .await
            .map_err(|e| e.to_string())?;
        if let Some(error) = body["errors"].as_array().and_then(|e| e.first()) {
            return Err(format!("products answered with an error: {error}"));
        }
        let page: Page = serde_json::from_value(body["data"]["products"].clone())
            .map_err(|e| format!("unexpected products page: {e}"))?;
        count += page.edges.len();
        let products = page
            .edges
            .into_iter()
            .map(|Edge { node }| IndexedProduct {
                id: node.id,
                name: node.name,
                description: node.description,
                category: node.category,
                price_cents: node.price_cents,
                stock: node.stock,
            })
            .collect();
        index.upsert_all(products).map_err(|e| e.to_string())?;
        match page.page_info.end_cursor {
            Some(cursor) if page.page_info.has_next_page => after = Some(cursor),
            _ => return Ok(count),
        }
    }
}
