//! Lip-sync through a real call: a participant sent by ffmpeg over plain RTP, whose camera
//! flashes white while their microphone beeps (one clip, one clock), recorded through Janus. The
//! recording must keep each flash with its beep. One at a time (nextest group `e2e`).
//!
//! Chromium starts playing a new remote sound ~0.7 s after its packets start coming, and then
//! plays the backlog faster while it delays the picture to meet it: a participant's first
//! seconds have their sound late by up to half a second (BENCHMARKS.md, "Lip-sync of a
//! participant"). The test holds the settled part to what viewers accept.

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
/// Seconds into the file after which the receiver's delays have settled.
const SETTLED_S: f64 = 10.0;

#[test]
fn a_participants_picture_and_sound_stay_together_in_the_recording() {
    in_namespace(|| async {
        let mut call = CallHarness::start(&layouts_dir()).await.unwrap();
        let mut two = ParticipantSpec::numbered(2).into_iter().map(ParticipantSpec::over_rtp);
        let (dan, erin) = (two.next().unwrap().with_markers(), two.next().unwrap());
        let (dan_rgb, erin_rgb) = (dan.rgb().unwrap(), erin.rgb().unwrap());
        call.join(dan).await.unwrap();
        call.join(erin).await.unwrap();
        let app = spawn_app().await;
        let source = json!({"type": "janus", "server": URL, "room": ROOM});
        let id = app.start(json!({"source": source, "output": {"width": SIZE.0, "height": SIZE.1}})).await;
        app.wait_for(&id, &["recording"], Duration::from_secs(30)).await;
        // ~19 markers, the later half settled.
        tokio::time::sleep(Duration::from_secs(20)).await;
        app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
        let done = app.wait_for(&id, &["completed", "failed"], Duration::from_secs(30)).await;
        assert_eq!(done["state"], "completed", "{done}");
        let file = file_of(&done);
        let ffmpeg = Path::new("ffmpeg");

        let dan_tile = colour_box(ffmpeg, &file, SIZE, dan_rgb).unwrap().expect("Dan's tile");
        let erin_tile = colour_box(ffmpeg, &file, SIZE, erin_rgb).unwrap().expect("Erin's tile");
        eprintln!("tiles: Dan {dan_tile:?}, Erin {erin_tile:?}");
        // Two side by side: each about half the picture's width.
        for (x, _, w, _) in [dan_tile, erin_tile] {
            assert!((250..=330).contains(&w) && x + w <= SIZE.0, "{dan_tile:?} {erin_tile:?}");
        }
        let r = offsets_in(ffmpeg, &file, Sampling::Screen, Some(middle(dan_tile))).unwrap();
        let offsets: Vec<i64> = r.markers.iter().map(|m| m.offset_ms.round() as i64).collect();
        eprintln!("Dan's lip-sync: median {:+.1} ms (p10 {:+.1}, p90 {:+.1}), {offsets:?}", r.median_ms, r.p10_ms, r.p90_ms);
        let settled: Vec<f64> = r.markers.iter().filter(|m| m.video_s >= SETTLED_S).map(|m| m.offset_ms).collect();
        assert!(settled.len() >= 6, "every settled marker (~8) pairs: {r:?}");
        let median = wallflower::measure::median(&settled);
        eprintln!("settled: median {median:+.1} ms of {}", settled.len());
        assert!(ACCEPTED_MS.contains(&median), "viewers would not accept {median:+.1} ms: {r:?}");
        // Erin's camera never flashes: her tile has no markers to pair.
        let erin = offsets_in(ffmpeg, &file, Sampling::Screen, Some(middle(erin_tile))).unwrap_err();
        assert_eq!(erin.code(), "measure_no_markers", "{erin}");

        let instance = call.instance.clone();
        app.stop().await;
        call.stop().await;
        assert_no_leftovers(&instance).await;
    });
}
