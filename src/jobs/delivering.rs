//! The end of a recording: its outcome recorded on the resource, its files delivered (state
//! `uploading` while they go), the upload's progress followed, and `retry-upload` for one whose
//! upload failed. A failed upload never loses the recording: the local files stay and are named.

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::live::Live;
use super::manager::{Inner, sidecars};
use super::model::{ErrorInfo, Recording, RecordingState};
use super::JobError;
use crate::recorder::pipeline::hls_dir;
use crate::recorder::{EndReason, Failure, Outcome, Source};
use crate::storage::delivery::Streaming;
use crate::storage::{Delivery, FileInfo, KeyContext, UploadStatus};
use crate::timeline::Timeline;

/// What key templates see of a recording.
pub(super) fn key_context(rec: &Recording) -> KeyContext {
    let room = match &rec.source {
        Source::Janus { room, .. } => room.to_string(),
        _ => "none".into(),
    };
    KeyContext { id: rec.id.clone(), date: rec.created_at.format("%Y-%m-%d").to_string(), room }
}

impl Inner {
    /// A delivery for `rec` (its destination checked against the storage profiles).
    pub(super) fn delivery(&self, rec: &Recording) -> Result<(Delivery, watch::Receiver<UploadStatus>), JobError> {
        let target = self.config.storage.target(&rec.destination, &key_context(rec))?;
        let cancel = self.shutdown.clone();
        Ok(Delivery::new(target, self.config.storage.policy.clone(), self.http.clone(), cancel, self.config.metrics.clone()))
    }

    /// Records the outcome on the resource, delivers the files, and forgets the live entry.
    pub(super) async fn conclude(&self, id: &str, result: Result<Outcome, Failure>, delivery: Delivery, streaming: Option<Streaming>) {
        let (files, verdict) = {
            let mut live = self.lock_live();
            let Some(entry) = live.get_mut(id) else { return };
            let verdict = record_outcome(entry, result, &self.config.recordings_dir.join(id));
            (entry.resource.files.clone(), verdict)
        };
        if !delivery.uploads() || files.is_empty() {
            if let Some(stream) = streaming {
                stream.abandon().await;
            }
            self.settle(id, verdict, Ok(files), None);
            return;
        }
        self.set_state(id, RecordingState::Uploading);
        let delivered = delivery.deliver(files, streaming).await;
        self.settle(id, verdict, delivered, Some(delivery.status()));
    }

    fn set_state(&self, id: &str, state: RecordingState) {
        if let Some(entry) = self.lock_live().get_mut(id) {
            entry.resource.state = state;
            tracing::info!(?state, "recording state");
            self.persist(&entry.resource);
            entry.notify();
        }
    }

    /// The final state: `verdict` if the files were delivered, else `upload_failed` with the
    /// local files kept and named.
    fn settle(&self, id: &str, verdict: RecordingState, delivered: Result<Vec<FileInfo>, crate::storage::StorageError>, upload: Option<UploadStatus>) {
        let Some(mut entry) = self.lock_live().remove(id) else { return };
        let rec = &mut entry.resource;
        rec.upload = upload.or(rec.upload.take());
        match delivered {
            Ok(files) => {
                rec.state = verdict;
                rec.files = files;
                if verdict == RecordingState::Failed && rec.error.is_none() {
                    let message = "the capture failed before the stop; what was captured was delivered".into();
                    rec.error = Some(ErrorInfo { code: "capture_failed".into(), message });
                }
            }
            Err(e) => {
                tracing::error!(code = e.code(), "delivery failed: {e}");
                let kept = rec.files.iter().find(|f| f.kind == "video").and_then(|f| f.path.clone());
                let at = kept.map(|p| format!("; the recording is kept at {}", p.display())).unwrap_or_default();
                let message = format!("{e}{at}; POST /v1/recordings/{id}/retry-upload tries again");
                rec.state = RecordingState::Failed;
                rec.error = Some(ErrorInfo { code: e.code().into(), message });
            }
        }
        if rec.files.is_empty() {
            // Nothing was recorded (e.g. the page never loaded): leave no empty folder behind.
            let _ = std::fs::remove_dir(self.config.recordings_dir.join(id));
        }
        tracing::info!(state = ?rec.state, duration_s = rec.duration_s, "recording finished");
        self.persist(rec);
        entry.notify();
    }

    /// Mirrors an upload's progress into the live resource (persisting each part and failure).
    pub(super) async fn follow_upload(self: Arc<Self>, id: String, mut progress: watch::Receiver<UploadStatus>) {
        while progress.changed().await.is_ok() {
            let status = progress.borrow_and_update().clone();
            let mut live = self.lock_live();
            let Some(entry) = live.get_mut(&id) else { continue };
            let was = entry.resource.upload.replace(status.clone());
            if was.is_none_or(|w| (w.parts, w.failed_attempts) != (status.parts, status.failed_attempts)) {
                self.persist(&entry.resource);
            }
        }
    }

    /// Sends an `upload_failed` recording's kept files again.
    pub(super) fn retry_upload(self: &Arc<Self>, id: &str) -> Result<Recording, JobError> {
        let not_retryable = |why: String| JobError::Conflict { code: "not_retryable", message: why };
        if let Some(entry) = self.lock_live().get(id) {
            return Err(not_retryable(format!("recording `{id}` is {}; only a failed upload can be retried", entry.resource.state.name())));
        }
        let mut rec = self.store.get(id)?.ok_or_else(|| JobError::NotFound(id.to_owned()))?;
        if rec.error.as_ref().is_none_or(|e| e.code != "upload_failed") {
            return Err(not_retryable(format!("recording `{id}` is {} and its upload did not fail", rec.state.name())));
        }
        let files: Vec<FileInfo> = rec.files.iter().filter(|f| f.path.as_ref().is_some_and(|p| p.exists())).cloned().collect();
        if !files.iter().any(|f| f.kind == "video") {
            return Err(JobError::Conflict { code: "local_copy_missing", message: format!("recording `{id}` has no local copy left to upload") });
        }
        let (delivery, progress) = self.delivery(&rec)?;
        rec.state = RecordingState::Uploading;
        rec.error = None;
        rec.upload = Some(progress.borrow().clone());
        self.persist(&rec);
        let dir = self.config.recordings_dir.join(id);
        let mut entry = Live::new(rec.clone(), CancellationToken::new(), Timeline::new(&dir));
        entry.outbox = self.outbox(id, rec.webhook_url.as_deref()).ok().flatten().map(|(_, outbox)| outbox);
        entry.notify();
        self.lock_live().insert(id.to_owned(), entry);
        tracing::info!(id, "retrying the upload");
        let verdict = if rec.end_reason == Some(EndReason::Error) { RecordingState::Failed } else { RecordingState::Completed };
        let (inner, id) = (Arc::clone(self), id.to_owned());
        let span = tracing::info_span!("recording", id = %id);
        self.tracker.spawn(Arc::clone(self).follow_upload(id.clone(), progress));
        self.tracker.spawn(async move {
            let delivered = delivery.deliver(files, None).await;
            inner.settle(&id, verdict, delivered, Some(delivery.status()));
        }.instrument(span));
        Ok(rec)
    }
}

/// Applies the recorder's result to `entry` (whose files are in `dir`); returns the state it
/// ends in once delivered.
fn record_outcome(entry: &mut Live, result: Result<Outcome, Failure>, dir: &std::path::Path) -> RecordingState {
    let rec = &mut entry.resource;
    rec.ended_at = Some(Utc::now());
    // Capture is over: nothing can steer the page any more.
    (entry.settings, entry.inbox) = (None, None);
    match result {
        Ok(outcome) => {
            rec.end_reason = Some(outcome.end_reason);
            // Without a file, the duration stays what the encoder last reported.
            if let Some((file, media)) = &outcome.video {
                rec.duration_s = Some(media.duration_s);
                rec.files = vec![FileInfo::video(file, media)];
            }
            rec.files.extend(sidecars(rec, &entry.timeline));
            rec.files.extend(hls_playlist(rec, dir));
            RecordingState::Completed
        }
        Err(failure) => {
            tracing::error!(code = failure.error.code(), "recording failed: {}", failure.error);
            rec.end_reason = Some(EndReason::Error);
            rec.error = Some(ErrorInfo { code: failure.error.code().into(), message: failure.error.to_string() });
            if let Some((file, media)) = failure.partial {
                rec.duration_s = Some(media.duration_s);
                rec.files = vec![FileInfo::video(&file, &media)];
                rec.files.extend(sidecars(rec, &entry.timeline));
                rec.files.extend(hls_playlist(rec, dir));
            }
            RecordingState::Failed
        }
    }
}

/// The HLS playlist in the recording's folder `dir`, when the recording wrote HLS.
fn hls_playlist(rec: &Recording, dir: &std::path::Path) -> Option<FileInfo> {
    let playlist = hls_dir(&dir.join("recording.mp4")).join(crate::storage::hls::PLAYLIST);
    (rec.output.hls && playlist.exists()).then(|| FileInfo::sidecar("hls", &playlist, "application/vnd.apple.mpegurl"))
}
