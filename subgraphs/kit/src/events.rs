//! Event bus: at-least-once delivery to durable consumers, with message-id de-duplication.
//!
//! Subjects look like `users.created`: the first token is the domain. Each domain gets
//! one stream, `<stream_prefix><DOMAIN>`, capturing `<domain>.>`; it is created (or
//! found) the first time a bus instance publishes or subscribes to that domain.
//!
//! On NATS a non-empty `stream_prefix` also prefixes the subjects on the wire
//! (`<stream_prefix>.users.created`, stream capturing `<stream_prefix>.users.>`):
//! JetStream refuses two streams with overlapping subjects in one account, so prefixing
//! stream names alone would not let two environments (or parallel tests) share a server.
//! The API always shows the unprefixed subject.
//!
//! Two implementations with the same semantics:
//! - NATS JetStream (file storage, pull consumers with explicit ack), for production;
//! - an in-process bus, the embedded default, which keeps every domain's log in memory
//!   (nothing is ever trimmed: it is meant for development and single-process setups).
//!
//! A [`Subscription`] hands a message out only when asked (`next`), so several
//! subscriptions on one durable share the work. An unacknowledged delivery comes back
//! after `ack_wait`; [`Delivery::nak`] brings it back at once.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::config::EventsConfig;

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("cannot connect to the event bus: {0}")]
    Connect(String),
    #[error("invalid subject `{subject}`: {reason}")]
    InvalidSubject { subject: String, reason: String },
    #[error("invalid durable name `{0}`: use letters, digits, `_` or `-`")]
    InvalidDurable(String),
    #[error("event stream setup failed: {0}")]
    Stream(String),
    #[error("publish to `{subject}` failed: {message}")]
    Publish { subject: String, message: String },
    #[error("receiving events failed: {0}")]
    Receive(String),
    #[error("acknowledging an event failed: {0}")]
    Ack(String),
    #[error("event bus health check failed: {0}")]
    Ping(String),
    #[error("event envelope is not valid JSON: {0}")]
    Envelope(#[from] serde_json::Error),
}

tokio::task_local! {
    static TRACE_CONTEXT: Option<String>;
}

/// Runs `future` with `trace_context` (a W3C `traceparent`) as the trace every envelope
/// created inside it carries: the subgraph server sets the router's, a consumer the one of
/// the event it handles, so one trace id follows a request through the events it causes.
pub async fn with_trace_context<F: Future>(trace_context: Option<String>, future: F) -> F::Output {
    TRACE_CONTEXT.scope(trace_context, future).await
}

/// The trace of the work in progress, if it has one.
pub fn current_trace_context() -> Option<String> {
    TRACE_CONTEXT.try_with(Clone::clone).ok().flatten()
}

/// The domain event every service publishes: the subject is `event_type` and the
/// message id is `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// UUID v7, so ids sort by creation time.
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub version: u32,
    pub occurred_at: DateTime<Utc>,
    pub aggregate_id: String,
    /// The W3C `traceparent` of the request or event that caused it.
    pub trace_context: Option<String>,
    pub payload: serde_json::Value,
}

impl Envelope {
    pub fn new(
        event_type: impl Into<String>,
        aggregate_id: impl Into<String>,
        payload: serde_json::Value,
    ) -> Envelope {
        Envelope {
            id: uuid::Uuid::now_v7().to_string(),
            event_type: event_type.into(),
            version: 1,
            occurred_at: Utc::now(),
            aggregate_id: aggregate_id.into(),
            trace_context: current_trace_context(),
            payload,
        }
    }

    pub fn to_bytes(&self) -> Result<Bytes, EventError> {
        Ok(Bytes::from(serde_json::to_vec(self)?))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Envelope, EventError> {
        Ok(serde_json::from_slice(bytes)?)
    }
}

#[derive(Clone, Debug)]
pub enum EventBus {
    Nats(NatsBus),
    Memory(MemoryBus),
}

impl EventBus {
    /// `url` set: NATS JetStream (fails if the server is unreachable); unset: in-process.
    pub async fn connect(cfg: &EventsConfig) -> Result<EventBus, EventError> {
        let settings = Settings::from_config(cfg)?;
        match cfg.url.as_deref() {
            Some(url) => NatsBus::connect(url, settings).await.map(EventBus::Nats),
            None => Ok(EventBus::Memory(MemoryBus::new(settings))),
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            EventBus::Nats(_) => "nats",
            EventBus::Memory(_) => "memory",
        }
    }

    /// Readiness check (for NATS: a JetStream account-info round trip).
    pub async fn ping(&self) -> Result<(), EventError> {
        match self {
            EventBus::Nats(bus) => bus.ping().await,
            EventBus::Memory(_) => Ok(()),
        }
    }

    /// Publishes and waits until the message is stored. A repeated `msg_id` within the
    /// duplicate window is accepted but dropped.
    pub async fn publish(
        &self,
        subject: &str,
        msg_id: &str,
        payload: Bytes,
    ) -> Result<(), EventError> {
        let domain = publish_domain(subject)?;
        match self {
            EventBus::Nats(bus) => bus.publish(domain, subject, msg_id, payload).await,
            EventBus::Memory(bus) => bus.publish(domain, subject, msg_id, payload),
        }
    }

    /// Joins (or creates) the durable consumer `durable`, which receives the messages
    /// matching `filter_subject` (wildcards `*`/`>` allowed after the domain token),
    /// starting from the first message it has not acknowledged.
    pub async fn subscribe(
        &self,
        durable: &str,
        filter_subject: &str,
    ) -> Result<Subscription, EventError> {
        self.subscribe_with(durable, filter_subject, None).await
    }

    /// [`EventBus::subscribe`], with a consumer NATS deletes after `inactive_threshold`
    /// without a pull (the in-process bus forgets everything at exit anyway).
    pub async fn subscribe_with(
        &self,
        durable: &str,
        filter_subject: &str,
        inactive_threshold: Option<Duration>,
    ) -> Result<Subscription, EventError> {
        validate_durable(durable)?;
        let filter = parse_filter(filter_subject)?;
        let inner = match self {
            EventBus::Nats(bus) => SubscriptionInner::Nats(Box::new(
                bus.subscribe(durable, filter, inactive_threshold).await?,
            )),
            EventBus::Memory(bus) => SubscriptionInner::Memory(bus.subscribe(durable, filter)),
        };
        Ok(Subscription { inner })
    }
}

/// One received message. Acknowledge it once handled; otherwise it is redelivered.
pub struct Delivery {
    pub subject: String,
    pub msg_id: Option<String>,
    pub payload: Bytes,
    /// 1 on first delivery, 2 on the first redelivery, …
    pub delivery_count: u64,
    acker: Acker,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("subject", &self.subject)
            .field("msg_id", &self.msg_id)
            .field("payload_len", &self.payload.len())
            .field("delivery_count", &self.delivery_count)
            .finish()
    }
}

enum Acker {
    Nats(Box<async_nats::jetstream::Message>),
    Memory(MemoryAcker),
}

impl Delivery {
    /// Marks the message handled; it will not be delivered to this durable again.
    pub async fn ack(&self) -> Result<(), EventError> {
        match &self.acker {
            // Waits for the server to confirm, so a following re-subscribe sees it.
            Acker::Nats(msg) => msg
                .double_ack()
                .await
                .map_err(|e| EventError::Ack(e.to_string())),
            Acker::Memory(acker) => {
                acker.settle(Settle::Ack);
                Ok(())
            }
        }
    }

    /// Gives the message back for immediate redelivery.
    pub async fn nak(&self) -> Result<(), EventError> {
        match &self.acker {
            Acker::Nats(msg) => msg
                .ack_with(async_nats::jetstream::AckKind::Nak(None))
                .await
                .map_err(|e| EventError::Ack(e.to_string())),
            Acker::Memory(acker) => {
                acker.settle(Settle::Nak);
                Ok(())
            }
        }
    }
}

pub struct Subscription {
    inner: SubscriptionInner,
}

enum SubscriptionInner {
    Nats(Box<NatsSubscription>),
    Memory(MemorySubscription),
}

impl Subscription {
    /// Waits for the next message; `None` once the bus is closed. Cancel-safe.
    pub async fn next(&mut self) -> Option<Result<Delivery, EventError>> {
        match &mut self.inner {
            SubscriptionInner::Nats(sub) => sub.next().await,
            SubscriptionInner::Memory(sub) => sub.next().await.map(Ok),
        }
    }
}

// ---------------------------------------------------------------------------
// Subjects
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Settings {
    ack_wait: Duration,
    duplicate_window: Duration,
    stream_prefix: String,
}

impl Settings {
    fn from_config(cfg: &EventsConfig) -> Result<Settings, EventError> {
        cfg.validate("events")
            .map_err(|e| EventError::Connect(e.to_string()))?;
        Ok(Settings {
            ack_wait: Duration::from_millis(cfg.ack_wait_ms),
            duplicate_window: Duration::from_millis(cfg.duplicate_window_ms),
            stream_prefix: cfg.stream_prefix.clone(),
        })
    }

    fn stream_name(&self, domain: &str) -> String {
        format!("{}{}", self.stream_prefix, domain.to_ascii_uppercase())
    }

    /// The subject as sent to NATS (see the module docs).
    fn wire_subject(&self, subject: &str) -> String {
        if self.stream_prefix.is_empty() {
            subject.to_string()
        } else {
            format!("{}.{subject}", self.stream_prefix)
        }
    }

    /// The inverse of `wire_subject`.
    fn api_subject<'a>(&self, wire: &'a str) -> &'a str {
        if self.stream_prefix.is_empty() {
            return wire;
        }
        wire.strip_prefix(self.stream_prefix.as_str())
            .and_then(|rest| rest.strip_prefix('.'))
            .unwrap_or(wire)
    }
}

fn invalid(subject: &str, reason: &str) -> EventError {
    EventError::InvalidSubject {
        subject: subject.to_string(),
        reason: reason.to_string(),
    }
}

fn valid_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn valid_domain(token: &str) -> bool {
    valid_token(token)
        && token
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Checks a concrete subject (`domain.event[.more]`) and returns its domain.
fn publish_domain(subject: &str) -> Result<&str, EventError> {
    let tokens: Vec<&str> = subject.split('.').collect();
    if tokens.len() < 2 {
        return Err(invalid(subject, "expected `<domain>.<event>`"));
    }
    if !valid_domain(tokens[0]) {
        return Err(invalid(
            subject,
            "the domain (first token) may hold only lowercase letters, digits, `_` and `-`",
        ));
    }
    if !tokens.iter().all(|t| valid_token(t)) {
        return Err(invalid(
            subject,
            "tokens must be non-empty letters, digits, `_` or `-` (no wildcards)",
        ));
    }
    Ok(tokens[0])
}

/// A subscription filter: a literal domain, then tokens, `*` or a final `>`.
#[derive(Clone, Debug)]
struct Filter {
    subject: String,
    domain: String,
}

fn parse_filter(subject: &str) -> Result<Filter, EventError> {
    let tokens: Vec<&str> = subject.split('.').collect();
    if tokens.len() < 2 {
        return Err(invalid(subject, "expected `<domain>.<event or wildcard>`"));
    }
    if !valid_domain(tokens[0]) {
        return Err(invalid(
            subject,
            "the first token must be a literal domain (lowercase letters, digits, `_`, `-`)",
        ));
    }
    for (i, token) in tokens.iter().enumerate().skip(1) {
        let ok = match *token {
            "*" => true,
            ">" => i + 1 == tokens.len(),
            other => valid_token(other),
        };
        if !ok {
            return Err(invalid(
                subject,
                "tokens must be letters, digits, `_`, `-`, `*`, or a final `>`",
            ));
        }
    }
    Ok(Filter {
        subject: subject.to_string(),
        domain: tokens[0].to_string(),
    })
}

/// NATS subject matching: `*` matches one token, a final `>` one or more.
fn subject_matches(filter: &str, subject: &str) -> bool {
    let mut subject_tokens = subject.split('.');
    for pattern in filter.split('.') {
        match (pattern, subject_tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (p, Some(s)) if p == s => {}
            _ => return false,
        }
    }
    subject_tokens.next().is_none()
}

fn validate_durable(durable: &str) -> Result<(), EventError> {
    if valid_token(durable) {
        Ok(())
    } else {
        Err(EventError::InvalidDurable(durable.to_string()))
    }
}

// ---------------------------------------------------------------------------
// NATS JetStream
// ---------------------------------------------------------------------------

#[derive(Clone)]
pub struct NatsBus {
    /// Boxed: the context is large and the bus is cloned into every consumer task.
    jetstream: Arc<async_nats::jetstream::Context>,
    settings: Arc<Settings>,
    /// Domains whose stream this instance already created or found.
    known_streams: Arc<Mutex<HashSet<String>>>,
}

impl std::fmt::Debug for NatsBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsBus")
            .field("settings", &self.settings)
            .finish()
    }
}

impl NatsBus {
    async fn connect(url: &str, settings: Settings) -> Result<NatsBus, EventError> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| EventError::Connect(format!("{url}: {e}")))?;
        let bus = NatsBus {
            jetstream: Arc::new(async_nats::jetstream::new(client)),
            settings: Arc::new(settings),
            known_streams: Arc::new(Mutex::new(HashSet::new())),
        };
        bus.ping()
            .await
            .map_err(|e| EventError::Connect(format!("{url}: JetStream unavailable: {e}")))?;
        Ok(bus)
    }

    /// Asks for JetStream account info. Read as plain JSON: `query_account` expects fields
    /// that 2.9 servers do not send.
    async fn ping(&self) -> Result<(), EventError> {
        let reply: serde_json::Value = self
            .jetstream
            .request("INFO", &serde_json::json!({}))
            .await
            .map_err(|e| EventError::Ping(e.to_string()))?;
        match reply.get("error") {
            Some(error) => Err(EventError::Ping(error.to_string())),
            None => Ok(()),
        }
    }

    async fn stream(
        &self,
        domain: &str,
    ) -> Result<async_nats::jetstream::stream::Stream, EventError> {
        use async_nats::jetstream::stream::{Config, StorageType};
        let name = self.settings.stream_name(domain);
        let stream = self
            .jetstream
            .get_or_create_stream(Config {
                name: name.clone(),
                subjects: vec![self.settings.wire_subject(&format!("{domain}.>"))],
                storage: StorageType::File,
                duplicate_window: self.settings.duplicate_window,
                ..Default::default()
            })
            .await
            .map_err(|e| EventError::Stream(format!("stream {name}: {e}")))?;
        lock(&self.known_streams).insert(domain.to_string());
        Ok(stream)
    }

    async fn publish(
        &self,
        domain: &str,
        subject: &str,
        msg_id: &str,
        payload: Bytes,
    ) -> Result<(), EventError> {
        let known = lock(&self.known_streams).contains(domain);
        if !known {
            self.stream(domain).await?;
        }
        let publish_error = |e: String| EventError::Publish {
            subject: subject.to_string(),
            message: e,
        };
        let mut message = async_nats::jetstream::message::PublishMessage::build().payload(payload);
        if !msg_id.is_empty() {
            message = message.message_id(msg_id);
        }
        let ack = self
            .jetstream
            .send_publish(self.settings.wire_subject(subject), message)
            .await
            .map_err(|e| publish_error(e.to_string()))?;
        ack.await.map_err(|e| publish_error(e.to_string()))?;
        Ok(())
    }

    async fn subscribe(
        &self,
        durable: &str,
        filter: Filter,
        inactive_threshold: Option<Duration>,
    ) -> Result<NatsSubscription, EventError> {
        use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
        let stream = self.stream(&filter.domain).await?;
        let consumer = stream
            .get_or_create_consumer(
                durable,
                pull::Config {
                    durable_name: Some(durable.to_string()),
                    filter_subject: self.settings.wire_subject(&filter.subject),
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: self.settings.ack_wait,
                    deliver_policy: DeliverPolicy::All,
                    inactive_threshold: inactive_threshold.unwrap_or_default(),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| EventError::Stream(format!("consumer {durable}: {e}")))?;
        // One message per pull request: a message is fetched only when `next` is called,
        // so subscriptions sharing a durable split the work and nothing waits in a local
        // buffer while its ack timer runs.
        let messages = consumer
            .stream()
            .max_messages_per_batch(1)
            .messages()
            .await
            .map_err(|e| EventError::Stream(format!("consumer {durable}: {e}")))?;
        Ok(NatsSubscription {
            messages,
            settings: self.settings.clone(),
        })
    }
}

struct NatsSubscription {
    messages: async_nats::jetstream::consumer::pull::Stream,
    settings: Arc<Settings>,
}

impl NatsSubscription {
    async fn next(&mut self) -> Option<Result<Delivery, EventError>> {
        use futures::StreamExt;
        let item = self.messages.next().await?;
        Some(
            item.map_err(|e| EventError::Receive(e.to_string()))
                .and_then(|message| nats_delivery(&self.settings, message)),
        )
    }
}

fn nats_delivery(
    settings: &Settings,
    message: async_nats::jetstream::Message,
) -> Result<Delivery, EventError> {
    let delivery_count = message
        .info()
        .map_err(|e| EventError::Receive(format!("malformed JetStream reply subject: {e}")))?
        .delivered;
    let msg_id = message
        .headers
        .as_ref()
        .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
        .map(|v| v.as_str().to_string());
    Ok(Delivery {
        subject: settings.api_subject(message.subject.as_str()).to_string(),
        msg_id,
        payload: message.payload.clone(),
        delivery_count: u64::try_from(delivery_count).unwrap_or(1),
        acker: Acker::Nats(Box::new(message)),
    })
}

// ---------------------------------------------------------------------------
// In-process bus
// ---------------------------------------------------------------------------

/// The in-process bus. Clones share state; dropping the last clone closes it (open
/// subscriptions then end with `None`).
#[derive(Clone)]
pub struct MemoryBus {
    shared: Arc<MemoryShared>,
    _open: Arc<CloseOnDrop>,
}

impl std::fmt::Debug for MemoryBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBus")
            .field("settings", &self.shared.settings)
            .finish()
    }
}

struct MemoryShared {
    settings: Settings,
    state: Mutex<MemoryState>,
    /// Signalled on publish, nak and close; waiters re-check the state.
    changed: Notify,
    closed: AtomicBool,
    /// Test hook: how many upcoming publishes fail.
    injected_failures: AtomicU32,
}

struct CloseOnDrop(Arc<MemoryShared>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::SeqCst);
        self.0.changed.notify_waiters();
    }
}

#[derive(Default)]
struct MemoryState {
    domains: HashMap<String, DomainLog>,
}

#[derive(Default)]
struct DomainLog {
    /// Sequence number n is `messages[n - 1]`.
    messages: Vec<StoredMessage>,
    /// Message ids seen within the duplicate window, oldest first.
    recent_ids: VecDeque<(Instant, String)>,
    recent_set: HashSet<String>,
    consumers: HashMap<String, ConsumerState>,
}

struct StoredMessage {
    subject: String,
    msg_id: Option<String>,
    payload: Bytes,
}

struct ConsumerState {
    filter: String,
    /// Sequence of the first message not yet looked at.
    next_seq: u64,
    /// Delivered and unacknowledged: sequence → redelivery deadline.
    in_flight: HashMap<u64, Instant>,
    /// Due for redelivery (nak'd or past their deadline), lowest sequence first.
    ready: BTreeSet<u64>,
    /// Deliveries so far of each unacknowledged sequence.
    delivered: HashMap<u64, u64>,
}

enum Settle {
    Ack,
    Nak,
}

impl MemoryBus {
    fn new(settings: Settings) -> MemoryBus {
        let shared = Arc::new(MemoryShared {
            settings,
            state: Mutex::new(MemoryState::default()),
            changed: Notify::new(),
            closed: AtomicBool::new(false),
            injected_failures: AtomicU32::new(0),
        });
        MemoryBus {
            _open: Arc::new(CloseOnDrop(shared.clone())),
            shared,
        }
    }

    /// Test hook: the next `count` publishes fail as if the bus were unreachable.
    #[doc(hidden)]
    pub fn fail_next_publishes(&self, count: u32) {
        self.shared.injected_failures.store(count, Ordering::SeqCst);
    }

    fn publish(
        &self,
        domain: &str,
        subject: &str,
        msg_id: &str,
        payload: Bytes,
    ) -> Result<(), EventError> {
        let injected = self
            .shared
            .injected_failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if injected {
            return Err(EventError::Publish {
                subject: subject.to_string(),
                message: "injected failure (test hook)".into(),
            });
        }
        let now = Instant::now();
        {
            let mut state = lock(&self.shared.state);
            let log = state.domains.entry(domain.to_string()).or_default();
            let window = self.shared.settings.duplicate_window;
            while let Some((at, _)) = log.recent_ids.front() {
                if now.duration_since(*at) < window {
                    break;
                }
                if let Some((_, id)) = log.recent_ids.pop_front() {
                    log.recent_set.remove(&id);
                }
            }
            if !msg_id.is_empty() {
                if log.recent_set.contains(msg_id) {
                    return Ok(());
                }
                if !window.is_zero() {
                    log.recent_set.insert(msg_id.to_string());
                    log.recent_ids.push_back((now, msg_id.to_string()));
                }
            }
            log.messages.push(StoredMessage {
                subject: subject.to_string(),
                msg_id: (!msg_id.is_empty()).then(|| msg_id.to_string()),
                payload,
            });
        }
        self.shared.changed.notify_waiters();
        Ok(())
    }

    fn subscribe(&self, durable: &str, filter: Filter) -> MemorySubscription {
        let mut state = lock(&self.shared.state);
        let log = state.domains.entry(filter.domain.clone()).or_default();
        // Like JetStream, an existing durable keeps its original filter.
        log.consumers
            .entry(durable.to_string())
            .or_insert_with(|| ConsumerState {
                filter: filter.subject.clone(),
                next_seq: 1,
                in_flight: HashMap::new(),
                ready: BTreeSet::new(),
                delivered: HashMap::new(),
            });
        MemorySubscription {
            shared: self.shared.clone(),
            domain: filter.domain,
            durable: durable.to_string(),
        }
    }
}

struct MemorySubscription {
    shared: Arc<MemoryShared>,
    domain: String,
    durable: String,
}

impl MemorySubscription {
    async fn next(&mut self) -> Option<Delivery> {
        loop {
            // Registered before looking at the state, so a change made after the look
            // still wakes this waiter.
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.shared.closed.load(Ordering::SeqCst) {
                return None;
            }
            let next_deadline = match self.try_deliver() {
                Ok(delivery) => return Some(delivery),
                Err(deadline) => deadline,
            };
            match next_deadline {
                Some(deadline) => {
                    tokio::select! {
                        _ = &mut notified => {}
                        _ = tokio::time::sleep_until(deadline) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Hands out the next due message, or returns the earliest redelivery deadline.
    fn try_deliver(&self) -> Result<Delivery, Option<Instant>> {
        let now = Instant::now();
        let ack_wait = self.shared.settings.ack_wait;
        let mut state = lock(&self.shared.state);
        let Some(log) = state.domains.get_mut(&self.domain) else {
            return Err(None);
        };
        let DomainLog {
            messages,
            consumers,
            ..
        } = log;
        let Some(consumer) = consumers.get_mut(&self.durable) else {
            return Err(None);
        };
        let expired: Vec<u64> = consumer
            .in_flight
            .iter()
            .filter(|(_, deadline)| **deadline <= now)
            .map(|(seq, _)| *seq)
            .collect();
        for seq in expired {
            consumer.in_flight.remove(&seq);
            consumer.ready.insert(seq);
        }
        let seq = match consumer.ready.pop_first() {
            Some(seq) => Some(seq),
            None => {
                let mut found = None;
                while let Some(message) = messages.get(index(consumer.next_seq)) {
                    let seq = consumer.next_seq;
                    consumer.next_seq += 1;
                    if subject_matches(&consumer.filter, &message.subject) {
                        found = Some(seq);
                        break;
                    }
                }
                found
            }
        };
        let Some(seq) = seq else {
            return Err(consumer.in_flight.values().min().copied());
        };
        let count = consumer.delivered.entry(seq).or_insert(0);
        *count += 1;
        let delivery_count = *count;
        consumer.in_flight.insert(seq, now + ack_wait);
        let message = &messages[index(seq)];
        Ok(Delivery {
            subject: message.subject.clone(),
            msg_id: message.msg_id.clone(),
            payload: message.payload.clone(),
            delivery_count,
            acker: Acker::Memory(MemoryAcker {
                shared: self.shared.clone(),
                domain: self.domain.clone(),
                durable: self.durable.clone(),
                seq,
            }),
        })
    }
}

fn index(seq: u64) -> usize {
    usize::try_from(seq.saturating_sub(1)).unwrap_or(usize::MAX)
}

struct MemoryAcker {
    shared: Arc<MemoryShared>,
    domain: String,
    durable: String,
    seq: u64,
}

impl MemoryAcker {
    fn settle(&self, settle: Settle) {
        let mut state = lock(&self.shared.state);
        let Some(consumer) = state
            .domains
            .get_mut(&self.domain)
            .and_then(|log| log.consumers.get_mut(&self.durable))
        else {
            return;
        };
        match settle {
            Settle::Ack => {
                // Also accepted after the deadline passed, as JetStream does.
                consumer.in_flight.remove(&self.seq);
                consumer.ready.remove(&self.seq);
                consumer.delivered.remove(&self.seq);
            }
            Settle::Nak => {
                if consumer.in_flight.remove(&self.seq).is_some() {
                    consumer.ready.insert(self.seq);
                    drop(state);
                    self.shared.changed.notify_waiters();
                }
            }
        }
    }
}

/// Locks a mutex; the guarded data stays consistent even if a holder panicked, since
/// every critical section here only moves entries between collections.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn envelopes_carry_the_trace_they_were_created_in() {
        let outside = Envelope::new("a.b", "1", serde_json::json!({}));
        assert_eq!(outside.trace_context, None);
        let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let inside = with_trace_context(Some(trace.to_owned()), async {
            Envelope::new("a.b", "1", serde_json::json!({}))
        })
        .await;
        assert_eq!(inside.trace_context.as_deref(), Some(trace));
    }

    #[test]
    fn subject_matching() {
        assert!(subject_matches("users.created", "users.created"));
        assert!(!subject_matches("users.created", "users.deleted"));
        assert!(subject_matches("users.*", "users.created"));
        assert!(!subject_matches("users.*", "users.created.v2"));
        assert!(subject_matches("users.>", "users.created.v2"));
        assert!(!subject_matches("users.>", "users"));
        assert!(subject_matches("users.*.v2", "users.created.v2"));
        assert!(!subject_matches("users.created.v2", "users.created"));
    }

    #[test]
    fn subject_validation() {
        assert_eq!(publish_domain("users.created").unwrap(), "users");
        for bad in [
            "users",
            "users.",
            ".created",
            "Users.created",
            "users.*",
            "a b.c",
        ] {
            assert!(publish_domain(bad).is_err(), "{bad}");
        }
        assert!(parse_filter("users.>").is_ok());
        assert!(parse_filter("users.*.v2").is_ok());
        for bad in ["*.created", ">", "users.>.x", "users", "users..x"] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
        assert!(validate_durable("users-svc_1").is_ok());
        assert!(validate_durable("a.b").is_err());
        assert!(validate_durable("").is_err());
    }

    #[test]
    fn envelope_round_trip_uses_type_key() {
        let env = Envelope::new("users.created", "u1", serde_json::json!({"a": 1}));
        let bytes = env.to_bytes().unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["type"], "users.created");
        assert_eq!(Envelope::from_bytes(&bytes).unwrap(), env);
        assert_eq!(uuid::Uuid::parse_str(&env.id).unwrap().get_version_num(), 7);
    }
}
