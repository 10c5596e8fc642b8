//! The call test harness: a real Janus (Debian package) with its own configuration, in a network
//! namespace this process creates, and synthetic participants (headless Chromium with fake
//! devices fed by ffmpeg-made files, or ffmpeg sending plain RTP). Used by the tests, the demo
//! and the benchmark.
//!
//! Janus (libnice) gathers no ICE candidates on loopback, so [`netns::isolate`] moves the calling
//! thread into a fresh network namespace with a veth pair whose both ends stay inside it. Call it
//! before starting any runtime or thread: only threads and processes created afterwards are in it.

pub mod garage;
pub mod janus;
pub mod janus_client;
pub mod netns;
pub mod nginx;
pub mod participant;
pub mod rtp;

pub use janus::Janus;
pub use participant::{Participant, ParticipantSpec, SIMULCAST_BANDS};

/// Errors of the harness.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("network namespace: {0}")]
    Netns(String),
    #[error("Janus: {0}")]
    Janus(String),
    #[error("Garage: {0}")]
    Garage(String),
    #[error("nginx: {0}")]
    Nginx(String),
    #[error("participant {name}: {message}")]
    Participant { name: String, message: String },
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl HarnessError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Netns(_) => "netns_failed",
            Self::Janus(_) => "janus_failed",
            Self::Garage(_) => "garage_failed",
            Self::Nginx(_) => "nginx_failed",
            Self::Participant { .. } => "participant_failed",
            Self::Io(_) => "io_error",
        }
    }

    /// The harness has no clients.
    pub fn is_client_error(&self) -> bool {
        false
    }
}

use std::path::PathBuf;

use tokio_util::sync::CancellationToken;

use crate::layouts::AssetServer;
use crate::layouts::settings::Layouts;
use crate::recorder::tools::Tools;

/// Janus plus the participants in its rooms, all marked with one instance id and living in one
/// temp dir. Start it inside [`netns::isolate`]d threads.
pub struct CallHarness {
    pub janus: Janus,
    pub participants: Vec<Participant>,
    /// Marker on every process the harness starts (see `recorder::process::INSTANCE_ENV`).
    pub instance: String,
    tools: Tools,
    layouts: url::Url,
    dir: tempfile::TempDir,
    cancel: CancellationToken,
}

impl CallHarness {
    /// Starts Janus and an asset server for the participant page (from `layouts_dir`).
    pub async fn start(layouts_dir: &std::path::Path) -> Result<Self, HarnessError> {
        let tools = Tools::locate(std::path::Path::new("/usr/lib/chromium/chromium"), Default::default())
            .map_err(|e| HarnessError::Participant { name: "-".into(), message: e.to_string() })?;
        let dir = tempfile::Builder::new().prefix("wf-harness-").tempdir()?;
        let instance = format!("harness-{}", uuid::Uuid::new_v4().simple());
        let cancel = CancellationToken::new();
        let assets = AssetServer::start(&Layouts::builtin(layouts_dir), cancel.clone())
            .await
            .map_err(|e| HarnessError::Janus(format!("asset server: {e}")))?;
        let janus = Janus::start(&dir.path().join("janus"), &instance).await?;
        // Participant pages talk to Janus: their Content-Security-Policy must allow it.
        assets.pages.insert("harness", crate::layouts::csp::Sources::declared([], Some(janus::URL)));
        let layouts = assets.url.join("r/harness/").map_err(|e| HarnessError::Janus(e.to_string()))?;
        Ok(Self { janus, participants: Vec::new(), instance, tools, layouts, dir, cancel })
    }

    /// [`CallHarness::start`] with `participants` joined one after the other.
    pub async fn start_with(layouts_dir: &std::path::Path, participants: Vec<ParticipantSpec>) -> Result<Self, HarnessError> {
        let mut harness = Self::start(layouts_dir).await?;
        for spec in participants {
            if let Err(e) = harness.join(spec).await {
                harness.stop().await;
                return Err(e);
            }
        }
        Ok(harness)
    }

    /// Adds a participant and waits until they publish.
    pub async fn join(&mut self, spec: ParticipantSpec) -> Result<(), HarnessError> {
        let dir: PathBuf = self.dir.path().join(format!("participant-{}", self.participants.len()));
        let launch = participant::Launch {
            chromium: &self.tools.chromium,
            ffmpeg: &self.tools.ffmpeg,
            layouts: &self.layouts,
            janus_url: janus::URL,
            dir: &dir,
            instance: &self.instance,
        };
        self.participants.push(Participant::join(spec, launch).await?);
        Ok(())
    }

    /// Makes the participant called `name` leave.
    pub async fn leave(&mut self, name: &str) {
        if let Some(i) = self.participants.iter().position(|p| p.spec.name == name) {
            self.participants.remove(i).leave().await;
        }
    }

    /// Stops everything the harness started.
    pub async fn stop(mut self) {
        for participant in self.participants.drain(..) {
            participant.leave().await;
        }
        self.janus.stop().await;
        self.cancel.cancel();
    }
}
