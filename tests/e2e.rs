//! End to end with the real pipeline: Xorg, PulseAudio, Chromium, ffmpeg. Run one at a time
//! (nextest group `e2e`). Every test ends with `TestApp::stop`, which checks for leftovers.

mod common;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::*;
use serde_json::json;

const START: Duration = Duration::from_secs(30);
const FINISH: Duration = Duration::from_secs(30);

fn ts(rec: &serde_json::Value, field: &str) -> DateTime<Utc> {
    rec[field].as_str().unwrap_or_else(|| panic!("no {field} in {rec}")).parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_source_records_h264_aac_with_picture_and_sound() {
    let app = spawn_app().await;
    let posted = Instant::now();
    let id = app.start(json!({"source": {"type": "test"}, "output": {"width": 640, "height": 360, "fps": 30}})).await;
    let rec = app.wait_for(&id, &["recording"], START).await;
    eprintln!("POST → recording: {:?}", posted.elapsed());
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (status, _) = app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
    let stopped_at = Utc::now();
    assert_eq!(status, 202);
    let done = app.wait_for(&id, &["completed", "failed"], FINISH).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["end_reason"], "stopped");
    let first_frame = ts(&rec, "started_at");
    eprintln!("POST → first frame: {} ms", (first_frame - ts(&done, "created_at")).num_milliseconds());

    let file = file_of(&done);
    let probe = ffprobe(&file);
    let (video, audio) = (stream(&probe, "video"), stream(&probe, "audio"));
    assert_eq!(video["codec_name"], "h264");
    assert_eq!(audio["codec_name"], "aac");
    assert_eq!((video["width"].as_u64(), video["height"].as_u64()), (Some(640), Some(360)));
    let duration: f64 = probe["format"]["duration"].as_str().unwrap().parse().unwrap();
    let expected = (stopped_at - first_frame).num_milliseconds() as f64 / 1000.0;
    assert!((duration - expected).abs() <= 0.5, "file {duration:.2}s, wall {expected:.2}s");
    let frames: f64 = video["nb_read_frames"].as_str().unwrap().parse().unwrap();
    let video_duration: f64 = video["duration"].as_str().unwrap().parse().unwrap();
    let fps = frames / video_duration;
    eprintln!("file {duration:.2}s (video {video_duration:.2}s, {frames} frames), wall {expected:.2}s");
    assert!((27.0..=31.0).contains(&fps), "{fps:.1} fps");
    assert!(mean_volume_db(&file, None) > -40.0, "audio is silent");
    // The pattern moves every frame: a long run of one picture is a freeze (the start once held
    // its first picture for a second while ffmpeg read ahead in the sound input).
    let moving = wallflower::measure::frames::distinct("ffmpeg".as_ref(), &file, None).unwrap();
    eprintln!("frames: {moving:?}");
    assert!(moving.longest_identical_run <= 12, "the picture froze: {moving:?}");
    let first = frame_rgb(&file, 0.0);
    assert!(first.iter().sum::<f64>() / 3.0 > 30.0, "first frame is black: {first:?}");
    assert_eq!(done["files"][0]["bytes"].as_u64(), Some(std::fs::metadata(&file).unwrap().len()));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_recordings_do_not_hear_each_other() {
    let app = spawn_app().await;
    let body = |hz: u32| json!({"source": {"type": "test", "tone_hz": hz}, "output": {"width": 320, "height": 180, "fps": 15}});
    let low = app.start(body(440)).await;
    let high = app.start(body(1200)).await;
    app.wait_for(&low, &["recording"], START).await;
    app.wait_for(&high, &["recording"], START).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    for id in [&low, &high] {
        app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
    }
    let low_file = file_of(&app.wait_for(&low, &["completed"], FINISH).await);
    let high_file = file_of(&app.wait_for(&high, &["completed"], FINISH).await);
    let (l440, l1200) = (tone_level_db(&low_file, 440), tone_level_db(&low_file, 1200));
    let (h440, h1200) = (tone_level_db(&high_file, 440), tone_level_db(&high_file, 1200));
    eprintln!("440 Hz recording: 440={l440:.1} 1200={l1200:.1} dB; 1200 Hz recording: 440={h440:.1} 1200={h1200:.1} dB");
    assert!(l440 > -40.0 && h1200 > -40.0, "own tones too quiet");
    assert!(l440 - l1200 > 25.0, "440 Hz recording hears 1200 Hz");
    assert!(h1200 - h440 > 25.0, "1200 Hz recording hears 440 Hz");
    app.stop().await;
}

/// The pages these tests record are served on loopback, which the URL policy refuses by default.
fn allow_loopback(args: &mut wallflower::config::ServeArgs) {
    args.common.url_allow_private = Some(true);
}

/// Serves one page (or status) on a loopback port for the `web` source.
async fn serve_page(status: u16, html: &'static str) -> (String, tokio::task::JoinHandle<()>) {
    use axum::http::StatusCode;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let code = StatusCode::from_u16(status).unwrap();
    let app = axum::Router::new().fallback(move || async move { (code, axum::response::Html(html)) });
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/page"), task)
}

/// A red page with a green 16 px square in its bottom-right corner: shows whether the page's
/// viewport is exactly the recorded frame.
const CORNER_PAGE: &str = "<html><body style='margin:0;background:#e01010'><h1>hello</h1>\
    <div style='position:fixed;right:0;bottom:0;width:16px;height:16px;background:#10e010'></div></body></html>";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_source_records_a_local_page_edge_to_edge() {
    let (url, server) = serve_page(200, CORNER_PAGE).await;
    let app = spawn_app_with(allow_loopback).await;
    // 320 px is narrower than Chromium's smallest window; 640 is not.
    for (w, h) in [(320, 240), (640, 360)] {
        let id = app.start(json!({"source": {"type": "web", "url": url}, "output": {"width": w, "height": h}})).await;
        app.wait_for(&id, &["recording"], START).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
        let done = app.wait_for(&id, &["completed", "failed"], FINISH).await;
        assert_eq!(done["state"], "completed", "{done}");
        let file = file_of(&done);
        let [r, g, b] = frame_rgb(&file, 1.0);
        assert!(r > 150.0 && g < 80.0 && b < 80.0, "{w}x{h}: page not red: {r:.0},{g:.0},{b:.0}");
        let [r, g, b] = region_rgb(&file, 1.0, &format!("crop=8:8:{}:{}", w - 10, h - 10));
        assert!(g > 150.0 && r < 100.0, "{w}x{h}: the page's corner is not in the frame's corner: {r:.0},{g:.0},{b:.0}");
    }
    app.stop().await;
    server.abort();
}

/// A loopback address that refuses connections: a TCP socket bound there but not listening,
/// held open so no other process (another test's server) can take the port meanwhile, as one
/// did once a dropped listener had freed it.
fn refusing_port() -> (std::net::SocketAddr, tokio::net::TcpSocket) {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind("127.0.0.1:0".parse().unwrap()).expect("bind");
    (socket.local_addr().expect("local address"), socket)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_or_missing_pages_fail_with_page_load_failed() {
    let (missing, server) = serve_page(404, "<h1>not here</h1>").await;
    let (closed, _held) = refusing_port();
    let app = spawn_app_with(allow_loopback).await;
    for (url, why) in [(format!("http://{closed}/nothing"), "ERR_CONNECTION_REFUSED"), (missing, "404")] {
        let id = app.start(json!({"source": {"type": "web", "url": url}, "output": {"width": 320, "height": 240}})).await;
        let done = app.wait_for(&id, &["failed", "completed"], START).await;
        assert_eq!(done["state"], "failed", "{done}");
        assert_eq!(done["error"]["code"], "page_load_failed", "{done}");
        let message = done["error"]["message"].as_str().unwrap();
        assert!(message.contains(why), "{message}");
        assert_eq!(done["files"], json!([]));
    }
    app.stop().await;
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_duration_stops_and_delivers() {
    let app = spawn_app().await;
    let id = app.start(json!({"source": {"type": "test"}, "output": {"width": 320, "height": 240}, "limits": {"max_duration_s": 2}})).await;
    let done = app.wait_for(&id, &["completed", "failed"], START + FINISH).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["end_reason"], "max_duration");
    let duration = done["duration_s"].as_f64().unwrap();
    assert!((1.5..=2.7).contains(&duration), "{duration}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finalises_running_recordings() {
    use wallflower::jobs::{RecordingStore, SqliteStore};
    let app = spawn_app().await;
    let id = app.start(json!({"source": {"type": "test"}, "output": {"width": 320, "height": 240}})).await;
    app.wait_for(&id, &["recording"], START).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let data = app.stop().await;
    let store = SqliteStore::open(&data.path().join("wallflower.db")).unwrap();
    let rec = store.get(&id).unwrap().expect("recording persisted");
    assert_eq!(rec.state, wallflower::jobs::RecordingState::Completed, "{rec:?}");
    assert_eq!(rec.end_reason, Some(wallflower::recorder::EndReason::Shutdown));
    assert!(rec.duration_s.unwrap() >= 1.5, "{rec:?}");
    assert!(rec.files[0].path.as_ref().is_some_and(|p| p.exists()));
}

/// The recorder's Chromium runs as the unprivileged user (as root: `wallflower`, made by
/// scripts/setup) with its sandbox: no `--no-sandbox`, renderers in a user namespace of their
/// own. Its display lets in only holders of the cookie.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorder_chromium_runs_sandboxed_as_the_unprivileged_user() {
    let app = spawn_app().await;
    let id = app.start(json!({"source": {"type": "test"}, "output": {"width": 320, "height": 240}})).await;
    app.wait_for(&id, &["recording"], START).await;
    let pids: Vec<i32> = processes_of(&app.instance).into_iter().map(|(pid, _)| pid).collect();
    let ps = std::process::Command::new("ps").args(["-o", "user,pid,args", "-p"])
        .arg(pids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")).output().unwrap();
    eprintln!("{}", String::from_utf8_lossy(&ps.stdout));
    let browsers: Vec<(i32, Vec<String>)> = pids.iter()
        .map(|&pid| (pid, cmdline(pid)))
        .filter(|(_, args)| args.first().is_some_and(|a| a.starts_with("/usr/lib/chromium/")))
        .collect();
    assert!(browsers.len() >= 3, "no browser with its helpers among {pids:?}");
    // Each decoded call picture is shown at the next frame, not by Chromium's cadence estimate
    // (BENCHMARKS.md, "The smoothing flag taken").
    let main = browsers.iter().find(|(_, args)| !args.iter().any(|a| a.starts_with("--type="))).expect("the browser process");
    assert!(main.1.iter().any(|a| a == "--disable-rtc-smoothness-algorithm"), "{:?}", main.1);
    let expected = browser_uid();
    for (pid, args) in &browsers {
        assert_eq!(uids(*pid), [expected; 4], "pid {pid} {:?}", args[0]);
        assert!(!args.iter().any(|a| a == "--no-sandbox"), "pid {pid} runs with --no-sandbox: {args:?}");
    }
    let own_ns = std::fs::read_link("/proc/self/ns/user").unwrap();
    let sandboxed = browsers.iter().filter(|(_, args)| args.iter().any(|a| a == "--type=renderer"))
        .filter(|(pid, _)| std::fs::read_link(format!("/proc/{pid}/ns/user")).is_ok_and(|ns| ns != own_ns))
        .count();
    assert!(sandboxed >= 1, "no renderer in a user namespace of its own");
    let x = pids.iter().map(|&pid| cmdline(pid)).find(|a| a.first().is_some_and(|p| p.ends_with("Xorg") || p.ends_with("Xvfb"))).expect("an X server runs");
    let after = |flag: &str| x.iter().skip_while(|a| *a != flag).nth(1).cloned().unwrap_or_default();
    let display: u32 = x[1].trim_start_matches(':').parse().unwrap();
    let cookie = std::fs::read(after("-auth")).unwrap();
    assert_eq!(x_connect(display, None), 0, "the display lets a client in without the cookie");
    assert_eq!(x_connect(display, Some(&cookie[cookie.len() - 16..])), 1, "the cookie does not open the display");
    // The capture's FIFOs are in the runtime dir, which the next service sweeps if this one is
    // killed before it removes them.
    let ffmpeg = pids.iter().map(|&pid| cmdline(pid)).find(|a| a.first().is_some_and(|p| p.ends_with("ffmpeg"))).expect("ffmpeg runs");
    let fifos: Vec<&String> = ffmpeg.iter().filter(|a| a.ends_with(".fifo")).collect();
    assert_eq!(fifos.len(), 2, "picture and sound FIFOs: {ffmpeg:?}");
    assert!(fifos.iter().all(|f| f.starts_with(app.browser_dir.to_str().unwrap())), "{fifos:?} not in {}", app.browser_dir.display());
    app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
    let done = app.wait_for(&id, &["completed", "failed"], FINISH).await;
    assert_eq!(done["state"], "completed", "{done}");
    app.stop().await;
}

/// The process's arguments. Chromium's helpers rewrite theirs into one space-separated string,
/// so spaces separate too (no path here has one).
fn cmdline(pid: i32) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw).split(['\0', ' ']).filter(|a| !a.is_empty()).map(str::to_owned).collect()
}

/// Real, effective, saved and filesystem uid.
fn uids(pid: i32) -> [u32; 4] {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    let ids: Vec<u32> = line.split_whitespace().skip(1).map(|n| n.parse().unwrap()).collect();
    [ids[0], ids[1], ids[2], ids[3]]
}

/// The uid the browsers should run as: `wallflower`'s as root, else our own.
fn browser_uid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        return euid;
    }
    let out = std::process::Command::new("id").args(["-u", "wallflower"]).output().unwrap();
    assert!(out.status.success(), "no user wallflower (run scripts/setup)");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Opens an X connection to `:display` (with `cookie` as MIT-MAGIC-COOKIE-1, or no
/// authorisation) and gives the server's answer: 0 refused, 1 accepted.
fn x_connect(display: u32, cookie: Option<&[u8]>) -> u8 {
    use std::io::{Read, Write};
    let mut x = std::os::unix::net::UnixStream::connect(format!("/tmp/.X11-unix/X{display}")).unwrap();
    let (name, data): (&[u8], &[u8]) = cookie.map_or((b"", b""), |c| (b"MIT-MAGIC-COOKIE-1", c));
    let mut setup = vec![b'l', 0, 11, 0, 0, 0];
    setup.extend_from_slice(&(name.len() as u16).to_le_bytes());
    setup.extend_from_slice(&(data.len() as u16).to_le_bytes());
    setup.extend_from_slice(&[0, 0]);
    for field in [name, data] {
        setup.extend_from_slice(field);
        setup.resize(setup.len().next_multiple_of(4), 0);
    }
    x.write_all(&setup).unwrap();
    let mut answer = [0u8; 1];
    x.read_exact(&mut answer).unwrap();
    answer[0]
}
