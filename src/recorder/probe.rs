//! ffprobe of a finished file: what the resource reports in `files[]`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::RecorderError;
use super::process::prepare;

/// Facts about a media file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MediaInfo {
    pub bytes: u64,
    pub duration_s: f64,
    /// Media time of the first packet (files written with the capture's clock start after 0).
    #[serde(default)]
    pub start_s: f64,
    pub width: u32,
    pub height: u32,
    pub video_codec: Option<String>,
    pub audio_codec: Option<String>,
}

#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    streams: Vec<ProbeStream>,
    format: ProbeFormat,
}

#[derive(Deserialize)]
struct ProbeStream {
    codec_type: String,
    codec_name: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
}

#[derive(Deserialize)]
struct ProbeFormat {
    duration: Option<String>,
    start_time: Option<String>,
}

/// Runs ffprobe on `file`.
pub async fn probe(ffprobe: &Path, file: &Path, instance: &str) -> Result<MediaInfo, RecorderError> {
    let mut cmd = std::process::Command::new(ffprobe);
    cmd.args(["-v", "error", "-print_format", "json", "-show_format", "-show_streams"]).arg(file);
    prepare(&mut cmd, instance);
    let out = tokio::process::Command::from(cmd).kill_on_drop(true).output().await?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        return Err(RecorderError::Finalize(format!("ffprobe {}: {err}", file.display())));
    }
    let probe: Probe = serde_json::from_slice(&out.stdout)
        .map_err(|e| RecorderError::Finalize(format!("ffprobe output: {e}")))?;
    let mut info = MediaInfo {
        bytes: tokio::fs::metadata(file).await?.len(),
        duration_s: probe.format.duration.and_then(|d| d.parse().ok()).unwrap_or(0.0),
        start_s: probe.format.start_time.and_then(|d| d.parse().ok()).unwrap_or(0.0),
        ..MediaInfo::default()
    };
    for stream in probe.streams {
        match stream.codec_type.as_str() {
            "video" => {
                info.width = stream.width.unwrap_or(0);
                info.height = stream.height.unwrap_or(0);
                info.video_codec = stream.codec_name;
            }
            "audio" => info.audio_codec = stream.codec_name,
            _ => {}
        }
    }
    Ok(info)
}
