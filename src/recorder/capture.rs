//! The ffmpeg sidecar: encodes the picture of the recording's X display grabbed by our
//! [`super::picturefeed`] and the sound of its audio sink from our [`super::soundfeed`], both
//! already on the capture's timeline, into a fragmented MP4
//! (playable up to the last fragment even if ffmpeg is killed), reports progress, and stops by
//! `q` with a deadline before a kill.

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ffmpeg_sidecar::child::FfmpegChild;
use ffmpeg_sidecar::command::FfmpegCommand;
use ffmpeg_sidecar::event::{FfmpegEvent, LogLevel};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::RecorderError;
use super::picture::{grab_rate, grab_rate_arg, video_codec_args};
use super::process::{OutputTail, prepare, signal_group};
use super::picturefeed::{PictureFeed, PictureInput};
use super::soundfeed::{FeedInput, SoundFeed};

/// ffmpeg input index of the picture (the display).
pub const VIDEO: usize = 0;
/// ffmpeg input index of the sound (the sink's monitor).
pub const AUDIO: usize = 1;

/// Video output settings of a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct OutputSpec {
    /// Even, 160–3840.
    pub width: u32,
    /// Even, 120–2160.
    pub height: u32,
    /// 1–60.
    pub fps: u32,
    /// H.264 bitrate, 100–50000.
    pub video_bitrate_kbps: u32,
    /// Also write HLS (4 s segments and an event playlist), uploaded with the file.
    pub hls: bool,
    /// Write the MP4 file (default); `false` makes only the live outputs (`streams`, `hls`).
    pub file: bool,
}

impl Default for OutputSpec {
    fn default() -> Self {
        Self { width: 1280, height: 720, fps: 30, video_bitrate_kbps: 2500, hls: false, file: true }
    }
}

/// What the capture reports while running.
#[derive(Debug)]
pub enum CaptureEvent {
    /// An input opened; for the display `wall_s` is the Unix time of its first frame (the picture
    /// feed stamps each frame with its slot's wall-clock time), where the file's picture starts.
    InputStart { index: u32, wall_s: f64 },
    /// Encoder progress: media time written so far (as ffmpeg counts it), frames encoded, and
    /// the current frame rate.
    Progress { time_s: f64, frame: u32, fps: f64 },
    /// ffmpeg exited (on its own or after `stop`).
    Exited { status: Option<ExitStatus>, tail: String },
}

/// Inputs of one capture.
pub struct CaptureInput<'a> {
    pub ffmpeg: &'a Path,
    /// The X display's number.
    pub display: u32,
    /// Microseconds between Chromium's frames on it.
    pub frame_interval_us: u32,
    /// How long after the page draws its drawing is in the file ([`super::display::DISPLAY_LATENCY_S`]).
    pub display_latency_s: f64,
    /// The display's cookie file.
    pub xauthority: &'a Path,
    pub parec: &'a Path,
    pub pulse_server: &'a std::ffi::OsStr,
    pub monitor: &'a str,
    /// Seconds the sound is moved later against the picture (the pipeline's measured offset).
    pub sound_shift_s: f64,
    pub output: &'a OutputSpec,
    pub preset: &'a str,
    /// The spool file, unless the recording makes only live outputs.
    pub file: Option<&'a Path>,
    /// Where the live feed for streams and HLS goes (the relay), if anywhere.
    pub feed: Option<String>,
    pub instance: &'a str,
    /// The service's runtime dir, for the feeds' FIFOs.
    pub runtime_dir: &'a Path,
}

/// A running ffmpeg.
pub struct Capture {
    /// Wall-clock Unix time of media time zero in the file: both inputs keep their wall-clock
    /// stamps shifted by this one origin, so sound and picture are in step in the spool itself
    /// (and in whatever is uploaded or streamed from it while recording).
    pub origin_s: f64,
    /// How often the picture is grabbed ([`grab_rate`]).
    rate: (u32, u32),
    display_latency_s: f64,
    /// Wall-clock Unix time of the display's first frame (index [`VIDEO`]) once ffmpeg reported
    /// it; the sound (index [`AUDIO`]) starts at the origin by construction.
    pub starts: [Option<f64>; 2],
    /// Our sound and picture; they stop with the capture.
    _sound: SoundFeed,
    _picture: PictureFeed,
    pid: i32,
    stdin: Option<std::process::ChildStdin>,
    pub events: mpsc::Receiver<CaptureEvent>,
    pub file: Option<PathBuf>,
    exited: Option<oneshot::Receiver<()>>,
}

impl Capture {
    /// Starts ffmpeg. Its events are read on a dedicated thread (the sidecar's iterator blocks).
    pub fn start(input: CaptureInput<'_>) -> Result<Self, RecorderError> {
        let origin_s = now_s();
        let sound = SoundFeed::start(FeedInput {
            parec: input.parec,
            pulse_server: input.pulse_server,
            monitor: input.monitor,
            origin_s,
            shift_s: input.sound_shift_s,
            instance: input.instance,
            runtime_dir: input.runtime_dir,
        })?;
        let rate = grab_rate(input.output.fps, input.frame_interval_us);
        let (num, den) = rate;
        let picture = PictureFeed::start(PictureInput {
            display: input.display,
            xauthority: input.xauthority,
            size: (input.output.width, input.output.height),
            origin_s,
            period_s: f64::from(den) / f64::from(num),
            chromium_interval_us: input.frame_interval_us,
            runtime_dir: input.runtime_dir,
        })?;
        let mut cmd = command(&input, origin_s, rate, (&picture.fifo(), &sound.fifo()));
        prepare(cmd.as_inner_mut(), input.instance);
        let mut child = cmd.spawn().map_err(|e| RecorderError::CaptureStart(e.to_string()))?;
        let pid = child.as_inner().id() as i32;
        let stdin = child.take_stdin();
        let (tx, events) = mpsc::channel(256);
        let (done_tx, done_rx) = oneshot::channel();
        let span = tracing::Span::current();
        std::thread::Builder::new()
            .name(format!("ffmpeg-{pid}"))
            .spawn(move || {
                let _enter = span.enter();
                pump(child, tx);
                let _ = done_tx.send(());
            })
            .map_err(|e| RecorderError::CaptureStart(e.to_string()))?;
        Ok(Self { origin_s, rate, display_latency_s: input.display_latency_s, starts: [None; 2], _sound: sound, _picture: picture, pid, stdin, events, file: input.file.map(Path::to_path_buf), exited: Some(done_rx) })
    }

    /// The wall-clock moment whose drawing the file shows at media time zero, and so the zero
    /// of the timeline's `t_ms`: an event the page drew at `t` (its animation frame's time)
    /// shows in the file at `t_ms`, not the display's latency before it.
    pub fn timeline_zero(&self) -> DateTime<Utc> {
        unix_time(self.origin_s - self.display_latency_s)
    }

    /// Media time of the first frame (seconds after the origin), once ffmpeg reported it.
    pub fn first_frame_s(&self) -> Option<f64> {
        self.starts[VIDEO].map(|video| video - self.origin_s)
    }

    /// Waits (at most `limit`) until ffmpeg has encoded the picture up to the wall-clock moment
    /// `until_s`, so a stop never clips what was on screen before it: `q` drops what is still
    /// queued inside ffmpeg.
    pub async fn catch_up(&mut self, until_s: f64, limit: Duration) {
        // Counted in frames from the display's first one: the output is constant-rate, and
        // ffmpeg's own progress time under -copyts counts from whenever it first reported.
        let Some(video) = self.starts[VIDEO] else { return };
        let (num, den) = self.rate;
        let target = ((until_s - video) * f64::from(num) / f64::from(den)).ceil().max(0.0) as u32;
        let wait = async {
            while let Some(event) = self.events.recv().await {
                match event {
                    CaptureEvent::Progress { frame, .. } if frame >= target => return,
                    CaptureEvent::Exited { .. } => return,
                    _ => {}
                }
            }
        };
        if tokio::time::timeout(limit, wait).await.is_err() {
            tracing::warn!(target, "ffmpeg did not catch up with the stop within {limit:?}");
        }
    }

    /// Asks ffmpeg to finish the file (`q`), waits up to `deadline`, then kills it.
    /// Returns the exit event if it was seen.
    pub async fn stop(&mut self, deadline: Duration) -> Option<CaptureEvent> {
        if let Some(mut stdin) = self.stdin.take() {
            use std::io::Write;
            let _ = stdin.write_all(b"q").and_then(|_| stdin.flush());
        }
        let waited = tokio::time::timeout(deadline, self.wait_exit()).await;
        if waited.is_err() {
            tracing::warn!(pid = self.pid, "ffmpeg did not finish within {deadline:?}; killing it");
            signal_group(self.pid, libc::SIGKILL);
            return self.wait_exit().await;
        }
        waited.ok().flatten()
    }

    /// Drains events until the exit event (progress seen on the way is dropped).
    async fn wait_exit(&mut self) -> Option<CaptureEvent> {
        while let Some(event) = self.events.recv().await {
            if matches!(event, CaptureEvent::Exited { .. }) {
                if let Some(done) = self.exited.take() {
                    let _ = done.await;
                }
                return Some(event);
            }
        }
        None
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        // The reader thread reaps the process once it is dead.
        if self.exited.is_some() {
            signal_group(self.pid, libc::SIGKILL);
        }
    }
}

fn command(input: &CaptureInput<'_>, origin_s: f64, rate: (u32, u32), (picture, sound): (&Path, &Path)) -> FfmpegCommand {
    let out = input.output;
    // The picture feed stamps each frame with its slot's wall-clock time; keeping those stamps
    // (-copyts) less the origin puts it on the timeline the sound feed already writes (raw PCM
    // counts from media time zero), where ffmpeg's default would rebase it to zero on its own.
    let shift = format!("-{origin_s:.6}");
    let mut cmd = FfmpegCommand::new_with_path(input.ffmpeg);
    cmd.args(["-hide_banner", "-nostats", "-stats_period", "0.1", "-stats", "-y", "-copyts"])
        // Probe as little as possible, on each input (the options are per input): ffmpeg opens
        // the inputs one after the other, picture first, and reads neither until both are open.
        // With the default analysis the sound input read ~1 s of real-time PCM first, so every
        // file began with its first picture frozen for a second.
        .args(PROBE_LITTLE)
        // Raw frames with their stamps (IVF, see picturefeed). A small queue: under CPU pressure
        // a big one grows ffmpeg to gigabytes (PLATFORM.md).
        .args(["-thread_queue_size", "64", "-f", "ivf", "-itsoffset", &shift, "-i"])
        .arg(picture.as_os_str())
        .args(PROBE_LITTLE)
        .args(["-thread_queue_size", "1024", "-f", "s16le", "-ar", "48000", "-ac", "2", "-i"])
        .arg(sound.as_os_str())
        .args(["-map", &format!("{VIDEO}:v"), "-map", &format!("{AUDIO}:a")])
        // Each frame into the slot nearest its stamp. ffmpeg's constant-rate output instead
        // numbers frames on and repeats one whenever a frame comes over 1.1 intervals late
        // (a busy core), which moved every later frame one interval later for good: 10-minute
        // files drifted in one-frame steps (BENCHMARKS.md, "The picture's clock").
        .args(["-vf", &format!("fps={}:round=near", grab_rate_arg(rate))])
        .args(video_codec_args(input.preset, out.fps, out.video_bitrate_kbps))
        // The `fast` AAC coder: 0.008 cores against the default `twoloop`'s 0.020, and ffmpeg's
        // own authors found it sounds better at 128 kb/s (BENCHMARKS.md, "A cheaper sound encoder").
        .args(["-c:a", "aac", "-aac_coder", "fast", "-b:a", "128k", "-ar", "48000"]);
    match (input.file, &input.feed) {
        (Some(file), None) => {
            cmd.args(["-movflags", MOVFLAGS, "-frag_duration", "1000000", "-flush_packets", "1", "-f", "mp4"])
                .output(file.as_os_str());
        }
        // One encode for every output: the tee muxer writes the file and sends the live feed.
        // Extradata goes in the headers (mp4 needs it); the TS side gets it before each keyframe.
        (Some(file), Some(feed)) => {
            let file = file.display().to_string().replace('\\', "\\\\").replace('|', "\\|");
            let slaves = format!(
                "[f=mp4:movflags={MOVFLAGS}:frag_duration=1000000:flush_packets=1]{file}|[f=mpegts:onfail=ignore:bsfs/v=h264_mp4toannexb]{feed}"
            );
            cmd.args(["-flags", "+global_header", "-f", "tee"]).output(slaves);
        }
        // Live outputs only: the feed is the one output.
        (None, feed) => {
            cmd.args(["-f", "mpegts"]).output(feed.as_deref().unwrap_or("-"));
        }
    }
    cmd
}


/// Input options that make ffmpeg open an input without reading ahead.
const PROBE_LITTLE: [&str; 4] = ["-probesize", "32", "-analyzeduration", "0"];

/// Fragmented MP4, each fragment handed to the file at once (a crash loses at most ~1 s);
/// delay_moov: the header waits for the first fragment, so its edit lists keep where each stream
/// starts (with an empty moov they would both start at zero).
const MOVFLAGS: &str = "+frag_keyframe+empty_moov+default_base_moof+delay_moov";

/// Reads ffmpeg's events until it exits, forwarding progress and logging warnings and errors.
fn pump(mut child: FfmpegChild, tx: mpsc::Sender<CaptureEvent>) {
    let tail = OutputTail::default();
    let mut input = 0;
    let mut rate = FrameRate::default();
    if let Ok(iter) = child.iter() {
        for event in iter {
            match event {
                FfmpegEvent::ParsedInput(i) => input = i.index,
                FfmpegEvent::ParsedDuration(d) if input as usize == VIDEO => send_start(&tx, input, &d.raw_log_message),
                FfmpegEvent::Log(LogLevel::Info, line) if input as usize == VIDEO && line.contains("Duration:") => send_start(&tx, input, &line),
                FfmpegEvent::Progress(p) => {
                    let time_s = parse_time(&p.time).unwrap_or(0.0);
                    // try_send: a slow consumer loses progress ticks, never blocks ffmpeg's stderr.
                    let fps = rate.update(p.frame);
                    let _ = tx.try_send(CaptureEvent::Progress { time_s, frame: p.frame, fps });
                }
                FfmpegEvent::Log(LogLevel::Warning, line) => {
                    tracing::debug!(program = "ffmpeg", "{line}");
                    tail.push(line);
                }
                // The sidecar's own parse complaints ("No streams found") are not ffmpeg's errors.
                FfmpegEvent::Error(line) => tracing::debug!(program = "ffmpeg", "sidecar: {line}"),
                FfmpegEvent::Log(LogLevel::Error | LogLevel::Fatal, line) => {
                    tracing::warn!(program = "ffmpeg", "{line}");
                    tail.push(line);
                }
                _ => {}
            }
        }
    }
    let status = child.wait().ok();
    let _ = tx.blocking_send(CaptureEvent::Exited { status, tail: tail.text() });
}

/// Frames per second over the last few seconds. ffmpeg's own `fps=` is the average since launch,
/// which the burst of duplicated frames at start-up skews for a long time.
#[derive(Default)]
struct FrameRate {
    window: std::collections::VecDeque<(std::time::Instant, u32)>,
}

impl FrameRate {
    const SPAN: Duration = Duration::from_secs(3);

    fn update(&mut self, frame: u32) -> f64 {
        let now = std::time::Instant::now();
        self.window.push_back((now, frame));
        while self.window.len() > 2 && now - self.window[0].0 > Self::SPAN {
            self.window.pop_front();
        }
        let (t0, f0) = self.window[0];
        let dt = (now - t0).as_secs_f64();
        if dt > 0.0 { f64::from(frame.saturating_sub(f0)) / dt } else { 0.0 }
    }
}

fn send_start(tx: &mpsc::Sender<CaptureEvent>, index: u32, line: &str) {
    if let Some(wall_s) = parse_start(line) {
        let _ = tx.blocking_send(CaptureEvent::InputStart { index, wall_s });
    }
}

/// The `start:` of an input's `Duration: N/A, start: 1795600201.781425, bitrate: …` line.
fn parse_start(line: &str) -> Option<f64> {
    let rest = line.split("start:").nth(1)?;
    rest.split(',').next()?.trim().parse().ok()
}

/// Parses ffmpeg's `HH:MM:SS.cc` progress time (negative at the very start: `-00:00:00.03`).
pub fn parse_time(text: &str) -> Option<f64> {
    let (sign, text) = text.strip_prefix('-').map(|t| (-1.0, t)).unwrap_or((1.0, text));
    let mut parts = text.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    let secs = h.parse::<f64>().ok()? * 3600.0 + m.parse::<f64>().ok()? * 60.0 + s.parse::<f64>().ok()?;
    Some(sign * secs)
}

/// A Unix time in seconds (as ffmpeg stamps inputs) as a timestamp.
pub fn unix_time(seconds: f64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros((seconds * 1e6) as i64).unwrap_or_else(Utc::now)
}

/// The wall-clock time now, as Unix seconds.
pub fn now_s() -> f64 {
    Utc::now().timestamp_micros() as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_progress_times() {
        assert_eq!(parse_time("00:00:05.50"), Some(5.5));
        assert_eq!(parse_time("01:02:03.00"), Some(3723.0));
        assert_eq!(parse_time("-00:00:00.03"), Some(-0.03));
        assert_eq!(parse_time("N/A"), None);
    }

    #[test]
    fn parses_input_start_stamps() {
        let line = "[info]   Duration: N/A, start: 1795600201.781425, bitrate: 73728 kb/s";
        assert_eq!(parse_start(line), Some(1795600201.781425));
        assert_eq!(parse_start("Duration: N/A, bitrate: N/A"), None);
    }
}
