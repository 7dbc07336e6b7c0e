//! What the products subgraph does in the background: settle reservations when orders
//! are paid or cancelled, and release reservations nobody settled in time.

use crate::reservations::{self, COMMITTED, RELEASED};
use crate::store;
use junction_kit::consumer::{self, Consumer, HandlerError};
use junction_kit::events::Envelope;
use junction_kit::service::Deps;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// `orders.paid` commits the order's reservation, `orders.cancelled` releases it.
pub const ORDER_OUTCOMES: Consumer = Consumer {
    durable: "products_reservations",
    filter: "orders.*",
    max_deliveries: 10,
    inactive_threshold: None,
};

/// Every product event drops the product's cache entry (all replicas share the cache, so
/// one consumer suffices).
pub const CACHE: Consumer = Consumer {
    durable: "products_cache",
    filter: "products.>",
    max_deliveries: 5,
    inactive_threshold: None,
};

/// How often expired reservations are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

pub fn workers(deps: &Deps, shutdown: &CancellationToken) -> Vec<tokio::task::JoinHandle<()>> {
    let consumer_deps = deps.clone();
    let sweeper_deps = deps.clone();
    let cache_deps = deps.clone();
    vec![
        tokio::spawn(consumer::run(
            deps.events.clone(),
            CACHE,
            shutdown.clone(),
            move |event| {
                let deps = cache_deps.clone();
                async move {
                    if let Some(id) = event.payload["id"].as_str() {
                        deps.cache.invalidate(&store::cache_key(id)).await;
                    }
                    Ok(())
                }
            },
        )),
        tokio::spawn(consumer::run(
            deps.events.clone(),
            ORDER_OUTCOMES,
            shutdown.clone(),
            move |event| {
                let deps = consumer_deps.clone();
                async move { settle(&deps, event).await }
            },
        )),
        tokio::spawn(sweep(sweeper_deps, shutdown.clone())),
    ]
}

async fn settle(deps: &Deps, event: Envelope) -> Result<(), HandlerError> {
    let to = match event.event_type.as_str() {
        "orders.paid" => COMMITTED,
        "orders.cancelled" => RELEASED,
        _ => return Ok(()),
    };
    let Some(reservation) = event.payload["reservationId"].as_str() else {
        return Err(HandlerError(format!(
            "{} without `reservationId`",
            event.event_type
        )));
    };
    let moved = reservations::settle(
        &deps.db,
        reservation,
        to,
        Some((ORDER_OUTCOMES.durable, &event.id)),
        store::stock_changed,
    )
    .await
    .map_err(HandlerError::new)?;
    if moved {
        deps.outbox.notify();
        tracing::info!(reservation, state = to, "reservation settled");
    }
    Ok(())
}

/// Releases held reservations past their expiry, until `shutdown`.
async fn sweep(deps: Deps, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
        }
        let now = chrono::Utc::now().naive_utc();
        let expired = match reservations::expired(&deps.db, now).await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look for expired reservations");
                continue;
            }
        };
        for id in expired {
            match reservations::settle(&deps.db, &id, RELEASED, None, store::stock_changed).await {
                Ok(true) => {
                    deps.outbox.notify();
                    tracing::info!(reservation = %id, "expired reservation released");
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(reservation = %id, error = %e, "cannot release"),
            }
        }
    }
}
