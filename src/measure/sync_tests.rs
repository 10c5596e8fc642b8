use super::*;
use crate::measure::testmedia::{Markers, ffmpeg};

fn measure(clip: Markers) -> SyncReport {
    let dir = tempfile::tempdir().unwrap();
    let file = clip.write(dir.path(), "markers.mp4");
    offsets(&ffmpeg(), &file, Sampling::Aligned).unwrap()
}

fn assert_near(what: &str, got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol, "{what}: measured {got:.2}, expected {want} ± {tol}");
}

#[test]
fn markers_in_sync_measure_zero() {
    let r = measure(Markers::in_sync(7));
    eprintln!("in sync: median {:.2} ms, mad {:.2}, drift {:?}", r.median_ms, r.mad_ms, r.drift_ms);
    // Markers 1, 2, 3, 5, 6: marker 4 is left out like the page's.
    assert_eq!(r.count, 5);
    assert_eq!((r.unpaired_flashes, r.unpaired_beeps), (0, 0));
    let seconds: Vec<f64> = r.markers.iter().map(|m| m.video_s.round()).collect();
    assert_eq!(seconds, vec![1.0, 2.0, 3.0, 5.0, 6.0]);
    assert_near("median", r.median_ms, 0.0, 5.0);
}

#[test]
fn audio_late_by_100_ms_measures_plus_100() {
    let r = measure(Markers { shift_s: 0.1, ..Markers::in_sync(7) });
    eprintln!("+100 ms: median {:.2} ms, p10 {:.2}, p90 {:.2}", r.median_ms, r.p10_ms, r.p90_ms);
    assert_eq!(r.count, 5);
    assert_near("median", r.median_ms, 100.0, 5.0);
    assert_near("p10", r.p10_ms, 100.0, 5.0);
    assert_near("p90", r.p90_ms, 100.0, 5.0);
}

#[test]
fn audio_early_by_40_ms_measures_minus_40() {
    let r = measure(Markers { shift_s: -0.04, ..Markers::in_sync(7) });
    eprintln!("-40 ms: median {:.2} ms", r.median_ms);
    assert_eq!(r.count, 5);
    assert_near("median", r.median_ms, -40.0, 5.0);
}

#[test]
fn stretched_audio_drifts_by_the_stretch() {
    // Beep k at 1.004·k s: the offset grows 4 ms per marker. Markers 1..=12 without 4 and 9
    // span 11 s; the first third holds 1, 2, 3 (median 2) and the last 10, 11, 12 (median 11),
    // so the drift is 9 markers · 4 ms.
    let r = measure(Markers { stretch: 1.004, ..Markers::in_sync(13) });
    eprintln!("stretch: drift {:?} ms, offsets {:?}", r.drift_ms, r.markers.iter().map(|m| m.offset_ms).collect::<Vec<_>>());
    assert_eq!(r.count, 10);
    assert_near("drift", r.drift_ms.unwrap(), 36.0, 5.0);
}

#[test]
fn each_flash_pairs_with_its_own_beep_across_missing_markers() {
    // With audio 300 ms late, a gap (marker 4 missing) must not pair flash 5 with beep 3.
    let r = measure(Markers { shift_s: 0.3, ..Markers::in_sync(9) });
    let seconds: Vec<f64> = r.markers.iter().map(|m| m.video_s.round()).collect();
    assert_eq!(seconds, vec![1.0, 2.0, 3.0, 5.0, 6.0, 7.0, 8.0]);
    for m in &r.markers {
        assert_near("offset", m.offset_ms, 300.0, 5.0);
    }
}

#[test]
fn screen_sampling_takes_half_a_frame_off_flashes_that_fall_between_frames() {
    // The page's period puts each flash at another phase of the 30 fps grid; the first frame
    // showing it is late by 0–33 ms. Measured as a screen capture, the offset is near zero.
    let dir = tempfile::tempdir().unwrap();
    let clip = Markers { period: 1.0133, shift_s: 0.02, ..Markers::in_sync(12) };
    let file = clip.write(dir.path(), "phases.mp4");
    let aligned = offsets(&ffmpeg(), &file, Sampling::Aligned).unwrap();
    let screen = offsets(&ffmpeg(), &file, Sampling::Screen).unwrap();
    eprintln!("period 1.0133, +20 ms: aligned {:.2} ms, screen {:.2} ms, offsets {:?}", aligned.median_ms, screen.median_ms,
        screen.markers.iter().map(|m| m.offset_ms).collect::<Vec<_>>());
    assert_eq!(screen.count, 9);
    // The flash frames' lateness spreads over the frame interval.
    assert!(aligned.p90_ms - aligned.p10_ms > 15.0, "{aligned:?}");
    assert_near("screen median", screen.median_ms, 20.0, 8.0);
    assert_near("half a frame", screen.median_ms - aligned.median_ms, 1000.0 / 60.0, 0.5);
}

#[test]
fn a_tile_that_flashes_is_timed_within_its_crop_only() {
    // A quarter of the picture flashes, as one participant's tile in a grid of four: the whole
    // picture never gets near white, the tile does.
    let dir = tempfile::tempdir().unwrap();
    let tile = (80, 45, 80, 45);
    let file = Markers { shift_s: -0.04, tile: Some(tile), ..Markers::in_sync(7) }.write(dir.path(), "tile.mp4");
    let whole = offsets(&ffmpeg(), &file, Sampling::Aligned).unwrap_err();
    assert_eq!(whole.code(), "measure_no_markers", "{whole}");
    let r = offsets_in(&ffmpeg(), &file, Sampling::Aligned, Some(tile)).unwrap();
    eprintln!("tile, -40 ms: median {:.2} ms", r.median_ms);
    assert_eq!(r.count, 5);
    assert_near("median", r.median_ms, -40.0, 5.0);
    // Outside the tile nothing flashes.
    let elsewhere = offsets_in(&ffmpeg(), &file, Sampling::Aligned, Some((0, 0, 80, 45))).unwrap_err();
    assert_eq!(elsewhere.code(), "measure_no_markers");
}

#[test]
fn pairing_leaves_out_flashes_without_a_beep() {
    let r = report(&[1.0, 2.0, 3.0], &[1.02, 3.5]).unwrap();
    assert_eq!(r.count, 1);
    assert_eq!((r.unpaired_flashes, r.unpaired_beeps), (2, 1));
    assert_near("offset", r.median_ms, 20.0, 1e-9);
    assert_eq!(report(&[1.0], &[]).unwrap_err().code(), "measure_no_markers");
}

/// Marker times as the page makes them over `secs` seconds: one a second, every fifth left out.
fn page_markers(secs: u32, start: f64) -> Vec<f64> {
    (1..secs).filter(|k| k % 5 != 4).map(|k| start + f64::from(k)).collect()
}

#[test]
fn offsets_beyond_half_a_second_pair_by_the_left_out_markers() {
    // The first real recording measured: every beep 397 ms before its flash.
    let flashes = page_markers(9, 0.167);
    for shift in [-0.397, 0.6, -0.75] {
        let beeps: Vec<f64> = flashes.iter().map(|f| f + shift).collect();
        let r = report(&flashes, &beeps).unwrap();
        assert_eq!((r.count, r.unpaired_flashes, r.unpaired_beeps), (flashes.len(), 0, 0), "shift {shift}");
        assert_near("median", r.median_ms, shift * 1e3, 1e-6);
    }
}
