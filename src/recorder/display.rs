//! A private X display per recording: one Xvfb on a free display number. Xvfb without `-auth`
//! lets any local user connect (and so see or drive the recording); with a random
//! MIT-MAGIC-COOKIE only the holders of the cookie file may: the browser's user and the
//! service's ffmpeg (root reads the file anyway).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::RecorderError;
use super::process::Supervised;
use crate::sandbox::Sandbox;

/// Display numbers handed out by this process; other processes (another service, a developer's X)
/// are avoided through Xvfb's own lock files.
static NEXT_DISPLAY: AtomicU32 = AtomicU32::new(0);
const FIRST_DISPLAY: u32 = 100;
const DISPLAY_SPAN: u32 = 400;
const ATTEMPTS: u32 = 20;

/// A running Xvfb.
pub struct Display {
    pub number: u32,
    /// The cookie file clients name in `XAUTHORITY`.
    xauthority: PathBuf,
    process: Supervised,
}

impl Display {
    /// Starts Xvfb with a `width`x`height`x24 screen on the first free display number.
    /// Its cookie file goes into the browsers' runtime dir, readable by their user alone.
    pub async fn start(xvfb: &Path, width: u32, height: u32, instance: &str, sandbox: &Sandbox) -> Result<Self, RecorderError> {
        let mut last_error = String::from("no free display number");
        for _ in 0..ATTEMPTS {
            let number = next_candidate();
            let xauthority = sandbox.path().join(format!("xauth-{number}"));
            sandbox.write_secret(&xauthority, &xauth_entry(number, &rand::random()))?;
            match Self::try_start(xvfb, number, (width, height), instance, &xauthority).await {
                Ok(process) => return Ok(Self { number, xauthority, process }),
                Err(e) => last_error = e,
            }
            let _ = std::fs::remove_file(&xauthority);
        }
        Err(RecorderError::Display(last_error))
    }

    async fn try_start(xvfb: &Path, number: u32, (w, h): (u32, u32), instance: &str, auth: &Path) -> Result<Supervised, String> {
        let screen = format!("{w}x{h}x24");
        let args = [format!(":{number}"), "-screen".into(), "0".into(), screen, "-auth".into(), auth.display().to_string()];
        let args = args.iter().map(String::as_str).chain(["-nolisten", "tcp", "-noreset", "-nocursor"]);
        let mut process = Supervised::spawn("Xvfb", xvfb, args, &[], instance).map_err(|e| e.to_string())?;
        let socket = socket_path(number);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::time::Instant::now() < deadline {
            if let Some(status) = process.try_exited() {
                return Err(format!("Xvfb :{number} exited ({status}): {}", process.tail()));
            }
            if socket.exists() {
                return Ok(process);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(format!("Xvfb :{number} did not open its socket within 10 s"))
    }

    /// The value for `DISPLAY`.
    pub fn name(&self) -> String {
        format!(":{}", self.number)
    }

    /// The value for `XAUTHORITY`.
    pub fn xauthority(&self) -> &Path {
        &self.xauthority
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
        let _ = std::fs::remove_file(&self.xauthority);
    }
}

/// One Xauthority entry (big-endian lengths before each field) giving `cookie` for display
/// `number` on any host (`FamilyWild`), which is how a local socket connection is matched.
fn xauth_entry(number: u32, cookie: &[u8; 16]) -> Vec<u8> {
    const FAMILY_WILD: u16 = 0xffff;
    let mut entry = FAMILY_WILD.to_be_bytes().to_vec();
    for field in [&b""[..], number.to_string().as_bytes(), b"MIT-MAGIC-COOKIE-1", cookie] {
        entry.extend_from_slice(&(field.len() as u16).to_be_bytes());
        entry.extend_from_slice(field);
    }
    entry
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
