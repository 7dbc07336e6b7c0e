//! The one call orders makes to another subgraph directly: holding stock at checkout
//! (`reserveStock`, which the products subgraph keeps out of the public API).

use junction_kit::service::Deps;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReservedLine {
    pub product_id: String,
    pub name: String,
    pub quantity: i32,
    pub unit_price_cents: i64,
    pub currency: String,
}

/// Stock held for an order, until `expires_at`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub lines: Vec<ReservedLine>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReserveError {
    /// Products refused (out of stock, unknown product): its error, passed on.
    #[error("{message}")]
    Refused {
        message: String,
        code: String,
        product_id: Option<String>,
    },
    #[error("the products subgraph is unavailable: {0}")]
    Unavailable(String),
}

pub async fn reserve(
    deps: &Deps,
    reservation_id: &str,
    items: &[(String, i32)],
    ttl_seconds: i32,
) -> Result<Reservation, ReserveError> {
    let query = "mutation($id: ID!, $items: [StockItemInput!]!, $ttl: Int!) {
        reserveStock(reservationId: $id, items: $items, ttlSeconds: $ttl) {
            expiresAt lines { productId name quantity unitPriceCents currency }
        }
    }";
    let items: Vec<_> = items
        .iter()
        .map(|(product_id, quantity)| json!({"productId": product_id, "quantity": quantity}))
        .collect();
    let variables = json!({"id": reservation_id, "items": items, "ttl": ttl_seconds});
    let body = deps
        .peers
        .graphql(crate::NAME, "products", query, variables, TIMEOUT)
        .await
        .map_err(|e| ReserveError::Unavailable(e.to_string()))?;
    if let Some(error) = body["errors"].as_array().and_then(|e| e.first()) {
        return Err(ReserveError::Refused {
            message: error["message"]
                .as_str()
                .unwrap_or("stock could not be reserved")
                .to_owned(),
            code: error["extensions"]["code"]
                .as_str()
                .unwrap_or("INTERNAL_SERVER_ERROR")
                .to_owned(),
            product_id: error["extensions"]["productId"].as_str().map(str::to_owned),
        });
    }
    serde_json::from_value(body["data"]["reserveStock"].clone())
        .map_err(|e| ReserveError::Unavailable(format!("unexpected reserveStock answer: {e}")))
}
