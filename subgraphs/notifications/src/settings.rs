//! The notifications service's settings (`subgraphs.notifications.settings`).

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub webhooks: WebhookSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// Attempts before a delivery is dead-lettered.
    pub max_attempts: i32,
    /// Wait before the first retry; each later one waits twice as long.
    pub backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// How long a partner has to answer one attempt.
    pub timeout_ms: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            max_attempts: 8,
            backoff_ms: 1_000,
            max_backoff_ms: 300_000,
            timeout_ms: 10_000,
        }
    }
}

impl Settings {
    /// Reads and checks the settings; errors name the key.
    pub fn parse(value: &serde_json::Value) -> Result<Settings, String> {
        let settings: Settings = junction_kit::service::parse_settings(value)?;
        let w = &settings.webhooks;
        if !(1..=50).contains(&w.max_attempts) {
            return Err("webhooks.max_attempts: must be between 1 and 50".into());
        }
        if w.backoff_ms == 0 || w.max_backoff_ms < w.backoff_ms {
            return Err("webhooks.backoff_ms: must be positive and at most max_backoff_ms".into());
        }
        if w.timeout_ms == 0 {
            return Err("webhooks.timeout_ms: must be positive".into());
        }
        Ok(settings)
    }

    pub fn check(value: &serde_json::Value) -> Result<(), String> {
        Settings::parse(value).map(|_| ())
    }
}
