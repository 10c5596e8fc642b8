//! What a service that stopped abruptly (crash, SIGKILL, power loss) left behind, taken up when
//! it starts again. A recording that was capturing is finalised from the spools ffmpeg wrote
//! (fragmented MP4: playable up to the last fragment, about a second before the crash) and
//! delivered, ending `completed` with `interrupted: true`; one whose upload was cut short is
//! uploaded again. Only a recording that left nothing playable ends `failed`.

use std::sync::Arc;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::live::Live;
use super::manager::Inner;
use super::model::{ErrorInfo, Incident, Recording, RecordingState};
use super::JobError;
use crate::recorder::{EndReason, Outcome};
use crate::timeline::Timeline;

impl Inner {
    /// Takes up every recording a previous run left unfinished.
    pub(super) fn recover(self: &Arc<Self>) -> Result<(), JobError> {
        for stale in self.store.list()?.into_iter().filter(|r| !r.state.is_final()) {
            let id = stale.id.clone();
            if stale.state == RecordingState::Uploading {
                self.resume_upload(stale)?;
            } else if crate::recorder::segments::found(&self.video_path(&id)).is_empty() && !self.video_path(&id).exists() {
                self.give_up(stale)?;
            } else {
                self.salvage(stale);
            }
        }
        Ok(())
    }

    fn video_path(&self, id: &str) -> std::path::PathBuf {
        self.config.recordings_dir.join(id).join("recording.mp4")
    }

    /// Captured before the stop: the kept files go up again.
    fn resume_upload(self: &Arc<Self>, mut rec: Recording) -> Result<(), JobError> {
        let message = "the service stopped during the upload; the local files are kept: POST /v1/recordings/{id}/retry-upload";
        rec.error = Some(ErrorInfo { code: "upload_failed".into(), message: message.replace("{id}", &rec.id) });
        rec.state = RecordingState::Failed;
        self.store.put(&rec)?;
        match self.retry_upload(&rec.id) {
            Ok(_) => tracing::info!(id = %rec.id, "uploading again what the previous run had not delivered"),
            Err(e) => tracing::warn!(id = %rec.id, "cannot upload again: {e}"),
        }
        Ok(())
    }

    /// Nothing playable was left (the crash came before the first fragment).
    fn give_up(&self, mut rec: Recording) -> Result<(), JobError> {
        rec.ended_at = Some(Utc::now());
        rec.end_reason = Some(EndReason::Error);
        rec.interrupted = true;
        let message = "the service stopped while this recording was starting; nothing was captured".into();
        rec.error = Some(ErrorInfo { code: "interrupted".into(), message });
        rec.state = RecordingState::Failed;
        self.store.put(&rec)
    }

    /// Finalises the spools and delivers the file like any other recording's.
    fn salvage(self: &Arc<Self>, mut rec: Recording) {
        let id = rec.id.clone();
        tracing::warn!(%id, "the service stopped while this recording ran; finalising what was captured");
        let message = "the service stopped abruptly while recording; what was captured up to about a second before was finalised when it started again";
        rec.incidents.push(Incident { kind: "interrupted".into(), message: Some(message.into()), at: Utc::now(), part: None, gap_s: None });
        rec.interrupted = true;
        rec.state = RecordingState::Stopping;
        rec.end_reason = Some(EndReason::Interrupted);
        let delivery = self.delivery(&rec);
        let dir = self.config.recordings_dir.join(&id);
        let mut entry = Live::new(rec, CancellationToken::new(), Timeline::load(&dir));
        entry.outbox = self.outbox(&id, entry.resource.webhook_url.as_deref()).ok().flatten().map(|(_, outbox)| outbox);
        self.persist(&entry.resource);
        // Counted by the process that finishes it (the one that started it is gone).
        self.lock_live().insert(id.clone(), entry.metered(&self.config.metrics));
        let inner = Arc::clone(self);
        let span = tracing::info_span!("recording", id = %id);
        self.tracker.spawn(tracing::Instrument::instrument(async move {
            let (delivery, progress) = match delivery {
                Ok(delivery) => delivery,
                Err(e) => return inner.fail_salvage(&id, &e.to_string()),
            };
            if delivery.uploads() {
                inner.tracker.spawn(Arc::clone(&inner).follow_upload(id.clone(), progress));
            }
            let result = match inner.recorder.salvage(&inner.video_path(&id)).await {
                Ok(media) => Ok(Outcome { end_reason: EndReason::Interrupted, video: Some((inner.video_path(&id), media)) }),
                Err(error) => Err(crate::recorder::Failure { error, partial: None }),
            };
            inner.conclude(&id, result, delivery, None).await;
        }, span));
    }

    fn fail_salvage(&self, id: &str, why: &str) {
        let Some(mut entry) = self.lock_live().remove(id) else { return };
        let rec = &mut entry.resource;
        rec.state = RecordingState::Failed;
        rec.ended_at = Some(Utc::now());
        rec.error = Some(ErrorInfo { code: "interrupted".into(), message: format!("the service stopped while recording, and {why}") });
        self.persist(rec);
        entry.notify();
    }
}
