//! Delivery to a real S3-compatible store (Garage on loopback): parts go up while recording, the
//! object is verified and plays, the store going away and coming back loses nothing, a store that
//! stays away fails the upload with the file kept, and `retry-upload` delivers it later. Also a
//! presigned `PUT` URL made by the store's own signing.

mod common;

use std::path::Path;
use std::time::Duration;

use object_store::aws::AmazonS3;
use object_store::signer::Signer;
use object_store::{ObjectStoreExt, path::Path as Key};
use serde_json::{Value, json};
use wallflower::harness::garage::Garage;

use common::{TestApp, ffprobe, frame_rgb, stream, tone_level_db};

/// A store with bucket `rec`, and a service whose default profile points at it.
async fn setup(extra_config: &str, keep_local: bool) -> (Garage, TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let instance = format!("garage-{}", uuid::Uuid::new_v4().simple());
    let garage = Garage::start(&dir.path().join("garage"), "rec", &instance).await.expect("garage starts (scripts/setup --test-servers)");
    let config = dir.path().join("wallflower.toml");
    std::fs::write(&config, format!("[storage]\npart_size_mib = 5\n{extra_config}\n{}", garage.profile_toml())).unwrap();
    let app = common::spawn_app_with(|args| {
        args.common.config = Some(config);
        args.common.keep_local_copies = Some(keep_local);
    })
    .await;
    (garage, app, dir)
}

/// The test key's client for the bucket, to look at what landed.
fn client(garage: &Garage) -> AmazonS3 {
    garage.client().unwrap()
}

/// A test-pattern recording at a bitrate that fills a 5 MiB part every couple of seconds.
fn request(destination: Value, seconds: u64) -> Value {
    json!({
        "source": {"type": "test", "tone_hz": 660},
        "output": {"width": 1280, "height": 720, "fps": 30, "video_bitrate_kbps": 20000},
        "limits": {"max_duration_s": seconds},
        "destination": destination,
    })
}

fn parts(rec: &Value) -> u64 {
    rec["upload"]["parts"].as_u64().unwrap_or(0)
}

/// Downloads `key` into `dir` and returns its path.
async fn download(s3: &AmazonS3, key: &str, dir: &Path) -> std::path::PathBuf {
    let bytes = s3.get(&Key::from(key)).await.unwrap_or_else(|e| panic!("{key} not in the bucket: {e}")).bytes().await.unwrap();
    let path = dir.join(key.replace('/', "_"));
    std::fs::write(&path, &bytes).unwrap();
    path
}

/// The object plays: H.264 + AAC, picture and the test tone, about `seconds` long.
fn assert_plays(file: &Path, seconds: f64) {
    let probe = ffprobe(file);
    assert_eq!(stream(&probe, "video")["codec_name"], "h264");
    assert_eq!(stream(&probe, "audio")["codec_name"], "aac");
    let duration: f64 = probe["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!((duration - seconds).abs() < 1.5, "duration {duration}, expected about {seconds}");
    assert!(frame_rgb(file, duration / 2.0).iter().sum::<f64>() > 30.0, "the picture is black");
    assert!(tone_level_db(file, 660) > -40.0, "the tone is missing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_parts_go_up_while_recording_and_the_object_is_the_recording() {
    let (garage, app, dir) = setup("", true).await;
    // 5 MiB parts: the test pattern needs ~30 s for two, even at 20 Mb/s (x264 spends less)
    let id = app.start(request(json!({"type": "s3", "key": "recs/{date}/{id}.mp4"}), 60)).await;
    let live = app.wait_until(&id, Duration::from_secs(50), |r| parts(r) >= 2).await;
    assert_eq!(live["state"], "recording", "parts were uploaded before the stop: {live}");
    let info = garage.cli(&["bucket", "info", "rec"]).unwrap();
    assert!(info.to_lowercase().contains("multipart"), "the store holds the unfinished upload: {info}");
    app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
    let done = app.wait_for(&id, &["completed", "failed"], Duration::from_secs(30)).await;
    assert_eq!(done["state"], "completed", "{done}");
    let video = &done["files"][0];
    let key = video["uri"].as_str().unwrap().strip_prefix("s3://rec/").unwrap().to_owned();
    assert!(key.starts_with("recs/") && key.ends_with(&format!("{id}.mp4")), "{key}");
    let object = download(&client(&garage), &key, dir.path()).await;
    let local = std::fs::read(video["path"].as_str().unwrap()).unwrap();
    assert_eq!(std::fs::read(&object).unwrap(), local, "the object is byte for byte the recording");
    assert_eq!(video["bytes"].as_u64(), Some(local.len() as u64));
    assert!(done["upload"]["completed_at"].is_string(), "{done}");
    assert_plays(&object, done["duration_s"].as_f64().unwrap());
    app.stop().await;
    garage.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_goes_away_and_comes_back_loses_nothing() {
    let (mut garage, app, dir) = setup("", true).await;
    let id = app.start(request(json!({"type": "s3"}), 60)).await;
    app.wait_until(&id, Duration::from_secs(30), |r| parts(r) >= 1).await;
    garage.kill().await;
    let failing = app.wait_until(&id, Duration::from_secs(30), |r| r["upload"]["failed_attempts"].as_u64() > Some(0)).await;
    assert_eq!(failing["state"], "recording", "the recording goes on while the store is away: {failing}");
    assert!(failing["upload"]["last_error"].is_string(), "{failing}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    garage.restart().await.unwrap();
    app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
    let done = app.wait_for(&id, &["completed", "failed"], Duration::from_secs(60)).await;
    assert_eq!(done["state"], "completed", "{done}");
    let object = download(&client(&garage), &format!("recordings/{id}/recording.mp4"), dir.path()).await;
    let local = std::fs::read(done["files"][0]["path"].as_str().unwrap()).unwrap();
    assert_eq!(std::fs::read(&object).unwrap(), local, "nothing was lost");
    assert_plays(&object, done["duration_s"].as_f64().unwrap());
    let metrics = common::scrape::parse(&app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap());
    let retries = common::scrape::value(&metrics, "wallflower_upload_retries_total", &[]).unwrap();
    assert!(retries >= 1.0, "the attempts while the store was away were retried: {retries}");
    let bytes = common::scrape::value(&metrics, "wallflower_upload_bytes_total", &[]).unwrap();
    assert!(bytes >= local.len() as f64, "{bytes} bytes confirmed for a {}-byte object", local.len());
    app.stop().await;
    garage.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_left_down_fails_the_upload_and_retry_upload_delivers_later() {
    let (mut garage, app, dir) = setup("retry_for_s = 3", false).await;
    let id = app.start(request(json!({"type": "s3"}), 60)).await;
    app.wait_until(&id, Duration::from_secs(30), |r| r["state"] == "recording").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    garage.kill().await;
    app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
    let failed = app.wait_for(&id, &["completed", "failed"], Duration::from_secs(60)).await;
    assert_eq!((failed["state"].as_str(), failed["error"]["code"].as_str()), (Some("failed"), Some("upload_failed")), "{failed}");
    let kept = failed["files"][0]["path"].as_str().expect("the local file is named").to_owned();
    assert!(Path::new(&kept).exists() && failed["error"]["message"].as_str().unwrap().contains(&kept), "{failed}");

    garage.restart().await.unwrap();
    let (status, retried) = app.post(&format!("/v1/recordings/{id}/retry-upload"), json!({})).await;
    assert_eq!((status, retried["state"].as_str()), (202, Some("uploading")), "{retried}");
    let done = app.wait_for(&id, &["completed", "failed"], Duration::from_secs(60)).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert!(done["error"].is_null() && done["files"][0]["path"].is_null(), "{done}");
    assert!(!Path::new(&kept).exists(), "the local copy goes once the store has it");
    let object = download(&client(&garage), &format!("recordings/{id}/recording.mp4"), dir.path()).await;
    assert_eq!(std::fs::metadata(&object).unwrap().len(), done["files"][0]["bytes"].as_u64().unwrap());
    assert_plays(&object, done["duration_s"].as_f64().unwrap());
    let (status, again) = app.post(&format!("/v1/recordings/{id}/retry-upload"), json!({})).await;
    assert_eq!((status, again["error"]["code"].as_str()), (409, Some("not_retryable")), "{again}");
    app.stop().await;
    garage.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_presigned_put_url_receives_the_finished_file() {
    let (garage, app, dir) = setup("", false).await;
    let key = "presigned/call.mp4";
    let url = client(&garage).signed_url(reqwest::Method::PUT, &Key::from(key), Duration::from_secs(600)).await.unwrap();
    let id = app.start(request(json!({"type": "http", "url": url.as_str()}), 4)).await;
    let done = app.wait_for(&id, &["completed", "failed"], Duration::from_secs(60)).await;
    assert_eq!(done["state"], "completed", "{done}");
    let uri = done["files"][0]["uri"].as_str().unwrap();
    assert!(uri.ends_with(key) && !uri.contains('?'), "the signature is not shown: {uri}");
    assert!(!done.to_string().contains("X-Amz-Signature"), "{done}");
    let object = download(&client(&garage), key, dir.path()).await;
    assert_eq!(std::fs::metadata(&object).unwrap().len(), done["files"][0]["bytes"].as_u64().unwrap());
    assert_plays(&object, done["duration_s"].as_f64().unwrap());
    app.stop().await;
    garage.stop().await;
}

/// Keys in the bucket under `prefix`.
async fn keys(s3: &AmazonS3, prefix: &str) -> Vec<String> {
    use futures::TryStreamExt;
    use object_store::ObjectStore;
    let list: Vec<_> = s3.list(Some(&Key::from(prefix))).try_collect().await.unwrap_or_default();
    list.into_iter().map(|m| m.location.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hls_segments_reach_the_bucket_while_recording() {
    let (garage, app, dir) = setup("", false).await;
    let mut body = request(json!({"type": "s3"}), 60);
    body["output"] = json!({"width": 640, "height": 360, "hls": true});
    let id = app.start(body).await;
    let prefix = format!("recordings/{id}/recording-hls");
    let s3 = client(&garage);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !keys(&s3, &prefix).await.iter().any(|k| k.ends_with(".ts")) {
        assert!(tokio::time::Instant::now() < deadline, "no segment in the bucket while recording");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (_, rec) = app.get(&format!("/v1/recordings/{id}")).await;
    assert_eq!(rec["state"], "recording", "a segment was up before the stop");
    tokio::time::sleep(Duration::from_secs(5)).await;
    app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
    let done = app.wait_for(&id, &["completed", "failed"], Duration::from_secs(30)).await;
    assert_eq!(done["state"], "completed", "{done}");
    let hls = done["files"].as_array().unwrap().iter().find(|f| f["kind"] == "hls").expect("hls in files");
    assert_eq!(hls["uri"], format!("s3://rec/{prefix}/index.m3u8"));
    let local = dir.path().join("hls");
    std::fs::create_dir_all(&local).unwrap();
    for key in keys(&s3, &prefix).await {
        let bytes = s3.get(&Key::from(key.as_str())).await.unwrap().bytes().await.unwrap();
        std::fs::write(local.join(key.rsplit('/').next().unwrap()), bytes).unwrap();
    }
    let playlist = std::fs::read_to_string(local.join("index.m3u8")).unwrap();
    assert!(playlist.contains("#EXT-X-ENDLIST"), "{playlist}");
    let probe = ffprobe(&local.join("index.m3u8"));
    assert_eq!((stream(&probe, "video")["codec_name"].as_str(), stream(&probe, "audio")["codec_name"].as_str()), (Some("h264"), Some("aac")));
    assert!(done["files"].as_array().unwrap().iter().all(|f| f["path"].is_null()), "local copies are gone: {done}");
    app.stop().await;
    garage.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calls_timeline_and_chat_go_beside_the_video() {
    use wallflower::storage::{Delivery, FileInfo, KeyContext, StorageConfig, UploadPolicy, config::S3Profile};
    let dir = tempfile::tempdir().unwrap();
    let instance = format!("garage-{}", uuid::Uuid::new_v4().simple());
    let garage = Garage::start(&dir.path().join("garage"), "rec", &instance).await.unwrap();
    let mut config = StorageConfig::default();
    let profile: S3Profile = toml::from_str(garage.profile_toml().split_once('\n').unwrap().1).unwrap();
    config.profiles.insert("default".into(), profile);
    let spec = serde_json::from_value(json!({"type": "s3", "key": "calls/{room}/{id}.mp4"})).unwrap();
    let ctx = KeyContext { id: "rec_x".into(), date: "2026-11-25".into(), room: "1234".into() };
    let target = config.target(&spec, &ctx).unwrap();
    let policy = UploadPolicy { keep_local: false, ..UploadPolicy::default() };
    let (delivery, _) = Delivery::new(target, policy, reqwest::Client::new(), tokio_util::sync::CancellationToken::new(), Default::default());
    let files_dir = dir.path().join("files");
    std::fs::create_dir_all(&files_dir).unwrap();
    let write = |name: &str, text: &str| {
        std::fs::write(files_dir.join(name), text).unwrap();
        files_dir.join(name)
    };
    let media = wallflower::recorder::MediaInfo { start_s: 0.0, duration_s: 1.0, width: 2, height: 2, bytes: 5, video_codec: None, audio_codec: None };
    let files = vec![
        FileInfo::video(&write("recording.mp4", "video"), &media),
        FileInfo::sidecar("timeline", &write("timeline.json", "{}"), "application/json"),
        FileInfo::sidecar("chat", &write("chat.vtt", "WEBVTT\n"), "text/vtt"),
    ];
    let delivered = delivery.deliver(files, None).await.unwrap();
    let uris: Vec<&str> = delivered.iter().map(|f| f.uri.as_str()).collect();
    assert_eq!(uris, ["s3://rec/calls/1234/rec_x.mp4", "s3://rec/calls/1234/rec_x.timeline.json", "s3://rec/calls/1234/rec_x.chat.vtt"]);
    let s3 = client(&garage);
    let chat = s3.get(&Key::from("calls/1234/rec_x.chat.vtt")).await.unwrap().bytes().await.unwrap();
    assert_eq!(&chat[..], b"WEBVTT\n");
    assert!(delivered.iter().all(|f| f.path.is_none()) && !files_dir.exists(), "local copies removed once stored");
    garage.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relaunched_pipeline_uploads_the_joined_file_not_the_first_spool() {
    let (garage, app, dir) = setup("", true).await;
    let id = app.start(request(json!({"type": "s3", "key": "{id}.mp4"}), 30)).await;
    app.wait_until(&id, Duration::from_secs(30), |r| parts(r) >= 1).await;
    let ffmpeg = common::process_named(&app.instance, "ffmpeg");
    // SAFETY: SIGKILL to the ffmpeg this test's service started.
    unsafe { libc::kill(ffmpeg, libc::SIGKILL) };
    app.wait_until(&id, Duration::from_secs(20), |r| r["incidents"].as_array().is_some_and(|i| !i.is_empty())).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
    let done = app.wait_for(&id, &["completed", "failed"], Duration::from_secs(40)).await;
    assert_eq!(done["state"], "completed", "{done}");
    let video = &done["files"][0];
    let object = download(&client(&garage), &format!("{id}.mp4"), dir.path()).await;
    let local = std::fs::read(video["path"].as_str().unwrap()).unwrap();
    assert_eq!(std::fs::read(&object).unwrap(), local, "the object is byte for byte the joined recording");
    assert_plays(&object, done["duration_s"].as_f64().unwrap());
    app.stop().await;
    garage.stop().await;
}
