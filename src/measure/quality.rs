//! Picture quality and encoder cost: a lossless reference encoded with a given x264 line
//! ([`encode`]: its bitrate and the CPU seconds ffmpeg used per second of media, from
//! `-benchmark`), and how close an encode is to the reference ([`ssim`]: ffmpeg's `ssim`
//! filter over every frame, as its mean and in dB).

use std::path::Path;
use std::process::Command;

use serde::Serialize;

use super::MeasureError;

/// One encode of the reference.
#[derive(Debug, Clone, Serialize)]
pub struct Encoded {
    /// Mean bitrate of the picture, kb/s.
    pub kbps: f64,
    /// ffmpeg's user + system CPU seconds per second of media: the cores the encode would
    /// need in real time (decoding the lossless reference included, the same for every line).
    pub cores: f64,
}

/// SSIM of an encode against the reference, all planes.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Ssim {
    /// Mean over the frames, 0..1 (1: identical).
    pub mean: f64,
    /// The same as 10·log10(1 / (1 − mean)): equal steps in dB are equal steps of visible loss.
    pub db: f64,
}

/// Encodes the picture of `reference` with `codec_args` (e.g. `-c:v libx264 …`) into `out`.
pub fn encode(ffmpeg: &Path, reference: &Path, codec_args: &[String], out: &Path) -> Result<Encoded, MeasureError> {
    let output = Command::new(ffmpeg)
        .args(["-hide_banner", "-nostdin", "-nostats", "-benchmark", "-y", "-i"])
        .arg(reference)
        .args(["-map", "0:v:0", "-an"])
        .args(codec_args)
        .arg(out)
        .output()
        .map_err(|source| MeasureError::Spawn { program: ffmpeg.display().to_string(), source })?;
    let stderr = checked(output)?;
    let (user, system) = (field(&stderr, "utime=")?, field(&stderr, "stime=")?);
    let seconds = duration_s(ffmpeg, out)?;
    let bytes = std::fs::metadata(out)?.len() as f64;
    Ok(Encoded { kbps: bytes * 8.0 / seconds / 1000.0, cores: (user + system) / seconds })
}

/// SSIM of `encoded` against `reference`, frame by frame in order.
pub fn ssim(ffmpeg: &Path, encoded: &Path, reference: &Path) -> Result<Ssim, MeasureError> {
    let output = Command::new(ffmpeg)
        .args(["-hide_banner", "-nostdin", "-nostats", "-i"])
        .arg(encoded)
        .arg("-i")
        .arg(reference)
        .args(["-lavfi", "[0:v][1:v]ssim", "-f", "null", "-"])
        .output()
        .map_err(|source| MeasureError::Spawn { program: ffmpeg.display().to_string(), source })?;
    let stderr = checked(output)?;
    let line = stderr.lines().rev().find(|l| l.contains("SSIM ") && l.contains("All:"))
        .ok_or_else(|| MeasureError::Parse(format!("no SSIM line in: {}", tail(&stderr))))?;
    parse_ssim(line)
}

/// The `All:0.981234 (17.25)` of ffmpeg's SSIM summary line.
fn parse_ssim(line: &str) -> Result<Ssim, MeasureError> {
    let all = line.split("All:").nth(1).ok_or_else(|| MeasureError::Parse(line.to_owned()))?;
    let mean = all.split_whitespace().next().and_then(|v| v.parse::<f64>().ok());
    let mean = mean.ok_or_else(|| MeasureError::Parse(line.to_owned()))?;
    let db = if mean >= 1.0 { f64::INFINITY } else { -10.0 * (1.0 - mean).log10() };
    Ok(Ssim { mean, db })
}

/// The number after `key` in ffmpeg's `bench: utime=1.234s stime=0.056s rtime=…` line.
fn field(stderr: &str, key: &str) -> Result<f64, MeasureError> {
    let line = stderr.lines().rev().find(|l| l.starts_with("bench:") && l.contains(key));
    let value = line.and_then(|l| l.split(key).nth(1)?.split('s').next()?.parse().ok());
    value.ok_or_else(|| MeasureError::Parse(format!("no `{key}` in: {}", tail(stderr))))
}

/// Duration of `file` in seconds (ffprobe beside `ffmpeg`).
fn duration_s(ffmpeg: &Path, file: &Path) -> Result<f64, MeasureError> {
    // `ffmpeg` alone becomes `ffprobe` alone (found on PATH), `/x/ffmpeg` `/x/ffprobe`.
    let ffprobe = ffmpeg.with_file_name("ffprobe");
    let output = Command::new(&ffprobe)
        .args(["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"])
        .arg(file)
        .output()
        .map_err(|source| MeasureError::Spawn { program: ffprobe.display().to_string(), source })?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.trim().parse::<f64>().ok().filter(|d| *d > 0.0).ok_or_else(|| MeasureError::Parse(format!("duration of {}: {text}", file.display())))
}

fn checked(output: std::process::Output) -> Result<String, MeasureError> {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        return Err(MeasureError::Ffmpeg { status: output.status.to_string(), tail: tail(&stderr) });
    }
    Ok(stderr)
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::testmedia;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn ffmpeg_summary_lines_parse() {
        let s = parse_ssim("[Parsed_ssim_0 @ 0x55] SSIM Y:0.995 (23.0) U:0.99 (20.0) V:0.99 (20.0) All:0.990000 (20.000000)").unwrap();
        assert!((s.mean - 0.99).abs() < 1e-9 && (s.db - 20.0).abs() < 1e-9, "{s:?}");
        assert!(parse_ssim("SSIM All:1.000000 (inf)").unwrap().db.is_infinite());
        assert_eq!(field("x\nbench: utime=1.500s stime=0.250s rtime=2.000s\n", "stime=").unwrap(), 0.25);
        assert!(matches!(field("no bench line", "utime="), Err(MeasureError::Parse(_))));
    }

    #[test]
    fn a_coarser_encode_measures_lower_ssim_and_fewer_bits() {
        let dir = tempfile::tempdir().unwrap();
        let ffmpeg = testmedia::ffmpeg();
        let source = "testsrc2=s=320x180:r=30:d=3";
        let reference = dir.path().join("reference.mkv");
        let made = Command::new(&ffmpeg)
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", source, "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p"])
            .arg(&reference)
            .status()
            .unwrap();
        assert!(made.success());
        let itself = ssim(&ffmpeg, &reference, &reference).unwrap();
        assert_eq!(itself.mean, 1.0, "the reference against itself");
        let fine_file = dir.path().join("fine.mp4");
        let coarse_file = dir.path().join("coarse.mp4");
        let fine = encode(&ffmpeg, &reference, &args(&["-c:v", "libx264", "-preset", "ultrafast", "-crf", "18"]), &fine_file).unwrap();
        let coarse = encode(&ffmpeg, &reference, &args(&["-c:v", "libx264", "-preset", "ultrafast", "-crf", "40"]), &coarse_file).unwrap();
        let (fine_ssim, coarse_ssim) = (ssim(&ffmpeg, &fine_file, &reference).unwrap(), ssim(&ffmpeg, &coarse_file, &reference).unwrap());
        assert!(fine_ssim.mean > 0.95 && fine_ssim.mean < 1.0, "{fine_ssim:?}");
        assert!(coarse_ssim.db + 3.0 < fine_ssim.db, "{coarse_ssim:?} vs {fine_ssim:?}");
        assert!(coarse.kbps < fine.kbps / 2.0 && fine.kbps > 50.0, "{coarse:?} vs {fine:?}");
        assert!(fine.cores > 0.0 && fine.cores < 16.0, "{fine:?}");
    }
}
