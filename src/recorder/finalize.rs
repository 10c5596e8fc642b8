//! Turning the fragmented spool file into the delivered MP4: index up front (`faststart`) so
//! browsers seek it well, and the file cut at the stop. Sound and picture are already in step in
//! the spool (see [`super::capture`]); the timestamps are kept as they are (`-copyts`), so media
//! time zero stays the capture's origin, the recording's `started_at`.

use std::path::Path;

use super::RecorderError;
use super::capture::Capture;
use super::process::prepare;

/// Where the delivered file ends, on the spool's timeline.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timing {
    /// The stop, in seconds of media time, when known (`None` after a failure: keep it all).
    pub end_s: Option<f64>,
}

impl Timing {
    /// The timing of `capture`, stopped at wall-clock Unix time `stopped_at_s` (`None` after a failure).
    pub fn of(capture: &Capture, stopped_at_s: Option<f64>) -> Self {
        Self { end_s: stopped_at_s.map(|stop| stop - capture.origin_s).filter(|end| *end > 0.0) }
    }
}

/// Writes `dest` from `spool` cut at `timing`. Copies streams; about a second per GiB.
pub async fn finalize(ffmpeg: &Path, spool: &Path, dest: &Path, timing: &Timing, instance: &str) -> Result<(), RecorderError> {
    let mut cmd = std::process::Command::new(ffmpeg);
    cmd.args(["-hide_banner", "-loglevel", "error", "-y", "-copyts", "-i"]).arg(spool)
        .args(["-map", "0:v", "-map", "0:a", "-c", "copy", "-movflags", "+faststart"]);
    if let Some(end) = timing.end_s {
        cmd.args(["-to", &format!("{end:.6}")]);
    }
    cmd.args(["-f", "mp4"]).arg(dest);
    run(cmd, instance, "remux").await
}

/// Runs a finishing ffmpeg `cmd` to its end; its error output names what failed (`what`).
pub async fn run(mut cmd: std::process::Command, instance: &str, what: &str) -> Result<(), RecorderError> {
    prepare(&mut cmd, instance);
    let out = tokio::process::Command::from(cmd).kill_on_drop(true).output().await?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        return Err(RecorderError::Finalize(format!("{what} failed ({}): {err}", out.status)));
    }
    Ok(())
}
