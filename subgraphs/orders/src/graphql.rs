//! The orders subgraph schema: the caller's cart, `checkout`, orders and their lifecycle.
//! Everything here belongs to the caller: the router's verified identity decides whose.

use crate::events::order_event;
use crate::products::{self, ReserveError};
use crate::settings::Settings;
use crate::store::{
    self, CANCELLED, CartItemRow, OrderItemRow, OrderRow, PAID, PENDING, Placed, SHIPPED,
};
use async_graphql::{
    ComplexObject, Context, Enum, ErrorExtensions, ID, Object, Result, SimpleObject,
};
use chrono::{DateTime, Utc};
use junction_kit::errors::{bad_input, internal, not_found};
use junction_kit::events::Envelope;
use junction_kit::graphql::{caller, deps, page_size, require_scope};
use junction_kit::server::Identity;
use sha2::{Digest, Sha256};

const MAX_QUANTITY: i32 = 100;
const MAX_PAGE: i32 = 100;

/// A product as orders knows it: by key (the products subgraph resolves the rest).
#[derive(SimpleObject, Clone, Debug)]
#[graphql(unresolvable = "id")]
pub struct Product {
    pub id: ID,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct CartItem {
    pub product: Product,
    pub quantity: i32,
}

impl From<CartItemRow> for CartItem {
    fn from(row: CartItemRow) -> Self {
        CartItem {
            product: Product {
                id: ID(row.product_id),
            },
            quantity: row.quantity,
        }
    }
}

/// What checkout will order.
#[derive(SimpleObject, Clone, Debug)]
pub struct Cart {
    pub items: Vec<CartItem>,
    /// The number of units across items.
    pub item_count: i32,
}

impl Cart {
    fn from_rows(rows: Vec<CartItemRow>) -> Cart {
        let item_count = rows.iter().map(|r| r.quantity).sum();
        Cart {
            items: rows.into_iter().map(CartItem::from).collect(),
            item_count,
        }
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum OrderState {
    /// Placed; the payment is being processed and the stock is held.
    Pending,
    Paid,
    Shipped,
    /// The payment failed or the customer cancelled; the stock was released.
    Cancelled,
}

impl OrderState {
    fn from_store(state: &str) -> OrderState {
        match state {
            PAID => OrderState::Paid,
            SHIPPED => OrderState::Shipped,
            CANCELLED => OrderState::Cancelled,
            _ => OrderState::Pending,
        }
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct OrderItem {
    pub product: Product,
    /// The product's name when ordered.
    pub name: String,
    pub quantity: i32,
    pub unit_price_cents: i64,
}

impl From<OrderItemRow> for OrderItem {
    fn from(row: OrderItemRow) -> Self {
        OrderItem {
            product: Product {
                id: ID(row.product_id),
            },
            name: row.name,
            quantity: row.quantity,
            unit_price_cents: row.unit_price_cents,
        }
    }
}

#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Order {
    pub id: ID,
    pub state: OrderState,
    pub total_cents: i64,
    pub currency: String,
    /// Why a cancelled order was cancelled.
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<OrderRow> for Order {
    fn from(row: OrderRow) -> Self {
        Order {
            id: ID(row.id),
            state: OrderState::from_store(&row.state),
            total_cents: row.total_cents,
            currency: row.currency,
            failure_reason: row.failure_reason,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        }
    }
}

#[ComplexObject]
impl Order {
    async fn items(&self, ctx: &Context<'_>) -> Result<Vec<OrderItem>> {
        let deps = deps(ctx)?;
        let rows = store::items(&deps.db, &self.id)
            .await
            .map_err(|e| internal(deps.service, e))?;
        Ok(rows.into_iter().map(OrderItem::from).collect())
    }
}

/// A user, as orders knows them: their orders (only to themselves).
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct User {
    pub id: ID,
}

#[ComplexObject]
impl User {
    /// The user's orders, newest first (empty unless the caller is this user).
    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> Result<Vec<Order>> {
        if caller(ctx).ok().as_deref() != Some(self.id.as_str()) {
            return Ok(Vec::new());
        }
        list_orders(ctx, &self.id, first).await
    }
}

async fn list_orders(ctx: &Context<'_>, user_id: &str, first: i32) -> Result<Vec<Order>> {
    let deps = deps(ctx)?;
    let first = page_size(first, MAX_PAGE)?;
    let rows = store::orders_of(&deps.db, user_id, i64::from(first))
        .await
        .map_err(|e| internal(deps.service, e))?;
    Ok(rows.into_iter().map(Order::from).collect())
}

/// The caller's order `id` (admins see every order); `None` for anyone else's.
async fn own_order(ctx: &Context<'_>, id: &str) -> Result<Option<OrderRow>> {
    let user = caller(ctx)?;
    let deps = deps(ctx)?;
    let row = store::order(&deps.db, id)
        .await
        .map_err(|e| internal(deps.service, e))?;
    let admin = ctx
        .data_opt::<Identity>()
        .is_some_and(|i| i.has_scope("admin"));
    Ok(row.filter(|o| o.user_id == user || admin))
}

#[derive(Default)]
pub struct Query;

#[Object]
impl Query {
    /// The caller's cart.
    async fn cart(&self, ctx: &Context<'_>) -> Result<Cart> {
        let user = caller(ctx)?;
        let deps = deps(ctx)?;
        let rows = store::cart(&deps.db, &user)
            .await
            .map_err(|e| internal(deps.service, e))?;
        Ok(Cart::from_rows(rows))
    }

    /// The caller's orders, newest first.
    async fn my_orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> Result<Vec<Order>> {
        let user = caller(ctx)?;
        list_orders(ctx, &user, first).await
    }

    /// One of the caller's orders.
    async fn order(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Order>> {
        Ok(own_order(ctx, &id).await?.map(Order::from))
    }

    #[graphql(entity)]
    async fn find_order_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Order>> {
        self.order(ctx, id).await
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
    /// Puts `quantity` more of a product in the caller's cart.
    async fn add_to_cart(
        &self,
        ctx: &Context<'_>,
        product_id: ID,
        #[graphql(default = 1)] quantity: i32,
    ) -> Result<Cart> {
        let user = caller(ctx)?;
        let deps = deps(ctx)?;
        if !(1..=MAX_QUANTITY).contains(&quantity) {
            return Err(bad_input(
                "quantity",
                format!("must be between 1 and {MAX_QUANTITY}"),
            ));
        }
        let added = store::add_to_cart(&deps.db, &user, &product_id, quantity, MAX_QUANTITY)
            .await
            .map_err(|e| internal(deps.service, e))?;
        if added.is_none() {
            return Err(bad_input(
                "quantity",
                format!("a cart holds at most {MAX_QUANTITY} of one product"),
            ));
        }
        self.cart_of(ctx, &user).await
    }

    /// Takes a product out of the caller's cart.
    async fn remove_from_cart(&self, ctx: &Context<'_>, product_id: ID) -> Result<Cart> {
        let user = caller(ctx)?;
        let deps = deps(ctx)?;
        store::remove_from_cart(&deps.db, &user, &product_id)
            .await
            .map_err(|e| internal(deps.service, e))?;
        self.cart_of(ctx, &user).await
    }

    /// Orders the cart: holds the stock, creates the pending order and empties the cart
    /// in one step, then the payment is processed in the background (watch `order.state`).
    /// Retrying with the same `idempotencyKey` returns the same order, never a second one.
    /// `paymentMethod` `pm_card_declined` is always declined by the simulated provider.
    async fn checkout(
        &self,
        ctx: &Context<'_>,
        idempotency_key: String,
        #[graphql(default_with = "\"pm_card_ok\".to_string()")] payment_method: String,
    ) -> Result<Order> {
        let user = caller(ctx)?;
        let deps = deps(ctx)?;
        let key = idempotency_key.trim().to_owned();
        if key.is_empty() || key.len() > 200 {
            return Err(bad_input("idempotencyKey", "must be 1 to 200 characters"));
        }
        if payment_method.is_empty() || payment_method.len() > 100 {
            return Err(bad_input("paymentMethod", "must be 1 to 100 characters"));
        }
        if let Some(existing) = store::order_by_key(&deps.db, &user, &key)
            .await
            .map_err(|e| internal(deps.service, e))?
        {
            return Ok(Order::from(existing));
        }
        let cart = store::cart(&deps.db, &user)
            .await
            .map_err(|e| internal(deps.service, e))?;
        if cart.is_empty() {
            // A concurrent retry with this key may have just placed the order and
            // emptied the cart.
            return match store::order_by_key(&deps.db, &user, &key)
                .await
                .map_err(|e| internal(deps.service, e))?
            {
                Some(existing) => Ok(Order::from(existing)),
                None => Err(bad_input("cart", "is empty")),
            };
        }
        let settings = Settings::parse(&deps.settings).unwrap_or_default();
        // The same key always holds the same reservation, so concurrent retries share it.
        let reservation_id = reservation_id(&user, &key);
        let wanted: Vec<(String, i32)> = cart
            .iter()
            .map(|item| (item.product_id.clone(), item.quantity))
            .collect();
        let reservation = products::reserve(
            deps,
            &reservation_id,
            &wanted,
            settings.reservation_ttl_seconds,
        )
        .await
        .map_err(|e| match e {
            ReserveError::Refused {
                message,
                code,
                product_id,
            } => async_graphql::Error::new(message).extend_with(move |_, ext| {
                ext.set("code", code.clone());
                if let Some(product) = &product_id {
                    ext.set("productId", product.clone());
                }
            }),
            ReserveError::Unavailable(reason) => {
                tracing::error!(%reason, "cannot reserve stock");
                async_graphql::Error::new("checkout is unavailable right now; try again")
                    .extend_with(|_, ext| ext.set("code", "SERVICE_UNAVAILABLE"))
            }
        })?;
        let hold_expires_at = reservation.expires_at;
        let lines = reservation.lines;
        let now = store::now();
        let order = OrderRow {
            id: uuid::Uuid::now_v7().to_string(),
            user_id: user.clone(),
            state: PENDING.to_owned(),
            total_cents: lines
                .iter()
                .map(|l| l.unit_price_cents * i64::from(l.quantity))
                .sum(),
            currency: lines
                .first()
                .map(|l| l.currency.clone())
                .unwrap_or_default(),
            idempotency_key: key.clone(),
            reservation_id,
            payment_method,
            failure_reason: None,
            created_at: now,
            updated_at: now,
        };
        let items: Vec<OrderItemRow> = lines
            .into_iter()
            .map(|line| OrderItemRow {
                order_id: order.id.clone(),
                product_id: line.product_id,
                name: line.name,
                quantity: line.quantity,
                unit_price_cents: line.unit_price_cents,
            })
            .collect();
        let placed = Envelope::new(
            "orders.placed",
            order.id.clone(),
            serde_json::json!({
                "orderId": order.id,
                "userId": order.user_id,
                "reservationId": order.reservation_id,
                "totalCents": order.total_cents,
                "currency": order.currency,
                "paymentMethod": order.payment_method,
                // The payment worker charges only while the stock is still held.
                "holdExpiresAt": hold_expires_at,
                "items": items.iter().map(|i| serde_json::json!({
                    "productId": i.product_id, "quantity": i.quantity,
                    "unitPriceCents": i.unit_price_cents,
                })).collect::<Vec<_>>(),
            }),
        );
        match store::place(&deps.db, &order, &items, &placed)
            .await
            .map_err(|e| internal(deps.service, e))?
        {
            Placed::New => {
                deps.outbox.notify();
                Ok(Order::from(order))
            }
            // A concurrent retry with the same key placed it first.
            Placed::Existing => store::order_by_key(&deps.db, &user, &key)
                .await
                .map_err(|e| internal(deps.service, e))?
                .map(Order::from)
                .ok_or_else(|| not_found("order")),
        }
    }

    /// Cancels one of the caller's pending orders; its stock is released.
    async fn cancel_order(&self, ctx: &Context<'_>, id: ID) -> Result<Order> {
        let Some(order) = own_order(ctx, &id).await? else {
            return Err(not_found(format_args!("order {}", id.0)));
        };
        self.move_order(
            ctx,
            order,
            &[PENDING],
            CANCELLED,
            Some("cancelled by the customer".into()),
        )
        .await
    }

    /// Marks a paid order shipped (scope `admin`).
    async fn ship_order(&self, ctx: &Context<'_>, id: ID) -> Result<Order> {
        require_scope(ctx, "admin", "shipping orders")?;
        let Some(order) = own_order(ctx, &id).await? else {
            return Err(not_found(format_args!("order {}", id.0)));
        };
        self.move_order(ctx, order, &[PAID], SHIPPED, None).await
    }
}

impl Mutation {
    async fn cart_of(&self, ctx: &Context<'_>, user: &str) -> Result<Cart> {
        let deps = deps(ctx)?;
        let rows = store::cart(&deps.db, user)
            .await
            .map_err(|e| internal(deps.service, e))?;
        Ok(Cart::from_rows(rows))
    }

    async fn move_order(
        &self,
        ctx: &Context<'_>,
        order: OrderRow,
        from: &[&str],
        to: &'static str,
        reason: Option<String>,
    ) -> Result<Order> {
        let deps = deps(ctx)?;
        let moved = store::transition(&deps.db, &order.id, from, to, reason, None, order_event)
            .await
            .map_err(|e| internal(deps.service, e))?;
        match moved {
            Some(order) => {
                deps.outbox.notify();
                Ok(Order::from(order))
            }
            None => Err(bad_input(
                "id",
                format!("the order is {}, so it cannot become {to}", order.state),
            )),
        }
    }
}

/// The reservation id of a user's checkout with `key`: stable across retries.
fn reservation_id(user: &str, key: &str) -> String {
    let digest = Sha256::digest(format!("{user}\n{key}").as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("res_{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservation_ids_are_stable_per_user_and_key() {
        assert_eq!(reservation_id("u1", "k1"), reservation_id("u1", "k1"));
        assert_ne!(reservation_id("u1", "k1"), reservation_id("u1", "k2"));
        assert_ne!(reservation_id("u1", "k1"), reservation_id("u2", "k1"));
    }
}
