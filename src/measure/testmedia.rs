//! Small H.264 + AAC clips with known answers, made with ffmpeg's lavfi sources, for the
//! measuring tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::markers;

/// The system ffmpeg.
pub fn ffmpeg() -> PathBuf {
    PathBuf::from("ffmpeg")
}

/// A test-pattern-like clip at 30 fps: dark grey picture with a 100 ms white flash at
/// k · `period` for k ≥ 1 (on the first frame at or after it, as a screen capture would show
/// it), a steady 440 Hz tone, and a 60 ms 2000 Hz beep (2 ms ramps, like the page's) for the
/// same marker at `(k · period + shift_s) · stretch` — every fifth marker (k % 5 == 4) left out.
pub struct Markers {
    pub secs: u32,
    pub shift_s: f64,
    pub stretch: f64,
    /// Seconds between markers: 1 puts every flash on a frame; the page's 1.0133 does not.
    pub period: f64,
    /// Only this part (x, y, width, height of the 160x90 picture) flashes, as one participant's
    /// tile does; `None`: the whole picture.
    pub tile: Option<(u32, u32, u32, u32)>,
}

impl Markers {
    pub fn in_sync(secs: u32) -> Self {
        Self { secs, shift_s: 0.0, stretch: 1.0, period: 1.0, tile: None }
    }

    /// Writes the clip into `dir` as `name`.
    pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let area = self.tile.map(|(x, y, w, h)| format!(":x={x}:y={y}:w={w}:h={h}")).unwrap_or_default();
        let video = format!("color=c=0x303030:s=160x90:r=30:d={},drawbox=c=white:t=fill{area}:enable='{}'", self.secs, markers::flash_enable(self.period));
        let audio = format!("aevalsrc='0.3*sin(2*PI*440*t)+{}':s=48000:d={}", markers::beep(self.period, self.shift_s, self.stretch), self.secs);
        encode(dir, name, &["-f", "lavfi", "-i", &video, "-f", "lavfi", "-i", &audio])
    }
}

/// Encodes the lavfi `inputs` like a recording (H.264 + AAC in MP4) into `dir/name`.
pub fn encode(dir: &Path, name: &str, inputs: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let status = Command::new(ffmpeg())
        .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
        .args(inputs)
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
        .args(["-c:a", "aac", "-b:a", "128k"])
        .arg(&out)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg could not make {name}");
    out
}
