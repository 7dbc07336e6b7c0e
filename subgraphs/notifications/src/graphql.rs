//! The notifications subgraph schema: the caller's notifications (and `User.notifications`),
//! marking them read, and partner webhooks (scope `admin`).

use crate::store::{self, DeliveryRow, NotificationRow, WebhookRow};
use async_graphql::{ComplexObject, Context, ID, Object, Result, SimpleObject};
use base64::Engine;
use chrono::{DateTime, Utc};
use junction_kit::errors::{bad_input, internal};
use junction_kit::graphql::{caller, deps, page_size, require_scope};

const MAX_PAGE: i32 = 100;

/// The events a webhook can ask for.
const WEBHOOK_EVENTS: [&str; 6] = [
    "orders.placed",
    "orders.paid",
    "orders.cancelled",
    "orders.shipped",
    "payments.succeeded",
    "payments.failed",
];

#[derive(SimpleObject, Clone, Debug)]
pub struct Notification {
    pub id: ID,
    /// `ORDER_PLACED`, `ORDER_PAID`, `ORDER_CANCELLED`, `ORDER_SHIPPED`.
    pub kind: String,
    pub title: String,
    pub body: String,
    pub order: Option<Order>,
    pub read: bool,
    pub created_at: DateTime<Utc>,
}

impl From<NotificationRow> for Notification {
    fn from(row: NotificationRow) -> Self {
        Notification {
            id: ID(row.id),
            kind: row.kind,
            title: row.title,
            body: row.body,
            order: row.order_id.map(|id| Order { id: ID(id) }),
            read: row.read_at.is_some(),
            created_at: row.created_at.and_utc(),
        }
    }
}

/// An order, by key (the orders subgraph resolves the rest).
#[derive(SimpleObject, Clone, Debug)]
#[graphql(unresolvable = "id")]
pub struct Order {
    pub id: ID,
}

/// A partner endpoint receiving order events.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Webhook {
    pub id: ID,
    pub url: String,
    /// The event types it receives; empty means every order event.
    pub event_types: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl From<WebhookRow> for Webhook {
    fn from(row: WebhookRow) -> Self {
        Webhook {
            id: ID(row.id),
            url: row.url,
            event_types: row
                .event_types
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            created_at: row.created_at.and_utc(),
        }
    }
}

#[ComplexObject]
impl Webhook {
    /// The latest delivery attempts, newest first.
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> Result<Vec<WebhookDelivery>> {
        let deps = deps(ctx)?;
        let first = page_size(first, MAX_PAGE)?;
        let rows = store::deliveries_of(&deps.db, &self.id, i64::from(first))
            .await
            .map_err(|e| internal(deps.service, e))?;
        Ok(rows.into_iter().map(WebhookDelivery::from).collect())
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct WebhookDelivery {
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `delivered` or `dead`.
    pub state: String,
    pub attempts: i32,
    pub last_error: Option<String>,
}

impl From<DeliveryRow> for WebhookDelivery {
    fn from(row: DeliveryRow) -> Self {
        WebhookDelivery {
            event_id: row.event_id,
            event_type: row.event_type,
            state: row.state,
            attempts: row.attempts,
            last_error: row.last_error,
        }
    }
}

/// A new webhook: its signing secret is shown this once.
#[derive(SimpleObject, Clone, Debug)]
pub struct WebhookRegistration {
    pub webhook: Webhook,
    /// Verify `x-junction-signature` (`t=…,v1=hex HMAC-SHA256(secret, "t.body")`) with it.
    pub secret: String,
}

/// A user, as notifications knows them.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct User {
    pub id: ID,
}

#[ComplexObject]
impl User {
    /// The user's notifications, newest first (empty unless the caller is this user).
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        #[graphql(default)] unread_only: bool,
    ) -> Result<Vec<Notification>> {
        if caller(ctx).ok().as_deref() != Some(self.id.as_str()) {
            return Ok(Vec::new());
        }
        list(ctx, &self.id, first, unread_only).await
    }
}

fn require_admin(ctx: &Context<'_>) -> Result<String> {
    let user = caller(ctx)?;
    require_scope(ctx, "admin", "managing webhooks")?;
    Ok(user)
}

async fn list(
    ctx: &Context<'_>,
    user: &str,
    first: i32,
    unread_only: bool,
) -> Result<Vec<Notification>> {
    let deps = deps(ctx)?;
    let first = page_size(first, MAX_PAGE)?;
    let rows = store::notifications_of(&deps.db, user, unread_only, i64::from(first))
        .await
        .map_err(|e| internal(deps.service, e))?;
    Ok(rows.into_iter().map(Notification::from).collect())
}

#[derive(Default)]
pub struct Query;

#[Object]
impl Query {
    /// The caller's notifications, newest first.
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        #[graphql(default)] unread_only: bool,
    ) -> Result<Vec<Notification>> {
        let user = caller(ctx)?;
        list(ctx, &user, first, unread_only).await
    }

    async fn unread_notification_count(&self, ctx: &Context<'_>) -> Result<i32> {
        let user = caller(ctx)?;
        let deps = deps(ctx)?;
        let count = store::unread_count(&deps.db, &user)
            .await
            .map_err(|e| internal(deps.service, e))?;
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }

    /// Every webhook (scope `admin`).
    async fn webhooks(&self, ctx: &Context<'_>) -> Result<Vec<Webhook>> {
        require_admin(ctx)?;
        let deps = deps(ctx)?;
        let rows = store::webhooks(&deps.db)
            .await
            .map_err(|e| internal(deps.service, e))?;
        Ok(rows.into_iter().map(Webhook::from).collect())
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> User {
        User { id }
    }
}

#[derive(Default)]
pub struct Mutation;

#[Object]
impl Mutation {
    /// Marks one of the caller's notifications read; `false` if it was already read or
    /// is not theirs.
    async fn mark_notification_read(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let user = caller(ctx)?;
        let deps = deps(ctx)?;
        let changed = store::mark_read(&deps.db, &user, Some(&id))
            .await
            .map_err(|e| internal(deps.service, e))?;
        Ok(changed == 1)
    }

    /// Marks all of the caller's notifications read; returns how many were unread.
    async fn mark_all_notifications_read(&self, ctx: &Context<'_>) -> Result<i32> {
        let user = caller(ctx)?;
        let deps = deps(ctx)?;
        let changed = store::mark_read(&deps.db, &user, None)
            .await
            .map_err(|e| internal(deps.service, e))?;
        Ok(i32::try_from(changed).unwrap_or(i32::MAX))
    }

    /// Sends every future event of `eventTypes` (all of `orders.placed`, `orders.paid`,
    /// `orders.cancelled`, `orders.shipped`, `payments.succeeded` and `payments.failed`
    /// when empty) to `url`, signed (scope `admin`).
    async fn register_webhook(
        &self,
        ctx: &Context<'_>,
        url: String,
        #[graphql(default)] event_types: Vec<String>,
    ) -> Result<WebhookRegistration> {
        let admin = require_admin(ctx)?;
        let deps = deps(ctx)?;
        let parsed = reqwest::Url::parse(&url).map_err(|e| bad_input("url", e))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad_input("url", "must be an http(s) URL"));
        }
        if let Some(unknown) = event_types
            .iter()
            .find(|kind| !WEBHOOK_EVENTS.contains(&kind.as_str()))
        {
            return Err(bad_input(
                "eventTypes",
                format!("`{unknown}` is not one of {}", WEBHOOK_EVENTS.join(", ")),
            ));
        }
        let mut secret = [0u8; 24];
        getrandom::fill(&mut secret).map_err(|e| internal(deps.service, e))?;
        let secret = format!(
            "whsec_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
        );
        let row = WebhookRow {
            id: uuid::Uuid::now_v7().to_string(),
            url,
            secret: secret.clone(),
            event_types: event_types.join(" "),
            created_by: admin,
            created_at: store::now(),
        };
        store::insert_webhook(&deps.db, &row)
            .await
            .map_err(|e| internal(deps.service, e))?;
        Ok(WebhookRegistration {
            webhook: Webhook::from(row),
            secret,
        })
    }
}
