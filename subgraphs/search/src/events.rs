//! Feeding the index: the catalogue as the products subgraph lists it (see
//! [`crate::bootstrap`]), then every product event from the beginning of the stream,
//! through a durable consumer named for this replica.

use crate::index::{IndexedProduct, ProductIndex};
use junction_kit::consumer::{self, Consumer, HandlerError};
use junction_kit::events::Envelope;
use junction_kit::service::Deps;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub fn workers(deps: &Deps, shutdown: &CancellationToken) -> Vec<tokio::task::JoinHandle<()>> {
    // A consumer per process: each replica sees every event and builds its own index.
    let durable: &'static str =
        Box::leak(format!("search_index_{}", uuid::Uuid::now_v7().simple()).into_boxed_str());
    let consumer = Consumer {
        durable,
        filter: "products.>",
        max_deliveries: 5,
        // This replica's own: gone from NATS an hour after the replica is.
        inactive_threshold: Some(std::time::Duration::from_secs(3_600)),
    };
    let index = crate::index();
    let deps = deps.clone();
    let shutdown = shutdown.clone();
    vec![tokio::spawn(async move {
        // The catalogue first, then every event from the start of the stream.
        if let Some(count) = crate::bootstrap::load(&deps, &index, &shutdown).await {
            tracing::info!(products = count, "index loaded from the catalogue");
        }
        consumer::run(deps.events.clone(), consumer, shutdown, move |event| {
            let index = index.clone();
            async move { apply(&index, &event) }
        })
        .await
    })]
}

fn apply(index: &Arc<ProductIndex>, event: &Envelope) -> Result<(), HandlerError> {
    let p = &event.payload;
    let text = |key: &str| p[key].as_str().unwrap_or_default().to_owned();
    let id = text("id");
    if id.is_empty() {
        return Err(HandlerError(format!("{} without `id`", event.event_type)));
    }
    let outcome = match event.event_type.as_str() {
        "products.created" | "products.updated" => index.upsert(IndexedProduct {
            id,
            name: text("name"),
            description: text("description"),
            category: p["category"].as_str().unwrap_or("general").to_owned(),
            price_cents: p["priceCents"].as_i64().unwrap_or(0),
            stock: p["stock"].as_i64().unwrap_or(0),
        }),
        "products.stock_changed" => index.set_stock(&id, p["stock"].as_i64().unwrap_or(0)),
        "products.deleted" => index.delete(&id),
        _ => Ok(()),
    };
    outcome.map_err(HandlerError::new)
}
