//! When Chromium puts its frames on the recording's display. Chromium draws on its own grid
//! (every 33333 µs on a 30 Hz Xorg); each of its frames reaches the X server as damage to the
//! screen. A thread watches those damage events and keeps where on that grid they fall (the
//! grid's phase, a decaying mean: the grid moves against the wall clock by ~0.4 ms a minute),
//! so the picture feed can move each grab towards midway between two frames.
//!
//! Why: on Xorg at the file's rate every one of Chromium's frames is grabbed once. Where the
//! grabs happened to fall among Chromium's frames (set by when each capture started, so
//! different in every recording), a grab next to the moment the screen changes saw the new
//! frame or the old one by a few milliseconds of jitter: 2 of 8 test-pattern recordings kept
//! only 73–76 % distinct frames where the rest kept 93–96 %. A grab moves from 12 ms before its
//! slot to 4 ms after (the window Xorg's sound shift was measured with, see `EARLIEST`), which
//! keeps it at least ~4 ms from a frame. The phase is known ~0.7 s in: the page's own load draws
//! off the grid.

use std::f64::consts::TAU;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::Event;
use x11rb::protocol::damage::{self, ConnectionExt as _};

use super::capture::now_s;
use super::grab;
use super::process::FEED_THREAD_PREFIX;

/// Each new damage event's weight against the ones before (about the last 40 count).
const DECAY: f64 = 0.975;
/// Events before the phase is trusted.
const MIN_EVENTS: u32 = 20;
/// How closely the events must gather on the grid (mean resultant length, 0–1): below this the
/// screen changes at no particular moment (not Chromium's grid) and the phase is not known.
const MIN_CONCENTRATION: f64 = 0.5;

/// Watches a display's damage; the thread ends when this is dropped or the display goes.
pub struct Presentations {
    interval_s: f64,
    /// The phase in seconds within the interval, as f64 bits; NaN while unknown.
    phase: Arc<AtomicU64>,
    socket: UnixStream,
}

impl Presentations {
    /// Connects to display `:number`, where Chromium draws every `interval_us`, and starts watching.
    pub fn watch(number: u32, xauthority: &Path, interval_us: u32) -> Result<Self, String> {
        let (conn, socket) = grab::open(number, xauthority)?;
        if conn.extension_information(damage::X11_EXTENSION_NAME).ok().flatten().is_none() {
            return Err(format!("display :{number} has no DAMAGE extension"));
        }
        // The extension answers nothing before its version is asked.
        conn.damage_query_version(1, 1).map_err(|e| e.to_string())?.reply().map_err(|e| e.to_string())?;
        let id = conn.generate_id().map_err(|e| e.to_string())?;
        let root = conn.setup().roots[0].root;
        conn.damage_create(id, root, damage::ReportLevel::RAW_RECTANGLES).map_err(|e| e.to_string())?;
        conn.flush().map_err(|e| e.to_string())?;
        let interval_s = f64::from(interval_us.max(1)) / 1e6;
        let phase = Arc::new(AtomicU64::new(f64::NAN.to_bits()));
        let shared = phase.clone();
        let span = tracing::Span::current();
        std::thread::Builder::new()
            .name(format!("{FEED_THREAD_PREFIX}damage"))
            .spawn(move || {
                let _enter = span.enter();
                let mut estimate = Phase::new(interval_s);
                // Ends with an error once the socket is shut down (drop) or the display is gone.
                while let Ok(event) = conn.wait_for_event() {
                    if let Event::DamageNotify(_) = event {
                        estimate.add(now_s());
                        shared.store(estimate.phase_s().unwrap_or(f64::NAN).to_bits(), Ordering::Relaxed);
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(Self { interval_s, phase, socket })
    }

    /// How far to move a grab due at `slot` (seconds, Unix time) to fall as near as it can to
    /// midway between two of Chromium's frames, within [`EARLIEST`, `LATEST`] of the slot (0
    /// while their phase is not known).
    pub fn grab_offset(&self, slot: f64) -> f64 {
        let phase = f64::from_bits(self.phase.load(Ordering::Relaxed));
        if phase.is_nan() { 0.0 } else { grab_offset(slot, phase, self.interval_s) }
    }
}

impl Drop for Presentations {
    fn drop(&mut self) {
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
    }
}

/// How far a grab moves around its slot. It keeps its slot's stamp however far it moves (the
/// picture feed stamps frames itself), but the window is the one Xorg's sound shift and display
/// latency were measured with, from when ffmpeg stamped frames as it read them, 1–6 ms after the
/// grab, and a grab could come well before its slot but only a little after it.
const EARLIEST: f64 = -0.012;
const LATEST: f64 = 0.004;

/// The move within [`EARLIEST`, `LATEST`] (1 ms steps, the smallest of equals) that puts a grab
/// due at `slot` nearest to midway between frames that come at `phase` every `interval`.
fn grab_offset(slot: f64, phase: f64, interval: f64) -> f64 {
    let from_midway = |t: f64| (((t - phase).rem_euclid(interval)) - interval / 2.0).abs();
    let steps = ((LATEST - EARLIEST) * 1000.0).round() as i32;
    (0..=steps)
        .map(|i| EARLIEST + f64::from(i) / 1000.0)
        .min_by(|a, b| from_midway(slot + a).total_cmp(&from_midway(slot + b)).then(a.abs().total_cmp(&b.abs())))
        .unwrap_or(0.0)
}

/// A decaying circular mean of event times on Chromium's grid.
#[derive(Debug)]
struct Phase {
    interval_s: f64,
    cos: f64,
    sin: f64,
    weight: f64,
    events: u32,
}

impl Phase {
    fn new(interval_s: f64) -> Self {
        Self { interval_s, cos: 0.0, sin: 0.0, weight: 0.0, events: 0 }
    }

    fn add(&mut self, t: f64) {
        let angle = t.rem_euclid(self.interval_s) / self.interval_s * TAU;
        self.cos = self.cos * DECAY + angle.cos();
        self.sin = self.sin * DECAY + angle.sin();
        self.weight = self.weight * DECAY + 1.0;
        self.events = self.events.saturating_add(1);
    }

    /// Where on the grid the events fall, in seconds, once enough have come and they gather.
    fn phase_s(&self) -> Option<f64> {
        let concentration = self.cos.hypot(self.sin) / self.weight;
        (self.events >= MIN_EVENTS && concentration >= MIN_CONCENTRATION)
            .then(|| self.sin.atan2(self.cos).rem_euclid(TAU) / TAU * self.interval_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: f64 = 0.033_333;

    fn grid_start() -> f64 {
        1_700_000_000.0 - 1_700_000_000.0_f64.rem_euclid(INTERVAL)
    }

    #[test]
    fn grabs_move_towards_midway_between_frames_within_their_slot() {
        let base = grid_start();
        // Frames 2 ms into each interval: midway is 18.67 ms in.
        let midway = 0.002 + INTERVAL / 2.0;
        // A slot 10 ms in moves to 18.67 ms? No: only 4 ms later, to 14 ms.
        assert!((grab_offset(base + 0.010, 0.002, INTERVAL) - 0.004).abs() < 1e-9);
        // A slot 25 ms in moves 6 ms earlier, onto midway (19 ms, the nearest whole ms).
        assert!((grab_offset(base + 0.025, 0.002, INTERVAL) + 0.006).abs() < 1e-9);
        // A slot on a frame (2 ms in) moves as far from it as it may: 12 ms earlier.
        assert!((grab_offset(base + 0.002, 0.002, INTERVAL) + 0.012).abs() < 1e-9);
        // A slot already midway stays.
        assert_eq!(grab_offset(base + midway, 0.002, INTERVAL), 0.0);
    }

    #[test]
    fn the_phase_is_found_through_jitter_and_across_the_grids_wrap() {
        let mut p = Phase::new(INTERVAL);
        let base = grid_start();
        // Frames at 32.5 ms ± 1.5 ms into the interval: some wrap into the next one.
        for k in 0..60 {
            let jitter = [-0.0015, 0.0, 0.0015, 0.0007][k % 4];
            p.add(base + k as f64 * INTERVAL + 0.0325 + jitter);
            assert_eq!(p.phase_s().is_some(), k + 1 >= MIN_EVENTS as usize, "{k}");
        }
        let off = (p.phase_s().unwrap() - 0.03255).rem_euclid(INTERVAL);
        assert!(off.min(INTERVAL - off) < 0.0005, "{off}");
    }

    #[test]
    fn changes_at_no_particular_moment_give_no_phase() {
        let mut p = Phase::new(INTERVAL);
        for k in 0..200 {
            p.add(1_700_000_000.0 + k as f64 * 0.0071);
        }
        assert_eq!(p.phase_s(), None);
    }
}
