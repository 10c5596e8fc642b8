//! Frame delivery: how many frames a file holds, at what rate, and how many of them really
//! differ from the one before (in a region such as one participant's tile), so freezes and
//! duplicated frames show even when the file's frame rate looks right.

use std::path::Path;

use serde::Serialize;

use super::{MeasureError, decode, median};

/// Frames are compared at this size (area-averaged, which also smooths coding noise).
const W: usize = 256;
const H: usize = 144;
/// A pixel changed when its luma moved by more than this (0–255): above x264's noise on a
/// repeated picture.
const PIXEL_DELTA: u8 = 10;
/// A frame is new when at least this share of its pixels changed.
const CHANGED_SHARE: f64 = 0.002;

/// Frame delivery of one file.
#[derive(Debug, Clone, Serialize)]
pub struct FrameReport {
    /// Frames in the file.
    pub frames: usize,
    /// Frames per second, from the first and last frame's times.
    pub fps: f64,
    /// Frames that differ from the one before (the first frame counts as distinct).
    pub distinct: usize,
    /// `distinct / frames`.
    pub distinct_ratio: f64,
    /// The longest run of consecutive identical frames (1 when every frame is new).
    pub longest_identical_run: usize,
    /// Frames missing from the timeline: gaps longer than 1.5 typical frame intervals.
    pub missing: usize,
}

/// Counts the distinct frames of `file`, looking only at `crop` (x, y, w, h in pixels) if given.
pub fn distinct(ffmpeg: &Path, file: &Path, crop: Option<(u32, u32, u32, u32)>) -> Result<FrameReport, MeasureError> {
    distinct_from(ffmpeg, file, crop, f64::NEG_INFINITY)
}

/// [`distinct`] over the frames from `from_s` on (a recording's steady part, after its start).
pub fn distinct_from(ffmpeg: &Path, file: &Path, crop: Option<(u32, u32, u32, u32)>, from_s: f64) -> Result<FrameReport, MeasureError> {
    let mut reports = distinct_from_each(ffmpeg, file, crop, &[from_s])?;
    Ok(reports.remove(0))
}

/// [`distinct_from`] for each of `froms`, decoding the file once.
pub fn distinct_from_each(ffmpeg: &Path, file: &Path, crop: Option<(u32, u32, u32, u32)>, froms: &[f64]) -> Result<Vec<FrameReport>, MeasureError> {
    let crop = crop.map(|(x, y, w, h)| format!("crop={w}:{h}:{x}:{y},")).unwrap_or_default();
    let filter = format!("{crop}scale={W}:{H}:flags=area,format=gray");
    let mut changes = Vec::new();
    let mut previous: Option<Vec<u8>> = None;
    let times = decode::video_frames(ffmpeg, file, &filter, W * H, |frame| {
        changes.push(previous.as_deref().is_none_or(|p| differs(p, frame)));
        previous = Some(frame.to_vec());
    })?;
    let report = |from_s: &f64| {
        let kept = times.iter().position(|t| t >= from_s).unwrap_or(times.len());
        summarise(&times[kept..], &changes[kept..])
    };
    Ok(froms.iter().map(report).collect())
}

/// True when enough pixels moved for `b` to be a new picture after `a`.
fn differs(a: &[u8], b: &[u8]) -> bool {
    let changed = a.iter().zip(b).filter(|(x, y)| x.abs_diff(**y) > PIXEL_DELTA).count();
    changed as f64 >= CHANGED_SHARE * a.len() as f64
}

/// The report from each frame's time and whether it changed.
fn summarise(times: &[f64], changes: &[bool]) -> FrameReport {
    let frames = changes.len();
    let distinct = changes.iter().filter(|&&c| c).count();
    let (mut longest, mut run) = (0, 0);
    for &c in changes {
        run = if c { 1 } else { run + 1 };
        longest = longest.max(run);
    }
    let span = times.last().zip(times.first()).map(|(l, f)| l - f).unwrap_or(0.0);
    FrameReport {
        frames,
        fps: if span > 0.0 { (frames - 1) as f64 / span } else { 0.0 },
        distinct,
        distinct_ratio: if frames > 0 { distinct as f64 / frames as f64 } else { 0.0 },
        longest_identical_run: longest,
        missing: missing(times),
    }
}

/// Frames missing from gaps in the frame times (whole typical intervals beyond the first).
fn missing(times: &[f64]) -> usize {
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let typical = median(&gaps);
    // NaN (no gaps) and zero both mean there is nothing to compare against.
    if typical.is_nan() || typical <= 0.0 {
        return 0;
    }
    gaps.iter().filter(|&&g| g > 1.5 * typical).map(|g| (g / typical).round() as usize - 1).sum()
}

#[cfg(test)]
#[path = "frames_tests.rs"]
mod tests;
