//! Runs one recording end to end: sink → display → browser → page → capture, then the reverse
//! teardown on every path, and finalisation of whatever file was written.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::audio::{PulseServer, Sink};
use super::bridge::{self, PageMessage};
use super::browser::{Browser, LaunchOptions};
use super::capture::{self, Capture, CaptureEvent, CaptureInput, OutputSpec, VIDEO};
use super::finalize::{self, Timing};
use super::display::Display;
use super::probe::{self, MediaInfo};
use super::tools::Tools;
use super::{EndReason, RecorderConfig, RecorderError, RecorderEvent, Source, page};

/// One recording to make.
#[derive(Debug, Clone)]
pub struct RecordingJob {
    pub id: String,
    pub source: Source,
    pub output: OutputSpec,
    pub max_duration: Duration,
    /// Where the finished (faststart) MP4 goes; the fragmented spool file sits beside it.
    pub file: PathBuf,
}

/// How to stop a recording: `stop` ends it; if `shutdown` is also cancelled the service is going away.
#[derive(Clone, Default)]
pub struct StopSignal {
    pub stop: CancellationToken,
    pub shutdown: CancellationToken,
}

impl StopSignal {
    fn reason(&self) -> EndReason {
        if self.shutdown.is_cancelled() { EndReason::Shutdown } else { EndReason::Stopped }
    }
}

/// A recording that produced its file.
#[derive(Debug)]
pub struct Outcome {
    pub end_reason: EndReason,
    pub file: PathBuf,
    pub media: MediaInfo,
}

/// A recording that failed; `partial` is what was captured before the failure, if anything.
#[derive(Debug)]
pub struct Failure {
    pub error: RecorderError,
    pub partial: Option<(PathBuf, MediaInfo)>,
}

impl From<RecorderError> for Failure {
    fn from(error: RecorderError) -> Self {
        Self { error, partial: None }
    }
}

/// How long a stopping recording waits for ffmpeg to write what was on screen at the stop.
const CATCH_UP: Duration = Duration::from_secs(3);
/// How far past the stop to let ffmpeg write: `q` drops frames still queued inside ffmpeg, and
/// the excess is trimmed when the file is finalised.
const CATCH_UP_MARGIN_S: f64 = 0.6;

/// What recordings of one service share.
pub struct Recorder {
    tools: Tools,
    config: RecorderConfig,
    pulse: PulseServer,
    instance: String,
}

/// Something that makes recordings: the real [`Recorder`], or a stand-in in API contract tests.
pub trait Runner: Send + Sync + 'static {
    /// Makes one recording (see [`Recorder::record`]).
    fn run<'a>(
        &'a self,
        job: &'a RecordingJob,
        events: mpsc::Sender<RecorderEvent>,
        stop: StopSignal,
    ) -> BoxFuture<'a, Result<Outcome, Failure>>;
}

impl Runner for Recorder {
    fn run<'a>(
        &'a self,
        job: &'a RecordingJob,
        events: mpsc::Sender<RecorderEvent>,
        stop: StopSignal,
    ) -> BoxFuture<'a, Result<Outcome, Failure>> {
        Box::pin(self.record(job, events, stop))
    }
}

/// The processes of one recording, torn down in reverse order of creation.
#[derive(Default)]
struct Parts {
    sink: Option<Sink>,
    display: Option<Display>,
    browser: Option<Browser>,
}

impl Parts {
    async fn teardown(&mut self) {
        if let Some(browser) = self.browser.take() {
            browser.close().await;
        }
        if let Some(display) = self.display.take() {
            display.stop().await;
        }
        if let Some(sink) = self.sink.take() {
            sink.remove().await;
        }
    }
}

impl Recorder {
    /// Checks the programs and starts the shared PulseAudio daemon. `instance` marks every process.
    pub async fn start(config: RecorderConfig, instance: &str) -> Result<Self, RecorderError> {
        let tools = Tools::locate(&config.chromium)?;
        std::fs::create_dir_all(&config.work_dir)?;
        let pulse_dir = config.work_dir.join("pulse");
        let pulse = PulseServer::start(&tools.pulseaudio, &tools.pactl, &pulse_dir, instance).await?;
        Ok(Self { tools, config, pulse, instance: instance.to_owned() })
    }

    /// Stops the shared daemon (after every recording has finished).
    pub async fn shutdown(&self) {
        self.pulse.stop().await;
    }

    /// Makes one recording. Returns when the file is finalised or the recording failed; every
    /// process it started is gone and its temp dir removed by then.
    pub async fn record(
        &self,
        job: &RecordingJob,
        events: mpsc::Sender<RecorderEvent>,
        stop: StopSignal,
    ) -> Result<Outcome, Failure> {
        let temp = tempfile::Builder::new()
            .prefix(&format!("rec-{}-", job.id))
            .tempdir_in(&self.config.work_dir)
            .map_err(RecorderError::from)?;
        let mut parts = Parts::default();
        let result = self.run(job, temp.path(), &mut parts, &events, &stop).await;
        parts.teardown().await;
        if let Err(e) = temp.close() {
            tracing::warn!("cannot remove temp dir: {e}");
        }
        result
    }

    async fn run(
        &self,
        job: &RecordingJob,
        temp: &Path,
        parts: &mut Parts,
        events: &mpsc::Sender<RecorderEvent>,
        stop: &StopSignal,
    ) -> Result<Outcome, Failure> {
        let mut messages = tokio::select! {
            opened = self.open(job, temp, parts) => opened?,
            _ = stop.stop.cancelled() => return Err(RecorderError::Aborted.into()),
        };
        let spool = spool_path(&job.file);
        let mut capture = self.start_capture(job, parts, &spool)?;
        let ended = supervise(job, parts, &mut capture, &mut messages, events, stop).await;
        let reason = *ended.as_ref().unwrap_or(&EndReason::Error);
        let _ = events.send(RecorderEvent::Stopping { reason }).await;
        // A stop keeps what was on screen up to this moment, no more, no less.
        let stop_at = ended.is_ok().then(|| Utc::now().timestamp_micros() as f64 / 1e6);
        if let Some(at) = stop_at {
            capture.catch_up(at + CATCH_UP_MARGIN_S, CATCH_UP).await;
        }
        if let Some(CaptureEvent::Exited { status, .. }) = capture.stop(self.config.stop_timeout).await {
            tracing::debug!(?status, "ffmpeg finished");
        }
        let timing = Timing::of(&capture, stop_at);
        tracing::debug!(?timing, "finalising");
        let finished = self.finish_file(&spool, &job.file, &timing).await;
        match (ended, finished) {
            (Ok(end_reason), Ok(media)) => Ok(Outcome { end_reason, file: job.file.clone(), media }),
            (Ok(_), Err(error)) => Err(Failure { error, partial: None }),
            (Err(error), media) => Err(Failure { error, partial: media.ok().map(|m| (job.file.clone(), m)) }),
        }
    }

    /// Starts sink, display and browser, installs the bridge and loads the page until it is ready.
    async fn open(
        &self,
        job: &RecordingJob,
        temp: &Path,
        parts: &mut Parts,
    ) -> Result<mpsc::Receiver<PageMessage>, RecorderError> {
        let out = &job.output;
        let sink = parts.sink.insert(self.pulse.create_sink(&sink_name(&job.id)).await?);
        // Without a window manager the kiosk window comes out one pixel short of the screen, so
        // the screen is one pixel larger than what is captured.
        let (screen_w, screen_h) = (out.width + 1, out.height + 1);
        let display = parts.display.insert(Display::start(&self.tools.xvfb, screen_w, screen_h, &self.instance).await?);
        let profile = temp.join("profile");
        let server = self.pulse.server_env();
        let launch = LaunchOptions {
            program: &self.tools.chromium,
            display: &display.name(),
            pulse_server: &server,
            sink: &sink.name,
            profile_dir: &profile,
            width: out.width,
            height: out.height,
            no_sandbox: self.config.chromium_no_sandbox,
            instance: &self.instance,
        };
        let browser = parts.browser.insert(Browser::launch(launch).await?);
        let mut messages = bridge::install(&browser.page).await?;
        let url = job.source.page_url(&self.config.layouts_url, &job.id)
            .map_err(|e| RecorderError::PageLoadFailed(format!("bad page URL: {e}")))?;
        let started = tokio::time::Instant::now();
        page::load(&browser.page, &url, self.config.start_timeout).await?;
        if job.source.signals_ready() {
            let left = self.config.start_timeout.saturating_sub(started.elapsed());
            page::wait_ready(&mut messages, left).await?;
        } else {
            page::settle(&browser.page).await?;
        }
        tracing::info!(%url, load_ms = started.elapsed().as_millis() as u64, "page ready");
        Ok(messages)
    }

    fn start_capture(&self, job: &RecordingJob, parts: &Parts, spool: &Path) -> Result<Capture, RecorderError> {
        let (Some(sink), Some(display)) = (&parts.sink, &parts.display) else {
            return Err(RecorderError::CaptureStart("pipeline parts missing".into()));
        };
        let server = self.pulse.server_env();
        Capture::start(CaptureInput {
            ffmpeg: &self.tools.ffmpeg,
            display: &display.name(),
            pulse_server: &server,
            monitor: &sink.monitor(),
            output: &job.output,
            preset: &self.config.x264_preset,
            file: spool,
            instance: &self.instance,
        })
    }

    /// Turns the spool into the final faststart MP4. If the remux fails, the fragmented spool
    /// itself (playable up to its last fragment) becomes the file, so nothing recorded is lost.
    async fn finish_file(&self, spool: &Path, file: &Path, timing: &Timing) -> Result<MediaInfo, RecorderError> {
        if !spool.exists() {
            return Err(RecorderError::Finalize("ffmpeg wrote no file".into()));
        }
        match finalize::finalize(&self.tools.ffmpeg, spool, file, timing, &self.instance).await {
            Ok(()) => tokio::fs::remove_file(spool).await?,
            Err(e) => {
                tracing::warn!("{e}; keeping the fragmented file as it is");
                tokio::fs::rename(spool, file).await?;
            }
        }
        probe::probe(&self.tools.ffprobe, file, &self.instance).await
    }
}

/// Watches a capturing recording until something ends it.
async fn supervise(
    job: &RecordingJob,
    parts: &mut Parts,
    capture: &mut Capture,
    messages: &mut mpsc::Receiver<PageMessage>,
    events: &mpsc::Sender<RecorderEvent>,
    stop: &StopSignal,
) -> Result<EndReason, RecorderError> {
    let (Some(browser), Some(display)) = (parts.browser.as_mut(), parts.display.as_mut()) else {
        return Err(RecorderError::CaptureStart("pipeline parts missing".into()));
    };
    let mut clock = Clock {
        started: false,
        // Until the first frame is known, allow for a slow ffmpeg start.
        deadline: tokio::time::Instant::now() + job.max_duration + Duration::from_secs(10),
    };
    loop {
        tokio::select! {
            _ = stop.stop.cancelled() => return Ok(stop.reason()),
            _ = tokio::time::sleep_until(clock.deadline) => return Ok(EndReason::MaxDuration),
            Some(message) = messages.recv() => match message {
                PageMessage::End { reason } => {
                    tracing::info!(reason = reason.as_deref().unwrap_or(""), "page ended the session");
                    return Ok(EndReason::PageEnded);
                }
                other => tracing::debug!(?other, "page message"),
            },
            event = capture.events.recv() => {
                if let Some(error) = on_capture_event(event, capture, job, &mut clock, events).await {
                    return Err(error);
                }
            }
            status = browser.exited() => {
                tracing::error!(%status, "Chromium exited unexpectedly; its last output:\n{}", browser.tail());
                return Err(RecorderError::ChromiumExited { status });
            }
            status = display.exited() => return Err(RecorderError::DisplayExited { status }),
        }
    }
}

/// When the recording started and when `max_duration` ends it.
struct Clock {
    started: bool,
    deadline: tokio::time::Instant,
}

impl Clock {
    /// Records the first frame's time `at`; from then `max_duration` counts from that frame.
    async fn start(&mut self, at: DateTime<Utc>, job: &RecordingJob, events: &mpsc::Sender<RecorderEvent>) {
        if std::mem::replace(&mut self.started, true) {
            return;
        }
        let since = (Utc::now() - at).to_std().unwrap_or_default();
        self.deadline = tokio::time::Instant::now() + job.max_duration.saturating_sub(since);
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
) -> Option<RecorderError> {
    match event {
        Some(CaptureEvent::InputStart { index, wall_s }) => {
            if let Some(slot) = capture.starts.get_mut(index as usize) {
                *slot = Some(wall_s);
            }
            // The display input opened: its first frame is the file's first frame.
            if index as usize == VIDEO {
                clock.start(capture::first_frame_at(Some(wall_s), Utc::now(), 0.0), job, events).await;
            }
        }
        Some(CaptureEvent::Progress { time_s, fps }) => {
            if !clock.started {
                clock.start(capture::first_frame_at(None, Utc::now(), time_s), job, events).await;
            }
            let bytes = std::fs::metadata(&capture.file).map(|m| m.len()).unwrap_or(0);
            let _ = events.try_send(RecorderEvent::Progress { duration_s: time_s.max(0.0), bytes, fps });
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

/// The fragmented file ffmpeg writes while recording, beside the final file.
fn spool_path(file: &Path) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    file.with_file_name(name)
}

/// PulseAudio sink names allow `[A-Za-z0-9_.-]`; ids are already like that, but be safe.
fn sink_name(id: &str) -> String {
    let clean: String = id.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    format!("wf_{clean}")
}
