//! The recording's picture, grabbed by us ([`super::grab`]) on the file's own frame slots and
//! written as raw 4:2:0 frames into a FIFO that ffmpeg reads, each stamped with its slot.
//!
//! Each grab happens at the wall-clock moment of a frame slot of the file (`origin + k ×
//! period`) and goes into the FIFO with that moment as its stamp, in an IVF stream (a 32-byte
//! header, then a 12-byte size and stamp before each frame; ffmpeg reads `I420` frames from it
//! as raw video). ffmpeg used to stamp each frame with the wall clock as its reading thread took
//! it from the FIFO (`-use_wallclock_as_timestamps`), where a reader that woke late on a busy core
//! could move a frame into its neighbour's slot and one of the two was dropped. A grab that comes
//! too late for its slot is skipped; ffmpeg's `fps` filter repeats the previous frame there, and
//! nothing after it moves. Where every one of Chromium's frames is grabbed (Xorg at the file's
//! rate), grabs move from 12 ms before their slot to 4 ms after it, away from the moments
//! Chromium's frames reach the screen ([`super::presentations`]).

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
    /// Where the FIFO's own dir goes (the service's runtime dir, as for the sound).
    pub runtime_dir: &'a Path,
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
        let dir = tempfile::Builder::new().prefix("picture-").tempdir_in(input.runtime_dir)?;
        let path = dir.path().join("picture.fifo");
        fifo::make(&path).map_err(|e| failed(format!("mkfifo: {e}")))?;
        let stop = Arc::new(AtomicBool::new(false));
        let slots = Slots { origin_s: input.origin_s, period_s: input.period_s };
        let size = input.size;
        let frame_bytes = size.0 as usize * size.1 as usize * 3 / 2;
        let (span, stopped) = (tracing::Span::current(), stop.clone());
        std::thread::Builder::new().name(format!("{FEED_THREAD_PREFIX}picture")).spawn(move || {
            let _enter = span.enter();
            if let Some(mut out) = wait_for_reader(&path, &stopped) {
                fifo::grow(&out, frame_bytes);
                if out.write_all(&ivf_header(size)).is_ok() {
                    run(grabber, out, slots, presentations.as_ref(), &stopped);
                }
            }
        })?;
        Ok(Self { dir, stop })
    }

    /// The FIFO ffmpeg reads (`-f ivf -i FIFO`).
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
        let header = frame_header(planes.iter().map(|p| p.len()).sum(), slots.stamp_us(slot));
        if out.write_all(&header).is_err() || planes.iter().any(|p| out.write_all(p).is_err()) {
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

    /// Slot `k`'s stamp in the FIFO: its wall-clock time in whole microseconds (a Unix time in
    /// µs is ~2^51, exact in an f64).
    fn stamp_us(&self, k: u64) -> u64 {
        (self.at(k) * 1e6).round() as u64
    }
}

/// The IVF stream header: raw `I420` frames of `size`, stamps in microseconds.
fn ivf_header((width, height): (u32, u32)) -> [u8; 32] {
    let mut h = [0; 32];
    h[..4].copy_from_slice(b"DKIF");
    h[6..8].copy_from_slice(&32u16.to_le_bytes()); // header length; version 0 in 4..6
    h[8..12].copy_from_slice(b"I420");
    // The sizes fit: the request's limits keep them under 4096.
    h[12..14].copy_from_slice(&(width as u16).to_le_bytes());
    h[14..16].copy_from_slice(&(height as u16).to_le_bytes());
    h[16..20].copy_from_slice(&1_000_000u32.to_le_bytes()); // time base: 1 / 1 000 000 s
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h
}

/// The header before each IVF frame: its size in bytes and its stamp.
fn frame_header(bytes: usize, stamp_us: u64) -> [u8; 12] {
    let mut h = [0; 12];
    h[..4].copy_from_slice(&(bytes as u32).to_le_bytes());
    h[4..].copy_from_slice(&stamp_us.to_le_bytes());
    h
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

    #[test]
    fn frames_carry_their_slots_wall_clock_time_in_microseconds() {
        let slots = Slots { origin_s: 1_795_600_201.781_425, period_s: 0.033_332 };
        assert_eq!(slots.stamp_us(0), 1_795_600_201_781_425);
        assert_eq!(slots.stamp_us(30_000), 1_795_600_201_781_425 + 30_000 * 33_332);
        let header = frame_header(1_382_400, slots.stamp_us(3));
        assert_eq!(u32::from_le_bytes(header[..4].try_into().unwrap()), 1_382_400);
        assert_eq!(u64::from_le_bytes(header[4..].try_into().unwrap()), 1_795_600_201_881_421);
    }

    #[test]
    fn the_stream_header_names_raw_i420_frames_and_a_microsecond_time_base() {
        let h = ivf_header((1280, 720));
        assert_eq!(&h[..4], b"DKIF");
        assert_eq!(&h[8..12], b"I420");
        assert_eq!((u16::from_le_bytes([h[12], h[13]]), u16::from_le_bytes([h[14], h[15]])), (1280, 720));
        assert_eq!(u32::from_le_bytes(h[16..20].try_into().unwrap()), 1_000_000);
        assert_eq!(u32::from_le_bytes(h[20..24].try_into().unwrap()), 1);
    }
}
