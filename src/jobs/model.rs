//! The recording resource: what `GET /v1/recordings/{id}` returns and what the store persists.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::layouts::PageSettings;
use crate::recorder::bridge::Publisher;
use crate::recorder::{EndReason, OutputSpec, OutputState, Source};
use crate::storage::{DestinationSpec, FileInfo, UploadStatus};

/// Lifecycle: `starting` → `recording` → `stopping` → (`uploading` →) `completed` | `failed`
/// (`starting` may go straight to `failed`; `retry-upload` takes an `upload_failed` recording
/// back to `uploading`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordingState {
    Starting,
    Recording,
    Stopping,
    /// Captured; the files are on their way to the destination (see `upload`).
    Uploading,
    Completed,
    Failed,
}

impl RecordingState {
    /// True once the recording can no longer change.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }

    /// The state as the API spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Recording => "recording",
            Self::Stopping => "stopping",
            Self::Uploading => "uploading",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    /// True while capture runs (what counts against capacity and can be steered live).
    pub fn is_capturing(self) -> bool {
        matches!(self, Self::Starting | Self::Recording | Self::Stopping)
    }
}

/// Live figures from the encoder.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Progress {
    /// Media time written so far.
    pub duration_s: f64,
    /// Bytes written so far.
    pub bytes: u64,
    /// Frames per second the encoder currently achieves.
    pub fps: f64,
}

/// Why a recording failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorInfo {
    /// Stable machine-readable code, e.g. `page_load_failed`.
    pub code: String,
    pub message: String,
}

/// Limits of one recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// The recording stops (and is delivered) after this long; 1–86400.
    pub max_duration_s: u64,
    /// Calls: stop (and deliver) once nobody has published for this long; 1–86400.
    pub stop_when_empty_s: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_duration_s: 10_800, stop_when_empty_s: 30 }
    }
}

/// A recording as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Recording {
    pub id: String,
    pub state: RecordingState,
    pub source: Source,
    pub output: OutputSpec,
    pub limits: Limits,
    pub destination: DestinationSpec,
    /// Where this recording's events are posted (query hidden when shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Wall-clock time of media time zero in the delivered file, on the page's clock (what the
    /// page drew then is in the file at zero: the display lags its drawing); the first frame
    /// follows within a frame or two, and timeline `t_ms` values count from here.
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// Duration of the delivered file (or of what has been recorded so far).
    pub duration_s: Option<f64>,
    pub end_reason: Option<EndReason>,
    /// The service stopped abruptly (a crash, SIGKILL) while this recording ran; when it started
    /// again, what had been captured up to then was finalised and delivered.
    #[serde(default)]
    pub interrupted: bool,
    pub progress: Progress,
    pub error: Option<ErrorInfo>,
    pub files: Vec<FileInfo>,
    /// Uploading destinations: how the upload goes (while recording too, for S3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<UploadStatus>,
    /// Calls: true while nobody publishes (the page shows a "waiting for participants" slate).
    #[serde(default)]
    pub waiting_for_participants: bool,
    /// Calls: who publishes now.
    #[serde(default)]
    pub participants: Vec<Publisher>,
    /// Things that went wrong and were recovered from (or not), in order.
    #[serde(default)]
    pub incidents: Vec<Incident>,
    /// Calls: the layout, its parameters and the branding shown now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<PageSettings>,
    /// Calls: every live change of `settings` (`PATCH`), in order, with when it showed.
    #[serde(default)]
    pub changes: Vec<SettingsChange>,
    /// Calls: chat messages, reactions and slides so far.
    #[serde(default)]
    pub events: EventCounts,
    /// Live outputs fed from the same encode: RTMP(S) streams (`PATCH` adds and removes them)
    /// and HLS.
    #[serde(default)]
    pub outputs: Vec<OutputStatus>,
}

/// One live output of a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OutputStatus {
    /// `str_1`, `str_2`, … for streams; `hls`.
    pub id: String,
    /// `rtmp` or `hls`.
    pub kind: String,
    /// Streams: the URL with its stream key hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub state: OutputState,
    /// How many times it was started (more than 1: it failed and was retried).
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl Recording {
    /// The resource as the API and webhooks show it (no credentials in a destination URL).
    pub fn redacted(mut self) -> Self {
        self.destination = self.destination.redacted();
        self.webhook_url = self.webhook_url.as_deref().map(crate::storage::spec::redact_url);
        self
    }

    /// The webhook event a change to this state sends, if any.
    pub fn event_type(&self) -> Option<&'static str> {
        match self.state {
            RecordingState::Starting => None,
            RecordingState::Recording => Some("recording.started"),
            RecordingState::Stopping | RecordingState::Uploading => Some("recording.updated"),
            RecordingState::Completed => Some("recording.completed"),
            RecordingState::Failed => Some("recording.failed"),
        }
    }
}

/// How many call events a recording has seen. A flood is coalesced by the page (`dropped`:
/// not drawn, still in the timeline) and rate-limited at the API (`rate_limited`: refused).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventCounts {
    /// Accepted through `POST /v1/recordings/{id}/events`.
    pub posted: u64,
    /// Refused with 429 `rate_limited`.
    pub rate_limited: u64,
    /// Received by the page (data channels and posted ones).
    pub received: u64,
    /// Drawn into the video.
    pub shown: u64,
    /// Not drawn because too many came at once.
    pub dropped: u64,
}

/// One live change of a recording's layout or branding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SettingsChange {
    /// The settings revision this change made.
    pub revision: u32,
    pub layout: String,
    pub requested_at: DateTime<Utc>,
    /// When the page showed it (`None` until it has, or if it could not).
    pub applied_at: Option<DateTime<Utc>>,
    /// Milliseconds from the file's first frame to `applied_at` (the media clock).
    pub t_ms: Option<i64>,
    /// Why the page could not show it, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// Something that happened to a recording's source, e.g. the SFU connection dropping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Incident {
    /// `connection_lost`, `connection_restored`, `pipeline_restart`, `output_failed`, …
    pub kind: String,
    pub message: Option<String>,
    pub at: DateTime<Utc>,
    /// `pipeline_restart`: the part relaunched (`chromium`, `ffmpeg`, `display`, `pulseaudio`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    /// `pipeline_restart`: seconds of the call missing from the file at `at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap_s: Option<f64>,
}
