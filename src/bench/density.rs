//! Density: how many recordings one machine holds at once while each keeps its picture moving.
//! A step starts `n` recordings of one [`Scene`] together on one service, measures all their
//! processes' CPU over a steady window (and the call's participants and Janus apart), stops
//! them, and counts the distinct frames of each file while all of them recorded (from the
//! window's start: the others' starts, a Chromium each, can starve a recording that already
//! runs, and that is the start's cost, not what the machine holds): of the whole picture
//! for the test pattern (it changes every frame, so a repeated frame is one the pipeline could
//! not deliver in time), of one participant's tile for a call (every frame of its camera differs,
//! so the tile should change as often as the camera sends).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Serialize;
use serde_json::{Value, json};

use crate::config::ServeArgs;
use crate::measure::cpu::CpuReport;
use crate::measure::frames;

/// The search stops here whatever the machine.
const MAX_AT_ONCE: usize = 8;
/// The share of distinct frames each recording must keep.
pub const KEEP_DISTINCT: f64 = 0.95;
/// Frames before this (seconds into a file) are left out: the page settles first (its
/// animations start a second after `ready`, a tile's first pictures come as the call connects).
const STEADY_FROM_S: f64 = 2.0;

/// What the recordings record.
#[derive(Debug, Clone)]
pub struct Scene {
    /// The recordings' `source`.
    pub source: Value,
    /// Where a moving participant tile sits, if the measure is one tile rather than the picture.
    pub tile: Option<Tile>,
    /// Marker of the call's processes (participants and Janus), measured apart.
    pub call_instance: Option<String>,
}

/// A participant tile to count frames in.
#[derive(Debug, Clone, Copy)]
pub struct Tile {
    /// x, y, width, height in the recording's pixels.
    pub crop: (u32, u32, u32, u32),
    /// How many new pictures a second the participant's camera sends.
    pub camera_fps: f64,
}

impl Scene {
    /// The built-in test pattern.
    pub fn test_pattern() -> Self {
        Self { source: json!({"type": "test"}), tile: None, call_instance: None }
    }

    /// The harness call (marker `call_instance`) of `participants` in its open room, recorded at
    /// `size`, counting the frames of the grid's top-left tile (with one participant, the whole
    /// picture): whoever the page put there, every camera sends [`CAMERA_FPS`] new pictures.
    pub fn call(call_instance: &str, participants: usize, size: (u32, u32)) -> Self {
        use crate::harness::{janus, participant::CAMERA_FPS};
        let crop = if participants == 1 { (0, 0, size.0, size.1) } else { (0, 0, size.0 / 2, size.1 / 2) };
        Self {
            source: json!({"type": "janus", "server": janus::URL, "room": janus::ROOM}),
            tile: Some(Tile { crop, camera_fps: f64::from(CAMERA_FPS) }),
            call_instance: Some(call_instance.to_owned()),
        }
    }

    /// The share of the expected pictures that `report` shows as distinct frames.
    fn kept(&self, report: &frames::FrameReport) -> f64 {
        match self.tile {
            None => report.distinct_ratio,
            Some(tile) if report.fps > 0.0 => {
                let expected = report.frames as f64 / report.fps * tile.camera_fps;
                (report.distinct as f64 / expected).min(1.0)
            }
            Some(_) => 0.0,
        }
    }
}

/// One step of the search.
#[derive(Debug, Serialize)]
pub struct Step {
    pub recordings: usize,
    /// Which try of its step this is (from 1).
    pub attempt: usize,
    /// All recordings' processes together, and per recording.
    pub cpu: CpuReport,
    pub cores_each: f64,
    /// The call's participants and Janus (not part of the recordings' cost).
    pub call_cpu: Option<CpuReport>,
    /// Each file's share of the expected distinct frames while all recorded (see [`Scene`]),
    /// and its frame rate.
    pub distinct: Vec<f64>,
    /// The same from each file's first 2 s on, its start and the others' included.
    pub distinct_from_start: Vec<f64>,
    pub fps: Vec<f64>,
}

impl Step {
    /// Every recording kept [`KEEP_DISTINCT`] of its frames.
    pub fn holds(&self) -> bool {
        self.distinct.iter().all(|d| *d >= KEEP_DISTINCT)
    }
}

/// Steps of 1, 2, 3 … recordings of `scene` at once, each on a fresh service started with
/// `serve`, up to the first that does not hold; prints each. A step runs `tries` times and holds
/// when most of its tries do: one try's verdict swings by a step or two on the same machine
/// (BENCHMARKS.md, "Density and the encoder's priority"). Returns how many held, and every try.
pub async fn search(scene: &Scene, serve: &ServeArgs, (size, fps): ((u32, u32), u32), window: Duration, tries: usize) -> anyhow::Result<(usize, Vec<Step>)> {
    let (mut steps, mut held, tries) = (Vec::new(), 0, tries.max(1));
    for n in 1..=MAX_AT_ONCE {
        let mut passed = 0;
        for attempt in 1..=tries {
            let mut step = self::step(serve.clone(), scene, n, size, fps, window).await?;
            step.attempt = attempt;
            print_step(&step, tries);
            passed += usize::from(step.holds());
            steps.push(step);
        }
        if !most(passed, tries) {
            break;
        }
        held = n;
    }
    Ok((held, steps))
}

/// More than half of `tries`.
fn most(passed: usize, tries: usize) -> bool {
    2 * passed > tries
}

fn print_step(step: &Step, tries: usize) {
    let shares = |d: &[f64]| d.iter().map(|d| format!("{:.1} %", d * 100.0)).collect::<Vec<_>>().join(", ");
    let call = step.call_cpu.as_ref().map(|c| format!(", participants+Janus {:.2} cores", c.mean_cores)).unwrap_or_default();
    let attempt = if tries > 1 { format!(" (try {} of {tries})", step.attempt) } else { String::new() };
    println!(
        "{} at once{attempt}: {:.2} cores ({:.2} each){call}, frames kept while all recorded: {} (from 2 s into each file: {})",
        step.recordings,
        step.cpu.mean_cores,
        step.cores_each,
        shares(&step.distinct),
        shares(&step.distinct_from_start)
    );
}

/// Runs `n` recordings of `scene` at `size` at once on a service made from `serve` for `window`.
pub async fn step(mut serve: ServeArgs, scene: &Scene, n: usize, size: (u32, u32), fps: u32, window: Duration) -> anyhow::Result<Step> {
    let data = tempfile::tempdir()?;
    serve.max_concurrent = Some(n);
    serve.common.data_dir = Some(data.path().to_path_buf());
    let service = super::BenchService::start(serve).await?;
    let measured = measure(&service.base, &service.instance, scene, n, (size, fps), window).await;
    service.stop().await?;
    let (cpu, call_cpu, files) = measured?;
    let cores_each = cpu.mean_cores / n as f64;
    let mut step = Step { recordings: n, attempt: 1, cores_each, cpu, call_cpu, distinct: Vec::new(), distinct_from_start: Vec::new(), fps: Vec::new() };
    let crop = scene.tile.map(|t| t.crop);
    for (file, steady_s) in files {
        let froms = [steady_s.max(STEADY_FROM_S), STEADY_FROM_S];
        let reports = tokio::task::spawn_blocking(move || frames::distinct_from_each("ffmpeg".as_ref(), &file, crop, &froms)).await??;
        step.distinct.push(scene.kept(&reports[0]));
        step.distinct_from_start.push(scene.kept(&reports[1]));
        step.fps.push(reports[0].fps);
    }
    Ok(step)
}

/// Starts the recordings, samples them (and the call), stops them; returns the CPU and the files,
/// each with the second of it where the measured window began.
async fn measure(
    base: &str,
    instance: &str,
    scene: &Scene,
    n: usize,
    (size, fps): ((u32, u32), u32),
    window: Duration,
) -> anyhow::Result<(CpuReport, Option<CpuReport>, Vec<(PathBuf, f64)>)> {
    let client = reqwest::Client::new();
    let body = json!({"source": scene.source, "output": {"width": size.0, "height": size.1, "fps": fps}});
    let mut urls = Vec::new();
    for _ in 0..n {
        let rec: Value = client.post(format!("{base}/v1/recordings")).json(&body).send().await?.json().await?;
        urls.push(format!("{base}/v1/recordings/{}", rec["id"].as_str().with_context(|| format!("not started: {rec}"))?));
    }
    for url in &urls {
        super::wait_state(&client, url, &["recording"]).await?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let window_start = chrono::Utc::now();
    let call = async {
        match &scene.call_instance {
            Some(call) => Some(super::sample_cpu(call, window).await),
            None => None,
        }
    };
    let (cpu, call_cpu) = tokio::join!(super::sample_service_cpu(instance, window), call);
    for url in &urls {
        client.post(format!("{url}/stop")).send().await?;
    }
    let mut files = Vec::new();
    for url in &urls {
        let done = super::wait_state(&client, url, &["completed", "failed"]).await?;
        if done["state"] != "completed" {
            bail!("a recording failed: {}", done["error"]);
        }
        let started: chrono::DateTime<chrono::Utc> = done["started_at"].as_str().context("no started_at")?.parse()?;
        let steady_s = (window_start - started).num_milliseconds() as f64 / 1000.0;
        files.push((PathBuf::from(done["files"][0]["path"].as_str().context("no file")?), steady_s));
    }
    Ok((cpu, call_cpu, files))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(frames: usize, fps: f64, distinct: usize) -> frames::FrameReport {
        frames::FrameReport { frames, fps, distinct, distinct_ratio: distinct as f64 / frames as f64, longest_identical_run: 1, missing: 0 }
    }

    #[test]
    fn a_tile_is_measured_against_its_camera_rate_and_the_test_pattern_against_every_frame() {
        let tile = Scene { tile: Some(Tile { crop: (0, 0, 640, 360), camera_fps: 15.0 }), ..Scene::test_pattern() };
        // 10 s at 30 fps: a 15 fps camera gives 150 new pictures.
        assert!((tile.kept(&report(300, 30.0, 150)) - 1.0).abs() < 1e-9);
        assert!((tile.kept(&report(300, 30.0, 135)) - 0.9).abs() < 1e-9);
        assert_eq!(tile.kept(&report(300, 30.0, 200)), 1.0, "never above all of them");
        assert!((Scene::test_pattern().kept(&report(300, 30.0, 285)) - 0.95).abs() < 1e-9);
    }

    #[test]
    fn a_step_holds_when_most_of_its_tries_do() {
        assert!(most(1, 1));
        assert!(!most(0, 1));
        assert!(most(2, 3));
        assert!(!most(1, 3));
        assert!(!most(1, 2), "a tie does not hold");
        assert!(most(2, 2));
    }
}
