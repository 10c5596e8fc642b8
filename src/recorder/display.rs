//! A private X display per recording: one Xvfb on a free display number.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::RecorderError;
use super::process::Supervised;

/// Display numbers handed out by this process; other processes (another service, a developer's X)
/// are avoided through Xvfb's own lock files.
static NEXT_DISPLAY: AtomicU32 = AtomicU32::new(0);
const FIRST_DISPLAY: u32 = 100;
const DISPLAY_SPAN: u32 = 400;
const ATTEMPTS: u32 = 20;

/// A running Xvfb.
pub struct Display {
    pub number: u32,
    process: Supervised,
}

impl Display {
    /// Starts Xvfb with a `width`x`height`x24 screen on the first free display number.
    pub async fn start(xvfb: &Path, width: u32, height: u32, instance: &str) -> Result<Self, RecorderError> {
        let mut last_error = String::from("no free display number");
        for _ in 0..ATTEMPTS {
            let number = next_candidate();
            match Self::try_start(xvfb, number, width, height, instance).await {
                Ok(display) => return Ok(display),
                Err(e) => last_error = e,
            }
        }
        Err(RecorderError::Display(last_error))
    }

    async fn try_start(xvfb: &Path, number: u32, w: u32, h: u32, instance: &str) -> Result<Self, String> {
        let screen = format!("{w}x{h}x24");
        let args = [format!(":{number}"), "-screen".into(), "0".into(), screen];
        let args = args.iter().map(String::as_str).chain(["-nolisten", "tcp", "-noreset", "-nocursor"]);
        let mut process = Supervised::spawn("Xvfb", xvfb, args, &[], instance).map_err(|e| e.to_string())?;
        let socket = socket_path(number);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::time::Instant::now() < deadline {
            if let Some(status) = process.try_exited() {
                return Err(format!("Xvfb :{number} exited ({status}): {}", process.tail()));
            }
            if socket.exists() {
                return Ok(Self { number, process });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(format!("Xvfb :{number} did not open its socket within 10 s"))
    }

    /// The value for `DISPLAY`.
    pub fn name(&self) -> String {
        format!(":{}", self.number)
    }

    /// True once Xvfb has exited.
    pub fn has_exited(&mut self) -> bool {
        self.process.try_exited().is_some()
    }

    /// Resolves when Xvfb exits on its own.
    pub async fn exited(&mut self) -> String {
        self.process.exited().await.to_string()
    }

    /// Stops Xvfb.
    pub async fn stop(self) {
        self.process.terminate(Duration::from_secs(2)).await;
    }
}

fn socket_path(number: u32) -> PathBuf {
    PathBuf::from(format!("/tmp/.X11-unix/X{number}"))
}

fn next_candidate() -> u32 {
    let mut n = FIRST_DISPLAY;
    for _ in 0..DISPLAY_SPAN {
        n = FIRST_DISPLAY + NEXT_DISPLAY.fetch_add(1, Ordering::Relaxed) % DISPLAY_SPAN;
        // Skip numbers someone else holds; Xvfb still refuses a race we lose, and we retry.
        let lock = PathBuf::from(format!("/tmp/.X{n}-lock"));
        if !lock.exists() && !socket_path(n).exists() {
            break;
        }
    }
    n
}
