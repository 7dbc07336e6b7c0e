//! Operation usage: how often each client ran each valid operation since the last drain.
//! The binary reports the drained counts to the registry, whose schema checks validate
//! every recently used operation against a proposed schema.
//!
//! The request path pays a hash and a short lock; the client name and operation text
//! are copied only the first time an operation is seen in a reporting window.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A client's use of one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationUsage {
    /// The client's name (`graphql-client-name`, or the API key's client); empty when the
    /// request named none.
    pub client: String,
    /// The operation document as the client sent it (or as its persisted id resolved).
    pub body: String,
    pub count: u64,
}

/// Counts per (client, document), bounded by `max_operations` distinct entries.
pub struct UsageRecorder {
    hasher: RandomState,
    entries: Mutex<HashMap<u64, OperationUsage>>,
    max_operations: usize,
    /// Records lost to the bound (or to a hash collision) since the start.
    dropped: AtomicU64,
}

/// What [`UsageRecorder::prepare`] learned before the request ran.
pub struct PendingUsage {
    key: u64,
    /// Copies of the client and document, when the window has not seen them yet.
    first_sighting: Option<(String, String)>,
}

impl UsageRecorder {
    pub fn new(max_operations: usize) -> UsageRecorder {
        UsageRecorder {
            hasher: RandomState::new(),
            entries: Mutex::new(HashMap::new()),
            max_operations,
            dropped: AtomicU64::new(0),
        }
    }

    /// Called before the request runs, while its document is still at hand.
    pub fn prepare(&self, client: Option<&str>, body: &str) -> PendingUsage {
        let client = client.unwrap_or_default();
        let key = self.hasher.hash_one((client, body));
        let seen = self.lock().contains_key(&key);
        PendingUsage {
            key,
            first_sighting: (!seen).then(|| (client.to_owned(), body.to_owned())),
        }
    }

    /// Counts one run of a valid operation.
    pub fn record(&self, pending: PendingUsage) {
        self.add(pending.key, pending.first_sighting, 1);
    }

    /// Takes every count recorded so far, leaving the recorder empty.
    pub fn drain(&self) -> Vec<OperationUsage> {
        std::mem::take(&mut *self.lock()).into_values().collect()
    }

    /// Puts back counts a report could not deliver, so the next one carries them.
    pub fn restore(&self, usage: Vec<OperationUsage>) {
        for item in usage {
            let key = self
                .hasher
                .hash_one((item.client.as_str(), item.body.as_str()));
            self.add(key, Some((item.client, item.body)), item.count);
        }
    }

    fn add(&self, key: u64, first_sighting: Option<(String, String)>, count: u64) {
        let mut entries = self.lock();
        let len = entries.len();
        match entries.entry(key) {
            Entry::Occupied(mut entry) => {
                let usage = entry.get_mut();
                // The same key with another document would be a collision: never merge two.
                match &first_sighting {
                    Some((client, body)) if (client, body) != (&usage.client, &usage.body) => {
                        self.dropped.fetch_add(count, Ordering::Relaxed);
                    }
                    _ => usage.count += count,
                }
            }
            Entry::Vacant(entry) => match first_sighting {
                // `None`: drained between prepare and record, so the text is gone.
                Some((client, body)) if len < self.max_operations => {
                    entry.insert(OperationUsage {
                        client,
                        body,
                        count,
                    });
                }
                _ => {
                    self.dropped.fetch_add(count, Ordering::Relaxed);
                }
            },
        }
    }

    /// Records lost to the bound since the start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, OperationUsage>> {
        // Counts stay usable even if a panicking thread held the lock.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(recorder: &UsageRecorder, client: Option<&str>, body: &str) {
        let pending = recorder.prepare(client, body);
        recorder.record(pending);
    }

    fn sorted(mut usage: Vec<OperationUsage>) -> Vec<(String, String, u64)> {
        usage.sort_by(|a, b| (&a.client, &a.body).cmp(&(&b.client, &b.body)));
        usage
            .into_iter()
            .map(|u| (u.client, u.body, u.count))
            .collect()
    }

    #[test]
    fn counts_per_client_and_document_until_drained() {
        let recorder = UsageRecorder::new(100);
        run(&recorder, Some("web"), "{ a }");
        run(&recorder, Some("web"), "{ a }");
        run(&recorder, Some("ios"), "{ a }");
        run(&recorder, None, "{ b }");
        assert_eq!(
            sorted(recorder.drain()),
            [
                (String::new(), "{ b }".into(), 1),
                ("ios".into(), "{ a }".into(), 1),
                ("web".into(), "{ a }".into(), 2),
            ]
        );
        assert!(recorder.drain().is_empty());
    }

    #[test]
    fn the_bound_drops_new_operations_but_keeps_counting_known_ones() {
        let recorder = UsageRecorder::new(1);
        run(&recorder, None, "{ a }");
        run(&recorder, None, "{ b }");
        run(&recorder, None, "{ a }");
        assert_eq!(recorder.dropped(), 1);
        assert_eq!(
            sorted(recorder.drain()),
            [(String::new(), "{ a }".into(), 2)]
        );
    }

    #[test]
    fn restored_counts_add_to_new_ones() {
        let recorder = UsageRecorder::new(10);
        run(&recorder, Some("web"), "{ a }");
        run(&recorder, Some("web"), "{ a }");
        let undelivered = recorder.drain();
        run(&recorder, Some("web"), "{ a }");
        recorder.restore(undelivered);
        assert_eq!(
            sorted(recorder.drain()),
            [("web".into(), "{ a }".into(), 3)]
        );
    }
}
