//! Retrying a store that does not answer: exponential backoff with full jitter, and a budget that
//! only runs out once the recording has ended (while it records, the local spool keeps every
//! byte, so there is no reason to give up) and the store has been silent for `retry_for`.

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;

use super::{StorageError, UploadStatus};
use crate::backoff::Backoff;
use crate::metrics::Metrics;

/// Waits between attempts: 0.5 s doubling to 30 s, with full jitter.
const BACKOFF: Backoff = Backoff { first: Duration::from_millis(500), cap: Duration::from_secs(30) };

/// Whether a failure is worth another attempt.
pub enum Attempt {
    /// Network trouble, a timeout, a 5xx or 429: try again.
    Retry(String),
    /// The store refused for good (no such bucket, denied, bad request).
    Fatal(StorageError),
}

/// Tracks one delivery's failures against its budget and reports them in its status.
pub struct Retrier<'a> {
    retry_for: Duration,
    /// The service is shutting down: a failure is final (the local files stay for a retry).
    cancel: tokio_util::sync::CancellationToken,
    last_ok: Instant,
    ended_at: Option<Instant>,
    status: &'a tokio::sync::watch::Sender<UploadStatus>,
    /// Counts retries and confirmed bytes for `GET /metrics`.
    metrics: Metrics,
}

impl<'a> Retrier<'a> {
    pub fn new(retry_for: Duration, cancel: tokio_util::sync::CancellationToken, status: &'a tokio::sync::watch::Sender<UploadStatus>, metrics: Metrics) -> Self {
        Self { retry_for, cancel, last_ok: Instant::now(), ended_at: None, status, metrics }
    }

    /// The store confirmed `bytes` more (a part, a segment, a whole file).
    pub fn confirmed(&self, bytes: usize) {
        self.metrics.uploaded(bytes as u64);
    }

    /// The recording ended: from now the budget can run out.
    pub fn recording_ended(&mut self) {
        self.ended_at.get_or_insert_with(Instant::now);
    }

    /// Runs `op` until it succeeds, fails for good, or the budget is spent.
    pub async fn run<T, F, Fut>(&mut self, what: &str, mut op: F) -> Result<T, StorageError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Attempt>>,
    {
        let mut failures = 0u32;
        loop {
            match op().await {
                Ok(value) => {
                    self.last_ok = Instant::now();
                    if failures > 0 {
                        tracing::info!(what, failures, "the store answers again");
                        self.status.send_modify(|s| s.next_retry_at = None);
                    }
                    return Ok(value);
                }
                Err(Attempt::Fatal(e)) => return Err(e),
                Err(Attempt::Retry(error)) => {
                    failures += 1;
                    let wait = BACKOFF.delay(failures);
                    self.note_failure(what, &error, wait);
                    if let Some(spent) = self.spent() {
                        let attempts = self.status.borrow().failed_attempts;
                        return Err(StorageError::GaveUp { attempts, secs: spent.as_secs(), last: error });
                    }
                    self.metrics.upload_retry();
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = self.cancel.cancelled() => {}
                    }
                }
            }
        }
    }

    fn note_failure(&self, what: &str, error: &str, wait: Duration) {
        tracing::warn!(what, error, retry_in_ms = wait.as_millis() as u64, "upload attempt failed");
        let next = Utc::now() + wait;
        self.status.send_modify(|s| {
            s.failed_attempts += 1;
            s.last_error = Some(format!("{what}: {error}"));
            s.next_retry_at = Some(next);
        });
    }

    /// How long the store has been silent, once that exceeds the budget after the end.
    fn spent(&self) -> Option<Duration> {
        if self.cancel.is_cancelled() {
            return Some(self.last_ok.elapsed());
        }
        let ended = self.ended_at?;
        let since = self.last_ok.max(ended);
        let silent = since.elapsed();
        (silent >= self.retry_for).then(|| self.last_ok.elapsed())
    }
}

/// Sorts an object_store error: worth retrying, or final.
pub fn classify(e: object_store::Error) -> Attempt {
    use object_store::Error as E;
    match e {
        E::NotFound { .. } | E::PermissionDenied { .. } | E::Unauthenticated { .. } | E::NotSupported { .. } => {
            Attempt::Fatal(StorageError::Rejected(e.to_string()))
        }
        E::Precondition { .. } | E::AlreadyExists { .. } | E::InvalidPath { .. } | E::NotImplemented { .. } => {
            Attempt::Fatal(StorageError::Rejected(e.to_string()))
        }
        // Generic covers network errors, timeouts and other statuses; only its text tells which
        // (object_store keeps the status type private).
        other => {
            let text = one_line(&other);
            match status_in(&text) {
                Some(code) if (400..500).contains(&code) && code != 408 && code != 429 => Attempt::Fatal(StorageError::Rejected(text)),
                _ => Attempt::Retry(text),
            }
        }
    }
}

/// The HTTP status in an object_store error text (`… status code: 400 Bad Request …`).
fn status_in(text: &str) -> Option<u16> {
    let rest = text.split("status code: ").nth(1)?;
    rest.get(..3)?.parse().ok()
}

/// An error and its causes on one line.
pub fn one_line(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}
