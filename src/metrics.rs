//! Prometheus metrics, served by `GET /metrics` in the text exposition format (0.0.4).
//!
//! [`Metrics`] counts what happens as it happens: recordings started and how they ended, upload
//! bytes and retries, pipeline restarts, and each capturing recording's achieved fps. What is a
//! state rather than an event (recordings running, capacity left, webhook deliveries, which the
//! webhooks module already counts) is read at scrape time into a [`Snapshot`], so it cannot drift
//! from the truth.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::{EncodeLabelSet, prometheus_text};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::webhooks::WebhookStats;

/// `Content-Type` of the exposition format.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Every metric's name starts with `wallflower_`.
const PREFIX: &str = "wallflower";

pub use crate::recorder::restart::Part as PipelinePart;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndLabels {
    end_reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailLabels {
    end_reason: String,
    error_code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartLabels {
    part: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RecordingLabels {
    id: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    phase: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// What is read at scrape time rather than counted.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Recordings starting, recording or stopping.
    pub capturing: usize,
    /// Recordings whose capture is over and whose files are being uploaded.
    pub uploading: usize,
    /// The most recordings capturing at once.
    pub max_concurrent: usize,
    /// Webhook delivery counters since the service started.
    pub webhooks: WebhookStats,
}

/// The service's counters; cheap to clone (one registry behind an `Arc`).
#[derive(Clone, Debug)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    started: Counter,
    completed: Family<EndLabels, Counter>,
    failed: Family<FailLabels, Counter>,
    upload_bytes: Counter,
    upload_retries: Counter,
    restarts: Family<PartLabels, Counter>,
    fps: Family<RecordingLabels, Gauge<f64, AtomicU64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every counter at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        let (started, completed, failed) = (Counter::default(), Family::default(), Family::default());
        let (upload_bytes, upload_retries) = (Counter::default(), Counter::default());
        let (restarts, fps) = (Family::<PartLabels, Counter>::default(), Family::default());
        registry.register("recordings_started", "Recordings admitted since the service started", started.clone());
        registry.register("recordings_completed", "Recordings that ended completed, by end reason", completed.clone());
        registry.register("recordings_failed", "Recordings that ended failed, by end reason and error code", failed.clone());
        registry.register("upload_bytes", "Bytes the destinations confirmed (videos, parts, HLS, sidecars)", upload_bytes.clone());
        registry.register("upload_retries", "Upload requests that failed and were retried", upload_retries.clone());
        registry.register("pipeline_restarts", "Parts of a recording's pipeline restarted, by part", restarts.clone());
        registry.register("recording_fps", "Frames a second the encoder achieves, by capturing recording", fps.clone());
        for part in PipelinePart::ALL {
            let _ = restarts.get_or_create(&PartLabels { part: part.name() });
        }
        let inner = Inner { registry, started, completed, failed, upload_bytes, upload_retries, restarts, fps };
        Self { inner: Arc::new(inner) }
    }

    /// A recording was admitted.
    pub fn recording_started(&self) {
        self.inner.started.inc();
    }

    /// A recording ended `completed`; its fps series goes.
    pub fn recording_completed(&self, id: &str, end_reason: &str) {
        self.inner.completed.get_or_create(&EndLabels { end_reason: end_reason.into() }).inc();
        self.forget(id);
    }

    /// A recording ended `failed` with `error_code`; its fps series goes.
    pub fn recording_failed(&self, id: &str, end_reason: &str, error_code: &str) {
        let labels = FailLabels { end_reason: end_reason.into(), error_code: error_code.into() };
        self.inner.failed.get_or_create(&labels).inc();
        self.forget(id);
    }

    /// The encoder's latest achieved frame rate for recording `id`.
    pub fn fps(&self, id: &str, fps: f64) {
        // A NaN or infinite rate (no frame time yet) is no measurement.
        if fps.is_finite() {
            self.inner.fps.get_or_create(&RecordingLabels { id: id.into() }).set(fps);
        }
    }

    /// Removes recording `id`'s fps series.
    pub fn forget(&self, id: &str) {
        self.inner.fps.remove(&RecordingLabels { id: id.into() });
    }

    /// A destination confirmed `bytes` more.
    pub fn uploaded(&self, bytes: u64) {
        self.inner.upload_bytes.inc_by(bytes);
    }

    /// An upload request failed and will be tried again.
    pub fn upload_retry(&self) {
        self.inner.upload_retries.inc();
    }

    /// `part` of a recording's pipeline was restarted.
    pub fn pipeline_restart(&self, part: PipelinePart) {
        self.inner.restarts.get_or_create(&PartLabels { part: part.name() }).inc();
    }

    /// Everything in the text exposition format: the counters, then `now`.
    pub fn render(&self, now: &Snapshot) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_text::encode(&mut text, &self.inner.registry)?;
        prometheus_text::encode(&mut text, &snapshot_registry(now))?;
        Ok(text)
    }
}

/// A registry of this scrape's values; built afresh each time, so its counters hold exactly
/// what the snapshot says.
fn snapshot_registry(now: &Snapshot) -> Registry {
    let mut registry = Registry::with_prefix(PREFIX);
    let active = Family::<PhaseLabels, Gauge>::default();
    active.get_or_create(&PhaseLabels { phase: "capturing" }).set(gauge(now.capturing));
    active.get_or_create(&PhaseLabels { phase: "uploading" }).set(gauge(now.uploading));
    registry.register("recordings_active", "Recordings not yet final, by phase", active);
    let left = Gauge::<i64>::default();
    left.set(gauge(now.max_concurrent.saturating_sub(now.capturing)));
    registry.register("capacity_left", "Recordings that can still start (maximum concurrent less capturing)", left);
    let hooks = &now.webhooks;
    let messages = Family::<OutcomeLabels, Counter>::default();
    for (outcome, count) in [("delivered", hooks.delivered), ("given_up", hooks.given_up), ("abandoned", hooks.abandoned)] {
        messages.get_or_create(&OutcomeLabels { outcome }).inc_by(count);
    }
    registry.register("webhook_messages", "Webhook messages by how they ended", messages);
    let attempts = Counter::<u64>::default();
    attempts.inc_by(hooks.attempts);
    registry.register("webhook_attempts", "Webhook HTTP attempts, retries included", attempts);
    let failed = Counter::<u64>::default();
    failed.inc_by(hooks.failed_attempts);
    registry.register("webhook_failed_attempts", "Webhook attempts answered without a 2xx, or not at all", failed);
    let queued = Gauge::<i64>::default();
    queued.set(gauge(hooks.queued as usize));
    registry.register("webhooks_queued", "Webhook messages not yet delivered, given up or abandoned", queued);
    registry
}

fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_with_labels_and_ended_recordings_lose_their_fps() {
        let metrics = Metrics::new();
        metrics.recording_started();
        metrics.recording_started();
        metrics.fps("rec_a", 29.5);
        metrics.fps("rec_b", f64::NAN);
        metrics.recording_failed("rec_c", "error", "room_not_found");
        metrics.uploaded(1000);
        metrics.uploaded(24);
        metrics.pipeline_restart(PipelinePart::Ffmpeg);
        let now = Snapshot { capturing: 1, uploading: 0, max_concurrent: 3, webhooks: WebhookStats { delivered: 7, ..Default::default() } };
        let text = metrics.render(&now).unwrap();
        for line in [
            "wallflower_recordings_started_total 2",
            "wallflower_recording_fps{id=\"rec_a\"} 29.5",
            "wallflower_recordings_failed_total{end_reason=\"error\",error_code=\"room_not_found\"} 1",
            "wallflower_upload_bytes_total 1024",
            "wallflower_pipeline_restarts_total{part=\"ffmpeg\"} 1",
            "wallflower_pipeline_restarts_total{part=\"display\"} 0",
            "wallflower_capacity_left 2",
            "wallflower_recordings_active{phase=\"capturing\"} 1",
            "wallflower_webhook_messages_total{outcome=\"delivered\"} 7",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
        }
        assert!(!text.contains("rec_b"), "a NaN rate is no measurement");
        metrics.recording_completed("rec_a", "stopped");
        let text = metrics.render(&now).unwrap();
        assert!(!text.contains("rec_a"), "{text}");
        assert!(text.lines().any(|l| l == "wallflower_recordings_completed_total{end_reason=\"stopped\"} 1"), "{text}");
    }
}
