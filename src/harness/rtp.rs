//! Cheap synthetic participants: ffmpeg sends a clip of the participant's picture and tone
//! (VP8 + Opus, encoded once) as plain RTP into the room through the VideoRoom's
//! `add_remote_publisher`, copying the packets in a loop. That costs about 1 % of a core where a
//! publishing Chromium costs ~0.25 cores, so benchmarks can fill a call without the participants
//! eating the machine. They have no data channel and answer no keyframe request, so the clip
//! has a keyframe every half second (a subscriber waits at most that long for a picture).
//!
//! Janus (1.1) takes every stream of a remote publisher on one UDP port and tells them apart by
//! SSRC only: stream `i` of the `streams` list must come with SSRC `1000 + 10 * i`, and a
//! simulcast stream's layers `k` = 0, 1, 2 with `1000 + 10 * i + k`.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::HarnessError;
use super::janus_client::JanusClient;
use super::participant::{ParticipantSpec, SIMULCAST_BANDS, fail};
use crate::recorder::process::Supervised;

/// The SSRCs Janus expects for the first (audio) and second (video) stream.
const AUDIO_SSRC: u32 = 1000;
const VIDEO_SSRC: u32 = 1010;

/// A participant published by ffmpeg over plain RTP.
pub struct RtpPublisher {
    process: Supervised,
    id: u64,
    room: u64,
    janus_url: String,
}

impl RtpPublisher {
    /// Makes the clip in `dir`, registers the publisher in `spec.room` and starts sending.
    pub async fn start(spec: &ParticipantSpec, ffmpeg: &Path, janus_url: &str, dir: &Path, instance: &str) -> Result<Self, HarnessError> {
        let clip = dir.join("clip.webm");
        make_clip(spec, ffmpeg, &clip).await?;
        let id = publisher_id();
        let (port, rtcp_port) = register(spec, janus_url, id).await?;
        let args = send_args(&clip, port, rtcp_port, spec.simulcast.is_some());
        let spawned = Supervised::spawn("ffmpeg-publisher", ffmpeg, &args, &[], instance);
        let mut publisher = match spawned {
            Ok(process) => Self { process, id, room: spec.room, janus_url: janus_url.to_owned() },
            Err(e) => {
                unregister(janus_url, spec.room, id).await;
                return Err(fail(spec, format!("cannot run ffmpeg: {e}")));
            }
        };
        // A bad clip or address ends ffmpeg at once; a running one has started sending.
        tokio::time::sleep(Duration::from_millis(300)).await;
        if let Some(status) = publisher.process.try_exited() {
            let tail = publisher.process.tail();
            publisher.stop().await;
            return Err(fail(spec, format!("ffmpeg exited ({status}): {tail}")));
        }
        Ok(publisher)
    }

    /// Stops sending and takes the publisher out of the room (Janus keeps a remote publisher
    /// after the session that added it has gone).
    pub async fn stop(self) {
        self.process.terminate(Duration::from_secs(2)).await;
        unregister(&self.janus_url, self.room, self.id).await;
    }
}

/// Encodes the participant's picture (their colour, name and clock, as the browser participant
/// shows) and tone into a short VP8 + Opus clip: one video stream, or a simulcast participant's
/// three layers.
async fn make_clip(spec: &ParticipantSpec, ffmpeg: &Path, clip: &Path) -> Result<(), HarnessError> {
    let (video, tone) = (spec.video_source(), spec.tone_source());
    // A keyframe at least every half second (also what a layer switch waits for).
    let keyframes = spec.camera_fps().div_ceil(2).to_string();
    let mut args: Vec<String> = ["-v", "error", "-y", "-f", "lavfi", "-i", &video, "-f", "lavfi", "-i", &tone].map(String::from).to_vec();
    match spec.simulcast {
        None => args.extend(["-map", "0:v", "-b:v", "300k"].map(String::from)),
        Some(_) => args.extend(layer_args()),
    }
    args.extend(["-c:v", "libvpx", "-g", &keyframes, "-keyint_min", &keyframes, "-deadline", "realtime", "-cpu-used", "8"].map(String::from));
    args.extend(["-pix_fmt", "yuv420p", "-map", "1:a", "-c:a", "libopus", "-b:a", "32k", "-ac", "1", "-frame_duration", "20"].map(String::from));
    let out = tokio::process::Command::new(ffmpeg).args(args).arg(clip).output().await?;
    if !out.status.success() {
        return Err(fail(spec, format!("ffmpeg: {}", String::from_utf8_lossy(&out.stderr).trim())));
    }
    Ok(())
}

/// The three simulcast layers (a quarter, half and all of the picture, each with its colour band
/// along the foot) as video streams 0, 1 and 2, at bitrates near a browser's for those sizes.
fn layer_args() -> Vec<String> {
    let band = |k: usize| {
        let [r, g, b] = SIMULCAST_BANDS[k];
        format!("drawbox=x=0:y=ih*7/8:w=iw:h=ih/8:c=0x{r:02x}{g:02x}{b:02x}:t=fill")
    };
    let graph = format!(
        "[0:v]split=3[a][b][c];[a]scale=iw/4:ih/4,{}[v0];[b]scale=iw/2:ih/2,{}[v1];[c]{}[v2]",
        band(0),
        band(1),
        band(2)
    );
    let mut args = vec!["-filter_complex".to_owned(), graph];
    for (k, bitrate) in ["150k", "500k", "1500k"].iter().enumerate() {
        args.extend(["-map".into(), format!("[v{k}]"), format!("-b:v:{k}"), (*bitrate).to_owned()]);
    }
    args
}

/// `add_remote_publisher`: returns the RTP and RTCP ports Janus listens on for this publisher.
async fn register(spec: &ParticipantSpec, janus_url: &str, id: u64) -> Result<(u16, u16), HarnessError> {
    let request = json!({
        "request": "add_remote_publisher", "room": spec.room, "id": id, "display": spec.name,
        "iface": "127.0.0.1",
        "streams": [
            {"type": "audio", "mindex": 0, "mid": "0", "codec": "opus"},
            {"type": "video", "mindex": 1, "mid": "1", "codec": "vp8", "simulcast": spec.simulcast.is_some()},
        ],
    });
    let mut client = JanusClient::connect(janus_url).await?;
    let answer = client.videoroom(request).await;
    client.close().await;
    let answer = answer?;
    let port = |key: &str| answer[key].as_u64().and_then(|p| u16::try_from(p).ok());
    match (port("port"), port("rtcp_port")) {
        (Some(rtp), Some(rtcp)) => Ok((rtp, rtcp)),
        _ => Err(fail(spec, format!("add_remote_publisher answered without ports: {answer}"))),
    }
}

async fn unregister(janus_url: &str, room: u64, id: u64) {
    let Ok(mut client) = JanusClient::connect(janus_url).await else { return };
    if let Err(e) = client.videoroom(json!({"request": "remove_remote_publisher", "room": room, "id": id})).await {
        tracing::debug!("remove_remote_publisher {id}: {e}");
    }
    client.close().await;
}

/// ffmpeg copying the clip, in real time and looped, as RTP streams to Janus' one port: the
/// sound and the picture (or its three simulcast layers).
fn send_args(clip: &Path, port: u16, rtcp_port: u16, simulcast: bool) -> Vec<String> {
    let url = format!("rtp://127.0.0.1:{port}?rtcpport={rtcp_port}&pkt_size=1200");
    let mut args: Vec<String> = ["-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i"]
        .into_iter()
        .map(String::from)
        .collect();
    args.push(clip.display().to_string());
    // The payload types are Janus' own for the room's codecs (it rewrites them anyway).
    let mut streams = vec![("0:a".to_owned(), AUDIO_SSRC, 111)];
    match simulcast {
        false => streams.push(("0:v".to_owned(), VIDEO_SSRC, 96)),
        true => streams.extend((0..3).map(|k| (format!("0:v:{k}"), VIDEO_SSRC + k, 96))),
    }
    for (stream, ssrc, payload_type) in streams {
        args.extend(["-map".into(), stream]);
        args.extend(["-c", "copy", "-f", "rtp"].map(String::from));
        args.extend(["-ssrc".into(), ssrc.to_string(), "-payload_type".into(), payload_type.to_string(), url.clone()]);
    }
    args
}

/// A fresh publisher id (Janus ids are JavaScript-safe integers).
fn publisher_id() -> u64 {
    (uuid::Uuid::new_v4().as_u128() as u64) & ((1 << 52) - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_go_to_one_port_with_the_ssrcs_janus_expects() {
        let args = send_args(Path::new("/tmp/clip.webm"), 10000, 10001, false).join(" ");
        assert!(args.contains("-map 0:a -c copy -f rtp -ssrc 1000 -payload_type 111 rtp://127.0.0.1:10000?rtcpport=10001&pkt_size=1200"), "{args}");
        assert!(args.contains("-map 0:v -c copy -f rtp -ssrc 1010 -payload_type 96 rtp://127.0.0.1:10000?rtcpport=10001&pkt_size=1200"), "{args}");
        assert!(args.starts_with("-hide_banner -loglevel error -re -stream_loop -1 -i /tmp/clip.webm"));
    }

    #[test]
    fn simulcast_layers_go_with_consecutive_ssrcs() {
        let args = send_args(Path::new("/tmp/clip.webm"), 10000, 10001, true).join(" ");
        for (k, ssrc) in [(0, 1010), (1, 1011), (2, 1012)] {
            assert!(args.contains(&format!("-map 0:v:{k} -c copy -f rtp -ssrc {ssrc} -payload_type 96 rtp://")), "{args}");
        }
        assert!(!args.contains("-map 0:v -c"), "{args}");
        let layers = layer_args().join(" ");
        assert!(layers.contains("scale=iw/4:ih/4,drawbox=x=0:y=ih*7/8:w=iw:h=ih/8:c=0xffff00:t=fill[v0]"), "{layers}");
        assert!(layers.contains("-map [v2] -b:v:2 1500k"), "{layers}");
    }

    #[test]
    fn publisher_ids_are_safe_javascript_integers() {
        for _ in 0..100 {
            assert!(publisher_id() < 1 << 53);
        }
    }
}
