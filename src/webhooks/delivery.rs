//! One recording's delivery task: takes the messages of its [`Outbox`](super::Outbox) in order and
//! POSTs each, signed afresh per attempt, until it is delivered, given up (after `retry_for`, or
//! at once on 410 Gone) or abandoned at shutdown. Every attempt is logged and counted here.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use standardwebhooks::{HEADER_WEBHOOK_ID, HEADER_WEBHOOK_SIGNATURE, HEADER_WEBHOOK_TIMESTAMP};
use tokio::sync::mpsc::UnboundedReceiver;
use url::Url;

use super::{Counters, Inner, Message};
use crate::backoff::Backoff;

/// Everything one recording's task needs.
pub(super) struct Delivery {
    pub(super) inner: Arc<Inner>,
    pub(super) signer: Arc<standardwebhooks::Webhook>,
    pub(super) backoff: Backoff,
    pub(super) url: Url,
}

/// How one message ended.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Delivered,
    GivenUp,
    Abandoned,
}

/// Why one attempt did not deliver.
#[derive(Debug)]
enum Failure {
    Status(StatusCode),
    Timeout(Duration),
    Network(String),
    Sign(String),
}

impl Failure {
    fn from_reqwest(err: reqwest::Error, timeout: Duration) -> Self {
        if err.is_timeout() {
            return Self::Timeout(timeout);
        }
        // The URL is stripped: its query may hold credentials. The source chain says what failed
        // (refused, DNS, TLS…), which the top-level message alone does not.
        let err = err.without_url();
        let mut text = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            text = format!("{text}: {cause}");
            source = cause.source();
        }
        Self::Network(text)
    }

    /// 410 Gone: the receiver says the endpoint is gone for good, so retrying is pointless. A
    /// signing failure cannot get better either.
    fn is_final(&self) -> bool {
        matches!(self, Self::Status(StatusCode::GONE) | Self::Sign(_))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(status) => write!(f, "HTTP {status}"),
            Self::Timeout(after) => write!(f, "timed out after {} ms", after.as_millis()),
            Self::Network(text) => write!(f, "{text}"),
            Self::Sign(text) => write!(f, "cannot sign: {text}"),
        }
    }
}

impl Delivery {
    /// Delivers the queue in order until every [`Outbox`](super::Outbox) clone is dropped, shutdown
    /// drains the queue, or the stop token abandons what is left.
    pub(super) async fn run(self, mut rx: UnboundedReceiver<Message>) {
        while let Some(message) = self.next(&mut rx).await {
            if self.deliver(&message).await == Outcome::Abandoned {
                self.abandon_rest(&mut rx);
                return;
            }
        }
    }

    /// The next message; once shutdown begins, the ones already queued and then None, so an idle
    /// task does not keep shutdown waiting for its recording to drop the Outbox.
    async fn next(&self, rx: &mut UnboundedReceiver<Message>) -> Option<Message> {
        tokio::select! {
            message = rx.recv() => message,
            () = self.inner.closing.cancelled() => {
                rx.close();
                rx.recv().await
            }
        }
    }

    /// Attempts one message until it is delivered, given up or abandoned; backs off between tries.
    async fn deliver(&self, message: &Message) -> Outcome {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = tokio::select! {
                biased;
                () = self.inner.stop.cancelled() => return self.abandoned(message, attempt - 1),
                result = self.attempt(message, attempt) => result,
            };
            let Err(failure) = result else {
                self.inner.counters.done(&self.inner.counters.delivered);
                return Outcome::Delivered;
            };
            let left = self.inner.retry_for.saturating_sub(message.queued_at.elapsed());
            if failure.is_final() || left.is_zero() {
                return self.give_up(message, attempt, &failure);
            }
            // Never sleep past the end of `retry_for`: the last try happens right at its end.
            let delay = self.backoff.delay(attempt).min(left);
            tokio::select! {
                biased;
                () = self.inner.stop.cancelled() => return self.abandoned(message, attempt),
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// One POST, logged and counted.
    async fn attempt(&self, message: &Message, attempt: u32) -> Result<(), Failure> {
        let started = Instant::now();
        let result = self.post(message).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let counters = &self.inner.counters;
        Counters::add(&counters.attempts, 1);
        match &result {
            Ok(status) => tracing::debug!(
                event_type = %message.event_type, webhook_id = %message.id, attempt,
                status = status.as_u16(), elapsed_ms, "webhook delivered"
            ),
            Err(failure) => {
                Counters::add(&counters.failed_attempts, 1);
                tracing::warn!(
                    event_type = %message.event_type, webhook_id = %message.id, attempt,
                    error = %failure, elapsed_ms, "webhook attempt failed"
                );
            }
        }
        result.map(drop)
    }

    /// Signs the message for this moment and POSTs it; a 2xx status is success.
    async fn post(&self, message: &Message) -> Result<StatusCode, Failure> {
        let timestamp = chrono::Utc::now().timestamp();
        let signature = self
            .signer
            .sign(&message.id, timestamp, message.body.as_bytes())
            .map_err(|e| Failure::Sign(e.to_string()))?;
        let response = self
            .inner
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(HEADER_WEBHOOK_ID, &message.id)
            .header(HEADER_WEBHOOK_TIMESTAMP, timestamp.to_string())
            .header(HEADER_WEBHOOK_SIGNATURE, signature)
            .body(message.body.clone())
            .send()
            .await
            .map_err(|e| Failure::from_reqwest(e, self.inner.timeout))?;
        // The response body is not read: receivers owe us nothing but the status.
        let status = response.status();
        if status.is_success() { Ok(status) } else { Err(Failure::Status(status)) }
    }

    fn give_up(&self, message: &Message, attempts: u32, last_error: &Failure) -> Outcome {
        self.inner.counters.done(&self.inner.counters.given_up);
        tracing::error!(
            event_type = %message.event_type, webhook_id = %message.id, attempts,
            last_error = %last_error, elapsed_ms = message.queued_at.elapsed().as_millis() as u64,
            "webhook given up"
        );
        Outcome::GivenUp
    }

    fn abandoned(&self, message: &Message, attempts: u32) -> Outcome {
        self.inner.counters.done(&self.inner.counters.abandoned);
        tracing::error!(
            event_type = %message.event_type, webhook_id = %message.id, attempts,
            "webhook abandoned at shutdown"
        );
        Outcome::Abandoned
    }

    /// Logs and counts every message still queued behind an abandoned one.
    fn abandon_rest(&self, rx: &mut UnboundedReceiver<Message>) {
        rx.close();
        while let Ok(message) = rx.try_recv() {
            self.abandoned(&message, 0);
        }
    }
}
