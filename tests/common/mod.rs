//! Test helpers: a real service on port 0 with its own data dir, an HTTP client, media checks
//! with ffprobe/ffmpeg, and the leftover-process check every end-to-end test ends with; the API
//! over a stand-in recorder in [`standin`]; `/metrics` parsed in [`scrape`].

#![allow(dead_code)]

pub mod scrape;
pub mod standin;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;
use wallflower::app::Application;
use wallflower::config::{ServeArgs, Settings};

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub instance: String,
    pub data: tempfile::TempDir,
    /// The browsers' runtime dir (profiles, X cookies, the audio socket).
    pub browser_dir: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// Starts the service on 127.0.0.1:0 with a fresh data dir.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the service like [`spawn_app`], with `configure` changing the settings first.
pub async fn spawn_app_with(configure: impl FnOnce(&mut ServeArgs)) -> TestApp {
    let data = tempfile::tempdir().expect("temp dir");
    let mut args = ServeArgs { listen: Some("127.0.0.1:0".parse().unwrap()), ..ServeArgs::default() };
    args.max_concurrent = Some(4);
    args.common.data_dir = Some(data.path().to_path_buf());
    args.common.layouts_dir = Some(layouts_dir());
    args.common.x264_preset = Some("ultrafast".into());
    configure(&mut args);
    let settings = Settings::resolve(&args).expect("settings");
    let app = Application::build(settings).await.expect("service starts (run scripts/setup?)");
    let base = format!("http://{}", app.local_addr());
    let instance = app.instance().to_owned();
    let browser_dir = app.browser_dir().to_path_buf();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run(async move {
        let _ = rx.await;
    }));
    TestApp { base, client: reqwest::Client::new(), instance, data, browser_dir, shutdown: Some(tx), task: Some(task) }
}

impl TestApp {
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let resp = self.client.post(format!("{}{path}", self.base)).json(&body).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        let resp = self.client.patch(format!("{}{path}", self.base)).json(&body).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Starts a recording and returns its id.
    pub async fn start(&self, body: Value) -> String {
        let (status, rec) = self.post("/v1/recordings", body).await;
        assert_eq!(status, 201, "{rec}");
        rec["id"].as_str().unwrap().to_owned()
    }

    /// Polls until the recording's state is one of `states`; panics after `timeout`.
    pub async fn wait_for(&self, id: &str, states: &[&str], timeout: Duration) -> Value {
        self.wait_until(id, timeout, |rec| states.contains(&rec["state"].as_str().unwrap_or(""))).await
    }

    /// Polls the recording until `check` holds; panics after `timeout`.
    pub async fn wait_until(&self, id: &str, timeout: Duration, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let (_, rec) = self.get(&format!("/v1/recordings/{id}")).await;
            if check(&rec) {
                return rec;
            }
            assert!(tokio::time::Instant::now() < deadline, "condition not met within {timeout:?}: {rec}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Shuts the service down and checks nothing it started is left: no process carrying its
    /// instance marker, no per-recording temp dir (browser profiles, the capture's FIFOs, Xorg's
    /// files) in the runtime dir.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("service task").expect("service ran");
        }
        assert_no_leftovers(&self.instance).await;
        let tmp = &self.browser_dir;
        let left: Vec<_> = std::fs::read_dir(tmp).map(|d| d.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
        let temp = |n: &&std::ffi::OsString| ["rec-", "sound-", "picture-", "xorg-"].iter().any(|p| n.to_string_lossy().starts_with(p));
        let recs: Vec<_> = left.iter().filter(temp).collect();
        assert!(recs.is_empty(), "temp dirs left in {}: {recs:?}", tmp.display());
        self.data
    }
}

/// Live processes of the service `instance`, as `(pid, name)`.
pub fn processes_of(instance: &str) -> Vec<(i32, String)> {
    wallflower::recorder::process::instance_processes(instance).into_iter().map(|p| (p.pid, p.name)).collect()
}

/// The pid of `instance`'s process named `name`; for Chromium the browser itself (started by
/// this test process's service), not its helpers.
pub fn process_named(instance: &str, name: &str) -> i32 {
    let me = std::process::id() as i32;
    wallflower::recorder::process::instance_processes(instance)
        .into_iter()
        .find(|p| p.name == name && (name != "chromium" || p.ppid == me))
        .unwrap_or_else(|| panic!("no {name} runs"))
        .pid
}

/// Waits (up to 5 s) until no process of `instance` is left.
pub async fn assert_no_leftovers(instance: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_of(instance);
        if left.is_empty() {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "processes left running: {left:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// ffprobe's view of a file.
pub fn ffprobe(file: &Path) -> Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-print_format", "json", "-show_format", "-show_streams", "-count_frames"])
        .arg(file)
        .output()
        .expect("ffprobe runs");
    assert!(out.status.success(), "ffprobe {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The stream of `kind` (`video`/`audio`) in a probe.
pub fn stream<'a>(probe: &'a Value, kind: &str) -> &'a Value {
    probe["streams"].as_array().unwrap().iter().find(|s| s["codec_type"] == kind).unwrap_or_else(|| panic!("no {kind} stream"))
}

/// Mean volume (dB) of the file's audio after `filter` (e.g. a bandpass), via volumedetect.
pub fn mean_volume_db(file: &Path, filter: Option<&str>) -> f64 {
    let af = match filter {
        Some(f) => format!("{f},volumedetect"),
        None => "volumedetect".into(),
    };
    let out = Command::new("ffmpeg").args(["-hide_banner", "-nostats", "-i"]).arg(file)
        .args(["-vn", "-af", &af, "-f", "null", "-"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text.lines().find(|l| l.contains("mean_volume:")).unwrap_or_else(|| panic!("no volumedetect output: {text}"));
    line.split("mean_volume:").nth(1).unwrap().trim().trim_end_matches(" dB").parse().unwrap()
}

/// Mean volume of one tone: a narrow bandpass around `hz`.
pub fn tone_level_db(file: &Path, hz: u32) -> f64 {
    mean_volume_db(file, Some(&format!("bandpass=f={hz}:width_type=h:w=30,bandpass=f={hz}:width_type=h:w=30")))
}

/// Average RGB of the frame at `at_s` seconds.
pub fn frame_rgb(file: &Path, at_s: f64) -> [f64; 3] {
    region_rgb(file, at_s, "scale=64:36")
}

/// Average RGB of a region of the frame at `at_s`, picked by an ffmpeg filter such as a `crop`.
pub fn region_rgb(file: &Path, at_s: f64, filter: &str) -> [f64; 3] {
    let out = Command::new("ffmpeg").args(["-hide_banner", "-v", "error", "-ss", &at_s.to_string(), "-i"]).arg(file)
        .args(["-frames:v", "1", "-vf", filter, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output().unwrap();
    assert!(!out.stdout.is_empty(), "no frame at {at_s}s: {}", String::from_utf8_lossy(&out.stderr));
    let px = out.stdout.len() as f64 / 3.0;
    let mut sum = [0.0; 3];
    for chunk in out.stdout.chunks_exact(3) {
        for c in 0..3 {
            sum[c] += f64::from(chunk[c]);
        }
    }
    sum.map(|s| s / px)
}

/// The path of the recording's first file.
pub fn file_of(rec: &Value) -> PathBuf {
    PathBuf::from(rec["files"][0]["path"].as_str().unwrap_or_else(|| panic!("no file in {rec}")))
}

/// Share of the frame at `at_s` whose pixels are within `tolerance` (per channel) of `rgb`.
pub fn colour_share(file: &Path, at_s: f64, rgb: [u8; 3], tolerance: u8) -> f64 {
    colour_share_in(file, at_s, "scale=160:90", rgb, tolerance)
}

/// [`colour_share`] of the picture an ffmpeg `filter` leaves (e.g. a crop) at full detail.
pub fn colour_share_in(file: &Path, at_s: f64, filter: &str, rgb: [u8; 3], tolerance: u8) -> f64 {
    let out = Command::new("ffmpeg").args(["-hide_banner", "-v", "error", "-ss", &at_s.to_string(), "-i"]).arg(file)
        .args(["-frames:v", "1", "-vf", filter, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output().unwrap();
    let pixels: Vec<&[u8]> = out.stdout.chunks_exact(3).collect();
    assert!(!pixels.is_empty(), "no frame at {at_s}s");
    let near = |p: &&[u8]| (0..3).all(|c| p[c].abs_diff(rgb[c]) <= tolerance);
    pixels.iter().filter(|p| near(p)).count() as f64 / pixels.len() as f64
}

/// Video packet times of a file, in order.
pub fn video_times(file: &Path) -> Vec<f64> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time", "-of", "csv=p=0"])
        .arg(file)
        .output()
        .expect("ffprobe runs");
    let mut times: Vec<f64> = String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.trim().trim_end_matches(',').parse().ok()).collect();
    times.sort_by(f64::total_cmp);
    times
}

/// A sandbox for services whose browsers never start (the stand-in recorder, a missing Chromium).
pub fn no_browsers() -> std::sync::Arc<wallflower::sandbox::Sandbox> {
    std::sync::Arc::new(wallflower::sandbox::Sandbox::new(None, true).expect("runtime dir"))
}

/// The repository's layouts directory.
pub fn layouts_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/layouts"))
}

/// Runs `test` in a fresh network namespace (Janus needs one), on a runtime whose threads are
/// all inside it.
pub fn in_namespace<F: std::future::Future<Output = ()>>(test: impl FnOnce() -> F) {
    wallflower::harness::netns::isolate().expect("network namespace (run as root)");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(test());
}
