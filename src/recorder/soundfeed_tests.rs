use super::*;

/// 10 ms of stereo s16le, every sample `v`.
fn chunk(v: i16) -> Vec<u8> {
    std::iter::repeat_n(v.to_le_bytes(), 480 * 2).flatten().collect()
}

/// Feeds `n` chunks whose last frame left PulseAudio at `start + (k + 1) · 10 ms`, each arriving
/// `late(k)` seconds after that; returns the bytes written.
fn feed(t: &mut Timeline, start: f64, n: usize, late: impl Fn(usize) -> f64) -> Vec<u8> {
    (0..n).flat_map(|k| t.place(start + (k + 1) as f64 * 0.01 + late(k), &chunk(1))).collect()
}

fn frames(bytes: &[u8]) -> usize {
    bytes.len() / FRAME_BYTES
}

#[test]
fn sound_starting_after_the_origin_is_preceded_by_silence() {
    let mut t = Timeline::new(100.0, 0.0);
    let out = feed(&mut t, 100.49, 100, |_| 0.0);
    // 490 ms of silence, then the 100 chunks without a gap.
    assert_eq!(frames(&out), 23_520 + 48_000);
    assert!(out[..23_520 * 4].iter().all(|&b| b == 0));
    assert!(out[23_520 * 4..].chunks(2).all(|s| s == [1, 0]));
}

#[test]
fn late_arrivals_do_not_move_the_sound() {
    // Every chunk but each seventh arrives up to 30 ms late: only the timeline's anchor, from the
    // chunks that came straight through, places the sound.
    let mut t = Timeline::new(100.0, 0.0);
    let out = feed(&mut t, 100.2, 500, |k| if k % 7 == 0 { 0.0 } else { (k % 4) as f64 * 0.01 });
    assert_eq!(frames(&out), 9_600 + 500 * 480, "no frame added or dropped");
}

#[test]
fn a_first_chunk_that_arrived_late_is_moved_back_by_later_ones() {
    // The first chunks arrive 40 ms late together (ffmpeg had not opened yet): the sound starts
    // 40 ms late, and once punctual chunks show it the writer drops the 40 ms it is behind.
    let mut t = Timeline::new(100.0, 0.0);
    let out = feed(&mut t, 100.2, 300, |k| if k < 5 { 0.04 } else { 0.0 });
    assert_eq!(frames(&out), (0.24 * 48_000.0) as usize + 300 * 480 - 1_920);
}

#[test]
fn a_hole_in_the_sound_is_filled_with_silence() {
    let mut t = Timeline::new(100.0, 0.0);
    let mut out = feed(&mut t, 100.0, 100, |_| 0.0);
    // 250 ms of sound lost (PulseAudio dropped it); the next chunks left it at 101.25 s on.
    out.extend((0..400).flat_map(|k| t.place(101.25 + (k + 1) as f64 * 0.01, &chunk(1))));
    // Once the window has forgotten the chunks before the hole, the timeline is whole again:
    // written frames = wall time of the last chunk's end.
    assert_eq!(frames(&out), (5.25 * 48_000.0) as usize);
}

#[test]
fn a_shift_moves_the_sound_later_and_sound_before_the_origin_is_cut() {
    let mut t = Timeline::new(100.0, 0.05);
    assert_eq!(frames(&feed(&mut t, 100.0, 10, |_| 0.0)), 2_400 + 4_800);
    let mut t = Timeline::new(100.0, 0.0);
    // The first 30 ms of sound are from before the origin.
    assert_eq!(frames(&feed(&mut t, 99.97, 10, |_| 0.0)), 4_800 - 1_440);
}

#[test]
fn silence_before_the_first_chunk_is_not_written_twice() {
    let mut t = Timeline::new(100.0, 0.0);
    assert_eq!(frames(&t.silence_until(100.4)), 19_200);
    assert!(t.silence_until(100.3).is_empty());
    // The first chunk's sound is from 100.45 s on: 50 ms more silence, then the sound.
    let out = feed(&mut t, 100.45, 10, |_| 0.0);
    assert_eq!(frames(&out), 2_400 + 4_800);
    // Sound from before what was already written as silence is cut, even within tolerance.
    let mut t = Timeline::new(100.0, 0.0);
    t.silence_until(100.4);
    assert_eq!(frames(&feed(&mut t, 100.395, 10, |_| 0.0)), 4_800 - 240);
}
