//! Progressive override: which `@override(label:)` labels are active for a request.
//!
//! `percent(N)` is active for N% of requests, drawn per request; any other label is
//! active when the configuration lists it. The active set is part of the plan-cache
//! key, so each combination is planned once.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Labels {
    /// Every label in the supergraph, in a fixed order (bit i of a key is label i).
    all: Vec<Label>,
    draws: AtomicU64,
}

enum Label {
    Percent { name: String, percent: f64 },
    Custom { name: String, active: bool },
}

impl Labels {
    pub fn new(labels: Vec<String>, active: &HashSet<String>) -> Self {
        let all = labels
            .into_iter()
            .map(|name| match parse_percent(&name) {
                Some(percent) => Label::Percent { name, percent },
                None => Label::Custom {
                    active: active.contains(&name),
                    name,
                },
            })
            .collect();
        // Any start works; the clock keeps replicas from drawing in lockstep.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15);
        Labels {
            all,
            draws: AtomicU64::new(seed),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// One request's active labels: as bits for the plan key, and as a set.
    pub fn draw(&self) -> (Vec<bool>, HashSet<String>) {
        let mut bits = Vec::with_capacity(self.all.len());
        let mut set = HashSet::new();
        for label in &self.all {
            let (name, on) = match label {
                Label::Percent { name, percent } => (name, self.uniform() * 100.0 < *percent),
                Label::Custom { name, active } => (name, *active),
            };
            bits.push(on);
            if on {
                set.insert(name.clone());
            }
        }
        (bits, set)
    }

    /// A uniform draw in [0, 1) (splitmix64 over a shared counter: cheap, lock-free,
    /// and plenty for splitting traffic).
    fn uniform(&self) -> f64 {
        let mut z = self
            .draws
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
            .wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `percent(12.5)` → 12.5.
fn parse_percent(label: &str) -> Option<f64> {
    let inner = label.strip_prefix("percent(")?.strip_suffix(')')?;
    let value: f64 = inner.trim().parse().ok()?;
    (0.0..=100.0).contains(&value).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_bounds_and_custom_labels() {
        let active: HashSet<String> = ["beta".to_string()].into();
        let labels = Labels::new(
            vec![
                "beta".into(),
                "gamma".into(),
                "percent(0)".into(),
                "percent(100)".into(),
            ],
            &active,
        );
        for _ in 0..200 {
            let (bits, set) = labels.draw();
            assert_eq!(bits, vec![true, false, false, true]);
            assert!(set.contains("beta") && set.contains("percent(100)"));
        }
    }

    #[test]
    fn percent_splits_traffic_roughly() {
        let labels = Labels::new(vec!["percent(25)".into()], &HashSet::new());
        let on = (0..10_000).filter(|_| labels.draw().0[0]).count();
        assert!((2_000..3_000).contains(&on), "{on} of 10000");
    }

    #[test]
    fn parses_percent_labels() {
        assert_eq!(parse_percent("percent(12.5)"), Some(12.5));
        assert_eq!(parse_percent("percent(101)"), None);
        assert_eq!(parse_percent("other"), None);
    }
}
