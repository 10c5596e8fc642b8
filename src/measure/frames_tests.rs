use super::*;
use crate::measure::testmedia::{encode, ffmpeg};

fn measure(video: &str, crop: Option<(u32, u32, u32, u32)>) -> FrameReport {
    let dir = tempfile::tempdir().unwrap();
    let file = encode(dir.path(), "frames.mp4", &["-f", "lavfi", "-i", video]);
    let r = distinct(&ffmpeg(), &file, crop).unwrap();
    eprintln!("{video}: {r:?}");
    r
}

#[test]
fn moving_picture_has_every_frame_distinct() {
    let r = measure("testsrc=s=320x180:r=30:d=3,scroll=h=0.005", None);
    assert_eq!(r.frames, 90);
    assert!((r.fps - 30.0).abs() < 0.01, "fps {}", r.fps);
    assert!(r.distinct_ratio >= 0.98, "ratio {}", r.distinct_ratio);
    assert!(r.longest_identical_run <= 2);
    assert_eq!(r.missing, 0);
}

#[test]
fn every_other_frame_duplicated_is_half_distinct() {
    let r = measure("testsrc=s=320x180:r=15:d=3,scroll=h=0.01,fps=30", None);
    assert_eq!(r.frames, 90);
    assert!((r.distinct_ratio - 0.5).abs() <= 0.02, "ratio {}", r.distinct_ratio);
    assert_eq!(r.longest_identical_run, 2);
}

#[test]
fn a_one_second_freeze_is_a_run_of_thirty() {
    // Frames 31..=59 repeat frame 30: frames 30..=59 are one picture, 30 frames = 1 s.
    let r = measure("testsrc=s=320x180:r=30:d=3,scroll=h=0.005,split[a][b];[a][b]freezeframes=first=31:last=59:replace=30", None);
    assert_eq!(r.longest_identical_run, 30);
    assert_eq!(r.distinct, 90 - 29);
}

#[test]
fn crop_sees_only_its_region() {
    // Left half still for the whole clip, right half moving.
    let video = "testsrc=s=320x180:r=30:d=2,scroll=h=0.005[m];color=c=gray:s=160x180:r=30:d=2[s];[m][s]overlay";
    let still = measure(video, Some((0, 0, 160, 180)));
    assert_eq!(still.distinct, 1);
    assert_eq!(still.longest_identical_run, 60);
    let moving = measure(video, Some((160, 0, 160, 180)));
    assert!(moving.distinct_ratio >= 0.98, "ratio {}", moving.distinct_ratio);
}

#[test]
fn gaps_in_frame_times_count_as_missing_frames() {
    let times = [0.0, 1.0, 2.0, 5.0, 6.0];
    assert_eq!(missing(&times), 2);
    let r = summarise(&times, &[true, false, true, true, false]);
    assert_eq!((r.frames, r.distinct, r.longest_identical_run), (5, 3, 2));
    assert_eq!(r.fps, 4.0 / 6.0);
}

#[test]
fn counting_from_a_time_leaves_out_a_frozen_start() {
    let dir = tempfile::tempdir().unwrap();
    // One still second, then two moving ones.
    let (still, moving) = ("color=c=gray:s=320x180:r=30:d=1", "testsrc=s=320x180:r=30:d=2,scroll=h=0.005");
    let inputs = ["-f", "lavfi", "-i", still, "-f", "lavfi", "-i", moving, "-filter_complex", "[0:v][1:v]concat=n=2:v=1"];
    let file = encode(dir.path(), "frozen.mp4", &inputs);
    let whole = distinct(&ffmpeg(), &file, None).unwrap();
    let steady = distinct_from(&ffmpeg(), &file, None, 1.0).unwrap();
    eprintln!("whole {whole:?}\nsteady {steady:?}");
    assert!(whole.longest_identical_run >= 29 && whole.distinct_ratio < 0.72, "{whole:?}");
    assert!(steady.frames >= 59 && steady.frames <= 61, "{steady:?}");
    assert!(steady.distinct_ratio >= 0.98 && steady.longest_identical_run <= 2, "{steady:?}");
    // Several windows from one decode give what each would alone.
    let each = distinct_from_each(&ffmpeg(), &file, None, &[1.0, 0.0, 2.5]).unwrap();
    assert_eq!((each[0].frames, each[0].distinct), (steady.frames, steady.distinct));
    assert_eq!((each[1].frames, each[1].distinct), (whole.frames, whole.distinct));
    assert!(each[2].frames >= 14 && each[2].frames <= 16 && each[2].distinct == each[2].frames, "{:?}", each[2]);
}
