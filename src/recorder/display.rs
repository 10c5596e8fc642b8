//! A private X display per recording: one X server on a free display number, Xvfb or (with
//! `display_server = "xorg"`) Xorg with the dummy driver at the recording's frame rate
//! ([`super::xorg`]). An X server without `-auth` lets any local user connect (and so see or drive the
//! recording); with a random MIT-MAGIC-COOKIE only the holders of the cookie file may: the
//! browser's user and the service's picture feed (root reads the file anyway).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::process::Supervised;
use super::{RecorderError, xorg};
use crate::sandbox::Sandbox;

/// Display numbers handed out by this process; other processes (another service, a developer's X)
/// are avoided through the X servers' own lock files.
static NEXT_DISPLAY: AtomicU32 = AtomicU32::new(0);
const FIRST_DISPLAY: u32 = 100;
const DISPLAY_SPAN: u32 = 400;
const ATTEMPTS: u32 = 20;

/// Which X server to run, as configured (`display_server`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ServerChoice {
    /// Xvfb: Chromium draws at 60 Hz, the picture is grabbed every other frame.
    #[default]
    Xvfb,
    /// Xorg with the dummy driver (`xserver-xorg-video-dummy`): Chromium draws at the file's
    /// frame rate.
    Xorg,
}

/// Which X server displays run.
#[derive(Debug, Clone, PartialEq)]
pub enum Server {
    /// Xorg (its binary) with the dummy driver: Chromium draws at the recording's frame rate.
    Xorg(PathBuf),
    /// Xvfb (its binary): no refresh rate, so Chromium draws at its default 60 Hz.
    Xvfb(PathBuf),
}

impl Server {
    fn program(&self) -> &Path {
        match self {
            Self::Xorg(path) | Self::Xvfb(path) => path,
        }
    }

    /// The program's name, as in process lists.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Xorg(_) => "Xorg",
            Self::Xvfb(_) => "Xvfb",
        }
    }
}

/// A running X server.
pub struct Display {
    pub number: u32,
    /// Microseconds between Chromium's frames on this display.
    pub frame_interval_us: u32,
    latency_s: f64,
    /// The cookie file clients name in `XAUTHORITY`.
    xauthority: PathBuf,
    process: Supervised,
    /// Xorg's configuration and log.
    _files: Option<tempfile::TempDir>,
}

impl Display {
    /// Starts an X server with a `width`x`height`x24 screen that refreshes at `fps` (Xorg) on
    /// the first free display number. Its cookie file goes into the browsers' runtime dir,
    /// readable by their user alone.
    pub async fn start(server: &Server, (width, height): (u32, u32), fps: u32, instance: &str, sandbox: &Sandbox) -> Result<Self, RecorderError> {
        let (files, frame_interval_us, latency_s) = match server {
            Server::Xorg(_) => (Some(xorg_files(sandbox, width, height, fps)?), xorg::chromium_interval_us(fps), XORG_DISPLAY_LATENCY_S),
            Server::Xvfb(_) => (None, CHROMIUM_DEFAULT_INTERVAL_US, DISPLAY_LATENCY_S),
        };
        let mut last_error = String::from("no free display number");
        for _ in 0..ATTEMPTS {
            let number = next_candidate();
            let xauthority = sandbox.path().join(format!("xauth-{number}"));
            sandbox.write_secret(&xauthority, &xauth_entry(number, &rand::random()))?;
            let args = match &files {
                Some(dir) => xorg::args(number, dir.path(), &xauthority),
                None => xvfb_args(number, (width, height), &xauthority),
            };
            match Self::try_start(server, number, &args, instance).await {
                Ok(process) => return Ok(Self { number, frame_interval_us, latency_s, xauthority, process, _files: files }),
                Err(e) => last_error = e,
            }
            let _ = std::fs::remove_file(&xauthority);
        }
        Err(RecorderError::Display(last_error))
    }

    async fn try_start(server: &Server, number: u32, args: &[String], instance: &str) -> Result<Supervised, String> {
        let name = server.name();
        let mut process = Supervised::spawn(name, server.program(), args, &[], instance).map_err(|e| e.to_string())?;
        let socket = socket_path(number);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::time::Instant::now() < deadline {
            if let Some(status) = process.try_exited() {
                return Err(format!("{name} :{number} exited ({status}): {}", process.tail()));
            }
            if socket.exists() {
                return Ok(process);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(format!("{name} :{number} did not open its socket within 10 s"))
    }

    /// How long after the page's animation frame its drawing is in the file (the timeline's
    /// zero is the capture's origin less this).
    pub fn latency_s(&self) -> f64 {
        self.latency_s
    }

    /// The value for `DISPLAY`.
    pub fn name(&self) -> String {
        format!(":{}", self.number)
    }

    /// The value for `XAUTHORITY`.
    pub fn xauthority(&self) -> &Path {
        &self.xauthority
    }

    /// True once the X server has exited.
    pub fn has_exited(&mut self) -> bool {
        self.process.try_exited().is_some()
    }

    /// Resolves when the X server exits on its own.
    pub async fn exited(&mut self) -> String {
        self.process.exited().await.to_string()
    }

    /// Stops the X server.
    pub async fn stop(self) {
        self.process.terminate(Duration::from_secs(2)).await;
        let _ = std::fs::remove_file(&self.xauthority);
    }
}

/// How long after the page's animation frame (which stamps the page's call events) its drawing
/// is in the file: Chromium composites and puts the frame on the X display, and the picture feed
/// grabs it at the next frame slot. Measured with `tests/overlays.rs` on 2 cores: with 36 ms
/// (x11grab's figure), 12 events showed −17…+59 ms (median +29) after their `t_ms` in the
/// file (BENCHMARKS.md, "The picture grabbed by us").
pub const DISPLAY_LATENCY_S: f64 = 0.065;

/// The same on Xorg at 30 Hz: the picture reached the file 46 ms later than on Xvfb against the
/// same sound (the test pattern's unshifted A/V offsets: median −107 ms of 28 runs, against −61
/// of 14 on Xvfb; BENCHMARKS.md, "A display at the file's frame rate").
pub const XORG_DISPLAY_LATENCY_S: f64 = 0.111;

/// Chromium's frame interval where the display reports no refresh rate (Xvfb).
const CHROMIUM_DEFAULT_INTERVAL_US: u32 = 16_666;

fn xvfb_args(number: u32, (w, h): (u32, u32), auth: &Path) -> Vec<String> {
    let args = [format!(":{number}"), "-screen".into(), "0".into(), format!("{w}x{h}x24"), "-auth".into(), auth.display().to_string()];
    args.into_iter().chain(["-nolisten", "tcp", "-noreset", "-nocursor"].map(String::from)).collect()
}

/// A private directory with Xorg's configuration (and, once it runs, its log), in the service's
/// runtime dir (swept after a crash).
fn xorg_files(sandbox: &Sandbox, width: u32, height: u32, fps: u32) -> Result<tempfile::TempDir, RecorderError> {
    let dir = sandbox.scratch("xorg-")?;
    std::fs::write(dir.path().join("xorg.conf"), xorg::config(width, height, fps))?;
    std::fs::create_dir(dir.path().join("conf.d"))?;
    Ok(dir)
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
        // Skip numbers someone else holds; the X server still refuses a race we lose, and we retry.
        let lock = PathBuf::from(format!("/tmp/.X{n}-lock"));
        if !lock.exists() && !socket_path(n).exists() {
            break;
        }
    }
    n
}
