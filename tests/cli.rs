//! The one-shot CLI: `wallflower record` and `wallflower calibrate` with the real pipeline, and
//! their refusal to start when a program is missing or an argument is wrong.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{ffprobe, stream};

fn wallflower() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wallflower"));
    cmd.env("WALLFLOWER_LAYOUTS_DIR", concat!(env!("CARGO_MANIFEST_DIR"), "/layouts"));
    cmd.env("WALLFLOWER_LOG", "warn");
    cmd
}

#[test]
fn a_missing_program_is_named_with_the_setup_hint() {
    let dir = tempfile::tempdir().unwrap();
    let out = wallflower()
        .args(["record", "--source", "test", "--duration", "2s", "--chromium", "/nonexistent/chromium"])
        .arg("--out").arg(dir.path().join("x.mp4"))
        .arg("--data-dir").arg(dir.path())
        .output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/chromium") && err.contains("scripts/setup"), "{err}");
}

#[test]
fn bad_sizes_are_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let out = wallflower()
        .args(["record", "--source", "test", "--size", "641x360"])
        .arg("--out").arg(dir.path().join("x.mp4"))
        .output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("output.width"), "{err}");
}

#[test]
fn calibrate_measures_the_offset_and_prints_the_setting_that_cancels_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = wallflower()
        .args(["calibrate", "--runs", "1", "--seconds", "8", "--size", "640x360"])
        .arg("--data-dir").arg(dir.path())
        .output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    let shift: i32 = stdout.lines().find_map(|l| l.strip_prefix("sound_shift_ms = ")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no setting printed: {stdout}"));
    let markers: usize = stdout.split(" markers").next().and_then(|s| s.rsplit(' ').next()?.parse().ok()).unwrap_or(0);
    assert!(markers >= 4, "an 8 s run holds six or seven markers: {stdout}");
    // This pipeline's own offset is tens of milliseconds, sound early (BENCHMARKS.md).
    assert!((-20..=150).contains(&shift), "{stdout}");
}

#[test]
fn calibrate_refuses_a_run_count_out_of_range() {
    let out = wallflower().args(["calibrate", "--runs", "0"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--runs"));
}

#[test]
fn record_writes_the_file_and_ctrl_c_finalises_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.mp4");
    let child = wallflower()
        .args(["record", "--source", "test", "--size", "320x240", "--fps", "25"])
        .arg("--out").arg(&file)
        .arg("--data-dir").arg(dir.path().join("data"))
        .stdout(Stdio::piped()).stderr(Stdio::piped())
        .spawn().unwrap();
    std::thread::sleep(Duration::from_secs(8));
    // SAFETY: SIGINT to the child this test started, as Ctrl-C would.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(file.to_str().unwrap()));
    assert!(stderr.contains("fps"), "no progress shown: {stderr}");
    let probe = ffprobe(&file);
    assert_eq!(stream(&probe, "video")["width"], 320);
    let duration: f64 = probe["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!(duration > 2.0, "{duration}");
    assert!(!dir.path().join("out.mp4.part").exists());
}

#[test]
fn json_logs_name_the_recording_on_every_pipeline_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = wallflower()
        .env("WALLFLOWER_LOG", "info,chromiumoxide=error")
        .args(["record", "--source", "test", "--duration", "2s", "--size", "320x240", "--log-format", "json"])
        .arg("--out").arg(dir.path().join("x.mp4"))
        .arg("--data-dir").arg(dir.path().join("data"))
        .output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The rest of stderr is the progress display, which is not a log.
    let lines: Vec<serde_json::Value> = stderr.lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).unwrap()).collect();
    let pipeline: Vec<_> = lines.iter().filter(|l| l["target"].as_str().is_some_and(|t| t.starts_with("wallflower::recorder"))).collect();
    assert!(!pipeline.is_empty(), "no pipeline lines in {stderr}");
    for line in pipeline {
        let id = line["spans"][0]["id"].as_str().unwrap_or_default();
        assert!(line["spans"][0]["name"] == "recording" && id.starts_with("cli_"), "{line}");
    }
}
