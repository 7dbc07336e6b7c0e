//! Events the users subgraph consumes: `accounts.registered` creates the profile, with the
//! account's id, so `me` works as soon as the account exists.

use crate::store::{self, UserRow};
use junction_kit::consumer::{self, Consumer, HandlerError};
use junction_kit::events::Envelope;
use junction_kit::service::Deps;
use tokio_util::sync::CancellationToken;

pub const PROFILES: Consumer = Consumer {
    durable: "users_profiles",
    filter: "accounts.registered",
    max_deliveries: 10,
    inactive_threshold: None,
};

pub fn workers(deps: &Deps, shutdown: &CancellationToken) -> Vec<tokio::task::JoinHandle<()>> {
    let deps = deps.clone();
    let bus = deps.events.clone();
    vec![tokio::spawn(consumer::run(
        bus,
        PROFILES,
        shutdown.clone(),
        move |event| {
            let deps = deps.clone();
            async move { create_profile(&deps, event).await }
        },
    ))]
}

async fn create_profile(deps: &Deps, event: Envelope) -> Result<(), HandlerError> {
    let text = |key: &str| {
        event.payload[key]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| HandlerError(format!("accounts.registered without `{key}`")))
    };
    let row = UserRow {
        id: text("id")?,
        email: text("email")?,
        name: text("name")?,
        created_at: event.occurred_at.naive_utc(),
    };
    let created = Envelope::new(
        "users.created",
        row.id.clone(),
        serde_json::json!({ "id": row.id, "email": row.email, "name": row.name }),
    );
    let applied = store::insert_once(&deps.db, PROFILES.durable, &event.id, &row, &created)
        .await
        .map_err(HandlerError::new)?;
    if applied {
        deps.outbox.notify();
    }
    Ok(())
}
