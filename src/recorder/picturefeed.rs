//! The recording's picture, grabbed by us ([`super::grab`]) on the file's own frame slots and
//! written as raw 4:2:0 frames into a FIFO that ffmpeg reads (`-f rawvideo`, stamped with the
//! wall clock as each frame arrives, like x11grab stamps its grabs).
//!
//! Each grab happens at the wall-clock moment of a frame slot of the file (`origin + k ×
//! period`), so its stamp lands a millisecond or two after the slot it belongs to, far from the
//! middle between two slots where scheduling jitter would flip a frame into its neighbour's
//! slot. A grab that comes too late for its slot is skipped; ffmpeg's `fps` filter repeats the
//! previous frame there, and nothing after it moves. Where every one of Chromium's frames is
//! grabbed (Xorg at the file's rate), grabs move from 12 ms before their slot to 4 ms after it,
//! away from the moments Chromium's frames reach the screen ([`super::presentations`]).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::RecorderError;
use super::capture::now_s;
use super::fifo;
use super::grab::Grabber;
use super::presentations::Presentations;
use super::process::FEED_THREAD_PREFIX;

/// What the feed needs to run.
pub struct PictureInput<'a> {
    /// The X display's number (`:99` → 99).
    pub display: u32,
    /// The display's cookie file.
    pub xauthority: &'a Path,
    pub size: (u32, u32),
    /// Wall-clock Unix time of media time zero.
    pub origin_s: f64,
    /// Seconds between frame slots.
    pub period_s: f64,
    /// Microseconds between Chromium's frames on the display.
    pub chromium_interval_us: u32,
}

/// A running feed; its thread stops when this is dropped or ffmpeg stops reading.
pub struct PictureFeed {
    dir: tempfile::TempDir,
    stop: Arc<AtomicBool>,
}

impl PictureFeed {
    /// Connects to the display and starts the grabbing thread, which waits for ffmpeg to open
    /// [`Self::fifo`].
    pub fn start(input: PictureInput<'_>) -> Result<Self, RecorderError> {
        let failed = |e: String| RecorderError::CaptureStart(format!("grabbing display :{}: {e}", input.display));
        let grabber = Grabber::connect(input.display, input.xauthority, input.size).map_err(failed)?;
        // Where every one of Chromium's frames is grabbed (Xorg at the file's rate), each grab
        // is moved away from the moments they reach the screen (BENCHMARKS.md, "Grabs between
        // Chromium's frames on Xorg"). Xvfb's 60 Hz frames are grabbed every other one.
        let one_frame_a_grab = (input.period_s * 1e6 - f64::from(input.chromium_interval_us)).abs() < 1.0;
        let presentations = one_frame_a_grab
            .then(|| Presentations::watch(input.display, input.xauthority, input.chromium_interval_us))
            .and_then(|watch| watch.inspect_err(|e| tracing::warn!("grabs stay on their slots: {e}")).ok());
        let dir = tempfile::Builder::new().prefix("wallflower-picture-").tempdir()?;
        let path = dir.path().join("picture.fifo");
        fifo::make(&path).map_err(|e| failed(format!("mkfifo: {e}")))?;
        let stop = Arc::new(AtomicBool::new(false));
        let slots = Slots { origin_s: input.origin_s, period_s: input.period_s };
        let frame_bytes = input.size.0 as usize * input.size.1 as usize * 3 / 2;
        let (span, stopped) = (tracing::Span::current(), stop.clone());
        std::thread::Builder::new().name(format!("{FEED_THREAD_PREFIX}picture")).spawn(move || {
            let _enter = span.enter();
            if let Some(out) = wait_for_reader(&path, &stopped) {
                fifo::grow(&out, frame_bytes);
                run(grabber, out, slots, presentations.as_ref(), &stopped);
            }
        })?;
        Ok(Self { dir, stop })
    }

    /// The FIFO ffmpeg reads (`-f rawvideo -pix_fmt yuv420p -video_size WxH -i FIFO`).
    pub fn fifo(&self) -> PathBuf {
        self.dir.path().join("picture.fifo")
    }
}

impl Drop for PictureFeed {
    fn drop(&mut self) {
        // A thread blocked in a write ends when ffmpeg (stopped with the capture) closes the pipe.
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Opens the FIFO once ffmpeg reads it; `None` if the feed was stopped first or it cannot be.
fn wait_for_reader(path: &Path, stop: &AtomicBool) -> Option<std::fs::File> {
    while !stop.load(Ordering::Relaxed) {
        match fifo::open_writer(path) {
            Ok(Some(file)) => return Some(file),
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                tracing::warn!("cannot open the picture FIFO: {e}");
                return None;
            }
        }
    }
    None
}

/// Grabs on every slot until stopped, ffmpeg stops reading, or the display is gone (ffmpeg's
/// frame count then stops, which the watchdog sees).
fn run(mut grabber: Grabber, mut out: std::fs::File, slots: Slots, frames: Option<&Presentations>, stop: &AtomicBool) {
    let mut next = 0;
    while !stop.load(Ordering::Relaxed) {
        let now = now_s();
        let slot = slots.first_after(now).max(next);
        next = slot + 1;
        let at = slots.at(slot) + frames.map_or(0.0, |f| f.grab_offset(slots.at(slot)));
        std::thread::sleep(Duration::from_secs_f64((at - now).max(0.0)));
        let planes = match grabber.grab() {
            Ok(planes) => planes,
            Err(e) => {
                tracing::warn!("the picture feed stops: {e}");
                return;
            }
        };
        if planes.iter().any(|p| out.write_all(p).is_err()) {
            return; // ffmpeg finished (or died)
        }
    }
}

/// The file's frame slots on the wall clock.
#[derive(Debug, Clone, Copy)]
struct Slots {
    origin_s: f64,
    period_s: f64,
}

impl Slots {
    /// The first slot at or after `now`, but for one missed by less than a twentieth of a
    /// period (a sleep that overslept), which is still taken.
    fn first_after(&self, now: f64) -> u64 {
        ((now - self.origin_s) / self.period_s - 0.05).ceil().max(0.0) as u64
    }

    /// Wall-clock time of slot `k`.
    fn at(&self, k: u64) -> f64 {
        self.origin_s + k as f64 * self.period_s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grabs_on_the_files_frame_slots() {
        let slots = Slots { origin_s: 1000.0, period_s: 0.033332 };
        assert_eq!(slots.first_after(990.0), 0);
        assert_eq!(slots.first_after(1000.01), 1);
        assert!((slots.at(1) - 1000.033332).abs() < 1e-9);
        // just after a slot (within a twentieth of a period): that slot, grabbed a moment late
        assert_eq!(slots.first_after(1000.0334), 1);
        assert_eq!(slots.first_after(1000.036), 2);
    }
}
