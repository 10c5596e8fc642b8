//! The job manager: admits recordings (capacity, shutdown), runs each in its own task with its own
//! cancellation token and tracing span, applies the recorder's events to the resource, and
//! persists every state change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::live::Live;
use super::model::{EventCounts, Progress, Recording, RecordingState, SettingsChange};
use crate::recorder::pipeline::{hls_dir, spool_path};
use crate::storage::{Delivery, UploadStatus};
use crate::webhooks::Outbox;
use super::request::{RecordingPatch, RecordingRequest};
use super::streams;
use crate::recorder::outputs::HLS;
use super::store::RecordingStore;
use super::{JobError, ManagerConfig};
use crate::layouts::SettingsPatch;
use crate::timeline::{CallEvent, Timeline};
use crate::recorder::pipeline::{Runner, StopSignal};
use crate::recorder::{CallControls, RecorderEvent, RecordingJob};
use crate::storage::FileInfo;

/// Events queued for a page before posting gets `rate_limited`.
const INBOX: usize = 64;

/// Admits, runs and reports recordings. Cheap to clone.
#[derive(Clone)]
pub struct JobManager {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) store: Arc<dyn RecordingStore>,
    /// Recordings not yet final (capturing or uploading), with the token that stops each. A std
    /// Mutex: held briefly, never across an await.
    live: Mutex<HashMap<String, Live>>,
    pub(super) recorder: Arc<dyn Runner>,
    pub(super) tracker: TaskTracker,
    pub(super) shutdown: CancellationToken,
    pub(super) config: ManagerConfig,
    /// For uploads to presigned URLs.
    pub(super) http: reqwest::Client,
}


impl JobManager {
    /// A manager over `store`. Recordings a previous run left unfinished are taken up: finalised
    /// from their spools and delivered, or uploaded again (see `jobs::recover`).
    pub fn new(
        store: Arc<dyn RecordingStore>,
        recorder: Arc<dyn Runner>,
        config: ManagerConfig,
        shutdown: CancellationToken,
    ) -> Result<Self, JobError> {
        std::fs::create_dir_all(&config.recordings_dir)?;
        let live = Mutex::new(HashMap::new());
        let tracker = TaskTracker::new();
        let http = reqwest::Client::builder().connect_timeout(std::time::Duration::from_secs(5)).build().map_err(|e| JobError::Store(e.to_string()))?;
        let inner = Arc::new(Inner { store, live, recorder, tracker, shutdown, config, http });
        inner.recover()?;
        inner.tracker.spawn(Arc::clone(&inner).watch_disk());
        Ok(Self { inner })
    }

    /// Admits and starts a recording whose URLs were checked (see `create`).
    pub(super) fn admit(&self, request: RecordingRequest) -> Result<Recording, JobError> {
        let inner = &self.inner;
        if inner.shutdown.is_cancelled() {
            return Err(JobError::ShuttingDown);
        }
        inner.check_disk()?;
        let settings = request.page_settings(&inner.config.layouts)?;
        let id = format!("rec_{}", uuid::Uuid::now_v7().simple());
        let dir = inner.config.recordings_dir.join(&id);
        let mut resource = new_resource(&id, &request);
        resource.settings = settings.clone();
        let (delivery, progress) = inner.delivery(&resource)?;
        resource.upload = delivery.uploads().then(|| progress.borrow().clone());
        let stop = inner.shutdown.child_token();
        if request.output.hls {
            resource.outputs.push(streams::status(HLS, "hls", None));
        }
        let mut entry = Live::new(resource, stop.clone(), Timeline::new(&dir));
        let (webhook_url, outbox) = inner.outbox(&id, request.webhook_url.as_deref())?.unzip();
        (entry.outbox, entry.resource.webhook_url) = (outbox, webhook_url.map(String::from));
        let (streams_tx, streams_rx) = watch::channel(Vec::new());
        entry.streams = Some(streams_tx);
        entry.set_streams(&request.streams);
        let resource = entry.resource.clone();
        let low_disk = entry.low_disk.clone();
        let call = settings.map(|settings| {
            let (sender, receiver) = watch::channel(settings);
            let (inbox_tx, inbox_rx) = mpsc::channel(INBOX);
            (entry.settings, entry.inbox) = (Some(sender), Some(inbox_tx));
            CallControls { settings: receiver, inbox: Arc::new(tokio::sync::Mutex::new(inbox_rx)) }
        });
        {
            let mut live = inner.lock_live();
            let (max, running) = (inner.config.max_concurrent, capturing(&live));
            if running >= max {
                return Err(JobError::AtCapacity { running, max });
            }
            std::fs::create_dir_all(&dir)?;
            inner.store.put(&resource)?;
            live.insert(id.clone(), entry.metered(&inner.config.metrics));
        }
        let job = request.into_job(id.clone(), dir.join("recording.mp4"), call, Some(streams_rx));
        let span = tracing::info_span!("recording", id = %id);
        let signal = StopSignal { stop, shutdown: inner.shutdown.clone(), low_disk };
        let task = Arc::clone(inner).run(job, signal, delivery, progress);
        inner.tracker.spawn(task.instrument(span));
        Ok(resource)
    }

    /// The recording with `id`.
    pub fn get(&self, id: &str) -> Result<Recording, JobError> {
        if let Some(live) = self.inner.lock_live().get(id) {
            return Ok(live.resource.clone());
        }
        self.inner.store.get(id)?.ok_or_else(|| JobError::NotFound(id.to_owned()))
    }

    /// Every recording, newest first (running ones with live progress).
    pub fn list(&self) -> Result<Vec<Recording>, JobError> {
        let mut all = self.inner.store.list()?;
        let live = self.inner.lock_live();
        for rec in &mut all {
            if let Some(l) = live.get(&rec.id) {
                *rec = l.resource.clone();
            }
        }
        Ok(all)
    }

    /// Asks a recording to stop; a finished one is returned as it is (stop is idempotent).
    pub fn stop(&self, id: &str) -> Result<Recording, JobError> {
        if let Some(live) = self.inner.lock_live().get(id) {
            tracing::info!(id, "stop requested");
            live.stop.cancel();
            return Ok(live.resource.clone());
        }
        self.get(id)
    }

    /// Changes a running recording: a call's layout, parameters or branding (the page shows the
    /// change within a second, without a gap in the file) and/or the live streams it feeds; its
    /// URLs were checked (see `update`).
    pub(super) fn apply_patch(&self, id: &str, patch: &RecordingPatch) -> Result<Recording, JobError> {
        let mut live = self.inner.lock_live();
        let Some(entry) = live.get_mut(id).filter(|e| e.resource.state.is_capturing()) else {
            drop(live);
            return Err(self.not_running(id, "it can no longer change"));
        };
        if let Some(streams) = &patch.streams {
            streams::check(streams)?;
        }
        if let Some(settings) = &patch.settings {
            self.change_settings(entry, settings)?;
        }
        if let Some(streams) = &patch.streams {
            tracing::info!(id, streams = streams.len(), "live streams changed");
            entry.set_streams(streams);
        }
        self.inner.persist(&entry.resource);
        Ok(entry.resource.clone())
    }

    fn change_settings(&self, entry: &mut Live, patch: &SettingsPatch) -> Result<(), JobError> {
        let (Some(sender), Some(current)) = (&entry.settings, &entry.resource.settings) else {
            let message = format!("a `{}` source has no layout or branding to change", entry.resource.source.kind());
            return Err(JobError::invalid("not_applicable", "layout", message));
        };
        let next = self.inner.config.layouts.apply(current, patch)?;
        tracing::info!(revision = next.revision, layout = %next.layout, "page settings changed");
        let rec = &mut entry.resource;
        rec.changes.push(SettingsChange {
            revision: next.revision,
            layout: next.layout.clone(),
            requested_at: Utc::now(),
            applied_at: None,
            t_ms: None,
            failed: None,
        });
        rec.settings = Some(next.clone());
        sender.send_replace(next);
        Ok(())
    }

    /// Hands a chat message, reaction or slide to a running call recording's page; returns the
    /// event's id. It shows in the video and lands in the timeline when the page has drawn it.
    /// Its URL was checked (see `post_event`).
    pub(super) fn queue_event(&self, id: &str, event: &CallEvent) -> Result<String, JobError> {
        let mut live = self.inner.lock_live();
        let Some(entry) = live.get_mut(id).filter(|e| e.resource.state.is_capturing()) else {
            drop(live);
            return Err(self.not_running(id, "it takes no more events"));
        };
        entry.post_event(event)
    }

    /// 404 for an unknown recording, 409 `recording_finished` for one that has ended.
    fn not_running(&self, id: &str, consequence: &str) -> JobError {
        match self.get(id) {
            Ok(finished) => {
                let state = finished.state.name();
                JobError::Conflict { code: "recording_finished", message: format!("recording `{id}` is {state}: {consequence}") }
            }
            Err(e) => e,
        }
    }

    /// Sends the kept files of a recording whose upload failed again.
    pub fn retry_upload(&self, id: &str) -> Result<Recording, JobError> {
        self.inner.retry_upload(id)
    }

    /// Webhook delivery counters.
    pub fn webhook_stats(&self) -> crate::webhooks::WebhookStats {
        self.inner.config.webhooks.stats()
    }

    /// Browsers waiting in the recorder's warm pool (`None`: it has none).
    pub fn warm_browsers(&self) -> Option<usize> {
        self.inner.recorder.warm_browsers()
    }

    /// Recordings capturing now (uploads in progress do not count).
    pub fn running(&self) -> usize {
        capturing(&self.inner.lock_live())
    }

    /// True once a shutdown began (new recordings are refused).
    pub fn shutting_down(&self) -> bool {
        self.inner.shutdown.is_cancelled()
    }

    /// Stops every recording and waits until each is finalised.
    pub async fn shutdown(&self) {
        self.inner.shutdown.cancel();
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
    }
}

pub(super) fn capturing(live: &HashMap<String, Live>) -> usize {
    live.values().filter(|l| l.resource.state.is_capturing()).count()
}

fn new_resource(id: &str, request: &RecordingRequest) -> Recording {
    Recording {
        id: id.to_owned(),
        state: RecordingState::Starting,
        source: request.source.clone(),
        output: request.output.clone(),
        limits: request.limits.clone(),
        destination: request.destination.clone(),
        webhook_url: None,
        created_at: Utc::now(),
        started_at: None,
        ended_at: None,
        duration_s: None,
        end_reason: None,
        interrupted: false,
        progress: Progress::default(),
        error: None,
        files: Vec::new(),
        upload: None,
        waiting_for_participants: false,
        participants: Vec::new(),
        incidents: Vec::new(),
        settings: None,
        changes: Vec::new(),
        events: EventCounts::default(),
        outputs: Vec::new(),
    }
}

impl Inner {
    pub(super) fn lock_live(&self) -> std::sync::MutexGuard<'_, HashMap<String, Live>> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn run(self: Arc<Self>, job: RecordingJob, signal: StopSignal, delivery: Delivery, progress: watch::Receiver<UploadStatus>) {
        tracing::info!(source = job.source.kind(), "recording starting");
        if delivery.uploads() {
            self.tracker.spawn(Arc::clone(&self).follow_upload(job.id.clone(), progress).in_current_span());
        }
        let spawn = |task: futures::future::BoxFuture<'static, _>| self.tracker.spawn(task.in_current_span());
        let hls = job.hls.then(|| hls_dir(&job.file));
        let spool = job.output.file.then(|| spool_path(&job.file));
        let streaming = delivery.stream(spool.as_deref(), hls.as_deref(), &spawn);
        let (tx, mut rx) = mpsc::channel(64);
        let recording = self.recorder.run(&job, tx, signal);
        let events = async {
            while let Some(event) = rx.recv().await {
                self.apply(&job.id, event);
            }
        };
        let (result, ()) = tokio::join!(recording, events);
        self.conclude(&job.id, result, delivery, streaming).await;
    }

    /// Applies a recorder event to the live resource; state changes are persisted.
    fn apply(&self, id: &str, event: RecorderEvent) {
        let mut live = self.lock_live();
        let Some(entry) = live.get_mut(id) else { return };
        if entry.apply(event) {
            self.persist(&entry.resource);
        }
        entry.notify();
    }

    /// The webhook outbox of a recording: its own `webhook_url`, else the server's default.
    pub(super) fn outbox(&self, id: &str, requested: Option<&str>) -> Result<Option<(url::Url, Outbox)>, JobError> {
        let webhooks = &self.config.webhooks;
        let requested = requested.map(url::Url::parse).transpose().map_err(|e| JobError::invalid("invalid_url", "webhook_url", e.to_string()))?;
        if requested.is_some() && !webhooks.enabled() {
            let message = "webhook_url needs the server's --webhook-secret (webhooks are always signed)";
            return Err(JobError::invalid("webhooks_not_configured", "webhook_url", message));
        }
        let endpoint = webhooks.endpoint(requested.as_ref()).filter(|_| webhooks.enabled());
        Ok(endpoint.map(|url| (url.clone(), webhooks.outbox(url, id))))
    }

    pub(super) fn persist(&self, rec: &Recording) {
        if let Err(e) = self.store.put(rec) {
            tracing::error!("cannot persist recording {}: {e}", rec.id);
        }
    }
}

/// A call's `timeline.json` and `chat.vtt`, written beside its video.
pub(super) fn sidecars(rec: &Recording, timeline: &Timeline) -> Vec<FileInfo> {
    let (Some(started), true) = (rec.started_at, rec.source.is_call()) else { return Vec::new() };
    let duration_ms = (rec.duration_s.unwrap_or(0.0) * 1000.0) as i64;
    match timeline.write(&rec.id, started, duration_ms) {
        Ok(files) => vec![
            FileInfo::sidecar("timeline", &files.timeline, "application/json"),
            FileInfo::sidecar("chat", &files.chat, "text/vtt"),
        ],
        Err(e) => {
            tracing::error!("cannot write the timeline: {e}");
            Vec::new()
        }
    }
}
