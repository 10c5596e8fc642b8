//! Live outputs from the same encode as the file: HLS segments and playlist, and RTMP streams
//! received by a real nginx with its RTMP module (added and removed while recording, an endpoint
//! that fails and comes back), with the file unharmed by any of it.

mod common;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use wallflower::harness::nginx::Nginx;

use common::{ffprobe, stream};

fn output<'a>(rec: &'a Value, id: &str) -> &'a Value {
    rec["outputs"].as_array().and_then(|o| o.iter().find(|o| o["id"] == id)).unwrap_or_else(|| panic!("no output {id}: {rec}"))
}

/// H.264 at `width`x`height` and AAC, as ffprobe sees `media` (a file or a playlist).
fn assert_h264_aac(media: &Path, width: u64, height: u64) -> f64 {
    let probe = ffprobe(media);
    let video = stream(&probe, "video");
    assert_eq!((video["codec_name"].as_str(), video["width"].as_u64(), video["height"].as_u64()), (Some("h264"), Some(width), Some(height)));
    assert_eq!(stream(&probe, "audio")["codec_name"], "aac");
    probe["format"]["duration"].as_str().and_then(|d| d.parse().ok()).unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hls_segments_and_an_ended_playlist_sit_beside_the_file() {
    let app = common::spawn_app().await;
    let body = json!({"source": {"type": "test"}, "output": {"width": 640, "height": 360, "hls": true}, "limits": {"max_duration_s": 10}});
    let id = app.start(body).await;
    let live = app.wait_until(&id, Duration::from_secs(30), |r| output(r, "hls")["state"] == "live").await;
    assert_eq!(live["state"], "recording");
    let done = app.wait_for(&id, &["completed", "failed"], Duration::from_secs(40)).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(output(&done, "hls")["state"], "stopped");
    let files = done["files"].as_array().unwrap();
    let hls = files.iter().find(|f| f["kind"] == "hls").unwrap_or_else(|| panic!("no hls file: {done}"));
    let playlist = Path::new(hls["path"].as_str().unwrap());
    let text = std::fs::read_to_string(playlist).unwrap();
    assert!(text.starts_with("#EXTM3U") && text.contains("#EXT-X-ENDLIST"), "{text}");
    let segments: Vec<&str> = text.lines().filter(|l| l.ends_with(".ts")).collect();
    assert!(segments.len() >= 2, "{text}");
    assert!(segments.iter().all(|s| playlist.with_file_name(s).exists()), "every listed segment exists");
    assert!(!text.contains("DISCONTINUITY"), "one uninterrupted stream: {text}");
    let duration = assert_h264_aac(playlist, 640, 360);
    // A live output is not cut at the stop like the file: it runs until the capture ends.
    let file_duration = done["duration_s"].as_f64().unwrap();
    assert!(duration > file_duration - 1.0 && duration < file_duration + 2.5, "HLS {duration} s, file {file_duration} s");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtmp_streams_are_added_and_removed_live_and_receive_h264_and_aac() {
    let dir = tempfile::tempdir().unwrap();
    let mut nginx = Nginx::start(dir.path(), &format!("nginx-{}", uuid::Uuid::new_v4().simple())).await.expect("nginx starts (scripts/setup --test-servers)");
    let app = common::spawn_app().await;
    let body = json!({
        "source": {"type": "test"},
        "output": {"width": 640, "height": 360},
        "limits": {"max_duration_s": 60},
        "streams": [{"url": nginx.url("first")}],
    });
    let id = app.start(body).await;
    let live = app.wait_until(&id, Duration::from_secs(30), |r| output(r, "str_1")["state"] == "live").await;
    assert_eq!(output(&live, "str_1")["url"], format!("rtmp://127.0.0.1:{}/live/****", nginx.port), "the stream key is hidden");
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Add a second stream; the first goes on untouched.
    let both = json!({"streams": [{"url": nginx.url("first")}, {"url": nginx.url("second")}]});
    let (status, rec) = app.patch(&format!("/v1/recordings/{id}"), both).await;
    assert_eq!(status, 200, "{rec}");
    app.wait_until(&id, Duration::from_secs(20), |r| output(r, "str_2")["state"] == "live").await;
    assert_eq!(output(&rec, "str_1")["attempts"], 1);

    // The endpoint goes away: the stream retries, the recording goes on; it comes back: live again.
    nginx.kill().await;
    let failing = app.wait_until(&id, Duration::from_secs(20), |r| output(r, "str_2")["state"] == "retrying").await;
    assert_eq!(failing["state"], "recording");
    assert!(failing["incidents"].as_array().unwrap().iter().any(|i| i["kind"] == "output_failed"), "{failing}");
    nginx.restart().await.unwrap();
    app.wait_until(&id, Duration::from_secs(30), |r| output(r, "str_2")["state"] == "live" && output(r, "str_1")["state"] == "live").await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Remove the first stream.
    let (status, rec) = app.patch(&format!("/v1/recordings/{id}"), json!({"streams": [{"url": nginx.url("second")}]})).await;
    assert_eq!((status, output(&rec, "str_1")["state"].as_str()), (200, Some("stopped")), "{rec}");
    let (status, bad) = app.patch(&format!("/v1/recordings/{id}"), json!({"streams": [{"url": "http://x/live/k"}]})).await;
    assert_eq!((status, bad["error"]["field"].as_str()), (400, Some("streams[0].url")), "{bad}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
    let done = app.wait_for(&id, &["completed", "failed"], Duration::from_secs(30)).await;
    assert_eq!(done["state"], "completed", "{done}");
    let file_duration = assert_h264_aac(&common::file_of(&done), 640, 360);

    tokio::time::sleep(Duration::from_secs(1)).await;
    let second = assert_h264_aac(&nginx.recorded("second"), 640, 360);
    assert!(second > 5.0, "the second stream got the last part of the call: {second} s");
    assert!(file_duration > 15.0, "the file has the whole recording: {file_duration} s");
    app.stop().await;
    nginx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_stream_retries_and_never_harms_the_file() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = common::spawn_app().await;
    let body = json!({
        "source": {"type": "test"},
        "output": {"width": 640, "height": 360},
        "limits": {"max_duration_s": 8},
        "streams": [{"url": format!("rtmp://127.0.0.1:{port}/live/nobody")}],
    });
    let id = app.start(body).await;
    let failing = app.wait_until(&id, Duration::from_secs(30), |r| output(r, "str_1")["attempts"].as_u64() >= Some(2)).await;
    assert!(output(&failing, "str_1")["last_error"].is_string(), "{failing}");
    let done = app.wait_for(&id, &["completed", "failed"], Duration::from_secs(30)).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(output(&done, "str_1")["state"], "stopped");
    let duration = assert_h264_aac(&common::file_of(&done), 640, 360);
    assert!((duration - 8.0).abs() < 1.0, "{duration}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_only_recording_streams_and_writes_hls_but_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let nginx = Nginx::start(dir.path(), &format!("nginx-{}", uuid::Uuid::new_v4().simple())).await.expect("nginx starts");
    let app = common::spawn_app().await;
    let body = json!({
        "source": {"type": "test"},
        "output": {"width": 640, "height": 360, "file": false, "hls": true},
        "limits": {"max_duration_s": 8},
        "streams": [{"url": nginx.url("only")}],
    });
    let id = app.start(body).await;
    let done = app.wait_for(&id, &["completed", "failed"], Duration::from_secs(40)).await;
    assert_eq!(done["state"], "completed", "{done}");
    let kinds: Vec<&str> = done["files"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["hls"], "{done}");
    let playlist = Path::new(done["files"][0]["path"].as_str().unwrap());
    assert!(!playlist.parent().unwrap().with_file_name("recording.mp4").exists() && !playlist.parent().unwrap().with_file_name("recording.mp4.part").exists());
    assert!(assert_h264_aac(playlist, 640, 360) > 6.0);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(assert_h264_aac(&nginx.recorded("only"), 640, 360) > 6.0);
    let (status, bad) = app.post("/v1/recordings", json!({"source": {"type": "test"}, "output": {"file": false}})).await;
    assert_eq!((status, bad["error"]["code"].as_str(), bad["error"]["field"].as_str()), (400, Some("nothing_to_make"), Some("output.file")), "{bad}");
    app.stop().await;
    nginx.stop().await;
}
