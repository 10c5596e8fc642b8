//! A recording while it runs: its resource, the handles that steer it (stop, live settings, the
//! event inbox), its timeline, and how each recorder event changes them.

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::JobError;
use super::model::{Incident, Progress, Recording, RecordingState};
use crate::layouts::PageSettings;
use crate::metrics::Metrics;
use crate::recorder::{OutputState, RecorderEvent};
use crate::recorder::bridge::Publisher;
use crate::recorder::outputs::WantedStream;
use crate::timeline::{CallEvent, Timeline};
use crate::webhooks::Outbox;

/// Events an application may post per second to one recording, and the burst it may save up.
const EVENTS_PER_S: f64 = 20.0;
const EVENT_BURST: f64 = 40.0;

pub(super) struct Live {
    pub resource: Recording,
    pub stop: CancellationToken,
    /// Cancelled (with `stop`) when the disk runs low: the recording ends `low_disk_space`.
    pub low_disk: CancellationToken,
    /// Calls: live changes of the page settings go to the recorder through this.
    pub settings: Option<watch::Sender<PageSettings>>,
    /// Calls: events posted through the API, for the page to show.
    pub inbox: Option<mpsc::Sender<Value>>,
    pub timeline: Timeline,
    /// The live streams the recorder should feed (every recording may get some by `PATCH`).
    pub streams: Option<watch::Sender<Vec<WantedStream>>>,
    /// Ids given to streams so far (`str_N`).
    pub streams_added: u32,
    /// Where state changes are posted as webhooks, if anywhere.
    pub outbox: Option<Outbox>,
    /// The last state a webhook was sent for.
    notified: Option<RecordingState>,
    bucket: TokenBucket,
    /// Where this recording's fps and end are counted; none for a `retry-upload`, whose
    /// recording was counted when it first ended.
    metrics: Option<Metrics>,
}

impl Live {
    pub fn new(resource: Recording, stop: CancellationToken, timeline: Timeline) -> Self {
        let bucket = TokenBucket { tokens: EVENT_BURST, at: Instant::now() };
        Self { resource, stop, low_disk: CancellationToken::new(), settings: None, inbox: None, timeline, streams: None, streams_added: 0, outbox: None, notified: None, bucket, metrics: None }
    }

    /// Counts this recording as started in `metrics`, which then follow its fps and its end.
    pub fn metered(mut self, metrics: &Metrics) -> Self {
        metrics.recording_started();
        self.metrics = Some(metrics.clone());
        self
    }

    /// Posts the webhook of the resource's state, once per state it enters.
    pub fn notify(&mut self) {
        if self.notified == Some(self.resource.state) {
            return;
        }
        self.notified = Some(self.resource.state);
        self.count_end();
        if let (Some(outbox), Some(kind)) = (&self.outbox, self.resource.event_type()) {
            outbox.send(kind, serde_json::to_value(self.resource.clone().redacted()).unwrap_or_default());
        }
    }

    /// Counts the recording's end once it is final.
    fn count_end(&self) {
        let (Some(metrics), rec) = (&self.metrics, &self.resource) else { return };
        let reason = rec.end_reason.map_or("none", crate::recorder::EndReason::name);
        match (rec.state, &rec.error) {
            (RecordingState::Completed, _) => metrics.recording_completed(&rec.id, reason),
            (RecordingState::Failed, error) => {
                metrics.recording_failed(&rec.id, reason, error.as_ref().map_or("unknown", |e| e.code.as_str()));
            }
            _ => {}
        }
    }

    /// Queues an application's event for the page; `Ok(id)` once it is on its way.
    pub fn post_event(&mut self, event: &CallEvent) -> Result<String, JobError> {
        let Some(inbox) = &self.inbox else {
            let message = format!("a `{}` source shows no call events", self.resource.source.kind());
            return Err(JobError::invalid("not_applicable", "type", message));
        };
        if !self.bucket.take() {
            self.resource.events.rate_limited += 1;
            let message = format!("more than {EVENTS_PER_S} events a second (burst {EVENT_BURST}); slow down");
            return Err(JobError::RateLimited(message));
        }
        let id = format!("evt_{}", uuid::Uuid::now_v7().simple());
        let mut payload = serde_json::to_value(event).unwrap_or_default();
        payload["id"] = json!(id);
        inbox.try_send(payload).map_err(|_| {
            self.resource.events.rate_limited += 1;
            JobError::RateLimited("the page is behind on events; retry shortly".into())
        })?;
        self.resource.events.posted += 1;
        Ok(id)
    }

    /// Applies a recorder event; true when the change should be persisted.
    pub fn apply(&mut self, event: RecorderEvent) -> bool {
        let rec = &mut self.resource;
        match event {
            RecorderEvent::Started { at } => {
                tracing::info!(first_frame_ms = (at - rec.created_at).num_milliseconds(), "recording");
                rec.state = RecordingState::Recording;
                rec.started_at = Some(at);
                self.timeline.push(at, "recording_started", None, json!({}));
                true
            }
            RecorderEvent::Progress { duration_s, bytes, fps } => {
                rec.progress = Progress { duration_s, bytes, fps };
                if let Some(metrics) = &self.metrics {
                    metrics.fps(&rec.id, fps);
                }
                rec.duration_s = Some(duration_s);
                false
            }
            RecorderEvent::Stopping { reason } => {
                rec.state = RecordingState::Stopping;
                rec.end_reason = Some(reason);
                self.timeline.push(Utc::now(), "recording_stopped", None, json!({"reason": reason}));
                true
            }
            RecorderEvent::Participants { waiting, publishers } => {
                self.note_participants(&publishers);
                let rec = &mut self.resource;
                rec.waiting_for_participants = waiting;
                rec.participants = publishers;
                false
            }
            RecorderEvent::Incident { kind, message } => {
                let at = Utc::now();
                self.timeline.push(at, "incident", None, json!({"kind": kind, "message": message}));
                rec.incidents.push(Incident { kind, message, at, part: None, gap_s: None });
                true
            }
            RecorderEvent::Restarted { part, cause, gap_s, at } => {
                if let Some(metrics) = &self.metrics {
                    metrics.pipeline_restart(part);
                }
                let gap_s = (gap_s * 1000.0).round() / 1000.0;
                let message = format!("{cause}; relaunched, {gap_s:.2} s missing from the file here");
                let payload = json!({"kind": "pipeline_restart", "part": part.name(), "gap_s": gap_s, "message": message});
                self.timeline.push(at, "incident", None, payload);
                let part = Some(part.name().to_owned());
                rec.incidents.push(Incident { kind: "pipeline_restart".into(), message: Some(message), at, part, gap_s: Some(gap_s) });
                true
            }
            RecorderEvent::SettingsApplied { revision, at, failed } => self.settings_applied(revision, at, failed),
            RecorderEvent::CallEvent { at, event, id, source, shown } => {
                self.call_event(at, event, id, source, shown);
                false
            }
            RecorderEvent::EventStats { received, shown, dropped } => {
                let counts = &mut rec.events;
                (counts.received, counts.shown, counts.dropped) = (received, shown, dropped);
                false
            }
            RecorderEvent::Output { id, state, attempts, error } => self.output_changed(&id, state, attempts, error),
        }
    }

    /// A live output's new state, in the resource and the timeline (failures also as incidents).
    fn output_changed(&mut self, id: &str, state: OutputState, attempts: u32, error: Option<String>) -> bool {
        let at = Utc::now();
        let Some(output) = self.resource.outputs.iter_mut().find(|o| o.id == id) else { return false };
        output.state = state;
        output.attempts = attempts;
        output.updated_at = at;
        if error.is_some() || state == OutputState::Live {
            output.last_error = error.clone();
        }
        self.timeline.push(at, "output", None, json!({"id": id, "state": state, "error": error}));
        if state == OutputState::Retrying {
            let message = Some(format!("{id}: {}", error.unwrap_or_default()));
            self.resource.incidents.push(Incident { kind: "output_failed".into(), message, at, part: None, gap_s: None });
        }
        true
    }

    fn settings_applied(&mut self, revision: u32, at: DateTime<Utc>, failed: Option<String>) -> bool {
        let rec = &mut self.resource;
        let started = rec.started_at;
        let Some(change) = rec.changes.iter_mut().rev().find(|c| c.revision == revision) else { return false };
        change.applied_at = failed.is_none().then_some(at);
        change.t_ms = started.filter(|_| failed.is_none()).map(|s| (at - s).num_milliseconds());
        change.failed = failed;
        if change.failed.is_none()
            && let Some(settings) = &rec.settings
        {
            let payload = json!({"revision": revision, "layout": settings.layout, "branding": settings.branding});
            self.timeline.push(at, "layout_changed", None, payload);
        }
        true
    }

    /// Who joined and who left since the last report.
    fn note_participants(&mut self, now: &[Publisher]) {
        let before = &self.resource.participants;
        let at = Utc::now();
        for p in now.iter().filter(|p| !before.iter().any(|b| b.id == p.id)) {
            self.timeline.push(at, "participant_joined", p.display.clone(), json!({"id": p.id}));
        }
        for p in before.iter().filter(|b| !now.iter().any(|p| p.id == b.id)) {
            self.timeline.push(at, "participant_left", p.display.clone(), json!({"id": p.id}));
        }
    }

    fn call_event(&mut self, at: DateTime<Utc>, mut event: Value, id: Option<String>, source: Option<String>, shown: bool) {
        let Some(kind) = event.get("type").and_then(Value::as_str).map(String::from) else { return };
        if !["chat", "reaction", "slide"].contains(&kind.as_str()) {
            return;
        }
        let from = event.get("from").and_then(Value::as_str).map(String::from);
        if let Some(map) = event.as_object_mut() {
            map.remove("type");
            map.remove("from");
            map.remove("id");
            map.insert("source".into(), json!(source.unwrap_or_else(|| "data_channel".into())));
            map.insert("shown".into(), json!(shown));
            if let Some(id) = id {
                map.insert("id".into(), json!(id));
            }
        }
        self.timeline.push(at, &kind, from, event);
    }
}

/// A token bucket: `EVENTS_PER_S` tokens a second, at most `EVENT_BURST` saved.
struct TokenBucket {
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * EVENTS_PER_S).min(EVENT_BURST);
        self.at = now;
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}
