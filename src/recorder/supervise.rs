//! Watching a capturing recording until something ends it: a stop, `max_duration`, the page's
//! `end`, an empty or destroyed call, a source error, or one of the processes dying. Also relays
//! what the page says about the call (publishers, incidents) to the recording's status.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::bridge::PageMessage;
use super::browser::Browser;
use super::capture::{Capture, CaptureEvent, VIDEO};
use super::display::Display;
use super::outputs::Outputs;
use super::page::PageLink;
use super::pipeline::{RecordingJob, StopSignal};
use super::audio::PulseServer;
use super::restart::Part;
use super::{EndReason, RecorderError, RecorderEvent, SourceErrorCode};
use crate::layouts::PageSettings;

/// What is being watched.
pub struct Watched<'a> {
    pub job: &'a RecordingJob,
    pub browser: &'a mut Browser,
    pub display: &'a mut Display,
    pub capture: &'a mut Capture,
    pub page: &'a mut PageLink,
    pub events: &'a mpsc::Sender<RecorderEvent>,
    /// The asset server's URL (page settings refer to assets on it).
    pub base: &'a url::Url,
    /// The live outputs, when the recording may have any.
    pub outputs: Option<&'a mut Outputs>,
    /// Media seconds recorded in earlier segments.
    pub before_s: f64,
    /// The shared sound server (its death breaks every recording's sound).
    pub pulse: &'a PulseServer,
}

/// ffmpeg encoding no frame for this long is frozen.
const FFMPEG_STALL: Duration = Duration::from_secs(6);
/// A page that drew no frame (no heartbeat from its `requestAnimationFrame`) for this long is frozen.
const PAGE_STALL: Duration = Duration::from_secs(8);

/// Deadlines of a running recording.
struct Clock {
    started: bool,
    /// When `max_duration` ends the recording.
    deadline: Instant,
    /// When an empty call ends it (`None`: someone publishes, or not a call).
    empty_deadline: Option<Instant>,
    /// ffmpeg's last frame count, and when it last grew.
    frames: (u32, Instant),
    /// When the page last said it drew a frame (`None` until it first did).
    heartbeat: Option<Instant>,
}

/// Runs until the recording should end; `Ok` for a regular end, `Err` for a failure.
pub async fn supervise(w: Watched<'_>, stop: &StopSignal) -> Result<EndReason, RecorderError> {
    let Watched { job, browser, display, capture, page, events, base, mut outputs, before_s, pulse } = w;
    let mut pulse_check = tokio::time::interval(Duration::from_secs(1));
    let mut settings = job.settings.clone();
    let mut streams = job.streams.clone();
    let mut inbox = match &job.inbox {
        Some(inbox) => Some(inbox.lock().await),
        None => None,
    };
    let mut clock = Clock {
        started: false,
        // Until the first frame is known, allow for a slow ffmpeg start.
        deadline: Instant::now() + job.max_duration + Duration::from_secs(10),
        // A call counts as empty until the page says someone publishes.
        empty_deadline: job.stop_when_empty.filter(|_| page.publishing != Some(true)).map(|d| Instant::now() + d),
        frames: (0, Instant::now()),
        heartbeat: None,
    };
    let far = Instant::now() + Duration::from_secs(86_400 * 365);
    loop {
        tokio::select! {
            _ = stop.stop.cancelled() => return Ok(stop.reason()),
            _ = tokio::time::sleep_until(clock.deadline) => return Ok(EndReason::MaxDuration),
            _ = tokio::time::sleep_until(clock.empty_deadline.unwrap_or(far)) => return Ok(EndReason::RoomEmpty),
            Some(update) = next_change(&mut settings) => send_settings(&browser.page, &update, base).await,
            Some(event) = next_injected(&mut inbox) => inject(&browser.page, event, base).await,
            Some(wanted) = next_change(&mut streams) => {
                if let Some(outputs) = outputs.as_deref_mut() {
                    outputs.apply(&wanted).await;
                }
            }
            _ = tokio::time::sleep_until(clock.watchdog_due()) => {
                if let Some(end) = watchdog(page, capture, job, &mut clock, events, before_s).await {
                    return end;
                }
            }
            Some(message) = page.messages.recv() => {
                if let Some(end) = on_page_message(message, job, page, &mut clock, events).await {
                    return end;
                }
            }
            event = capture.events.recv() => {
                if let Some(error) = on_capture_event(event, capture, job, &mut clock, events, before_s).await {
                    return Err(error);
                }
            }
            status = browser.exited() => {
                tracing::error!(%status, "Chromium exited unexpectedly; its last output:\n{}", browser.tail());
                return Err(RecorderError::ChromiumExited { status });
            }
            status = display.exited() => return Err(RecorderError::DisplayExited { status }),
            _ = pulse_check.tick() => {
                if let Some(status) = pulse.exited() {
                    return Err(RecorderError::PulseExited { status: status.to_string() });
                }
            }
        }
    }
}

/// The watchdog's look: a part that showed no life for too long is stalled. Signs of life may be
/// queued behind a slow step of the loop, so those are counted first (any of them may also end
/// the recording).
async fn watchdog(
    page: &mut PageLink,
    capture: &mut Capture,
    job: &RecordingJob,
    clock: &mut Clock,
    events: &mpsc::Sender<RecorderEvent>,
    before_s: f64,
) -> Option<Result<EndReason, RecorderError>> {
    while let Ok(message) = page.messages.try_recv() {
        if let Some(end) = on_page_message(message, job, page, clock, events).await {
            return Some(end);
        }
    }
    while let Ok(event) = capture.events.try_recv() {
        if let Some(error) = on_capture_event(Some(event), capture, job, clock, events, before_s).await {
            return Some(Err(error));
        }
    }
    let stalled = clock.stalled()?;
    tracing::warn!("watchdog: {stalled}");
    Some(Err(stalled))
}

/// The next value of a watched setting (page settings, streams); never resolves once there is
/// none to watch.
async fn next_change<T: Clone>(watched: &mut Option<tokio::sync::watch::Receiver<T>>) -> Option<T> {
    let Some(rx) = watched.as_mut() else { return std::future::pending().await };
    if rx.changed().await.is_err() {
        // The manager dropped its end (the recording is finishing): no more changes.
        *watched = None;
        return None;
    }
    Some(rx.borrow_and_update().clone())
}

/// Hands new settings to the page; it answers `applied` (or `apply_failed`) once it shows them.
async fn send_settings(page: &chromiumoxide::Page, update: &PageSettings, base: &url::Url) {
    tracing::info!(revision = update.revision, layout = %update.layout, "applying new page settings");
    let script = format!("window.__wallflowerUpdate && window.__wallflowerUpdate({})", update.for_page(base));
    if let Err(e) = page.evaluate(script).await {
        tracing::warn!("cannot hand new settings to the page: {e}");
    }
}

/// The next event the application posted; never resolves for recordings without an inbox.
async fn next_injected(inbox: &mut Option<tokio::sync::MutexGuard<'_, mpsc::Receiver<serde_json::Value>>>) -> Option<serde_json::Value> {
    match inbox.as_mut() {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Hands an application's event to the page, which shows it and reports it back (`call_event`).
/// A slide named by its file in the assets folder gets its URL on the asset server.
async fn inject(page: &chromiumoxide::Page, mut event: serde_json::Value, base: &url::Url) {
    if let Some(url) = event.get_mut("url")
        && let Some(name) = url.as_str().filter(|u| url::Url::parse(u).is_err())
        && let Ok(resolved) = base.join("assets/").and_then(|assets| assets.join(name))
    {
        *url = serde_json::Value::String(resolved.into());
    }
    let script = format!("window.__wallflowerEvent && window.__wallflowerEvent({event})");
    if let Err(e) = page.evaluate(script).await {
        tracing::warn!("cannot hand an event to the page: {e}");
    }
}

/// Forwards what the page reports about the call; returns how the recording ends, if it does.
pub async fn relay(message: PageMessage, events: &mpsc::Sender<RecorderEvent>) -> Option<Result<EndReason, RecorderError>> {
    match message {
        PageMessage::End { reason } => {
            tracing::info!(reason = reason.as_deref().unwrap_or(""), "page ended the session");
            return Some(Ok(EndReason::PageEnded));
        }
        PageMessage::Error { code, message } => {
            tracing::warn!(%code, "source failed: {message}");
            return Some(Err(RecorderError::Source { code: SourceErrorCode::parse(&code), message }));
        }
        PageMessage::RoomDestroyed => return Some(Ok(EndReason::RoomDestroyed)),
        PageMessage::Status { waiting, publishers } => {
            let _ = events.send(RecorderEvent::Participants { waiting, publishers }).await;
        }
        PageMessage::Incident { kind, message } => {
            tracing::warn!(%kind, "incident: {}", message.as_deref().unwrap_or(""));
            let _ = events.send(RecorderEvent::Incident { kind, message }).await;
        }
        PageMessage::Applied { revision, layout } => {
            tracing::info!(revision, layout = layout.as_deref().unwrap_or(""), "page shows new settings");
            let _ = events.send(RecorderEvent::SettingsApplied { revision, at: Utc::now(), failed: None }).await;
        }
        PageMessage::ApplyFailed { revision, message } => {
            tracing::warn!(revision, "page could not apply new settings: {message}");
            let _ = events.send(RecorderEvent::SettingsApplied { revision, at: Utc::now(), failed: Some(message) }).await;
        }
        PageMessage::CallEvent { event, id, source, shown_at_ms, shown } => {
            let at = shown_at_ms.and_then(|ms| DateTime::from_timestamp_millis(ms as i64)).unwrap_or_else(Utc::now);
            let _ = events.send(RecorderEvent::CallEvent { at, event, id, source, shown }).await;
        }
        PageMessage::EventStats { received, shown, dropped } => {
            let _ = events.send(RecorderEvent::EventStats { received, shown, dropped }).await;
        }
        other => tracing::debug!(?other, "page message"),
    }
    None
}

async fn on_page_message(
    message: PageMessage,
    job: &RecordingJob,
    page: &mut PageLink,
    clock: &mut Clock,
    events: &mpsc::Sender<RecorderEvent>,
) -> Option<Result<EndReason, RecorderError>> {
    if message == PageMessage::Heartbeat {
        clock.heartbeat = Some(Instant::now());
        return None;
    }
    if let (Some(publishing), Some(limit)) = (page.note(&message), job.stop_when_empty) {
        clock.empty_deadline = match (publishing, clock.empty_deadline) {
            (true, _) => None,
            (false, None) => Some(Instant::now() + limit),
            (false, kept) => kept,
        };
    }
    relay(message, events).await
}

impl Clock {
    /// When the watchdog looks next: when either part would count as stalled.
    fn watchdog_due(&self) -> Instant {
        let page = self.heartbeat.map_or(self.frames.1 + PAGE_STALL, |beat| beat + PAGE_STALL);
        (self.frames.1 + FFMPEG_STALL).min(page)
    }

    /// The part that has made no progress for too long, if one has.
    fn stalled(&self) -> Option<RecorderError> {
        let now = Instant::now();
        if now >= self.frames.1 + FFMPEG_STALL {
            return Some(RecorderError::Stalled { part: Part::Ffmpeg, what: "no frame encoded", secs: FFMPEG_STALL.as_secs() });
        }
        let beat = self.heartbeat?;
        (now >= beat + PAGE_STALL).then(|| RecorderError::Stalled { part: Part::Chromium, what: "the page drew no frame", secs: PAGE_STALL.as_secs() })
    }

    /// Records the first frame's time `at`; from then `max_duration` counts from that frame.
    async fn start(&mut self, at: DateTime<Utc>, job: &RecordingJob, events: &mpsc::Sender<RecorderEvent>) {
        if std::mem::replace(&mut self.started, true) {
            return;
        }
        let since = (Utc::now() - at).to_std().unwrap_or_default();
        self.deadline = Instant::now() + job.max_duration.saturating_sub(since);
        let _ = events.send(RecorderEvent::Started { at }).await;
    }
}

/// Handles one event from ffmpeg; returns the error that ends the recording, if any.
async fn on_capture_event(
    event: Option<CaptureEvent>,
    capture: &mut Capture,
    job: &RecordingJob,
    clock: &mut Clock,
    events: &mpsc::Sender<RecorderEvent>,
    before_s: f64,
) -> Option<RecorderError> {
    match event {
        Some(CaptureEvent::InputStart { index, wall_s }) => {
            if let Some(slot) = capture.starts.get_mut(index as usize) {
                *slot = Some(wall_s);
            }
            // The display input opened: the file's clock (from the capture's origin) has a picture.
            if index as usize == VIDEO {
                clock.start(capture.timeline_zero(), job, events).await;
            }
        }
        Some(CaptureEvent::Progress { time_s, fps, frame }) => {
            if frame > clock.frames.0 {
                clock.frames = (frame, Instant::now());
            }
            if !clock.started && time_s > 0.0 {
                clock.start(capture.timeline_zero(), job, events).await;
            }
            let bytes = capture.file.as_ref().and_then(|f| std::fs::metadata(f).ok()).map_or(0, |m| m.len());
            let duration_s = before_s + time_s.max(0.0);
            let _ = events.try_send(RecorderEvent::Progress { duration_s, bytes, fps });
        }
        Some(CaptureEvent::Exited { status, tail }) => {
            let status = status.map(|s| s.to_string()).unwrap_or_else(|| "unknown status".into());
            tracing::error!(%status, "ffmpeg exited unexpectedly:\n{tail}");
            return Some(RecorderError::FfmpegExited { status, tail });
        }
        None => return Some(RecorderError::FfmpegExited { status: "gone".into(), tail: String::new() }),
    }
    None
}
