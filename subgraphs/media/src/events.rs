//! `products.deleted` removes the product's images: their blobs, then their rows.

use crate::store;
use junction_kit::consumer::{self, Consumer, HandlerError};
use junction_kit::events::Envelope;
use junction_kit::service::Deps;
use tokio_util::sync::CancellationToken;

pub const DELETED_PRODUCTS: Consumer = Consumer {
    durable: "media_deleted_products",
    filter: "products.deleted",
    max_deliveries: 10,
    inactive_threshold: None,
};

pub fn workers(deps: &Deps, shutdown: &CancellationToken) -> Vec<tokio::task::JoinHandle<()>> {
    let deps = deps.clone();
    vec![tokio::spawn(consumer::run(
        deps.events.clone(),
        DELETED_PRODUCTS,
        shutdown.clone(),
        move |event| {
            let deps = deps.clone();
            async move { remove(&deps, event).await }
        },
    ))]
}

async fn remove(deps: &Deps, event: Envelope) -> Result<(), HandlerError> {
    let Some(product) = event.payload["id"].as_str() else {
        return Err(HandlerError("products.deleted without `id`".into()));
    };
    let keys = store::blob_keys_of(&deps.db, product)
        .await
        .map_err(HandlerError::new)?;
    for key in &keys {
        deps.blobs.delete(key).await.map_err(HandlerError::new)?;
    }
    store::remove_product(&deps.db, DELETED_PRODUCTS.durable, &event.id, product)
        .await
        .map_err(HandlerError::new)?;
    if !keys.is_empty() {
        tracing::info!(
            product,
            images = keys.len(),
            "images of a deleted product removed"
        );
    }
    Ok(())
}
