//! A recording survives its pipeline breaking: a part killed (SIGKILL) or frozen (SIGSTOP)
//! mid-recording is relaunched, the capture goes on, and one playable file comes out whose
//! length is the wall time less the reported gaps. Real Xorg, PulseAudio, Chromium and ffmpeg;
//! run one at a time (nextest group `e2e`).

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::*;
use serde_json::{Value, json};

const START: Duration = Duration::from_secs(30);
const FINISH: Duration = Duration::from_secs(40);
/// A crash is noticed at once: the gap is the relaunch (the target: under 3 s).
const CRASH_GAP: f64 = 3.0;
/// A freeze is noticed by the watchdog (6 s for ffmpeg, 8 s for the page), then relaunched.
const FREEZE_GAP: f64 = 11.0;

fn find(app: &TestApp, name: &str) -> i32 {
    process_named(&app.instance, name)
}

/// Records the test pattern, calls `break_it` after 4 s, waits for the relaunch, records 4 s
/// more, stops; returns the finished resource after checking the file against the wall clock.
async fn survives(break_it: impl FnOnce(&TestApp), part: &str, max_gap_s: f64) -> Value {
    let app = spawn_app().await;
    let id = app.start(json!({"source": {"type": "test"}, "output": {"width": 320, "height": 240}})).await;
    let rec = app.wait_for(&id, &["recording"], START).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    break_it(&app);
    let restarted = app.wait_until(&id, Duration::from_secs(30), |r| restarts(r) > 0).await;
    assert_eq!(restarted["state"], "recording", "{restarted}");
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (status, _) = app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
    let stopped_at = Utc::now();
    assert_eq!(status, 202);
    let done = app.wait_for(&id, &["completed", "failed"], FINISH).await;
    assert_eq!(done["state"], "completed", "{done}");
    let incident = done["incidents"].as_array().unwrap().iter().find(|i| i["kind"] == "pipeline_restart").cloned().unwrap();
    assert_eq!(incident["part"], part, "{incident}");
    let gap = incident["gap_s"].as_f64().unwrap();
    eprintln!("{part}: gap {gap:.2} s; {}", incident["message"]);
    assert!(gap > 0.0 && gap < max_gap_s, "gap {gap} s");

    let file = file_of(&done);
    let probe = ffprobe(&file);
    let duration: f64 = probe["format"]["duration"].as_str().unwrap().parse().unwrap();
    let started: DateTime<Utc> = rec["started_at"].as_str().unwrap().parse().unwrap();
    let wall = (stopped_at - started).num_milliseconds() as f64 / 1000.0;
    eprintln!("wall {wall:.2} s, file {duration:.2} s, wall - gap {:.2} s", wall - gap);
    assert!((duration - (wall - gap)).abs() < 0.8, "file {duration:.2} s, wall {wall:.2} s, gap {gap:.2} s");
    assert_eq!(stream(&probe, "video")["codec_name"], "h264");
    assert_eq!(stream(&probe, "audio")["codec_name"], "aac");
    // Picture and the test tone on both sides of the join.
    for at in [2.0, duration - 2.0] {
        assert!(frame_rgb(&file, at).iter().sum::<f64>() > 30.0, "black frame at {at} s");
    }
    // The test tone after the join too (a relaunched PulseAudio needs a new sink and browser).
    let tail = format!("atrim=start={:.2}", duration - 3.0);
    let level = mean_volume_db(&file, Some(&format!("{tail},bandpass=f=440:width_type=h:w=30")));
    assert!(level > -35.0, "no tone after the join: {level} dB");
    assert!(!file.with_file_name("recording.mp4.part").exists() && !file.with_file_name("recording.mp4.1.part").exists(), "spools left");
    let metrics = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    let series = format!("wallflower_pipeline_restarts_total{{part=\"{part}\"}} 1");
    assert!(metrics.lines().any(|l| l == series), "no `{series}` in /metrics:\n{metrics}");
    app.stop().await;
    done
}

fn restarts(rec: &Value) -> usize {
    rec["incidents"].as_array().map_or(0, |i| i.iter().filter(|i| i["kind"] == "pipeline_restart").count())
}

fn signal(pid: i32, signal: i32) {
    // SAFETY: a signal to a process this test's own service started.
    unsafe { libc::kill(pid, signal) };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_chromium_is_relaunched_and_the_file_goes_on() {
    survives(|app| signal(find(app, "chromium"), libc::SIGKILL), "chromium", CRASH_GAP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_ffmpeg_is_relaunched_and_the_file_goes_on() {
    survives(|app| signal(find(app, "ffmpeg"), libc::SIGKILL), "ffmpeg", CRASH_GAP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_x_server_is_relaunched_with_a_new_browser() {
    survives(|app| signal(find(app, "Xvfb"), libc::SIGKILL), "display", CRASH_GAP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_pulseaudio_is_relaunched_and_sound_comes_back() {
    survives(|app| signal(find(app, "pulseaudio"), libc::SIGKILL), "pulseaudio", CRASH_GAP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_restarts_a_frozen_ffmpeg() {
    survives(|app| signal(find(app, "ffmpeg"), libc::SIGSTOP), "ffmpeg", FREEZE_GAP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_restarts_a_frozen_page() {
    // Every renderer of the recorder's Chromium stops; the browser process itself runs on.
    survives(|app| {
        let browser = find(app, "chromium");
        for p in wallflower::recorder::process::instance_processes(&app.instance) {
            if p.ppid != std::process::id() as i32 && p.pid != browser && p.name.starts_with("chrom") {
                signal(p.pid, libc::SIGSTOP);
            }
        }
    }, "chromium", FREEZE_GAP).await;
}
