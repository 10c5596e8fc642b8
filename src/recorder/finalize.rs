//! Turning the fragmented spool file into the delivered MP4: index up front (`faststart`) so
//! browsers seek it well, sound placed on the picture's timeline from ffmpeg's own wall-clock
//! stamps, and the file cut to start at the first frame and end at the stop.

use std::path::Path;

use super::RecorderError;
use super::capture::{AUDIO, Capture, VIDEO};
use super::process::prepare;

/// Where the streams of the spool file belong, on a timeline whose zero is the earliest input.
/// ffmpeg rebases each input to zero on its own, so in the spool file they are off by the time
/// between opening one input and the next.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timing {
    pub video_offset_s: f64,
    pub audio_offset_s: f64,
    /// Where the delivered file starts: the picture's first frame.
    pub start_s: f64,
    /// Where it ends: the stop, when known.
    pub end_s: Option<f64>,
}

impl Timing {
    /// The timing of `capture`, stopped at wall-clock Unix time `stopped_at_s` (`None` after a failure).
    pub fn of(capture: &Capture, stopped_at_s: Option<f64>) -> Self {
        let Some(video) = capture.starts[VIDEO] else { return Self::default() };
        let audio = capture.starts[AUDIO].filter(|a| (a - video).abs() < 10.0).unwrap_or(video);
        let origin = video.min(audio);
        let start_s = video - origin;
        Self {
            video_offset_s: start_s,
            audio_offset_s: audio - origin,
            start_s,
            end_s: stopped_at_s.map(|stop| stop - origin).filter(|end| *end > start_s),
        }
    }
}

/// Writes `dest` from `spool` with `timing` applied. Copies streams; about a second per GiB.
pub async fn finalize(ffmpeg: &Path, spool: &Path, dest: &Path, timing: &Timing, instance: &str) -> Result<(), RecorderError> {
    let secs = |s: f64| format!("{s:.6}");
    let mut cmd = std::process::Command::new(ffmpeg);
    cmd.args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(["-itsoffset", &secs(timing.video_offset_s), "-i"]).arg(spool)
        .args(["-itsoffset", &secs(timing.audio_offset_s), "-i"]).arg(spool)
        .args(["-map", "0:v", "-map", "1:a", "-c", "copy", "-movflags", "+faststart"]);
    if timing.start_s > 0.0 {
        cmd.args(["-ss", &secs(timing.start_s)]);
    }
    if let Some(end) = timing.end_s {
        cmd.args(["-to", &secs(end)]);
    }
    cmd.args(["-f", "mp4"]).arg(dest);
    prepare(&mut cmd, instance);
    let out = tokio::process::Command::from(cmd).kill_on_drop(true).output().await?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        return Err(RecorderError::Finalize(format!("remux failed ({}): {err}", out.status)));
    }
    Ok(())
}
