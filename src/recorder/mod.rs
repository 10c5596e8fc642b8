//! One recording's capture pipeline: a virtual display ([`display`]), an audio sink ([`audio`]),
//! a Chromium on that display driven over CDP ([`browser`], [`bridge`]), and an ffmpeg sidecar that
//! grabs both into a fragmented MP4 ([`capture`]). [`pipeline`] runs them in order and tears them
//! down in reverse on every exit path. [`Recorder`] holds what recordings share: program paths,
//! the PulseAudio daemon and the layouts URL.

pub mod audio;
pub mod bridge;
pub mod browser;
pub mod capture;
pub mod display;
pub mod fifo;
pub mod finalize;
pub mod forward;
pub mod grab;
pub mod guard;
pub mod job;
pub mod outputs;
pub mod page;
pub mod picture;
pub mod picturefeed;
mod launch;
pub mod pipeline;
pub mod presentations;
pub mod pool;
pub mod probe;
pub mod process;
pub mod relay;
pub mod restart;
pub mod segments;
pub mod soundfeed;
pub mod source;
pub mod supervise;
pub mod tools;
pub mod xorg;

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

pub use capture::OutputSpec;
pub use pipeline::{CallControls, Failure, Inbox, Outcome, RecordingJob, Runner, SettingsReceiver, StopSignal};
pub use probe::MediaInfo;
pub use source::Source;

/// Why a recording ended (also in the recording resource).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Stopped through the API or the CLI.
    Stopped,
    /// The page signalled `end`.
    PageEnded,
    /// `limits.max_duration_s` was reached.
    MaxDuration,
    /// The service shut down.
    Shutdown,
    /// Nobody published in the call for `limits.stop_when_empty_s`.
    RoomEmpty,
    /// The call's room was destroyed.
    RoomDestroyed,
    /// Free space on the recordings disk fell below the service's stop threshold.
    LowDiskSpace,
    /// The pipeline failed; see `error`.
    Error,
    /// The service stopped abruptly (crash, SIGKILL, power loss); what was captured up to then
    /// was finalised from the spool when it started again (`interrupted: true`).
    Interrupted,
}

impl EndReason {
    /// The reason as the API spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Stopped => "stopped",
            Self::PageEnded => "page_ended",
            Self::MaxDuration => "max_duration",
            Self::Shutdown => "shutdown",
            Self::RoomEmpty => "room_empty",
            Self::RoomDestroyed => "room_destroyed",
            Self::LowDiskSpace => "low_disk_space",
            Self::Error => "error",
            Self::Interrupted => "interrupted",
        }
    }
}

/// What a running recording reports to whoever supervises it.
#[derive(Debug, Clone)]
pub enum RecorderEvent {
    /// The first frame is being captured; `at` is the wall-clock time of the file's media time
    /// zero (the capture's origin; the first frame follows it within a frame or two).
    Started { at: DateTime<Utc> },
    /// Periodic progress from the encoder.
    Progress { duration_s: f64, bytes: u64, fps: f64 },
    /// Capture is finishing for `reason`.
    Stopping { reason: EndReason },
    /// Who publishes in the call now (`waiting`: nobody).
    Participants { waiting: bool, publishers: Vec<bridge::Publisher> },
    /// Something happened to the source that the status should show (e.g. `connection_lost`).
    Incident { kind: String, message: Option<String> },
    /// A chat message, reaction or slide; `at` is when it showed (or arrived, if not shown).
    CallEvent { at: DateTime<Utc>, event: serde_json::Value, id: Option<String>, source: Option<String>, shown: bool },
    /// The page's counts of call events received, shown and dropped.
    EventStats { received: u64, shown: u64, dropped: u64 },
    /// The page shows settings `revision` since `at` (or could not: `failed`).
    SettingsApplied { revision: u32, at: DateTime<Utc>, failed: Option<String> },
    /// A broken `part` of the pipeline was relaunched at `at` because of `cause`; `gap_s` of
    /// the call are missing from the file there.
    Restarted { part: restart::Part, cause: String, gap_s: f64, at: DateTime<Utc> },
    /// A live output (`hls`, or a stream's id) changed state; `attempts` counts its starts.
    Output { id: String, state: OutputState, attempts: u32, error: Option<String> },
}

/// Where a live output (an RTMP stream, HLS) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutputState {
    /// ffmpeg is starting or connecting.
    Connecting,
    /// Data flows to the endpoint.
    Live,
    /// It failed (see `last_error`) and is started again after a backoff.
    Retrying,
    /// Ended: the recording stopped, or the stream was removed.
    Stopped,
}

/// Settings shared by all recordings of one service.
#[derive(Debug, Clone)]
pub struct RecorderConfig {
    /// Chromium binary (Debian: `/usr/lib/chromium/chromium`; the `/usr/bin` wrapper adds flags).
    pub chromium: PathBuf,
    /// As whom, and with what sandbox, Chromium runs; its runtime dir holds each recording's
    /// browser profile, the displays' cookies and the PulseAudio socket.
    pub sandbox: std::sync::Arc<crate::sandbox::Sandbox>,
    /// Where the PulseAudio daemon keeps its runtime files.
    pub work_dir: PathBuf,
    /// Base URL of the layouts asset server (the built-in pages and SDK).
    pub layouts_url: Url,
    /// Where each recording declares the hosts its layout pages may use (their CSP).
    pub pages: crate::layouts::csp::PageSources,
    /// How long a page may take to load and say `ready`.
    pub start_timeout: Duration,
    /// How long ffmpeg may take to finish the file after being asked to stop.
    pub stop_timeout: Duration,
    /// x264 preset for the recording encoder.
    pub x264_preset: String,
    /// Which X server recordings run on.
    pub display_server: display::ServerChoice,
    /// Seconds the sound is moved later against the picture (the pipeline's measured offset).
    pub sound_shift_s: f64,
    /// What the recorder browsers may load; every request of theirs is checked against it.
    pub url_policy: crate::urlpolicy::UrlPolicy,
    /// Browsers to keep started ahead of recordings (`None`: none).
    pub warm_pool: Option<pool::WarmPoolConfig>,
}

/// Everything that can go wrong while recording.
#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    #[error("required program `{program}` was not found (Debian package `{package}`); run scripts/setup")]
    MissingProgram { program: String, package: &'static str },
    #[error("virtual display failed: {0}")]
    Display(String),
    #[error("audio sink failed: {0}")]
    Audio(String),
    #[error("Chromium failed to start: {0}")]
    BrowserLaunch(String),
    #[error("controlling Chromium failed: {0}")]
    BrowserControl(String),
    #[error("the page failed to load: {0}")]
    PageLoadFailed(String),
    #[error("the page did not signal `ready` within {0:?}")]
    PageNotReady(Duration),
    #[error("Chromium exited unexpectedly ({status})")]
    ChromiumExited { status: String },
    #[error("the X server exited unexpectedly ({status})")]
    DisplayExited { status: String },
    #[error("PulseAudio exited unexpectedly ({status})")]
    PulseExited { status: String },
    #[error("ffmpeg exited unexpectedly ({status}): {tail}")]
    FfmpegExited { status: String, tail: String },
    #[error("{} stalled: {what} for {secs} s", part.name())]
    Stalled { part: restart::Part, what: &'static str, secs: u64 },
    #[error("ffmpeg failed to start: {0}")]
    CaptureStart(String),
    #[error("finalising the recording failed: {0}")]
    Finalize(String),
    #[error("stopped before capture began")]
    Aborted,
    #[error("{message}")]
    Source { code: SourceErrorCode, message: String },
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl RecorderError {
    /// Stable machine-readable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingProgram { .. } => "missing_program",
            Self::Display(_) => "display_failed",
            Self::Audio(_) => "audio_failed",
            Self::BrowserLaunch(_) => "browser_launch_failed",
            Self::BrowserControl(_) => "browser_control_failed",
            Self::PageLoadFailed(_) => "page_load_failed",
            Self::PageNotReady(_) => "page_not_ready",
            Self::ChromiumExited { .. } => "chromium_exited",
            Self::DisplayExited { .. } => "display_exited",
            Self::FfmpegExited { .. } => "ffmpeg_exited",
            Self::PulseExited { .. } => "pulseaudio_exited",
            Self::Stalled { .. } => "pipeline_stalled",
            Self::CaptureStart(_) => "capture_start_failed",
            Self::Finalize(_) => "finalize_failed",
            Self::Aborted => "aborted",
            Self::Source { code, .. } => code.as_str(),
            Self::Io(_) => "io_error",
        }
    }

    /// The part of the pipeline this error says is broken, when relaunching it could help.
    pub fn broken_part(&self) -> Option<restart::Part> {
        match self {
            Self::ChromiumExited { .. } => Some(restart::Part::Chromium),
            Self::DisplayExited { .. } => Some(restart::Part::Display),
            Self::FfmpegExited { .. } => Some(restart::Part::Ffmpeg),
            Self::PulseExited { .. } => Some(restart::Part::PulseAudio),
            Self::Stalled { part, .. } => Some(*part),
            _ => None,
        }
    }

    /// The message without ffmpeg's last lines (for incidents).
    pub fn brief(&self) -> String {
        match self {
            Self::FfmpegExited { status, .. } => format!("ffmpeg exited unexpectedly ({status})"),
            other => other.to_string(),
        }
    }

    /// How long a stalled part had shown no life when the watchdog noticed.
    pub fn stalled_for(&self) -> Option<Duration> {
        match self {
            Self::Stalled { secs, .. } => Some(Duration::from_secs(*secs)),
            _ => None,
        }
    }

    /// True when the cause lies in what the user asked for (their page), not in the service.
    pub fn is_client_error(&self) -> bool {
        matches!(self, Self::PageLoadFailed(_) | Self::PageNotReady(_) | Self::Aborted)
            || matches!(self, Self::Source { code, .. } if *code != SourceErrorCode::Other)
    }
}

/// Why a call source failed, as the page reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceErrorCode {
    RoomNotFound,
    Unreachable,
    AuthFailed,
    Other,
}

impl SourceErrorCode {
    /// From the page's `error` message.
    pub fn parse(code: &str) -> Self {
        match code {
            "room_not_found" => Self::RoomNotFound,
            "janus_unreachable" => Self::Unreachable,
            "auth_failed" => Self::AuthFailed,
            _ => Self::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RoomNotFound => "room_not_found",
            Self::Unreachable => "janus_unreachable",
            Self::AuthFailed => "auth_failed",
            Self::Other => "source_error",
        }
    }
}

pub use pipeline::Recorder;
