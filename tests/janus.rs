//! Recording real calls: a Janus from Debian in a private network namespace, synthetic
//! participants (headless Chromium with fake devices, or ffmpeg over plain RTP), and the service
//! recording as a hidden subscriber. One at a time (nextest group `e2e`).

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use wallflower::harness::janus::{PIN, PROTECTED_ROOM, ROOM, URL};
use wallflower::harness::{CallHarness, ParticipantSpec, janus_client};

const START: Duration = Duration::from_secs(30);
const FINISH: Duration = Duration::from_secs(30);
const RED: [u8; 3] = [0xd0, 0x20, 0x20];
const BLUE: [u8; 3] = [0x20, 0x40, 0xe0];
const GREEN: [u8; 3] = [0x20, 0xb0, 0x40];
const MAGENTA: [u8; 3] = [0xf0, 0x10, 0xf0];

fn alice() -> ParticipantSpec {
    ParticipantSpec::new("Alice", "0xd02020", 440)
}

fn bob() -> ParticipantSpec {
    ParticipantSpec::new("Bob", "0x2040e0", 1200)
}

fn carol() -> ParticipantSpec {
    ParticipantSpec::new("Carol", "0x20b040", 2600)
}

fn call_source(extra: Value) -> Value {
    let mut body = json!({"source": {"type": "janus", "server": URL, "room": ROOM}, "output": {"width": 640, "height": 360}});
    if let (Some(target), Some(more)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            target.insert(k.clone(), v.clone());
        }
    }
    body
}

async fn finish(app: TestApp, call: CallHarness) {
    let instance = call.instance.clone();
    app.stop().await;
    call.stop().await;
    assert_no_leftovers(&instance).await;
}

#[test]
fn two_participants_are_recorded_and_the_recorder_stays_hidden() {
    in_namespace(|| async {
        let mut call = CallHarness::start(&layouts_dir()).await.unwrap();
        call.join(alice()).await.unwrap();
        call.join(bob()).await.unwrap();
        let app = spawn_app().await;
        let posted = std::time::Instant::now();
        // Both publish before the page is ready and never change: the recorder must know the
        // call is not empty from the page's first status (it sends one only on a change).
        let branding = json!({"colors": {"primary": "#ff00ff"}, "custom_css": ".wf-tile { --wf-ring: 8px; }"});
        let id = app.start(call_source(json!({"limits": {"stop_when_empty_s": 2}, "branding": branding}))).await;
        let rec = app.wait_for(&id, &["recording"], START).await;
        eprintln!("POST → recording {:?}", posted.elapsed());
        tokio::time::sleep(Duration::from_secs(4)).await;
        let listed = janus_client::participants(URL, ROOM).await.unwrap();
        let names: Vec<_> = listed.iter().filter_map(|p| p.display.clone()).collect();
        assert_eq!(listed.len(), 2, "the recorder shows in the room: {names:?}");
        let (_, live) = app.get(&format!("/v1/recordings/{id}")).await;
        assert_eq!(live["participants"].as_array().map(Vec::len), Some(2), "{live}");
        assert_eq!(live["waiting_for_participants"], false);
        app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
        let done = app.wait_for(&id, &["completed", "failed"], FINISH).await;
        assert_eq!(done["state"], "completed", "{done}");
        assert_eq!(done["end_reason"], "stopped", "{done}");
        let _ = rec;
        let file = file_of(&done);
        let (red, blue) = (colour_share(&file, 3.0, RED, 40), colour_share(&file, 3.0, BLUE, 40));
        eprintln!("red {red:.2}, blue {blue:.2}");
        assert!(red > 0.05 && blue > 0.05, "both tiles visible: red {red:.2}, blue {blue:.2}");
        let (t440, t1200) = (tone_level_db(&file, 440), tone_level_db(&file, 1200));
        eprintln!("440 Hz {t440:.1} dB, 1200 Hz {t1200:.1} dB");
        assert!(t440 > -45.0 && t1200 > -45.0, "both voices heard: {t440:.1} / {t1200:.1} dB");
        // Browsers send each packet's level (the RTP audio-level extension): both speak, so
        // both tiles have the speaking ring (the branding's magenta).
        let ring = colour_share(&file, 3.0, MAGENTA, 60);
        eprintln!("ring {ring:.4}");
        assert!(ring > 0.01, "the speakers' rings: {ring:.4} of the picture");
        finish(app, call).await;
    });
}

#[test]
fn a_participant_sent_by_ffmpeg_over_plain_rtp_is_recorded_and_leaves_the_room() {
    in_namespace(|| async {
        let mut call = CallHarness::start(&layouts_dir()).await.unwrap();
        call.join(bob()).await.unwrap();
        call.join(carol().over_rtp()).await.unwrap();
        let app = spawn_app().await;
        let id = app.start(call_source(json!({}))).await;
        app.wait_for(&id, &["recording"], START).await;
        tokio::time::sleep(Duration::from_secs(4)).await;
        let (_, live) = app.get(&format!("/v1/recordings/{id}")).await;
        assert_eq!(live["participants"].as_array().map(Vec::len), Some(2), "{live}");
        call.leave("Carol").await;
        let listed = janus_client::participants(URL, ROOM).await.unwrap();
        let names: Vec<_> = listed.iter().filter_map(|p| p.display.clone()).collect();
        assert_eq!(names, ["Bob"], "Carol's remote publisher is removed when she leaves");
        app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
        let done = app.wait_for(&id, &["completed"], FINISH).await;
        let file = file_of(&done);
        let (green, blue) = (colour_share(&file, 3.0, GREEN, 40), colour_share(&file, 3.0, BLUE, 40));
        eprintln!("green (RTP) {green:.2}, blue (browser) {blue:.2}");
        assert!(green > 0.05 && blue > 0.05, "both tiles visible: green {green:.2}, blue {blue:.2}");
        let (t2600, t1200) = (tone_level_db(&file, 2600), tone_level_db(&file, 1200));
        eprintln!("2600 Hz (RTP) {t2600:.1} dB, 1200 Hz {t1200:.1} dB");
        assert!(t2600 > -45.0 && t1200 > -45.0, "both voices heard: {t2600:.1} / {t1200:.1} dB");
        finish(app, call).await;
    });
}

/// A sender without the RTP audio-level extension (ffmpeg here, a SIP gateway in life) is measured
/// from the receiver's statistics: the one with a tone gets the speaking ring, the silent one not.
#[test]
fn a_sender_without_rtp_audio_levels_still_lights_the_speaking_ring() {
    in_namespace(|| async {
        let mut call = CallHarness::start(&layouts_dir()).await.unwrap();
        call.join(carol().over_rtp()).await.unwrap();
        call.join(ParticipantSpec::new("Dan", "0xd02020", 0).silent().over_rtp()).await.unwrap();
        let app = spawn_app().await;
        let branding = json!({"colors": {"primary": "#ff00ff"}, "custom_css": ".wf-tile { --wf-ring: 8px; }"});
        let id = app.start(call_source(json!({"branding": branding}))).await;
        app.wait_for(&id, &["recording"], START).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
        let file = file_of(&app.wait_for(&id, &["completed"], FINISH).await);
        // each half but the middle, where one tile's ring meets the other tile
        let at = |x: &str, rgb| colour_share_in(&file, 4.5, &format!("crop=iw/2-16:ih:{x}:0"), rgb, 60);
        let (left, right) = ((at("0", GREEN), at("0", MAGENTA)), (at("iw/2+16", GREEN), at("iw/2+16", MAGENTA)));
        eprintln!("left green {:.3} ring {:.4}, right green {:.3} ring {:.4}", left.0, left.1, right.0, right.1);
        let ((_, speaking), (_, silent)) = if left.0 > right.0 { (left, right) } else { (right, left) };
        assert!(speaking > 0.01, "Carol (tone) has a ring: {speaking:.4} of her half");
        assert!(silent < speaking / 10.0, "Dan (silent) has none: {silent:.4} of his half");
        finish(app, call).await;
    });
}

#[test]
fn participants_joining_and_leaving_show_up_and_disappear() {
    in_namespace(|| async {
        let mut call = CallHarness::start(&layouts_dir()).await.unwrap();
        call.join(alice()).await.unwrap();
        call.join(bob()).await.unwrap();
        let app = spawn_app().await;
        let id = app.start(call_source(json!({}))).await;
        app.wait_for(&id, &["recording"], START).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        call.join(carol()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(4)).await;
        let joined_at = app.get(&format!("/v1/recordings/{id}")).await.1["progress"]["duration_s"].as_f64().unwrap();
        call.leave("Alice").await;
        tokio::time::sleep(Duration::from_secs(4)).await;
        app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
        let done = app.wait_for(&id, &["completed"], FINISH).await;
        let file = file_of(&done);
        let duration = done["duration_s"].as_f64().unwrap();
        let (early, middle, late) = (1.5, joined_at - 0.5, duration - 0.5);
        assert!(colour_share(&file, early, GREEN, 40) < 0.01, "Carol before she joined");
        assert!(colour_share(&file, middle, GREEN, 40) > 0.03, "Carol after she joined");
        assert!(colour_share(&file, middle, RED, 40) > 0.03, "Alice before she left");
        assert!(colour_share(&file, late, RED, 40) < 0.01, "Alice after she left");
        assert!(colour_share(&file, late, BLUE, 40) > 0.03, "Bob stays");
        finish(app, call).await;
    });
}

#[test]
fn an_empty_room_records_the_slate_then_participants_and_stops_when_empty() {
    in_namespace(|| async {
        let mut call = CallHarness::start(&layouts_dir()).await.unwrap();
        let app = spawn_app().await;
        let id = app.start(call_source(json!({"limits": {"stop_when_empty_s": 8}}))).await;
        let rec = app.wait_for(&id, &["recording"], START).await;
        assert_eq!(rec["waiting_for_participants"], true, "{rec}");
        tokio::time::sleep(Duration::from_secs(2)).await;
        call.join(alice()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
        call.leave("Alice").await;
        let done = app.wait_for(&id, &["completed", "failed"], Duration::from_secs(40)).await;
        assert_eq!(done["state"], "completed", "{done}");
        assert_eq!(done["end_reason"], "room_empty");
        let file = file_of(&done);
        assert!(colour_share(&file, 0.5, RED, 40) < 0.01, "the slate, not Alice, at the start");
        // Joining takes a few seconds (media files, browser start, publishing): look widely.
        let halves = (done["duration_s"].as_f64().unwrap() * 2.0) as u32 - 1;
        let seen = (1..halves).map(|t| colour_share(&file, f64::from(t) * 0.5, RED, 40)).fold(0.0, f64::max);
        assert!(seen > 0.05, "Alice appears once she joins");
        finish(app, call).await;
    });
}

#[test]
fn bad_rooms_pins_and_servers_fail_with_clear_codes() {
    in_namespace(|| async {
        let call = CallHarness::start(&layouts_dir()).await.unwrap();
        let app = spawn_app().await;
        let cases = [
            (json!({"type": "janus", "server": URL, "room": 999_999}), "room_not_found"),
            (json!({"type": "janus", "server": URL, "room": PROTECTED_ROOM, "pin": "wrong"}), "auth_failed"),
            (json!({"type": "janus", "server": "ws://127.0.0.1:9188", "room": ROOM}), "janus_unreachable"),
        ];
        for (source, code) in cases {
            let started = std::time::Instant::now();
            let id = app.start(json!({"source": source, "output": {"width": 320, "height": 240}})).await;
            let done = app.wait_for(&id, &["failed", "completed", "recording"], START).await;
            assert_eq!(done["state"], "failed", "{done}");
            assert_eq!(done["error"]["code"], code, "{done}");
            assert!(started.elapsed() < Duration::from_secs(10), "{code} took {:?}", started.elapsed());
        }
        let _ = PIN;
        finish(app, call).await;
    });
}

#[test]
fn a_janus_restart_is_an_incident_and_the_recording_goes_on() {
    in_namespace(|| async {
        let mut call = CallHarness::start(&layouts_dir()).await.unwrap();
        call.join(alice()).await.unwrap();
        let app = spawn_app().await;
        let id = app.start(call_source(json!({}))).await;
        app.wait_for(&id, &["recording"], START).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        call.janus.restart().await.unwrap();
        // Alice's page reconnects and publishes again by itself, as a conferencing app would.
        let back = tokio::time::Instant::now() + Duration::from_secs(15);
        while !janus_client::participants(URL, ROOM).await.is_ok_and(|l| l.iter().any(|p| p.publisher)) {
            assert!(tokio::time::Instant::now() < back, "Alice never published again");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_secs(4)).await;
        let (_, live) = app.get(&format!("/v1/recordings/{id}")).await;
        assert_eq!(live["state"], "recording", "{live}");
        let kinds: Vec<&str> = live["incidents"].as_array().unwrap().iter().filter_map(|i| i["kind"].as_str()).collect();
        assert_eq!(kinds, ["connection_lost", "connection_restored"], "{live}");
        app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
        let done = app.wait_for(&id, &["completed"], FINISH).await;
        let file = file_of(&done);
        let end = done["duration_s"].as_f64().unwrap() - 0.5;
        let shares: Vec<String> = (0..done["duration_s"].as_f64().unwrap() as u32).map(|t| format!("{:.2}", colour_share(&file, f64::from(t), RED, 40))).collect();
        assert!(colour_share(&file, end, RED, 40) > 0.05, "Alice is back after the restart: {live} red by second {shares:?} file {}", file.display());
        finish(app, call).await;
    });
}

#[test]
fn a_destroyed_room_ends_the_recording_and_first_publisher_waits_for_video() {
    in_namespace(|| async {
        let mut call = CallHarness::start(&layouts_dir()).await.unwrap();
        let app = spawn_app().await;
        let source = json!({"type": "janus", "server": URL, "room": ROOM, "start": "first_publisher"});
        let id = app.start(json!({"source": source, "output": {"width": 640, "height": 360}})).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (_, waiting) = app.get(&format!("/v1/recordings/{id}")).await;
        assert_eq!(waiting["state"], "starting", "no capture before the first publisher: {waiting}");
        assert_eq!(waiting["waiting_for_participants"], true, "{waiting}");
        call.join(alice()).await.unwrap();
        app.wait_for(&id, &["recording"], START).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let mut admin = janus_client::JanusClient::connect(URL).await.unwrap();
        admin.destroy_room(ROOM).await.unwrap();
        admin.close().await;
        let done = app.wait_for(&id, &["completed", "failed"], FINISH).await;
        assert_eq!(done["state"], "completed", "{done}");
        assert_eq!(done["end_reason"], "room_destroyed");
        let file = file_of(&done);
        // From its first frame: no slate, and no tile fading in (the page stays still until the
        // first recorded second is on screen).
        let shares: Vec<String> = [0.0, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2].iter().map(|t| format!("{t}:{:.2}", colour_share(&file, *t, RED, 40))).collect();
        for at in [0.0, 0.1, 0.3] {
            assert!(colour_share(&file, at, RED, 40) > 0.5, "the file starts with Alice, not a slate: red share by time {shares:?}");
        }
        finish(app, call).await;
    });
}

#[test]
fn a_live_layout_change_shows_within_a_second_without_a_gap() {
    in_namespace(|| async {
        let mut call = CallHarness::start(&layouts_dir()).await.unwrap();
        call.join(alice()).await.unwrap();
        call.join(bob()).await.unwrap();
        let app = spawn_app().await;
        let id = app.start(call_source(json!({"branding": {"title": "Before the switch"}}))).await;
        app.wait_for(&id, &["recording"], START).await;
        tokio::time::sleep(Duration::from_secs(4)).await;
        let path = format!("/v1/recordings/{id}");
        let change = json!({"layout": "single", "layout_params": {"participant": "bob"}, "branding": {"title": "After"}});
        let patched = std::time::Instant::now();
        let (status, body) = app.patch(&path, change).await;
        assert_eq!(status, 200, "{body}");
        let applied = loop {
            let (_, rec) = app.get(&path).await;
            if rec["changes"][0]["applied_at"].is_string() {
                break rec;
            }
            assert!(patched.elapsed() < Duration::from_secs(5), "the page never showed the change: {rec}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let shown_after = patched.elapsed();
        eprintln!("PATCH → shown {shown_after:?}");
        // Typically ~0.6 s here (printed above). Once in a full CI run it took 1.7 s on 2 busy
        // cores, so the bound only catches a switch that is not live (a reload, a timeout).
        assert!(shown_after < Duration::from_secs(3), "the change took {shown_after:?}");
        tokio::time::sleep(Duration::from_secs(3)).await;
        app.post(&format!("{path}/stop"), json!({})).await;
        let done = app.wait_for(&id, &["completed", "failed"], FINISH).await;
        assert_eq!(done["state"], "completed", "{done}");
        let file = file_of(&done);
        let t = applied["changes"][0]["t_ms"].as_f64().expect("t_ms") / 1000.0;
        let (red, blue) = (colour_share(&file, t - 1.0, RED, 40), colour_share(&file, t - 1.0, BLUE, 40));
        assert!(red > 0.05 && blue > 0.05, "grid before the change at {t:.2}s: red {red:.2}, blue {blue:.2}");
        let (red, blue) = (colour_share(&file, t + 0.5, RED, 40), colour_share(&file, t + 0.5, BLUE, 40));
        assert!(red < 0.01 && blue > 0.3, "only Bob after the change at {t:.2}s: red {red:.2}, blue {blue:.2}");
        let times = video_times(&file);
        let gap = times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
        let duration = done["duration_s"].as_f64().unwrap();
        eprintln!("{} frames in {duration:.2}s, largest gap {gap:.3}s", times.len());
        assert!(gap < 0.2, "a {gap:.3}s gap in the video");
        assert!(times.len() as f64 > duration * 30.0 * 0.9, "{} frames in {duration:.2}s", times.len());
        finish(app, call).await;
    });
}

#[test]
fn a_killed_recorder_browser_is_relaunched_and_rejoins_the_call() {
    in_namespace(|| async {
        let mut call = CallHarness::start(&layouts_dir()).await.unwrap();
        call.join(alice()).await.unwrap();
        call.join(bob()).await.unwrap();
        let app = spawn_app().await;
        let id = app.start(call_source(json!({}))).await;
        app.wait_for(&id, &["recording"], START).await;
        tokio::time::sleep(Duration::from_secs(4)).await;
        let browser = process_named(&app.instance, "chromium");
        // SAFETY: SIGKILL to the recorder Chromium this test's service started.
        unsafe { libc::kill(browser, libc::SIGKILL) };
        let relaunched = app.wait_until(&id, START, |r| r["incidents"].as_array().is_some_and(|i| i.iter().any(|i| i["kind"] == "pipeline_restart"))).await;
        let incident = relaunched["incidents"].as_array().unwrap().iter().find(|i| i["kind"] == "pipeline_restart").unwrap().clone();
        eprintln!("{incident}");
        // Relaunch, page load and the Janus rejoin take 2.3–3.5 s on 2 cores (more beside other
        // tests); wallflower-relaunch-bench measures it. Here: reported, and bounded.
        assert!(incident["gap_s"].as_f64().unwrap() < 6.0, "{incident}");
        // Rejoined: both publishers are back in the resource, and the recorder is still hidden.
        app.wait_until(&id, START, |r| r["participants"].as_array().map(Vec::len) == Some(2)).await;
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(janus_client::participants(URL, ROOM).await.unwrap().len(), 2, "the recorder shows in the room");
        app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
        let done = app.wait_for(&id, &["completed", "failed"], FINISH).await;
        assert_eq!(done["state"], "completed", "{done}");
        let file = file_of(&done);
        let duration = done["duration_s"].as_f64().unwrap();
        let at = duration - 1.5;
        let (red, blue) = (colour_share(&file, at, RED, 40), colour_share(&file, at, BLUE, 40));
        eprintln!("after the relaunch: red {red:.2}, blue {blue:.2}");
        assert!(red > 0.05 && blue > 0.05, "both tiles visible after the relaunch: red {red:.2}, blue {blue:.2}");
        let tail = format!("atrim=start={:.2}", duration - 3.0);
        let bob_level = mean_volume_db(&file, Some(&format!("{tail},bandpass=f=1200:width_type=h:w=30,bandpass=f=1200:width_type=h:w=30")));
        assert!(bob_level > -45.0, "Bob is heard after the relaunch: {bob_level:.1} dB");
        let timeline: Value = serde_json::from_slice(&std::fs::read(file.with_file_name("timeline.json")).unwrap()).unwrap();
        let last_t = timeline["events"].as_array().unwrap().iter().filter_map(|e| e["t_ms"].as_i64()).max().unwrap();
        assert!(last_t as f64 <= duration * 1000.0 + 1000.0, "timeline past the file's end: {last_t} ms vs {duration} s");
        finish(app, call).await;
    });
}

/// Simulcast publishers (three layers: 160x90, 320x180, 640x360, each with its own colour band
/// along its foot) are received in the smallest layer that still covers their tile: Janus starts
/// with the largest; in a 640x360 grid of two (tiles ~312x176) both drop to 320x180; when Bob
/// alone fills the picture his goes back up to 640x360.
#[test]
fn simulcast_participants_are_received_in_the_layer_that_fits_their_tile() {
    use wallflower::harness::SIMULCAST_BANDS;
    let [_, half, whole] = SIMULCAST_BANDS;
    in_namespace(|| async {
        let mut call = CallHarness::start(&layouts_dir()).await.unwrap();
        call.join(alice().with_simulcast(640, 360)).await.unwrap();
        call.join(bob().with_simulcast(640, 360)).await.unwrap();
        let app = spawn_app().await;
        let id = app.start(call_source(json!({}))).await;
        app.wait_for(&id, &["recording"], START).await;
        tokio::time::sleep(Duration::from_secs(6)).await;
        let path = format!("/v1/recordings/{id}");
        let (status, body) = app.patch(&path, json!({"layout": "single", "layout_params": {"participant": "bob"}})).await;
        assert_eq!(status, 200, "{body}");
        let applied = app.wait_until(&id, START, |r| r["changes"][0]["applied_at"].is_string()).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        app.post(&format!("{path}/stop"), json!({})).await;
        let done = app.wait_for(&id, &["completed", "failed"], FINISH).await;
        assert_eq!(done["state"], "completed", "{done}");
        let file = file_of(&done);
        let t = applied["changes"][0]["t_ms"].as_f64().expect("t_ms") / 1000.0;
        let grid = (colour_share(&file, t - 0.5, half, 40), colour_share(&file, t - 0.5, whole, 40));
        eprintln!("grid at {:.2}s: 320x180 band {:.3}, 640x360 band {:.3}", t - 0.5, grid.0, grid.1);
        assert!(grid.0 > 0.02 && grid.1 < 0.003, "both tiles in the 320x180 layer: {grid:?}");
        let single = (colour_share(&file, t + 4.0, half, 40), colour_share(&file, t + 4.0, whole, 40));
        eprintln!("Bob alone at {:.2}s: 320x180 band {:.3}, 640x360 band {:.3}", t + 4.0, single.0, single.1);
        assert!(single.1 > 0.05 && single.0 < 0.003, "Bob's picture in the 640x360 layer: {single:?}");
        finish(app, call).await;
    });
}
