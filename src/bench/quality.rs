//! Quality at equal bitrate, Wallflower against the classic recipe: one lossless capture of a
//! page, the test pattern or a call's ([`Recipe::Lossless`]), is encoded with the classic
//! recipe's x264 line (CRF 25, whatever bitrate that makes), with Wallflower's own line at that
//! same bitrate (at three presets), and at the service's default bitrate. Each encode is
//! compared with the capture (SSIM) and costs what ffmpeg's `-benchmark` says. Every encode
//! starts from the same 4:2:0 frames (x11grab's), so the encoder is what differs; Wallflower's
//! own grabber converts to 4:2:0 within 3 code values of those. Frame delivery is measured by
//! the recordings.

use std::path::Path;

use serde::Serialize;

use super::baseline::{self, BaselineSpec, CLASSIC_VIDEO, Recipe};
use crate::config::Settings;
use crate::measure::quality::{self, Encoded, Ssim};
use crate::recorder::capture::OutputSpec;
use crate::recorder::picture::video_codec_args;

/// x264 presets compared at equal bitrate.
const PRESETS: [&str; 3] = ["ultrafast", "superfast", "veryfast"];

/// One encode of the reference.
#[derive(Debug, Serialize)]
pub struct Row {
    pub label: String,
    pub encoded: Encoded,
    pub ssim: Ssim,
}

/// Captures the reference (`spec`, a [`Recipe::Lossless`] one) into `dir`, then encodes and
/// compares; Wallflower encodes at `PRESETS` and `preset`.
pub async fn compare(settings: &Settings, spec: &BaselineSpec, preset: &str, dir: &Path) -> anyhow::Result<Vec<Row>> {
    anyhow::ensure!(spec.recipe == Recipe::Lossless, "the quality reference is a lossless capture");
    let reference = baseline::record(settings, spec, dir).await?.file;
    let (fps, preset, dir) = (spec.fps, preset.to_owned(), dir.to_path_buf());
    tokio::task::spawn_blocking(move || encodes(&reference, fps, &preset, &dir)).await?
}

fn encodes(reference: &Path, fps: u32, preset: &str, dir: &Path) -> anyhow::Result<Vec<Row>> {
    let classic: Vec<String> = CLASSIC_VIDEO.iter().map(|s| (*s).to_owned()).collect();
    let mut rows = vec![row(reference, dir, "classic recipe (ultrafast, CRF 25)", &classic)?];
    let equal = rows[0].encoded.kbps.round() as u32;
    let default = OutputSpec::default().video_bitrate_kbps;
    // The presets worth weighing for live 720p on a few cores, at the classic line's bitrate;
    // then the recorder's own preset at the service's default bitrate.
    let mut wallflower: Vec<(&str, u32)> = PRESETS.iter().map(|p| (*p, equal)).collect();
    if !PRESETS.contains(&preset) {
        wallflower.push((preset, equal));
    }
    wallflower.push((preset, default));
    for (preset, kbps) in wallflower {
        let label = format!("Wallflower ({preset}, {kbps} kb/s)");
        rows.push(row(reference, dir, &label, &video_codec_args(preset, fps, kbps))?);
    }
    Ok(rows)
}

fn row(reference: &Path, dir: &Path, label: &str, args: &[String]) -> anyhow::Result<Row> {
    let ffmpeg = Path::new("ffmpeg");
    // One encode at a time, removed once measured.
    let out = dir.join("encode.mp4");
    let encoded = quality::encode(ffmpeg, reference, args, &out)?;
    let ssim = quality::ssim(ffmpeg, &out, reference)?;
    let _ = std::fs::remove_file(&out);
    Ok(Row { label: label.to_owned(), encoded, ssim })
}
