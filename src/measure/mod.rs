//! Measuring recordings for the benchmark (issue 9): how far sound and picture are apart
//! ([`sync`], from the test pattern's flash and beep markers) and how many frames really change
//! ([`frames`], to see freezes and duplicates), and picture quality against a lossless reference
//! at an encoder's cost ([`quality`]); [`locate`] finds a participant's tile. They read the
//! finished file with the system ffmpeg ([`decode`]) and run synchronously: callers on the
//! async runtime use `spawn_blocking`.

pub mod cpu;
pub mod decode;
pub mod frames;
pub mod locate;
pub mod markers;
pub mod quality;
pub mod sync;
#[cfg(test)]
mod testmedia;

/// Errors of the measuring code.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    #[error("could not start {program} (is ffmpeg installed?): {source}")]
    Spawn { program: String, source: std::io::Error },
    #[error("ffmpeg failed ({status}): {tail}")]
    Ffmpeg { status: String, tail: String },
    #[error("unexpected ffmpeg output: {0}")]
    Parse(String),
    #[error("no flash/beep pairs found ({flashes} flashes, {beeps} beeps)")]
    NoMarkers { flashes: usize, beeps: usize },
    #[error("measure I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl MeasureError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Spawn { .. } => "measure_spawn_failed",
            Self::Ffmpeg { .. } => "measure_ffmpeg_failed",
            Self::Parse(_) => "measure_parse_failed",
            Self::NoMarkers { .. } => "measure_no_markers",
            Self::Io(_) => "io_error",
        }
    }

    /// The measuring code has no clients: a bad file is the benchmark's own finding.
    pub fn is_client_error(&self) -> bool {
        false
    }
}

/// The median of `values` (`NaN` when empty).
pub fn median(values: &[f64]) -> f64 {
    percentile(values, 50.0)
}

/// The `p`th percentile of `values`, interpolated between neighbours (`NaN` when empty).
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = p.clamp(0.0, 100.0) / 100.0 * (v.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (rank - lo as f64)
}

/// Median absolute deviation from the median.
pub fn mad(values: &[f64]) -> f64 {
    let m = median(values);
    let dev: Vec<f64> = values.iter().map(|v| (v - m).abs()).collect();
    median(&dev)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_sorted_values() {
        let v = [5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(median(&v), 3.0);
        assert_eq!(percentile(&v, 10.0), 1.4);
        assert_eq!(percentile(&v, 90.0), 4.6);
        assert_eq!(median(&[1.0, 2.0]), 1.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn mad_ignores_one_outlier() {
        assert_eq!(mad(&[10.0, 11.0, 9.0, 10.0, 500.0]), 1.0);
    }
}
