//! The orders service's settings (`subgraphs.orders.settings` in the platform config).

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub payments: PaymentSettings,
    /// How long checkout holds stock for an unpaid order.
    pub reservation_ttl_seconds: i32,
}

/// The simulated payment provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentSettings {
    /// Share of payments the provider declines at random, 0 to 1. (The payment method
    /// `pm_card_declined` is always declined, whatever this says.)
    pub failure_rate: f64,
    /// How long the provider takes to answer.
    pub latency_ms: u64,
    /// Payments handled at once (the worker pool's size).
    pub workers: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            payments: PaymentSettings::default(),
            reservation_ttl_seconds: 900,
        }
    }
}

impl Default for PaymentSettings {
    fn default() -> Self {
        PaymentSettings {
            failure_rate: 0.0,
            latency_ms: 50,
            workers: 4,
        }
    }
}

impl Settings {
    /// Reads and checks the settings; errors name the key (`payments.failure_rate: …`).
    pub fn parse(value: &serde_json::Value) -> Result<Settings, String> {
        let settings: Settings = junction_kit::service::parse_settings(value)?;
        if !(0.0..=1.0).contains(&settings.payments.failure_rate) {
            return Err("payments.failure_rate: must be between 0 and 1".into());
        }
        if !(1..=64).contains(&settings.payments.workers) {
            return Err("payments.workers: must be between 1 and 64".into());
        }
        if !(1..=3_600).contains(&settings.reservation_ttl_seconds) {
            return Err("reservation_ttl_seconds: must be between 1 and 3600".into());
        }
        Ok(settings)
    }

    /// [`junction_kit::service::ServiceSpec::check_settings`].
    pub fn check(value: &serde_json::Value) -> Result<(), String> {
        Settings::parse(value).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors_name_the_key() {
        let settings = Settings::parse(&serde_json::Value::Null).unwrap();
        assert_eq!(settings.payments.workers, 4);
        let error =
            Settings::parse(&serde_json::json!({"payments": {"failure_rate": 2}})).unwrap_err();
        assert!(error.starts_with("payments.failure_rate"), "{error}");
        let error = Settings::parse(&serde_json::json!({"payments": {"latency": 5}})).unwrap_err();
        assert!(error.contains("payments"), "{error}");
    }
}
