//! Lip-sync through a real call: a participant sent by ffmpeg over plain RTP, whose camera
//! flashes white while their microphone beeps (one clip, one clock), recorded through Janus. The
//! recording must keep each flash with its beep. One at a time (nextest group `e2e`).
//!
//! Chromium starts playing a new remote sound ~0.7 s after its packets start coming and plays
//! the backlog faster, and WebRTC's own sync catches up slowly: without the page's picture hold
//! (`layouts/sdk/janus-sync.js`) a participant's first seconds had their sound late by up to
//! half a second (BENCHMARKS.md, "Lip-sync of a participant"). The test holds every marker, the
//! first ones too, to what viewers accept.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::json;
use wallflower::harness::janus::{ROOM, URL};
use wallflower::harness::{CallHarness, ParticipantSpec};
use wallflower::measure::locate::{colour_box, middle};
use wallflower::measure::sync::{Sampling, offsets_in};

const SIZE: (u32, u32) = (640, 360);
/// What viewers accept (ITU-R BT.1359): sound up to 90 ms before the picture, or 185 ms after.
const ACCEPTED_MS: std::ops::RangeInclusive<f64> = -90.0..=185.0;
/// What viewers can tell (ITU-R BT.1359): sound 45 ms early or 125 ms late.
const UNNOTICED_MS: std::ops::RangeInclusive<f64> = -45.0..=125.0;

#[test]
fn a_participants_picture_and_sound_stay_together_in_the_recording() {
    in_namespace(|| async {
        let mut call = CallHarness::start(&layouts_dir()).await.unwrap();
        let mut two = ParticipantSpec::numbered(2).into_iter().map(ParticipantSpec::over_rtp);
        let (p1, p2) = (two.next().unwrap().with_markers(), two.next().unwrap());
        let (p1_rgb, p2_rgb) = (p1.rgb().unwrap(), p2.rgb().unwrap());
        call.join(p1).await.unwrap();
        call.join(p2).await.unwrap();
        let app = spawn_app().await;
        let source = json!({"type": "janus", "server": URL, "room": ROOM});
        let id = app.start(json!({"source": source, "output": {"width": SIZE.0, "height": SIZE.1}})).await;
        app.wait_for(&id, &["recording"], Duration::from_secs(30)).await;
        // ~15 markers (every fifth is left out).
        tokio::time::sleep(Duration::from_secs(20)).await;
        app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
        let done = app.wait_for(&id, &["completed", "failed"], Duration::from_secs(30)).await;
        assert_eq!(done["state"], "completed", "{done}");
        let file = file_of(&done);
        let ffmpeg = Path::new("ffmpeg");

        let p1_tile = colour_box(ffmpeg, &file, SIZE, p1_rgb).unwrap().expect("P1's tile");
        let p2_tile = colour_box(ffmpeg, &file, SIZE, p2_rgb).unwrap().expect("P2's tile");
        eprintln!("tiles: P1 {p1_tile:?}, P2 {p2_tile:?}");
        // Two side by side: each about half the picture's width.
        for (x, _, w, _) in [p1_tile, p2_tile] {
            assert!((250..=330).contains(&w) && x + w <= SIZE.0, "{p1_tile:?} {p2_tile:?}");
        }
        let r = offsets_in(ffmpeg, &file, Sampling::Screen, Some(middle(p1_tile))).unwrap();
        let offsets: Vec<i64> = r.markers.iter().map(|m| m.offset_ms.round() as i64).collect();
        eprintln!("P1's lip-sync: median {:+.1} ms (p10 {:+.1}, p90 {:+.1}), {offsets:?}", r.median_ms, r.p10_ms, r.p90_ms);
        // A marker whose sound is more than 0.1 s off the file's common shift does not pair:
        // without the picture hold, the first seconds' late sound left 4 of them unpaired. The
        // hold comes once the sound plays, so a marker in the file's first second may still go
        // unpaired (+0.7 s seen).
        assert!(r.unpaired_flashes <= 1 && r.count >= 12, "every flash pairs with its beep: {r:?}");
        let (first, last) = (r.markers[0].offset_ms, r.markers[r.count - 1].offset_ms);
        eprintln!("first marker at {:.1} s: {first:+.1} ms; last {last:+.1} ms", r.markers[0].video_s);
        assert!(r.markers.iter().all(|m| ACCEPTED_MS.contains(&m.offset_ms)), "viewers would not accept: {r:?}");
        assert!(UNNOTICED_MS.contains(&r.median_ms), "viewers would notice {:+.1} ms: {r:?}", r.median_ms);
        // P2's camera never flashes: their tile has no markers to pair.
        let p2 = offsets_in(ffmpeg, &file, Sampling::Screen, Some(middle(p2_tile))).unwrap_err();
        assert_eq!(p2.code(), "measure_no_markers", "{p2}");

        let instance = call.instance.clone();
        app.stop().await;
        call.stop().await;
        assert_no_leftovers(&instance).await;
    });
}
