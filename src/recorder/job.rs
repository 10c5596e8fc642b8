//! What one recording is asked to be ([`RecordingJob`]), how it is told to stop
//! ([`StopSignal`]), and how it ends ([`Outcome`], [`Failure`]).

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::capture::OutputSpec;
use super::outputs::WantedStream;
use super::probe::MediaInfo;
use super::{EndReason, RecorderError, Source};
use crate::layouts::PageSettings;

/// One recording to make.
#[derive(Debug, Clone)]
pub struct RecordingJob {
    pub id: String,
    pub source: Source,
    pub output: OutputSpec,
    pub max_duration: Duration,
    /// Calls: end once nobody has published for this long.
    pub stop_when_empty: Option<Duration>,
    /// Where the finished (faststart) MP4 goes; the fragmented spool file sits beside it.
    pub file: PathBuf,
    /// Calls: hosts the layout pages may show images from, besides a remote logo's.
    pub asset_hosts: Vec<String>,
    /// Calls: the layout and branding, changed live by the job manager.
    pub settings: Option<SettingsReceiver>,
    /// Calls: events the application posts (chat, reactions, slides) for the page to show.
    pub inbox: Option<Inbox>,
    /// The live streams to feed now (the manager changes them while recording); `None`: no
    /// live outputs can be added to this recording.
    pub streams: Option<StreamsReceiver>,
    /// Write HLS segments and a playlist into `hls/` beside the file.
    pub hls: bool,
    /// Deliver the fragmented spool as it is (it is being uploaded while written) instead of
    /// remuxing it into a faststart file after the stop.
    pub keep_fragmented: bool,
}

/// What the job manager steers a running call recording with.
#[derive(Debug, Clone)]
pub struct CallControls {
    pub settings: SettingsReceiver,
    pub inbox: Inbox,
}

/// Events for the page, from the job manager; one consumer (the recording's supervisor).
pub type Inbox = std::sync::Arc<tokio::sync::Mutex<mpsc::Receiver<serde_json::Value>>>;

/// The live streams a recording should feed.
pub type StreamsReceiver = tokio::sync::watch::Receiver<Vec<WantedStream>>;

/// The live page settings of a recording.
pub type SettingsReceiver = tokio::sync::watch::Receiver<PageSettings>;

/// How to stop a recording: `stop` ends it; if `shutdown` is also cancelled the service is going
/// away, if `low_disk` is, the disk is nearly full.
#[derive(Clone, Default)]
pub struct StopSignal {
    pub stop: CancellationToken,
    pub shutdown: CancellationToken,
    pub low_disk: CancellationToken,
}

impl StopSignal {
    pub(crate) fn reason(&self) -> EndReason {
        match (self.shutdown.is_cancelled(), self.low_disk.is_cancelled()) {
            (true, _) => EndReason::Shutdown,
            (false, true) => EndReason::LowDiskSpace,
            (false, false) => EndReason::Stopped,
        }
    }
}

/// A recording that ended as it should.
#[derive(Debug)]
pub struct Outcome {
    pub end_reason: EndReason,
    /// The file and what is in it (`None` when the recording made only live outputs).
    pub video: Option<(PathBuf, MediaInfo)>,
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
