//! `tracing` set-up: human-readable logs in a terminal, JSON lines otherwise.
//!
//! `JUNCTION_LOG` (an `EnvFilter` directive) overrides `log.filter` from the config.

use crate::config::{LogConfig, LogFormat};
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("config key `log.filter`: invalid filter `{filter}`: {message}")]
    Filter { filter: String, message: String },
}

/// Installs the global subscriber. A second call is a no-op (tests start several
/// services in one process).
pub fn init(config: &LogConfig) -> Result<(), TelemetryError> {
    let directive = std::env::var("JUNCTION_LOG").unwrap_or_else(|_| config.filter.clone());
    let filter = EnvFilter::builder()
        .parse(&directive)
        .map_err(|e| TelemetryError::Filter {
            filter: directive.clone(),
            message: e.to_string(),
        })?;
    let json = match config.format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // try_init fails only when a subscriber is already installed.
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
    Ok(())
}
