//! The capture of a recording, segment after segment, kept going when a part of its pipeline
//! breaks: Chromium, ffmpeg, the X server or PulseAudio exiting, or the watchdog finding ffmpeg or the
//! page frozen. The capture so far is
//! closed as a segment, whatever is broken is relaunched (with what depends on it: a new display
//! needs a new browser), the page rejoins the call, and the capture goes on into the next
//! segment. The segments are joined into the one delivered file; the time between them is the
//! gap, reported as a `pipeline_restart` incident.

use std::path::Path;
use std::time::Duration;

use tokio::sync::mpsc;

use super::page::PageLink;
use super::capture::{Capture, CaptureEvent};
use super::display::Display;
use super::finalize::Timing;
use super::outputs::Outputs;
use super::pipeline::{Parts, Recorder, RecordingJob, StopSignal};
use super::supervise::{self, Watched};
use super::probe;
use super::segments::{self, Segment};
use super::{EndReason, RecorderError, RecorderEvent};

/// More relaunches than this within [`CRASH_LOOP_WINDOW`] is a crash loop: the recording fails
/// (what was captured is still delivered).
const MAX_RESTARTS: usize = 5;
const CRASH_LOOP_WINDOW: Duration = Duration::from_secs(600);

/// How long a stopping recording waits for ffmpeg to write what was on screen at the stop.
const CATCH_UP: Duration = Duration::from_secs(3);
/// How far past the stop to let ffmpeg write, so the sound (not counted by the catch-up, and a
/// few tens of milliseconds behind the picture through parec and the FIFO) reaches the stop
/// too: `q` drops what is still queued inside ffmpeg. The excess is trimmed when the file is
/// finalised; every 0.1 s of it is 0.1 s more between stop and delivery.
const CATCH_UP_MARGIN_S: f64 = 0.25;

/// A part of the pipeline that can break and be relaunched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    Chromium,
    Ffmpeg,
    /// The X server (Xorg or Xvfb).
    Display,
    PulseAudio,
}

impl Part {
    /// Every part (metrics show each, at 0 before its first restart).
    pub const ALL: [Self; 4] = [Self::Chromium, Self::Ffmpeg, Self::Display, Self::PulseAudio];

    /// The name in incidents and metric labels.
    pub fn name(self) -> &'static str {
        match self {
            Self::Chromium => "chromium",
            Self::Ffmpeg => "ffmpeg",
            Self::Display => "display",
            Self::PulseAudio => "pulseaudio",
        }
    }
}

/// The capturing state of a recording across segments.
pub(super) struct Running {
    /// The capture into the current segment (`None` between segments).
    pub capture: Option<Capture>,
    /// The current page: its messages, and whether it last said anyone publishes.
    pub page: PageLink,
    /// Segments already closed.
    pub segments: Vec<Segment>,
    /// When each relaunch happened.
    pub restarts: Vec<std::time::Instant>,
    /// Media seconds in the closed segments: progress goes on from there.
    pub before_s: f64,
}

impl Running {
    /// Closes the current segment, its good part ending at `end_s` on its own media clock
    /// (`None`: all of it); returns the wall-clock time its good part ends.
    fn close(&mut self, capture: &Capture, end_s: Option<f64>, spool_end_s: f64) -> f64 {
        let end = end_s.unwrap_or(spool_end_s).min(spool_end_s.max(0.0));
        if let Some(spool) = &capture.file {
            self.segments.push(Segment { spool: spool.clone(), timing: Timing { end_s: end_s.filter(|e| *e > 0.0) } });
        }
        self.before_s += (end - capture.first_frame_s().unwrap_or(0.0)).max(0.0);
        capture.origin_s + end
    }

    /// Ends the last segment: ffmpeg writes what was on screen up to the stop at `stop_at`
    /// (`None` after a failure: keep all), then finishes its file within `patience`.
    pub async fn end(&mut self, stop_at: Option<f64>, patience: Duration) {
        let Some(capture) = self.capture.as_mut() else { return };
        if let Some(at) = stop_at {
            capture.catch_up(at + CATCH_UP_MARGIN_S, CATCH_UP).await;
        }
        if let Some(CaptureEvent::Exited { status, .. }) = capture.stop(patience).await {
            tracing::debug!(?status, "ffmpeg finished");
        }
        let timing = Timing::of(capture, stop_at);
        tracing::debug!(?timing, "finalising");
        if let Some(spool) = &capture.file {
            self.segments.push(Segment { spool: spool.clone(), timing });
        }
    }

    /// Whether `error` is a broken part this recording may relaunch.
    pub fn may_restart(&self, error: &RecorderError, stop: &StopSignal) -> bool {
        let recent = self.restarts.iter().filter(|at| at.elapsed() < CRASH_LOOP_WINDOW).count();
        error.broken_part().is_some() && recent < MAX_RESTARTS && !stop.stop.is_cancelled()
    }
}

impl Recorder {
    /// Supervises segment after segment, relaunching what breaks, until the recording ends.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn keep_capturing(
        &self,
        job: &RecordingJob,
        temp: &Path,
        parts: &mut Parts,
        run: &mut Running,
        mut outputs: Option<&mut Outputs>,
        events: &mpsc::Sender<RecorderEvent>,
        stop: &StopSignal,
    ) -> Result<EndReason, RecorderError> {
        loop {
            match self.watch(job, parts, run, outputs.as_deref_mut(), events, stop).await {
                Err(error) if run.may_restart(&error, stop) => {
                    if let Err(failed) = self.restart(job, temp, parts, run, error, events).await {
                        tracing::error!("relaunching failed: {failed}");
                        return Err(failed);
                    }
                }
                ended => return ended,
            }
        }
    }

    /// Supervises the current segment until the recording ends or a part breaks.
    async fn watch(
        &self,
        job: &RecordingJob,
        parts: &mut Parts,
        run: &mut Running,
        outputs: Option<&mut Outputs>,
        events: &mpsc::Sender<RecorderEvent>,
        stop: &StopSignal,
    ) -> Result<EndReason, RecorderError> {
        let (Some(browser), Some(display), Some(capture)) = (parts.browser.as_mut(), parts.display.as_mut(), run.capture.as_mut()) else {
            return Err(RecorderError::CaptureStart("pipeline parts missing".into()));
        };
        let base = &self.config.layouts_url;
        let page = &mut run.page;
        let before_s = run.before_s;
        let watched = Watched { job, browser, display, capture, page, events, base, outputs, before_s, pulse: &self.pulse };
        supervise::supervise(watched, stop).await
    }

    /// Relaunches what `error` broke and starts the next segment.
    async fn restart(
        &self,
        job: &RecordingJob,
        temp: &Path,
        parts: &mut Parts,
        run: &mut Running,
        error: RecorderError,
        events: &mpsc::Sender<RecorderEvent>,
    ) -> Result<(), RecorderError> {
        let part = error.broken_part().unwrap_or(Part::Ffmpeg);
        // A frozen part stopped being good when it last showed life, not when that was noticed.
        let broke_at = super::capture::now_s() - error.stalled_for().map_or(0.0, |d| d.as_secs_f64());
        tracing::warn!(part = part.name(), "{error}; relaunching it");
        let profile = temp.join(format!("profile-{}", run.restarts.len() + 1));
        // The old segment is finished (ffmpeg's flush, the probe of its spool) while the broken
        // parts come back: done one after the other, that second or so was more of the gap.
        let (kept_until, relaunched) =
            tokio::join!(self.close_segment(run, part, broke_at), self.relaunch_parts(job, &profile, parts, part, events));
        let (pulse_down, page) = relaunched?;
        if let Some(page) = page {
            run.page = page;
        }
        let spool = job.output.file.then(|| segments::spool(&job.file, run.segments.len()));
        let capture = self.start_capture(job, parts, spool.as_deref())?;
        let gap_s = (capture.origin_s - kept_until).max(0.0);
        run.capture = Some(capture);
        run.restarts.push(std::time::Instant::now());
        let part = if pulse_down { Part::PulseAudio } else { part };
        tracing::warn!(part = part.name(), gap_s, restarts = run.restarts.len(), "pipeline relaunched");
        let cause = error.brief();
        let _ = events.send(RecorderEvent::Restarted { part, cause, gap_s, at: super::capture::unix_time(broke_at) }).await;
        Ok(())
    }

    /// Brings back `part` and whatever went down with it (PulseAudio, the display, the browser
    /// and its page). Returns whether PulseAudio was down, and the new page when the
    /// browser was relaunched.
    async fn relaunch_parts(
        &self,
        job: &RecordingJob,
        profile: &Path,
        parts: &mut Parts,
        part: Part,
        events: &mpsc::Sender<RecorderEvent>,
    ) -> Result<(bool, Option<PageLink>), RecorderError> {
        let generation = self.pulse.revive().await?;
        let pulse_down = parts.sink.as_ref().is_none_or(|sink| sink.generation != generation);
        if pulse_down {
            if let Some(old) = parts.sink.take() {
                old.forget();
            }
            parts.sink = Some(self.pulse.create_sink(&super::pipeline::sink_name(&job.id)).await?);
        }
        let display_down = part == Part::Display || parts.display.as_mut().is_none_or(Display::has_exited);
        if display_down {
            if let Some(display) = parts.display.take() {
                display.stop().await;
            }
            self.start_display(job, parts).await?;
        }
        let browser_down = display_down || pulse_down || part == Part::Chromium || parts.browser.as_mut().is_none_or(|b| b.has_exited());
        if !browser_down {
            return Ok((pulse_down, None));
        }
        if let Some(browser) = parts.browser.take() {
            browser.kill().await;
        }
        Ok((pulse_down, Some(self.launch_page(job, profile, parts, events).await?)))
    }

    /// Ends the current segment: ffmpeg finishes its file (a frozen one is killed), which is cut
    /// where the picture stopped being good. Returns the wall-clock time its good part ends.
    async fn close_segment(&self, run: &mut Running, part: Part, broke_at: f64) -> f64 {
        let Some(mut capture) = run.capture.take() else { return broke_at };
        let patience = if part == Part::Ffmpeg { Duration::from_millis(500) } else { self.config.stop_timeout };
        capture.stop(patience).await;
        // Up to where the spool really holds media (a killed ffmpeg loses its last fragment).
        let spool_end = match &capture.file {
            Some(spool) => probe::probe(&self.tools.ffprobe, spool, &self.instance).await.map_or(0.0, |m| m.start_s + m.duration_s),
            None => broke_at - capture.origin_s,
        };
        // When ffmpeg broke, what it wrote is good to its end; otherwise up to the break.
        let end = (part != Part::Ffmpeg).then_some(broke_at - capture.origin_s);
        run.close(&capture, end, spool_end)
    }
}
