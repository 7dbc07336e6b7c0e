//! The orders service's background work: the payment worker pool (consumes
//! `orders.placed`, asks the simulated provider, publishes `payments.succeeded` or
//! `payments.failed`) and the order lifecycle (consumes those and moves the order to paid
//! or cancelled, publishing `orders.paid` / `orders.cancelled`).

use crate::settings::{PaymentSettings, Settings};
use crate::store::{self, CANCELLED, OrderRow, PAID, PENDING, PaymentRow};
use junction_kit::consumer::{self, Consumer, HandlerError};
use junction_kit::events::Envelope;
use junction_kit::service::Deps;
use serde_json::json;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The payment worker pool's durable consumer (every worker shares it).
pub const PAYMENTS: Consumer = Consumer {
    durable: "orders_payments",
    filter: "orders.placed",
    max_deliveries: 10,
    inactive_threshold: None,
};

/// Payment outcomes applied to orders.
pub const LIFECYCLE: Consumer = Consumer {
    durable: "orders_lifecycle",
    filter: "payments.*",
    max_deliveries: 10,
    inactive_threshold: None,
};

/// The payment method the simulated provider always declines (like a card-network test
/// card), so clients and tests can exercise the failure path on purpose.
pub const DECLINED_METHOD: &str = "pm_card_declined";
/// Why an order whose stock hold ran out before payment is cancelled.
pub const HOLD_EXPIRED: &str = "the stock hold expired before payment";
/// How long before the hold ends a charge is no longer started.
const HOLD_MARGIN: chrono::Duration = chrono::Duration::seconds(5);

pub fn workers(deps: &Deps, shutdown: &CancellationToken) -> Vec<tokio::task::JoinHandle<()>> {
    // Checked at start-up (`check_settings`); the defaults only stand in for tests that
    // build `Deps` by hand.
    let settings = Settings::parse(&deps.settings).unwrap_or_default();
    let mut tasks = Vec::new();
    for _ in 0..settings.payments.workers {
        let deps = deps.clone();
        let payments = settings.payments.clone();
        tasks.push(tokio::spawn(consumer::run(
            deps.events.clone(),
            PAYMENTS,
            shutdown.clone(),
            move |event| {
                let deps = deps.clone();
                let payments = payments.clone();
                async move { charge(&deps, &payments, event).await }
            },
        )));
    }
    let deps = deps.clone();
    tasks.push(tokio::spawn(consumer::run(
        deps.events.clone(),
        LIFECYCLE,
        shutdown.clone(),
        move |event| {
            let deps = deps.clone();
            async move { apply_payment(&deps, event).await }
        },
    )));
    tasks
}

/// Asks the simulated provider to charge the order, then records the outcome and its
/// event together (once per order, however often `orders.placed` is delivered).
async fn charge(
    deps: &Deps,
    settings: &PaymentSettings,
    event: Envelope,
) -> Result<(), HandlerError> {
    let field = |key: &str| {
        event.payload[key]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| HandlerError(format!("orders.placed without `{key}`")))
    };
    let order_id = field("orderId")?;
    let user_id = event.payload["userId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let method = field("paymentMethod")?;
    let amount = event.payload["totalCents"].as_i64().unwrap_or(0);
    let currency = field("currency")?;

    // Charging for stock no longer held could sell what is gone: past (or too near) the
    // hold's end, the order is cancelled uncharged. Events from before this field carry
    // none and are charged.
    let hold_expires_at = event.payload["holdExpiresAt"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    let deadline = chrono::Utc::now()
        + chrono::Duration::milliseconds(settings.latency_ms as i64)
        + HOLD_MARGIN;
    let hold_expired = hold_expires_at.is_some_and(|end| end <= deadline);
    if !hold_expired {
        tokio::time::sleep(Duration::from_millis(settings.latency_ms)).await;
    }
    let declined = if hold_expired {
        Some(HOLD_EXPIRED.to_owned())
    } else if method == DECLINED_METHOD {
        Some("the card was declined".to_owned())
    } else if random_unit() < settings.failure_rate {
        Some("the payment provider declined the charge".to_owned())
    } else {
        None
    };
    let payment = PaymentRow {
        id: uuid::Uuid::now_v7().to_string(),
        order_id: order_id.clone(),
        succeeded: declined.is_none(),
        amount_cents: amount,
        currency: currency.clone(),
        failure_reason: declined.clone(),
        created_at: store::now(),
    };
    let outcome = match &declined {
        None => Envelope::new(
            "payments.succeeded",
            payment.id.clone(),
            json!({"paymentId": payment.id, "orderId": order_id, "userId": user_id, "amountCents": amount, "currency": currency}),
        ),
        Some(reason) => Envelope::new(
            "payments.failed",
            payment.id.clone(),
            json!({"paymentId": payment.id, "orderId": order_id, "userId": user_id, "reason": reason}),
        ),
    };
    if store::record_payment(&deps.db, PAYMENTS.durable, &event.id, &payment, &outcome)
        .await
        .map_err(HandlerError::new)?
    {
        deps.outbox.notify();
    }
    Ok(())
}

/// A uniform number in [0, 1).
fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 1.0;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// `payments.succeeded` pays a pending order; `payments.failed` cancels it (and the
/// cancellation releases its stock in the products subgraph).
async fn apply_payment(deps: &Deps, event: Envelope) -> Result<(), HandlerError> {
    let Some(order_id) = event.payload["orderId"].as_str() else {
        return Err(HandlerError(format!(
            "{} without `orderId`",
            event.event_type
        )));
    };
    let (to, reason) = match event.event_type.as_str() {
        "payments.succeeded" => (PAID, None),
        "payments.failed" => (
            CANCELLED,
            Some(
                event.payload["reason"]
                    .as_str()
                    .unwrap_or("payment failed")
                    .to_owned(),
            ),
        ),
        _ => return Ok(()),
    };
    let moved = store::transition(
        &deps.db,
        order_id,
        &[PENDING],
        to,
        reason,
        Some((LIFECYCLE.durable, &event.id)),
        order_event,
    )
    .await
    .map_err(HandlerError::new)?;
    if moved.is_some() {
        deps.outbox.notify();
    }
    Ok(())
}

/// The event announcing an order's new state (`orders.paid`, `orders.cancelled`, …).
pub fn order_event(order: &OrderRow) -> Envelope {
    Envelope::new(
        format!("orders.{}", order.state),
        order.id.clone(),
        json!({
            "orderId": order.id,
            "userId": order.user_id,
            "state": order.state,
            "reservationId": order.reservation_id,
            "totalCents": order.total_cents,
            "currency": order.currency,
            "reason": order.failure_reason,
        }),
    )
}
