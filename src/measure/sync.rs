//! A/V offset of a recording of the built-in test pattern (`layouts/test/`): every 1.0133 s the
//! page plays a 60 ms beep at 2000 Hz and shows a 100 ms full-screen white flash at the same
//! instant (every fifth marker left out). Each flash onset is paired with the nearest beep onset;
//! the offset is audio − video, so a positive offset means the sound is late.
//!
//! Resolution: a flash is timed to the frame that first shows it. A screen capture samples the
//! page at its own frame rate, so that frame is late by up to one frame interval (33 ms at 30 fps)
//! and by half of one on average; with [`Sampling::Screen`] each flash is moved back by that half
//! frame, and the page's marker period (not a whole number of frames) gives successive markers
//! different phases, so the median is close to the truth. A beep is timed to a fraction of a
//! sample from the half-amplitude crossing of its envelope.

use std::path::Path;

use serde::Serialize;

use super::decode::{self, Pcm, RATE};
use super::{MeasureError, mad, median, percentile};

/// Frames are shrunk to this size before their mean luma is taken: the flash fills the screen.
const PROBE: &str = "scale=32:18:flags=area,format=gray";
const PROBE_BYTES: usize = 32 * 18;
/// A band-pass around the 2000 Hz beep that keeps out the page's steady 440 Hz tone.
const BEEP_BAND: &str = "highpass=f=1200,highpass=f=1200,lowpass=f=3500";
/// The envelope averages |x| over one period of the beep (0.5 ms).
const ENVELOPE: usize = (RATE / 2000) as usize;
/// The page ramps the beep up over 2 ms; its half-amplitude point is 1 ms after the onset.
const RAMP_HALF_S: f64 = 0.001;
/// Onsets closer than this belong to one marker.
const REFRACTORY_S: f64 = 0.3;
/// Offsets up to this size are found. Markers are a second apart, so beyond ±0.5 s the nearest
/// beep is a neighbour's; the left-out fifth marker tells them apart (see [`common_shift`]).
const SEARCH_S: f64 = 0.9;
/// How far one marker's offset may stray from the recording's common shift and still pair.
const JITTER_S: f64 = 0.1;
/// Below this mean luma (0–255) the brightest frame is no flash at all.
const MIN_FLASH_LUMA: f64 = 180.0;

/// How the file's frames relate to the flashes they show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    /// The picture changes only at frame times (generated media): a flash's frame is its time.
    Aligned,
    /// Frames sample a screen at any phase (a recording): a flash appeared, on average, half a
    /// frame interval before the first frame that shows it.
    Screen,
}

/// One flash paired with its beep.
#[derive(Debug, Clone, Serialize)]
pub struct Marker {
    /// Seconds (file clock) of the first frame showing the flash.
    pub video_s: f64,
    /// Seconds (file clock) of the beep onset.
    pub audio_s: f64,
    /// `audio_s − video_s` in milliseconds: positive when the sound is late.
    pub offset_ms: f64,
}

/// A/V offset of one recording.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    /// Every paired marker, in time order.
    pub markers: Vec<Marker>,
    /// Number of paired markers.
    pub count: usize,
    /// Median offset in ms.
    pub median_ms: f64,
    /// 10th and 90th percentile of the offsets in ms.
    pub p10_ms: f64,
    pub p90_ms: f64,
    /// Median absolute deviation of the offsets in ms.
    pub mad_ms: f64,
    /// Median offset of the last minute minus that of the first (first/last third of the
    /// markers' span when that is shorter than three minutes); `None` under three markers.
    pub drift_ms: Option<f64>,
    /// Flashes without a beep within ±400 ms, and beeps without a flash.
    pub unpaired_flashes: usize,
    pub unpaired_beeps: usize,
}

/// Measures the A/V offset of every marker in `file`.
pub fn offsets(ffmpeg: &Path, file: &Path, sampling: Sampling) -> Result<SyncReport, MeasureError> {
    offsets_in(ffmpeg, file, sampling, None)
}

/// [`offsets`] of the flashes within `crop` (x, y, width, height in pixels) only: one
/// participant's tile, whose camera flashes while their microphone beeps.
pub fn offsets_in(ffmpeg: &Path, file: &Path, sampling: Sampling, crop: Option<(u32, u32, u32, u32)>) -> Result<SyncReport, MeasureError> {
    let flashes = flash_onsets(ffmpeg, file, sampling, crop)?;
    let beeps = beep_onsets(&decode::audio(ffmpeg, file, BEEP_BAND)?);
    report(&flashes, &beeps)
}

/// Times of the frames whose mean luma (within `crop` if given) jumps to near white (less half
/// a frame interval for a screen capture).
pub fn flash_onsets(ffmpeg: &Path, file: &Path, sampling: Sampling, crop: Option<(u32, u32, u32, u32)>) -> Result<Vec<f64>, MeasureError> {
    let probe = match crop {
        Some((x, y, w, h)) => format!("crop={w}:{h}:{x}:{y},{PROBE}"),
        None => PROBE.to_owned(),
    };
    let mut means = Vec::new();
    let times = decode::video_frames(ffmpeg, file, &probe, PROBE_BYTES, |f| {
        means.push(f.iter().map(|&b| f64::from(b)).sum::<f64>() / f.len() as f64)
    })?;
    let brightest = means.iter().copied().fold(0.0, f64::max);
    if brightest < MIN_FLASH_LUMA {
        return Ok(Vec::new());
    }
    // Halfway between an ordinary frame and the flash, so the picture's own brightness is no flash.
    let threshold = (median(&means) + brightest) / 2.0;
    let lit: Vec<bool> = means.iter().map(|&m| m >= threshold).collect();
    let early = match sampling {
        Sampling::Aligned => 0.0,
        Sampling::Screen => frame_interval(&times) / 2.0,
    };
    Ok((0..lit.len()).filter(|&i| lit[i] && (i == 0 || !lit[i - 1])).map(|i| times[i] - early).collect())
}

/// The median time between frames (0 for fewer than two).
fn frame_interval(times: &[f64]) -> f64 {
    let steps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    if steps.is_empty() { 0.0 } else { median(&steps) }
}

/// Onsets (file clock, seconds) of the beeps in band-passed `pcm`.
pub fn beep_onsets(pcm: &Pcm) -> Vec<f64> {
    let env = envelope(&pcm.samples);
    let loudest = env.iter().copied().fold(0.0f32, f32::max);
    if loudest < 1e-3 {
        return Vec::new();
    }
    let (refractory, plateau_len) = ((REFRACTORY_S * f64::from(RATE)) as usize, ENVELOPE * 80);
    let mut onsets = Vec::new();
    let mut n = 0;
    while n < env.len() {
        if env[n] < 0.5 * loudest {
            n += 1;
            continue;
        }
        // Half of this beep's own plateau, so a quieter beep is timed at its own midpoint.
        let plateau = env[n..(n + plateau_len).min(env.len())].iter().copied().fold(0.0f32, f32::max);
        let at = half_crossing(&env, n, 0.5 * plateau);
        onsets.push(pcm.start_s + at / f64::from(RATE) - RAMP_HALF_S);
        n += refractory;
    }
    onsets
}

/// Centred moving average of |x| over [`ENVELOPE`] samples.
fn envelope(x: &[f32]) -> Vec<f32> {
    let mut prefix = Vec::with_capacity(x.len() + 1);
    prefix.push(0.0f64);
    for v in x {
        prefix.push(prefix.last().copied().unwrap_or(0.0) + f64::from(v.abs()));
    }
    let half = ENVELOPE / 2;
    (0..x.len())
        .map(|i| {
            let (lo, hi) = (i.saturating_sub(half), (i + half).min(x.len()));
            ((prefix[hi] - prefix[lo]) / (hi - lo) as f64) as f32
        })
        .collect()
}

/// The fractional sample index, at or before `from`, where `env` rises through `level`.
fn half_crossing(env: &[f32], from: usize, level: f32) -> f64 {
    let mut m = from;
    while m > 0 && env[m - 1] >= level {
        m -= 1;
    }
    if m == 0 || env[m] < level {
        return m as f64;
    }
    let (below, above) = (env[m - 1], env[m]);
    (m - 1) as f64 + f64::from((level - below) / (above - below))
}

/// Pairs each flash with its own beep and summarises the offsets.
pub fn report(flashes: &[f64], beeps: &[f64]) -> Result<SyncReport, MeasureError> {
    let shift = common_shift(flashes, beeps).unwrap_or(0.0);
    let markers: Vec<Marker> = flashes
        .iter()
        .filter_map(|&v| {
            let a = nearest(beeps, v + shift)?;
            ((a - v - shift).abs() <= JITTER_S).then_some(Marker { video_s: v, audio_s: a, offset_ms: (a - v) * 1e3 })
        })
        .collect();
    if markers.is_empty() {
        return Err(MeasureError::NoMarkers { flashes: flashes.len(), beeps: beeps.len() });
    }
    let ms: Vec<f64> = markers.iter().map(|m| m.offset_ms).collect();
    Ok(SyncReport {
        count: markers.len(),
        median_ms: median(&ms),
        p10_ms: percentile(&ms, 10.0),
        p90_ms: percentile(&ms, 90.0),
        mad_ms: mad(&ms),
        drift_ms: drift(&markers),
        unpaired_flashes: flashes.len() - markers.len(),
        unpaired_beeps: beeps.len().saturating_sub(markers.len()),
        markers,
    })
}

/// The shift (beep − flash) that pairs the most flashes, among those any flash and beep suggest
/// within ±[`SEARCH_S`]; ties go to the smaller shift. A shift one marker off pairs fewer: the
/// flashes beside each left-out marker find no beep there.
fn common_shift(flashes: &[f64], beeps: &[f64]) -> Option<f64> {
    let pairs = |d: f64| flashes.iter().filter(|&&f| nearest(beeps, f + d).is_some_and(|b| (b - f - d).abs() <= JITTER_S)).count();
    flashes
        .iter()
        .flat_map(|f| beeps.iter().map(move |b| b - f))
        .filter(|d| d.abs() <= SEARCH_S)
        .map(|d| (pairs(d), d))
        .max_by(|(n1, d1), (n2, d2)| n1.cmp(n2).then(d2.abs().total_cmp(&d1.abs())))
        .map(|(_, d)| d)
}

/// The beep nearest to `t`.
fn nearest(beeps: &[f64], t: f64) -> Option<f64> {
    beeps.iter().copied().min_by(|x, y| (x - t).abs().total_cmp(&(y - t).abs()))
}

/// Median offset of the last minute minus the first (or of the last/first third of the span).
fn drift(markers: &[Marker]) -> Option<f64> {
    let (first, last) = (markers.first()?.video_s, markers.last()?.video_s);
    if markers.len() < 3 {
        return None;
    }
    let window = 60.0f64.min((last - first) / 3.0);
    let pick = |keep: &dyn Fn(f64) -> bool| -> Vec<f64> {
        markers.iter().filter(|m| keep(m.video_s)).map(|m| m.offset_ms).collect()
    };
    let early = pick(&|t| t <= first + window);
    let late = pick(&|t| t >= last - window);
    Some(median(&late) - median(&early))
}

#[cfg(test)]
#[path = "sync_tests.rs"]
mod tests;
