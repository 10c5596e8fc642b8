//! Lip-sync through a real call: a participant sent by ffmpeg over plain RTP, whose camera
//! flashes white while their microphone beeps (one clip, one clock), recorded through Janus. The
//! recording must keep each flash with its beep. One at a time (nextest group `e2e`).
//!
//! The recorder's page holds each participant's picture for as long as their sound takes
//! (`layouts/sdk/janus-sync.js`). Someone who joins a running recording is in sync from their
//! second marker (their first was +0.2 s; without the hold: +146 to +173 ms late, settling over
//! 10–15 s). At a recording's start Chromium's sound output starts late; the recorder's NetEQ
//! drops that backlog (`src/recorder/launch.rs`), so a participant there from the start is in
//! sync from about 1.5 s on (the first marker, ~0.4 s in, read +0.26 s; without the flush the
//! first markers' sound was ~0.5 s late for 5–7 s: BENCHMARKS.md, "The start's sound backlog
//! flushed", and "A recording's first markers").

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::json;
use wallflower::harness::janus::{ROOM, URL};
use wallflower::harness::{CallHarness, ParticipantSpec};
use wallflower::measure::locate::{colour_box, middle};
use wallflower::measure::sync::{Sampling, SyncReport, flash_onsets, offsets_in};

const SIZE: (u32, u32) = (640, 360);
/// What viewers accept (ITU-R BT.1359): sound up to 90 ms before the picture, or 185 ms after.
const ACCEPTED_MS: std::ops::RangeInclusive<f64> = -90.0..=185.0;
/// What viewers can tell (ITU-R BT.1359): sound 45 ms early or 125 ms late.
const UNNOTICED_MS: std::ops::RangeInclusive<f64> = -45.0..=125.0;
/// How long after a recording's first flash its sound may still be late (see the first test).
const START_BACKLOG_S: f64 = 2.5;

#[test]
fn a_participant_recorded_from_the_start_is_in_sync_once_the_start_backlog_has_played() {
    in_namespace(|| async {
        let (r, flashes) = record_p1(Duration::ZERO).await;
        // A marker whose sound is more than 0.1 s off the file's common shift does not pair.
        // The start's sound backlog (once four such markers, ~0.5 s late) still leaves the
        // first one or two markers of a recording's first two seconds 0.1–0.27 s late, or in
        // the sound dropped with the backlog; from then on every flash pairs with its beep.
        let unpaired: Vec<f64> = flashes.iter().copied().filter(|f| !r.markers.iter().any(|m| (m.video_s - f).abs() < 1e-6)).collect();
        eprintln!("unpaired flashes at {unpaired:.2?} s");
        let settled = flashes.first().copied().unwrap_or_default() + START_BACKLOG_S;
        assert!(unpaired.len() <= 2 && unpaired.iter().all(|&f| f < settled) && r.count >= 12, "every flash pairs with its beep: {unpaired:?} {r:?}");
        eprintln!("first marker at {:.1} s: {:+.1} ms", r.markers[0].video_s, r.markers[0].offset_ms);
        assert!(r.markers.iter().all(|m| ACCEPTED_MS.contains(&m.offset_ms)), "viewers would not accept: {r:?}");
        assert!(UNNOTICED_MS.contains(&r.median_ms), "viewers would notice {:+.1} ms: {r:?}", r.median_ms);
    });
}

#[test]
fn a_participant_who_joins_a_running_recording_is_in_sync_after_their_first_marker() {
    in_namespace(|| async {
        let (r, _) = record_p1(Duration::from_secs(5)).await;
        // A marker whose sound is more than 0.1 s off the file's common shift does not pair;
        // one may fall where P1's tile first appears (their first marker's sound was measured
        // +0.2 s late with a wider pairing window).
        assert!(r.unpaired_flashes <= 1 && r.count >= 9, "every flash pairs with its beep: {r:?}");
        eprintln!("first marker at {:.1} s: {:+.1} ms", r.markers[0].video_s, r.markers[0].offset_ms);
        assert!(r.markers.iter().all(|m| UNNOTICED_MS.contains(&m.offset_ms)), "viewers would notice: {r:?}");
    });
}

/// Records a call of two RTP participants at [`SIZE`] for 20 s, P1 (marked) joining `p1_after`
/// into the recording, and returns P1's markers and all the flashes of their tile. P2's tile,
/// which never flashes, has none.
async fn record_p1(p1_after: Duration) -> (SyncReport, Vec<f64>) {
    let mut call = CallHarness::start(&layouts_dir()).await.unwrap();
    let mut two = ParticipantSpec::numbered(2).into_iter().map(ParticipantSpec::over_rtp);
    let (p1, p2) = (two.next().unwrap().with_markers(), two.next().unwrap());
    let (p1_rgb, p2_rgb) = (p1.rgb().unwrap(), p2.rgb().unwrap());
    call.join(p2).await.unwrap();
    let app = spawn_app().await;
    let source = json!({"type": "janus", "server": URL, "room": ROOM});
    let start = || app.start(json!({"source": source, "output": {"width": SIZE.0, "height": SIZE.1}}));
    let id = if p1_after.is_zero() {
        call.join(p1).await.unwrap();
        start().await
    } else {
        let id = start().await;
        app.wait_for(&id, &["recording"], Duration::from_secs(30)).await;
        tokio::time::sleep(p1_after).await;
        call.join(p1).await.unwrap();
        id
    };
    app.wait_for(&id, &["recording"], Duration::from_secs(30)).await;
    // ~15 markers from the start (every fifth is left out).
    tokio::time::sleep(Duration::from_secs(20) - p1_after).await;
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
    let flashes = flash_onsets(ffmpeg, &file, Sampling::Screen, Some(middle(p1_tile))).unwrap();
    let offsets: Vec<(f64, i64)> = r.markers.iter().map(|m| ((m.video_s * 10.0).round() / 10.0, m.offset_ms.round() as i64)).collect();
    eprintln!("P1's lip-sync: median {:+.1} ms (p10 {:+.1}, p90 {:+.1}), unpaired flashes {}, beeps {}, (s, ms): {offsets:?}", r.median_ms, r.p10_ms, r.p90_ms, r.unpaired_flashes, r.unpaired_beeps);
    let p2 = offsets_in(ffmpeg, &file, Sampling::Screen, Some(middle(p2_tile))).unwrap_err();
    assert_eq!(p2.code(), "measure_no_markers", "{p2}");

    let instance = call.instance.clone();
    app.stop().await;
    call.stop().await;
    assert_no_leftovers(&instance).await;
    (r, flashes)
}
