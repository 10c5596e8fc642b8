//! Runs one recording end to end: sink → display → browser → page → capture, then the reverse
//! teardown on every path, and finalisation of whatever file was written.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::mpsc;

use super::audio::{PulseServer, Sink};
use super::bridge;
use super::browser::Browser;
use super::launch::{launch_browser, start_display};
use super::capture::{Capture, CaptureInput};
use super::finalize::Timing;
use super::restart::Running;
use super::segments::{self, Segment};
use super::forward::ForwardEnv;
use super::outputs::Outputs;
use super::relay::Relay;
use super::display::Display;
use super::pool::{Launcher, WarmPool};
use super::probe::{self, MediaInfo};
use super::tools::Tools;
use super::{EndReason, RecorderConfig, RecorderError, RecorderEvent, guard, page};

pub use super::job::{CallControls, Failure, Inbox, Outcome, RecordingJob, SettingsReceiver, StopSignal, StreamsReceiver};

/// What recordings of one service share.
pub struct Recorder {
    pub(super) tools: Tools,
    pub(super) config: RecorderConfig,
    pub(super) pulse: Arc<PulseServer>,
    pub(super) instance: String,
    /// Displays and browsers started ahead of recordings (`None`: every recording starts cold).
    pub(super) warm: Option<Arc<WarmPool>>,
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

    /// Finalises what a recording whose service died left beside `file` (its spools) into
    /// `file`; an error when there is nothing playable.
    fn salvage<'a>(&'a self, file: &'a Path) -> BoxFuture<'a, Result<MediaInfo, RecorderError>> {
        Box::pin(async move { Err(RecorderError::Finalize(format!("nothing to salvage at {}", file.display()))) })
    }

    /// Browsers waiting in the warm pool (`None`: there is no pool).
    fn warm_browsers(&self) -> Option<usize> {
        None
    }
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

    fn salvage<'a>(&'a self, file: &'a Path) -> BoxFuture<'a, Result<MediaInfo, RecorderError>> {
        Box::pin(async move {
            let found: Vec<Segment> = segments::found(file).into_iter().map(|spool| Segment { spool, timing: Timing::default() }).collect();
            if found.is_empty() {
                // The crash came after the file was finalised but before that was recorded.
                return probe::probe(&self.tools.ffprobe, file, &self.instance).await;
            }
            tracing::info!(segments = found.len(), "finalising the spools an interrupted recording left");
            segments::finish(&self.tools, &found, file, &self.instance).await
        })
    }

    fn warm_browsers(&self) -> Option<usize> {
        self.warm.as_ref().map(|pool| pool.len())
    }
}

/// The processes of one recording, torn down in reverse order of creation.
#[derive(Default)]
pub(super) struct Parts {
    pub sink: Option<Sink>,
    pub display: Option<Display>,
    pub browser: Option<Browser>,
    /// The profile of a browser from the warm pool (a cold one's is in the recording's temp dir).
    pub profile: Option<tempfile::TempDir>,
    /// Where the capture sends the live feed (the relay), when there are live outputs.
    pub feed: Option<String>,
}

impl Parts {
    async fn teardown(&mut self) {
        if let Some(browser) = self.browser.take() {
            browser.close().await;
        }
        self.profile = None;
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
        let tools = Tools::locate(&config.chromium, config.display_server)?;
        std::fs::create_dir_all(&config.work_dir)?;
        let pulse_dir = config.work_dir.join("pulse");
        let socket = config.sandbox.path().join("pulse-native");
        let pulse = Arc::new(PulseServer::start(&tools.pulseaudio, &tools.pactl, &pulse_dir, socket, instance).await?);
        let warm = config.warm_pool.map(|pool| {
            let launcher = Launcher { tools: tools.clone(), pulse: Arc::clone(&pulse), sandbox: Arc::clone(&config.sandbox), instance: instance.to_owned() };
            WarmPool::start(pool, launcher)
        });
        Ok(Self { tools, config, pulse, instance: instance.to_owned(), warm })
    }

    /// The programs this recorder found at start-up.
    pub fn tools(&self) -> &Tools {
        &self.tools
    }

    /// Ends the warm pool's processes and stops the shared daemon (after every recording has
    /// finished).
    pub async fn shutdown(&self) {
        if let Some(warm) = &self.warm {
            warm.close().await;
        }
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
        // The browser profiles; in the runtime dir, where the browser's user can reach them.
        let temp = self.config.sandbox.scratch(&format!("rec-{}-", job.id)).map_err(RecorderError::from)?;
        let mut parts = Parts::default();
        let result = self.run(job, temp.path(), &mut parts, &events, &stop).await;
        parts.teardown().await;
        self.config.pages.remove(&job.id);
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
        let page = tokio::select! {
            opened = self.open(job, temp, parts, events) => opened?,
            _ = stop.stop.cancelled() => return Err(RecorderError::Aborted.into()),
        };
        let mut outputs = self.outputs(job, events).await?;
        parts.feed = outputs.as_ref().map(Outputs::feed_url);
        let spool = job.output.file.then(|| spool_path(&job.file));
        let capture = self.start_capture(job, parts, spool.as_deref())?;
        let mut run = Running { capture: Some(capture), page, segments: Vec::new(), restarts: Vec::new(), before_s: 0.0 };
        let ended = self.keep_capturing(job, temp, parts, &mut run, outputs.as_mut(), events, stop).await;
        let reason = *ended.as_ref().unwrap_or(&EndReason::Error);
        let _ = events.send(RecorderEvent::Stopping { reason }).await;
        // A stop keeps what was on screen up to this moment, no more, no less.
        let stop_at = ended.is_ok().then(super::capture::now_s);
        run.end(stop_at, self.config.stop_timeout).await;
        if let Some(outputs) = outputs {
            outputs.close().await;
        }
        // The browser, display and sink are done with once ffmpeg is: they end while the file is
        // finished, so their teardown does not hold up the delivery.
        let finish = async {
            match run.segments.as_slice() {
                [] if !job.output.file => None,
                [] => Some(Err(RecorderError::Finalize("ffmpeg wrote no file".into()))),
                [only] if job.keep_fragmented => Some(segments::keep(&self.tools, &only.spool, &job.file, &self.instance).await),
                all => Some(segments::finish(&self.tools, all, &job.file, &self.instance).await),
            }
        };
        let (finished, ()) = tokio::join!(finish, parts.teardown());
        let file = |media: MediaInfo| (job.file.clone(), media);
        match (ended, finished) {
            (Ok(end_reason), None) => Ok(Outcome { end_reason, video: None }),
            (Ok(end_reason), Some(Ok(media))) => Ok(Outcome { end_reason, video: Some(file(media)) }),
            (Ok(_), Some(Err(error))) => Err(Failure { error, partial: None }),
            (Err(error), media) => Err(Failure { error, partial: media.and_then(Result::ok).map(file) }),
        }
    }

    /// Starts sink, display and browser, installs the bridge and loads the page until it is ready.
    async fn open(
        &self,
        job: &RecordingJob,
        temp: &Path,
        parts: &mut Parts,
        events: &mpsc::Sender<RecorderEvent>,
    ) -> Result<page::PageLink, RecorderError> {
        let out = &job.output;
        let warm = match &self.warm {
            Some(pool) => pool.take(out.width, out.height, out.fps).await,
            None => None,
        };
        if let Some(set) = warm {
            (parts.sink, parts.display, parts.browser, parts.profile) = (Some(set.sink), Some(set.display), Some(set.browser), Some(set.profile));
            return self.open_page(job, parts, events).await;
        }
        parts.sink = Some(self.pulse.create_sink(&sink_name(&job.id)).await?);
        self.start_display(job, parts).await?;
        self.launch_page(job, &temp.join("profile"), parts, events).await
    }

    /// Starts the recording's X display.
    pub(super) async fn start_display(&self, job: &RecordingJob, parts: &mut Parts) -> Result<(), RecorderError> {
        let out = &job.output;
        parts.display = Some(start_display(&self.tools, (out.width, out.height), out.fps, &self.instance, &self.config.sandbox).await?);
        Ok(())
    }

    /// Launches Chromium with a fresh `profile` on the display, installs the bridge and loads
    /// the page until it is ready.
    pub(super) async fn launch_page(
        &self,
        job: &RecordingJob,
        profile: &Path,
        parts: &mut Parts,
        events: &mpsc::Sender<RecorderEvent>,
    ) -> Result<page::PageLink, RecorderError> {
        let (Some(sink), Some(display)) = (&parts.sink, &parts.display) else {
            return Err(RecorderError::BrowserLaunch("no display or sink to launch on".into()));
        };
        let size = (job.output.width, job.output.height);
        let browser = launch_browser(&self.tools, &self.config.sandbox, &self.instance, &self.pulse, display, sink, profile, size).await?;
        parts.browser = Some(browser);
        self.open_page(job, parts, events).await
    }

    /// Guards the browser's requests, installs the bridge and loads the page until it is ready.
    async fn open_page(
        &self,
        job: &RecordingJob,
        parts: &mut Parts,
        events: &mpsc::Sender<RecorderEvent>,
    ) -> Result<page::PageLink, RecorderError> {
        let Some(browser) = parts.browser.as_mut() else {
            return Err(RecorderError::BrowserLaunch("no browser to load the page in".into()));
        };
        let rules = guard::Rules::for_recording(&self.config.url_policy, &self.config.layouts_url, &job.source);
        browser.guard(rules, events.clone()).await?;
        let messages = bridge::install(&browser.page, &self.page_config(job)).await?;
        let mut link = page::PageLink::new(messages);
        let url = job.source.page_url(&self.config.layouts_url, &job.id)
            .map_err(|e| RecorderError::PageLoadFailed(format!("bad page URL: {e}")))?;
        self.config.pages.insert(&job.id, page::declared_sources(job));
        let started = tokio::time::Instant::now();
        page::load(&browser.page, &url, self.config.start_timeout).await?;
        if job.source.signals_ready() {
            let left = self.config.start_timeout.saturating_sub(started.elapsed());
            // A call may wait for its first publisher as long as the recording may last.
            let patience = job.source.waits_for_publishers().then_some(job.max_duration);
            page::wait_ready(&mut link, left, patience, events).await?;
        } else {
            page::settle(&browser.page).await?;
        }
        tracing::info!(%url, load_ms = started.elapsed().as_millis() as u64, "page ready");
        Ok(link)
    }

    /// `window.__wallflowerConfig`: the source's part, plus a call's layout and branding.
    fn page_config(&self, job: &RecordingJob) -> serde_json::Value {
        let mut config = job.source.page_config(&job.id);
        if let (Some(settings), Some(map)) = (&job.settings, config.as_object_mut())
            && let serde_json::Value::Object(page) = settings.borrow().for_page(&self.config.layouts_url)
        {
            map.extend(page);
        }
        config
    }

    /// The relay and the live outputs, when the recording may have any: HLS starts now, the
    /// streams wanted at the start too.
    async fn outputs(&self, job: &RecordingJob, events: &mpsc::Sender<RecorderEvent>) -> Result<Option<Outputs>, RecorderError> {
        if job.streams.is_none() && !job.hls {
            return Ok(None);
        }
        let env = ForwardEnv { ffmpeg: self.tools.ffmpeg.clone(), instance: self.instance.clone(), events: events.clone() };
        let mut outputs = Outputs::new(Relay::bind().await?, env);
        if job.hls {
            outputs.start_hls(hls_dir(&job.file));
        }
        if let Some(streams) = &job.streams {
            let wanted = streams.borrow().clone();
            outputs.apply(&wanted).await;
        }
        Ok(Some(outputs))
    }

    pub(super) fn start_capture(&self, job: &RecordingJob, parts: &Parts, spool: Option<&Path>) -> Result<Capture, RecorderError> {
        let (Some(sink), Some(display)) = (&parts.sink, &parts.display) else {
            return Err(RecorderError::CaptureStart("pipeline parts missing".into()));
        };
        let server = self.pulse.server_env();
        Capture::start(CaptureInput {
            ffmpeg: &self.tools.ffmpeg,
            display: display.number,
            frame_interval_us: display.frame_interval_us,
            display_latency_s: display.latency_s(),
            xauthority: display.xauthority(),
            parec: &self.tools.parec,
            pulse_server: &server,
            monitor: &sink.monitor(),
            sound_shift_s: self.config.sound_shift_s,
            output: &job.output,
            preset: &self.config.x264_preset,
            file: spool,
            feed: parts.feed.clone(),
            instance: &self.instance,
            runtime_dir: self.config.sandbox.path(),
        })
    }
}

/// Where a recording's HLS segments and playlist go: `hls/` beside its file.
pub fn hls_dir(file: &Path) -> PathBuf {
    file.with_file_name("hls")
}

/// The fragmented file ffmpeg writes while recording, beside the final file.
pub fn spool_path(file: &Path) -> PathBuf {
    segments::spool(file, 0)
}

/// PulseAudio sink names allow `[A-Za-z0-9_.-]`; ids are already like that, but be safe.
pub(super) fn sink_name(id: &str) -> String {
    let clean: String = id.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    format!("wf_{clean}")
}
