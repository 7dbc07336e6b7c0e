//! In-flight de-duplication: identical concurrent work shares one execution.
//!
//! The first caller for a key starts the work; callers arriving while it runs await the
//! same result. The entry is removed when the work finishes, so a later identical
//! request runs afresh: this never serves a stale result.

use crate::auth::Caller;
use crate::execute::Endpoint;
use crate::execute::client::{FetchError, FetchResponse, SubgraphClient};
use bytes::Bytes;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// Shares concurrent work with equal keys.
pub struct Inflight<T: Clone + Send + Sync + 'static> {
    running: Arc<Mutex<HashMap<Bytes, Shared<BoxFuture<'static, T>>>>>,
}

impl<T: Clone + Send + Sync + 'static> Default for Inflight<T> {
    fn default() -> Self {
        Inflight {
            running: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

impl<T: Clone + Send + Sync + 'static> Inflight<T> {
    /// Runs `work` unless identical work (same `key`) is running; then waits for that.
    pub async fn run(&self, key: Bytes, work: impl Future<Output = T> + Send + 'static) -> T {
        let shared = {
            // A poisoned lock means a panic elsewhere mid-insert; the map is still valid.
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(existing) = running.get(&key) {
                existing.clone()
            } else {
                let map = self.running.clone();
                let owned_key = key.clone();
                let future = async move {
                    let output = work.await;
                    map.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&owned_key);
                    output
                }
                .boxed()
                .shared();
                running.insert(key, future.clone());
                future
            }
        };
        shared.await
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.running.lock().map(|m| m.len()).unwrap_or(0)
    }
}

/// A subgraph response shared between identical fetches.
pub type SharedFetch = Result<FetchResponse, Arc<FetchError>>;

/// De-duplicates identical concurrent subgraph fetches (same URL and body).
#[derive(Default)]
pub struct FetchDedup {
    inflight: Inflight<SharedFetch>,
}

impl FetchDedup {
    pub async fn post_json(
        &self,
        client: &SubgraphClient,
        endpoint: &Endpoint,
        body: Bytes,
        caller: Option<Arc<Caller>>,
        // Not part of the key: requests of different traces share a fetch (the first
        // one's trace is sent).
        trace: Option<crate::trace::TraceParent>,
    ) -> SharedFetch {
        let mut key = Vec::with_capacity(body.len() + 64);
        key.extend_from_slice(endpoint.url.to_string().as_bytes());
        key.push(0);
        // Subgraphs may answer differently per caller.
        if let Some(caller) = &caller {
            key.extend_from_slice(caller.user_id.as_bytes());
            key.push(0);
            key.extend_from_slice(caller.scopes.as_bytes());
        }
        key.push(0);
        key.extend_from_slice(&body);
        let client = client.clone();
        let endpoint = endpoint.clone();
        self.inflight
            .run(Bytes::from(key), async move {
                client
                    .post_json(
                        &endpoint.url,
                        body,
                        endpoint.timeout,
                        endpoint.http2_only,
                        caller.as_deref(),
                        trace.as_ref(),
                    )
                    .await
                    .map_err(Arc::new)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_identical_work_runs_once_and_later_work_runs_again() {
        let inflight: Inflight<u32> = Inflight::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::watch::channel(false);
        let work = || {
            let runs = runs.clone();
            let mut released = released.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                let _ = released.wait_for(|r| *r).await;
                7
            }
        };
        let a = inflight.run(Bytes::from_static(b"k"), work());
        let b = inflight.run(Bytes::from_static(b"k"), work());
        let waiter = tokio::spawn(async move { release.send(true) });
        let (a, b) = tokio::join!(a, b);
        waiter.await.unwrap().unwrap();
        assert_eq!((a, b), (7, 7));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(inflight.len(), 0, "finished work is forgotten");
        let c = inflight
            .run(Bytes::from_static(b"k"), {
                let runs = runs.clone();
                async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    8
                }
            })
            .await;
        assert_eq!(c, 8);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn different_keys_do_not_share() {
        let inflight: Inflight<u32> = Inflight::default();
        let (a, b) = tokio::join!(
            inflight.run(Bytes::from_static(b"a"), async { 1 }),
            inflight.run(Bytes::from_static(b"b"), async { 2 })
        );
        assert_eq!((a, b), (1, 2));
    }
}
