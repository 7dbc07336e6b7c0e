//! The notifications service's background work: order events become notifications for
//! their user, and order and payment events deliveries for every interested webhook (one
//! transaction per event, applied once); a loop delivers the webhooks.

use crate::settings::Settings;
use crate::store::{self, DeliveryRow, NotificationRow, PENDING};
use crate::webhooks;
use junction_kit::consumer::{self, Consumer, HandlerError};
use junction_kit::events::Envelope;
use junction_kit::service::Deps;
use tokio_util::sync::CancellationToken;

pub const ORDER_EVENTS: Consumer = Consumer {
    durable: "notifications_orders",
    filter: "orders.*",
    max_deliveries: 10,
    inactive_threshold: None,
};

/// Payment outcomes: for webhooks only (the user hears of them as the order's outcome).
pub const PAYMENT_EVENTS: Consumer = Consumer {
    durable: "notifications_payments",
    filter: "payments.*",
    max_deliveries: 10,
    inactive_threshold: None,
};

pub fn workers(deps: &Deps, shutdown: &CancellationToken) -> Vec<tokio::task::JoinHandle<()>> {
    let settings = Settings::parse(&deps.settings).unwrap_or_default();
    let order_deps = deps.clone();
    let payment_deps = deps.clone();
    vec![
        tokio::spawn(consumer::run(
            deps.events.clone(),
            ORDER_EVENTS,
            shutdown.clone(),
            move |event| {
                let deps = order_deps.clone();
                async move { record(&deps, ORDER_EVENTS.durable, event).await }
            },
        )),
        tokio::spawn(consumer::run(
            deps.events.clone(),
            PAYMENT_EVENTS,
            shutdown.clone(),
            move |event| {
                let deps = payment_deps.clone();
                async move { record(&deps, PAYMENT_EVENTS.durable, event).await }
            },
        )),
        tokio::spawn(webhooks::deliver_loop(
            deps.clone(),
            settings.webhooks,
            shutdown.clone(),
        )),
    ]
}

/// What the user is told about an order event (`None`: nothing worth telling).
fn notification_for(event: &Envelope) -> Option<(&'static str, String, String)> {
    let order = event.payload["orderId"].as_str().unwrap_or_default();
    let short = order.get(order.len().saturating_sub(8)..).unwrap_or(order);
    let money = || {
        let cents = event.payload["totalCents"].as_i64().unwrap_or(0);
        let currency = event.payload["currency"].as_str().unwrap_or("");
        format!("{}.{:02} {currency}", cents / 100, cents % 100)
    };
    match event.event_type.as_str() {
        "orders.placed" => Some((
            "ORDER_PLACED",
            format!("Order …{short} received"),
            format!("We are processing your payment of {}.", money()),
        )),
        "orders.paid" => Some((
            "ORDER_PAID",
            format!("Order …{short} paid"),
            format!(
                "Your payment of {} went through. We will ship soon.",
                money()
            ),
        )),
        "orders.cancelled" => Some((
            "ORDER_CANCELLED",
            format!("Order …{short} cancelled"),
            event.payload["reason"]
                .as_str()
                .unwrap_or("The order was cancelled.")
                .to_owned(),
        )),
        "orders.shipped" => Some((
            "ORDER_SHIPPED",
            format!("Order …{short} shipped"),
            "Your order is on its way.".to_owned(),
        )),
        _ => None,
    }
}

async fn record(deps: &Deps, consumer: &str, event: Envelope) -> Result<(), HandlerError> {
    let now = store::now();
    let notification = match (notification_for(&event), event.payload["userId"].as_str()) {
        (Some((kind, title, body)), Some(user)) => Some(NotificationRow {
            id: uuid::Uuid::now_v7().to_string(),
            user_id: user.to_owned(),
            kind: kind.to_owned(),
            title,
            body,
            order_id: event.payload["orderId"].as_str().map(str::to_owned),
            read_at: None,
            created_at: now,
        }),
        _ => None,
    };
    let payload = serde_json::to_string(&event).map_err(HandlerError::new)?;
    let deliveries: Vec<DeliveryRow> = store::webhooks(&deps.db)
        .await
        .map_err(HandlerError::new)?
        .into_iter()
        .filter(|w| w.wants(&event.event_type))
        .map(|w| DeliveryRow {
            id: uuid::Uuid::now_v7().to_string(),
            webhook_id: w.id,
            event_id: event.id.clone(),
            event_type: event.event_type.clone(),
            payload: payload.clone(),
            state: PENDING.to_owned(),
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            created_at: now,
        })
        .collect();
    store::record_event(
        &deps.db,
        consumer,
        &event.id,
        notification.as_ref(),
        &deliveries,
    )
    .await
    .map_err(HandlerError::new)?;
    Ok(())
}
