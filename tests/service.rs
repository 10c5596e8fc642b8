//! The `wallflower serve` process itself: SIGKILLed mid-recording and started again, it finishes
//! the recording from its spools (`completed`, `interrupted: true`); SIGTERM delivers every
//! running recording, refuses new ones with 503 meanwhile, and exits 0; a second signal exits at
//! once and the next start delivers what was left; the disk filling up refuses new recordings
//! (507) and stops running ones. Real pipeline; run one at a time (nextest group `e2e`).

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::*;
use serde_json::{Value, json};

/// One `wallflower serve` process over a data dir.
struct Service {
    child: Child,
    base: String,
    client: reqwest::Client,
}

impl Service {
    async fn start(data: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(env!("CARGO_BIN_EXE_wallflower"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--x264-preset", "ultrafast", "--shutdown-timeout", "60s"])
            .arg("--data-dir").arg(data)
            .env("WALLFLOWER_LAYOUTS_DIR", layouts_dir())
            .env("WALLFLOWER_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let service = Self { child, base: format!("http://127.0.0.1:{port}"), client: reqwest::Client::new() };
        for _ in 0..200 {
            if service.client.get(format!("{}/healthz", service.base)).send().await.is_ok() {
                return service;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the service did not answer within 10 s");
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value, Option<String>) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let resp = request.send().await.unwrap();
        let retry = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(String::from);
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null), retry)
    }

    async fn start_recording(&self) -> String {
        let body = json!({"source": {"type": "test"}, "output": {"width": 320, "height": 240}});
        let (status, rec, _) = self.call(reqwest::Method::POST, "/v1/recordings", Some(body)).await;
        assert_eq!(status, 201, "{rec}");
        rec["id"].as_str().unwrap().to_owned()
    }

    async fn wait(&self, id: &str, timeout: Duration, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let (_, rec, _) = self.call(reqwest::Method::GET, &format!("/v1/recordings/{id}"), None).await;
            if check(&rec) {
                return rec;
            }
            assert!(tokio::time::Instant::now() < deadline, "not reached within {timeout:?}: {rec}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The instance marker its children carry (read from the first child found).
    fn instance(&self) -> String {
        let pid = self.child.id() as i32;
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
            let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<i32>().ok());
            if ppid != Some(pid) {
                continue;
            }
            let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
            for var in environ.split(|b| *b == 0) {
                if let Some(value) = var.strip_prefix(b"WALLFLOWER_INSTANCE=") {
                    return String::from_utf8_lossy(value).into_owned();
                }
            }
        }
        panic!("no child of the service carries its instance marker");
    }

    fn signal(&self, signal: i32) {
        // SAFETY: a signal to the service process this test started.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// Waits for the process to exit; its exit code.
    fn exit_code(mut self) -> Option<i32> {
        for _ in 0..600 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("the service did not exit within 60 s");
    }
}

fn ts(rec: &Value, field: &str) -> DateTime<Utc> {
    rec[field].as_str().unwrap_or_else(|| panic!("no {field} in {rec}")).parse().unwrap()
}

fn duration_of(file: &Path) -> f64 {
    ffprobe(file)["format"]["duration"].as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_killed_mid_recording_finishes_it_when_started_again() {
    let data = tempfile::tempdir().unwrap();
    let service = Service::start(data.path()).await;
    let id = service.start_recording().await;
    let rec = service.wait(&id, Duration::from_secs(30), |r| r["state"] == "recording").await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let instance = service.instance();
    let killed_at = Utc::now();
    service.signal(libc::SIGKILL);
    assert_eq!(service.exit_code(), None, "killed by a signal");
    // Its children die with it (PR_SET_PDEATHSIG).
    assert_no_leftovers(&instance).await;

    let again = Service::start(data.path()).await;
    let done = again.wait(&id, Duration::from_secs(30), |r| ["completed", "failed"].contains(&r["state"].as_str().unwrap_or(""))).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["interrupted"], true, "{done}");
    assert_eq!(done["end_reason"], "interrupted");
    assert!(done["incidents"].as_array().unwrap().iter().any(|i| i["kind"] == "interrupted"), "{done}");
    let file = file_of(&done);
    let recorded = duration_of(&file);
    let wall = (killed_at - ts(&rec, "started_at")).num_milliseconds() as f64 / 1000.0;
    eprintln!("killed after {wall:.2} s of recording; the finalised file holds {recorded:.2} s");
    // A fragment is a second: at most about that is lost.
    assert!(recorded > wall - 2.0 && recorded <= wall + 0.5, "file {recorded:.2} s, recorded for {wall:.2} s");
    assert!(frame_rgb(&file, recorded / 2.0).iter().sum::<f64>() > 30.0, "black picture");
    assert!(!file.with_file_name("recording.mp4.part").exists(), "spool left");
    let metrics = again.client.get(format!("{}/metrics", again.base)).send().await.unwrap().text().await.unwrap();
    let series = "wallflower_recordings_completed_total{end_reason=\"interrupted\"} 1";
    assert!(metrics.lines().any(|l| l == series), "no `{series}` in /metrics:\n{metrics}");
    // PulseAudio always runs: its marker names the second instance.
    let instance = again.instance();
    again.signal(libc::SIGTERM);
    assert_eq!(again.exit_code(), Some(0));
    assert_no_leftovers(&instance).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_delivers_every_running_recording_refuses_new_ones_and_exits_0() {
    let data = tempfile::tempdir().unwrap();
    let service = Service::start(data.path()).await;
    let ids = [service.start_recording().await, service.start_recording().await];
    for id in &ids {
        service.wait(id, Duration::from_secs(40), |r| r["state"] == "recording").await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let instance = service.instance();
    service.signal(libc::SIGTERM);
    // The signal reaches the service's handler a moment later (CI once asked before it had): wait
    // for the health check to say so, then it must refuse new recordings as shutting down.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (status, health, _) = service.call(reqwest::Method::GET, "/healthz", None).await;
        if (status, health["status"].as_str()) == (503, Some("shutting_down")) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "5 s after SIGTERM /healthz says {status} {health}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // While the recordings are delivered, the service answers but takes no new ones.
    let body = json!({"source": {"type": "test"}});
    let (status, error, retry) = service.call(reqwest::Method::POST, "/v1/recordings", Some(body)).await;
    assert_eq!((status, error["error"]["code"].as_str()), (503, Some("shutting_down")), "{error}");
    assert!(retry.is_some(), "503 without Retry-After");
    assert_eq!(service.exit_code(), Some(0));
    assert_no_leftovers(&instance).await;

    let store = wallflower::jobs::SqliteStore::open(&data.path().join("wallflower.db")).unwrap();
    for id in &ids {
        let rec = wallflower::jobs::RecordingStore::get(&store, id).unwrap().unwrap();
        assert_eq!(rec.state, wallflower::jobs::RecordingState::Completed, "{rec:?}");
        assert_eq!(rec.end_reason, Some(wallflower::recorder::EndReason::Shutdown));
        let file = rec.files[0].path.clone().unwrap();
        assert!(duration_of(&file) > 2.5, "{}", file.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once_and_the_next_start_delivers_what_was_left() {
    let data = tempfile::tempdir().unwrap();
    let service = Service::start(data.path()).await;
    let id = service.start_recording().await;
    service.wait(&id, Duration::from_secs(30), |r| r["state"] == "recording").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let instance = service.instance();
    // A frozen ffmpeg holds the graceful stop up (it waits 10 s for ffmpeg to finish its file).
    let ffmpeg = process_named(&instance, "ffmpeg");
    // SAFETY: SIGSTOP to the ffmpeg of the service this test started.
    unsafe { libc::kill(ffmpeg, libc::SIGSTOP) };
    service.signal(libc::SIGTERM);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let hurried = std::time::Instant::now();
    service.signal(libc::SIGTERM);
    assert_eq!(service.exit_code(), Some(0));
    eprintln!("exited {} ms after the second signal", hurried.elapsed().as_millis());
    assert!(hurried.elapsed() < Duration::from_secs(5), "the second signal did not hurry the exit");
    assert_no_leftovers(&instance).await;

    let again = Service::start(data.path()).await;
    let done = again.wait(&id, Duration::from_secs(30), |r| ["completed", "failed"].contains(&r["state"].as_str().unwrap_or(""))).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["interrupted"], true, "{done}");
    assert!(duration_of(&file_of(&done)) > 2.5);
    let instance = again.instance();
    again.signal(libc::SIGTERM);
    assert_eq!(again.exit_code(), Some(0));
    assert_no_leftovers(&instance).await;
}

/// A small tmpfs, unmounted when dropped (needs root, like the network-namespace tests).
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(mib: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"]).arg(dir.path()).status().unwrap();
        assert!(status.success(), "cannot mount a tmpfs (the tests run as root)");
        Self { dir }
    }

    /// Writes `mib` MiB into a new file on the disk.
    fn fill(&self, name: &str, mib: usize) {
        std::fs::write(self.dir.path().join(name), vec![1u8; mib * 1024 * 1024]).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_new_recordings_and_stops_running_ones() {
    let disk = SmallDisk::mount(320);
    let data = disk.dir.path().join("data");
    let app = spawn_app_with(|args| {
        args.common.data_dir = Some(data.clone());
        args.min_free_disk_mib = Some(200);
        args.stop_free_disk_mib = Some(100);
    })
    .await;
    let body = json!({"source": {"type": "test"}, "output": {"width": 320, "height": 240}});
    let id = app.start(body.clone()).await;
    app.wait_for(&id, &["recording"], Duration::from_secs(30)).await;
    disk.fill("filler-1", 150);
    let (status, error) = app.post("/v1/recordings", body).await;
    assert_eq!((status, error["error"]["code"].as_str()), (507, Some("insufficient_storage")), "{error}");
    assert_eq!(app.get(&format!("/v1/recordings/{id}")).await.1["state"], "recording");
    tokio::time::sleep(Duration::from_secs(2)).await;
    disk.fill("filler-2", 85);
    let filled = std::time::Instant::now();
    let done = app.wait_for(&id, &["completed", "failed"], Duration::from_secs(30)).await;
    eprintln!("stopped and delivered {} ms after the disk filled up", filled.elapsed().as_millis());
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["end_reason"], "low_disk_space");
    assert!(duration_of(&file_of(&done)) > 2.0);
    app.stop().await;
}
