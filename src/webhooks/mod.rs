//! Signed webhooks per the Standard Webhooks specification (<https://www.standardwebhooks.com>):
//! tells a recording's endpoint what happened to it. [`Webhooks`] owns the signing key, the HTTP
//! client, the counters and the delivery tasks; an [`Outbox`] is one recording's ordered queue,
//! drained by its own task (`delivery`). Delivery is at-least-once, so receivers deduplicate on
//! the `webhook-id` header, which stays the same on every retry of a message.

mod delivery;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;
use url::Url;

use crate::backoff::Backoff;
use delivery::Delivery;

const SECRET_PREFIX: &str = "whsec_";
/// Key sizes the Standard Webhooks specification allows (bytes, after base64 decoding).
const SECRET_BYTES: std::ops::RangeInclusive<usize> = 24..=64;
const USER_AGENT: &str = concat!("wallflower/", env!("CARGO_PKG_VERSION"));

/// Errors of the webhooks module.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("invalid webhook secret: {0}")]
    InvalidSecret(String),
    #[error("cannot build the webhook HTTP client: {0}")]
    HttpClient(String),
}

impl WebhookError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidSecret(_) => "invalid_webhook_secret",
            Self::HttpClient(_) => "webhook_client",
        }
    }

    /// Both are the operator's configuration (or the machine), never a request's fault.
    pub fn is_client_error(&self) -> bool {
        false
    }
}

/// Server-wide settings.
#[derive(Clone)]
pub struct WebhookConfig {
    /// `whsec_<base64>` secret (Standard Webhooks form); None = webhooks disabled.
    pub secret: Option<String>,
    /// Default endpoint for recordings that name none.
    pub default_url: Option<Url>,
    /// How long to keep retrying one message before giving up (default 1 hour).
    pub retry_for: Duration,
    /// Per-attempt HTTP timeout (default 10 s).
    pub timeout: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self { secret: None, default_url: None, retry_for: Duration::from_secs(3600), timeout: Duration::from_secs(10) }
    }
}

// By hand rather than derived: the secret and the URL's query (it may carry credentials) must never
// reach a log through `{:?}`.
impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("default_url", &self.default_url.as_ref().map(loggable_url))
            .field("retry_for", &self.retry_for)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Counters for logs/metrics, since the server started.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct WebhookStats {
    /// Messages a receiver accepted (2xx).
    pub delivered: u64,
    /// HTTP attempts that finished (answered or failed), retries included.
    pub attempts: u64,
    /// Attempts that got no 2xx: network error, timeout or another status.
    pub failed_attempts: u64,
    /// Messages dropped after `retry_for` of failures, or at once on 410 Gone.
    pub given_up: u64,
    /// Messages still undelivered when shutdown's deadline passed.
    pub abandoned: u64,
    /// Messages accepted and not yet delivered, given up or abandoned (in flight included).
    pub queued: u64,
}

/// Delivers webhooks; cheap to clone. Owns a [`TaskTracker`] for its delivery tasks.
#[derive(Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
    /// Outside `Inner` so that [`Webhooks::with_backoff`] can change it on a value already built.
    backoff: Backoff,
}

/// What every delivery task shares.
struct Inner {
    /// None when no secret is configured (webhooks disabled).
    signer: Option<Arc<standardwebhooks::Webhook>>,
    client: reqwest::Client,
    default_url: Option<Url>,
    retry_for: Duration,
    timeout: Duration,
    counters: Counters,
    tracker: TaskTracker,
    /// Cancelled when shutdown begins: no new messages; queues drain, then their tasks end.
    closing: CancellationToken,
    /// Cancelled when the drain deadline passes (or the server's token is): abandon at once.
    /// `closing` is its child, so stopping also closes.
    stop: CancellationToken,
}

/// Webhook retry delays: 0.5 s doubling to 60 s, with full jitter.
const BACKOFF: Backoff = Backoff { first: Duration::from_millis(500), cap: Duration::from_secs(60) };

/// Relaxed atomics: each counter stands alone, nothing is ordered by them.
#[derive(Default)]
struct Counters {
    delivered: AtomicU64,
    attempts: AtomicU64,
    failed_attempts: AtomicU64,
    given_up: AtomicU64,
    abandoned: AtomicU64,
    queued: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn done(&self, counter: &AtomicU64) {
        Self::add(counter, 1);
        self.queued.fetch_sub(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> WebhookStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        WebhookStats {
            delivered: get(&self.delivered),
            attempts: get(&self.attempts),
            failed_attempts: get(&self.failed_attempts),
            given_up: get(&self.given_up),
            abandoned: get(&self.abandoned),
            queued: get(&self.queued),
        }
    }
}

impl Webhooks {
    /// Checks the secret (must start with `whsec_` and base64-decode to 24..=64 bytes; the error
    /// names the problem). `shutdown` is the server's token: cancelling it abandons all delivery at
    /// once; [`Webhooks::shutdown`] is the graceful way.
    pub fn new(config: WebhookConfig, shutdown: CancellationToken) -> Result<Self, WebhookError> {
        let signer = config.secret.as_deref().map(signer).transpose()?.map(Arc::new);
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(config.timeout)
            // A redirect is a misconfigured endpoint: following it would post the signed event to
            // wherever it points. It counts as a failed attempt instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| WebhookError::HttpClient(e.to_string()))?;
        let stop = shutdown.child_token();
        let inner = Inner {
            signer,
            client,
            default_url: config.default_url,
            retry_for: config.retry_for,
            timeout: config.timeout,
            counters: Counters::default(),
            tracker: TaskTracker::new(),
            closing: stop.child_token(),
            stop,
        };
        Ok(Self { inner: Arc::new(inner), backoff: BACKOFF })
    }

    /// Replaces the retry delays (default 0.5 s doubling to 60 s); for tests. Affects outboxes
    /// made afterwards from this value.
    #[doc(hidden)]
    pub fn with_backoff(mut self, first: Duration, cap: Duration) -> Self {
        self.backoff = Backoff { first, cap };
        self
    }

    /// True when a secret is configured.
    pub fn enabled(&self) -> bool {
        self.inner.signer.is_some()
    }

    /// The endpoint for a recording: its own `webhook_url` or the server default.
    pub fn endpoint(&self, requested: Option<&Url>) -> Option<Url> {
        requested.or(self.inner.default_url.as_ref()).cloned()
    }

    /// A per-recording queue: messages sent through one Outbox are delivered in order (a later
    /// one waits until the earlier one was delivered or given up). Without a secret, or once
    /// shutdown has begun, the Outbox accepts nothing. Call it within the Tokio runtime: it spawns
    /// the recording's delivery task.
    pub fn outbox(&self, url: Url, recording_id: &str) -> Outbox {
        let recording_id: Arc<str> = recording_id.into();
        let Some(signer) = self.inner.signer.clone() else {
            return Outbox { tx: None, inner: self.inner.clone(), recording_id };
        };
        let (tx, rx) = mpsc::unbounded_channel();
        // After shutdown began the receiver is simply dropped, so every send is refused (and logged).
        if !self.inner.closing.is_cancelled() {
            let span = tracing::info_span!("webhooks", recording_id = %recording_id, endpoint = %loggable_url(&url));
            let task = Delivery { inner: self.inner.clone(), signer, backoff: self.backoff, url };
            self.inner.tracker.spawn(task.run(rx).instrument(span));
        }
        Outbox { tx: Some(tx), inner: self.inner.clone(), recording_id }
    }

    /// Counters for logs/metrics.
    pub fn stats(&self) -> WebhookStats {
        self.inner.counters.snapshot()
    }

    /// Stops accepting, delivers what is queued for at most `deadline`, then abandons the rest
    /// (each abandoned message is logged).
    pub async fn shutdown(&self, deadline: Duration) {
        self.inner.closing.cancel();
        self.inner.tracker.close();
        if tokio::time::timeout(deadline, self.inner.tracker.wait()).await.is_ok() {
            return;
        }
        let pending = self.inner.counters.queued.load(Ordering::Relaxed);
        tracing::warn!(pending, deadline_ms = deadline.as_millis() as u64, "webhook drain deadline passed; abandoning");
        self.inner.stop.cancel();
        // Prompt: every delivery task waits on `stop` beside its request or back-off sleep.
        self.inner.tracker.wait().await;
    }
}

impl fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhooks")
            .field("enabled", &self.enabled())
            .field("default_url", &self.inner.default_url.as_ref().map(loggable_url))
            .field("stats", &self.stats())
            .finish()
    }
}

/// One recording's queue; cheap to clone. Dropping every clone ends the recording's delivery task
/// after its queue drains.
#[derive(Clone)]
pub struct Outbox {
    /// None when webhooks are disabled.
    tx: Option<mpsc::UnboundedSender<Message>>,
    inner: Arc<Inner>,
    recording_id: Arc<str>,
}

impl Outbox {
    /// Queues `event_type` (e.g. "recording.completed") carrying `data` (the recording resource
    /// as JSON). Never blocks: the queue is unbounded because a recording sends a handful of events.
    pub fn send(&self, event_type: &str, data: Value) {
        let Some(tx) = &self.tx else { return };
        let refused = |why: &str| {
            tracing::warn!(recording_id = %self.recording_id, event_type, "webhook not queued: {why}");
        };
        if self.inner.closing.is_cancelled() {
            refused("shutting down");
            return;
        }
        let message = Message::new(event_type, data);
        Counters::add(&self.inner.counters.queued, 1);
        if tx.send(message).is_err() {
            self.inner.counters.queued.fetch_sub(1, Ordering::Relaxed);
            refused("delivery has stopped");
        }
    }
}

impl fmt::Debug for Outbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbox").field("recording_id", &self.recording_id).field("enabled", &self.tx.is_some()).finish()
    }
}

/// One event, signed afresh on every attempt; id and body never change between attempts.
struct Message {
    /// `webhook-id`: `msg_` and a UUID v7, so ids also sort by creation time.
    id: String,
    event_type: String,
    body: String,
    queued_at: Instant,
}

impl Message {
    fn new(event_type: &str, data: Value) -> Self {
        let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let body = serde_json::json!({ "type": event_type, "timestamp": timestamp, "data": data });
        Self {
            id: format!("msg_{}", uuid::Uuid::now_v7().simple()),
            event_type: event_type.to_owned(),
            body: body.to_string(),
            queued_at: Instant::now(),
        }
    }
}

/// Builds the signer from a `whsec_<base64>` secret, saying what is wrong without repeating it.
fn signer(secret: &str) -> Result<standardwebhooks::Webhook, WebhookError> {
    let invalid = |why: String| WebhookError::InvalidSecret(why);
    let encoded = secret.trim().strip_prefix(SECRET_PREFIX).ok_or_else(|| {
        invalid(format!("it must start with `{SECRET_PREFIX}` followed by base64 of 24 to 64 random bytes"))
    })?;
    // The crate decodes with the standard alphabet and canonical `=` padding.
    let signer = standardwebhooks::Webhook::new(encoded).map_err(|_| {
        invalid(format!(
            "the part after `{SECRET_PREFIX}` is not valid base64 (standard alphabet, `=` padding); \
             make one with `echo {SECRET_PREFIX}$(openssl rand -base64 32)`"
        ))
    })?;
    let bytes = decoded_len(encoded);
    if !SECRET_BYTES.contains(&bytes) {
        return Err(invalid(format!("it decodes to {bytes} bytes; 24 to 64 are required")));
    }
    Ok(signer)
}

/// Length of canonical padded base64 once decoded (the crate does not hand the key back).
fn decoded_len(encoded: &str) -> usize {
    let padding = encoded.bytes().rev().take_while(|&b| b == b'=').count();
    (encoded.len() / 4 * 3).saturating_sub(padding)
}

/// `scheme://host:port/path`: what may be logged of an endpoint. Its query and user info may carry
/// credentials (presigned-style URLs), so they are left out.
fn loggable_url(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port_or_known_default() {
        Some(port) => format!("{}://{host}:{port}{}", url.scheme(), url.path()),
        None => format!("{}://{host}{}", url.scheme(), url.path()),
    }
}
