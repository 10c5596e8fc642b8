//! The recording's X display with `display_server = "xorg"`: Xorg whose mode refreshes at the
//! file's frame rate, so Chromium draws no more often than the file keeps. Real Xorg, Chromium
//! and ffmpeg; run one at a time (nextest group `e2e`).

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use wallflower::recorder::display::ServerChoice;
use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::Event;
use x11rb::protocol::damage::{self, ConnectionExt as _};

const START: Duration = Duration::from_secs(30);
const FINISH: Duration = Duration::from_secs(30);

/// The X server of `instance`'s recording: its name, display number and cookie file.
fn x_server(instance: &str) -> (String, u32, String) {
    let (pid, name) = processes_of(instance).into_iter().find(|(_, name)| name == "Xorg" || name == "Xvfb").expect("an X server runs");
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let args: Vec<String> = String::from_utf8_lossy(&raw).split('\0').map(str::to_owned).collect();
    let auth = args.iter().skip_while(|a| *a != "-auth").nth(1).cloned().expect("-auth");
    (name, args[1].trim_start_matches(':').parse().unwrap(), auth)
}

/// How many frames a second Chromium put on the screen of `:display` over `window`: damage
/// events within 5 ms of each other belong to one frame.
fn frames_drawn(display: u32, auth: &str, window: Duration) -> f64 {
    let (conn, _socket) = wallflower::recorder::grab::open(display, auth.as_ref()).unwrap();
    assert!(conn.extension_information(damage::X11_EXTENSION_NAME).unwrap().is_some());
    conn.damage_query_version(1, 1).unwrap().reply().unwrap();
    let root = conn.setup().roots[0].root;
    conn.damage_create(conn.generate_id().unwrap(), root, damage::ReportLevel::RAW_RECTANGLES).unwrap();
    conn.flush().unwrap();
    let (until, mut last, mut frames) = (Instant::now() + window, None::<Instant>, 0);
    while Instant::now() < until {
        match conn.poll_for_event().unwrap() {
            Some(Event::DamageNotify(_)) => {
                let now = Instant::now();
                if last.is_none_or(|t| now - t > Duration::from_millis(5)) {
                    frames += 1;
                }
                last = Some(now);
            }
            Some(_) => {}
            None => std::thread::sleep(Duration::from_micros(300)),
        }
    }
    f64::from(frames) / window.as_secs_f64()
}

/// The test pattern changes on every frame Chromium draws: on Xorg at 30 Hz that is 30 a
/// second, not Xvfb's 60, and the file still has its 30 fps of a moving picture.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_xorg_chromium_draws_at_the_files_frame_rate() {
    let app = spawn_app_with(|args| args.common.display_server = Some(ServerChoice::Xorg)).await;
    let id = app.start(json!({"source": {"type": "test"}, "output": {"width": 640, "height": 360, "fps": 30}})).await;
    app.wait_for(&id, &["recording"], START).await;
    let (name, display, auth) = x_server(&app.instance);
    assert_eq!(name, "Xorg");
    let drawn = tokio::task::spawn_blocking(move || frames_drawn(display, &auth, Duration::from_secs(3))).await.unwrap();
    eprintln!("Chromium drew {drawn:.1} frames a second");
    assert!((25.0..=31.0).contains(&drawn), "Chromium drew {drawn:.1} frames a second");
    app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
    let done = app.wait_for(&id, &["completed", "failed"], FINISH).await;
    assert_eq!(done["state"], "completed", "{done}");
    let file = file_of(&done);
    let video = stream(&ffprobe(&file), "video").clone();
    assert_eq!((video["width"].as_u64(), video["height"].as_u64()), (Some(640), Some(360)));
    let frames: f64 = video["nb_read_frames"].as_str().unwrap().parse().unwrap();
    let fps = frames / video["duration"].as_str().unwrap().parse::<f64>().unwrap();
    assert!((27.0..=31.0).contains(&fps), "{fps:.1} fps");
    let moving = wallflower::measure::frames::distinct("ffmpeg".as_ref(), &file, None).unwrap();
    eprintln!("{moving:?}");
    assert!(moving.distinct_ratio > 0.6, "the picture stood still: {moving:?}");
    assert!(mean_volume_db(&file, None) > -40.0, "the sound is silent");
    app.stop().await;
}
