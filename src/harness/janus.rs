//! A real Janus for tests and the demo: the Debian binary on the harness configuration
//! (`src/harness/janus/*.jcfg`, compiled in), WebSocket API on 127.0.0.1:8188 of the namespace.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::HarnessError;
use super::netns::INTERFACE;
use crate::recorder::process::Supervised;

/// WebSocket URL of the harness Janus (inside the namespace).
pub const URL: &str = "ws://127.0.0.1:8188";
/// The open room and the protected one (pin [`PIN`]).
pub const ROOM: u64 = 1234;
pub const PROTECTED_ROOM: u64 = 4321;
pub const PIN: &str = "secret-pin";

const CONFIGS: [(&str, &str); 3] = [
    ("janus.jcfg", include_str!("janus/janus.jcfg")),
    ("janus.transport.websockets.jcfg", include_str!("janus/janus.transport.websockets.jcfg")),
    ("janus.plugin.videoroom.jcfg", include_str!("janus/janus.plugin.videoroom.jcfg")),
];

/// A running Janus.
pub struct Janus {
    process: Option<Supervised>,
    dir: PathBuf,
    instance: String,
}

impl Janus {
    /// Writes the configuration under `dir` and starts Janus; returns once its WebSocket answers.
    pub async fn start(dir: &Path, instance: &str) -> Result<Self, HarnessError> {
        std::fs::create_dir_all(dir)?;
        for (name, text) in CONFIGS {
            let text = text.replace("{{CONFIGS}}", &dir.display().to_string()).replace("{{INTERFACE}}", INTERFACE);
            std::fs::write(dir.join(name), text)?;
        }
        let mut janus = Self { process: None, dir: dir.to_path_buf(), instance: instance.to_owned() };
        janus.launch().await?;
        Ok(janus)
    }

    async fn launch(&mut self) -> Result<(), HarnessError> {
        let program = Path::new("/usr/bin/janus");
        let folder = self.dir.display().to_string();
        let args = ["-F", folder.as_str(), "-o"];
        let mut process = Supervised::spawn("janus", program, args, &[], &self.instance)
            .map_err(|e| HarnessError::Janus(format!("cannot run {} (package janus): {e}", program.display())))?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = process.try_exited() {
                return Err(HarnessError::Janus(format!("exited ({status}): {}", process.tail())));
            }
            if tokio::net::TcpStream::connect("127.0.0.1:8188").await.is_ok() {
                self.process = Some(process);
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(HarnessError::Janus("WebSocket not up within 10 s".into()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops Janus (every session drops), to test what clients do when it goes away.
    pub async fn kill(&mut self) {
        if let Some(process) = self.process.take() {
            process.terminate(Duration::from_secs(2)).await;
        }
    }

    /// Starts Janus again on the same configuration.
    pub async fn restart(&mut self) -> Result<(), HarnessError> {
        self.kill().await;
        self.launch().await
    }

    /// Stops Janus for good.
    pub async fn stop(mut self) {
        self.kill().await;
    }
}
