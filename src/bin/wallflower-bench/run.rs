//! One measured recording: the service started in this process, one recording through its REST
//! API, its CPU over a steady window, and what its file holds; the classic recipe's recording of
//! the same page beside it when asked for.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;
use serde_json::{Value, json};
use wallflower::bench::baseline::{BaselineSpec, Recipe};
use wallflower::bench::{BenchService, sample_cpu, sample_service_cpu, wait_state};
use wallflower::harness::ParticipantSpec;
use wallflower::measure::cpu::CpuReport;

use super::{Args, end_call, service_args, settings_in, source, start_call};

#[derive(Serialize)]
pub struct Run {
    pub post_to_recording_ms: u128,
    pub post_to_first_frame_ms: i64,
    /// Calls: POST → the first frame in the file that shows the first participant.
    pub post_to_first_participant_frame_ms: Option<i64>,
    pub stop_to_delivered_ms: u128,
    /// CPU and memory of the recording's processes over the steady window.
    pub cpu: CpuReport,
    /// CPU of the synthetic participants (and Janus), not part of the recording's cost.
    pub participants: Option<CpuReport>,
    pub file_duration_s: f64,
    pub file_bytes: u64,
    pub fidelity: Fidelity,
    /// The classic recipe on the same page, when asked for.
    pub baseline: Option<Baseline>,
}

/// The classic recipe's recording of the same page.
#[derive(Serialize)]
pub struct Baseline {
    pub start_to_capture_ms: u128,
    pub cpu: CpuReport,
    pub file_bytes: u64,
    pub fidelity: Fidelity,
    /// Wallflower's mean cores and peak PSS over the baseline's.
    pub cores_ratio: f64,
    pub pss_ratio: f64,
}

/// What the file holds, measured by `wallflower::measure`.
#[derive(Serialize)]
pub struct Fidelity {
    /// Frames per second in the file.
    pub fps: f64,
    /// Share of frames that differ from the one before (the whole frame).
    pub distinct_ratio: f64,
    /// Longest run of identical frames.
    pub longest_freeze_frames: usize,
    /// Test pattern only: A/V offset of the flash/beep markers (positive: sound late).
    pub sync: Option<wallflower::measure::sync::SyncReport>,
    /// `--lip-sync` only: the offset of P1's sound from their picture, from the flashes of
    /// their tile and their beeps (positive: sound late).
    pub lip_sync: Option<wallflower::measure::sync::SyncReport>,
}

pub async fn one_run(args: &Args, width: u32, height: u32) -> anyhow::Result<Run> {
    let call = start_call(args).await?;
    let result = async {
        let instance = call.as_ref().map(|c| c.instance.clone());
        let mut run = measured_run(args, width, height, source(args), instance).await?;
        if args.baseline {
            // While the call is still up: the classic recipe records the same call.
            run.baseline = Some(baseline(args, width, height, &run).await?);
        }
        Ok(run)
    }
    .await;
    end_call(call).await;
    result
}

/// Records the run's page with the classic recipe and compares it with `run`.
async fn baseline(args: &Args, width: u32, height: u32, run: &Run) -> anyhow::Result<Baseline> {
    let data = tempfile::tempdir()?;
    let settings = settings_in(data.path())?;
    let source = serde_json::from_value(source(args))?;
    let spec = BaselineSpec { source, width, height, fps: args.fps, window: Duration::from_secs(args.seconds), recipe: Recipe::Classic };
    let b = wallflower::bench::baseline::record(&settings, &spec, data.path()).await?;
    let file = b.file.clone();
    let markers = Markers::of(args, width, height);
    let fidelity = tokio::task::spawn_blocking(move || fidelity(&file, markers)).await??;
    Ok(Baseline {
        start_to_capture_ms: b.start_to_capture_ms,
        cores_ratio: run.cpu.mean_cores / b.cpu.mean_cores,
        pss_ratio: run.cpu.peak_pss_mib / b.cpu.peak_pss_mib,
        file_bytes: std::fs::metadata(&b.file).map_or(0, |m| m.len()),
        cpu: b.cpu,
        fidelity,
    })
}

async fn measured_run(args: &Args, width: u32, height: u32, source: Value, call: Option<String>) -> anyhow::Result<Run> {
    let data = tempfile::tempdir()?;
    let mut serve = service_args(args);
    serve.common.data_dir = Some(data.path().to_path_buf());
    if args.warm {
        (serve.warm_pool, serve.warm_pool_size) = (Some(1), Some(format!("{width}x{height}@{}", args.fps)));
    }
    let service = BenchService::start(serve).await?;
    let (base, instance) = (service.base.clone(), service.instance.clone());
    let client = reqwest::Client::new();
    if args.warm {
        wait_warm(&client, &base).await?;
    }
    let body = json!({"source": source, "output": {"width": width, "height": height, "fps": args.fps}});
    let posted = Instant::now();
    let rec: Value = client.post(format!("{base}/v1/recordings")).json(&body).send().await?.json().await?;
    let id = rec["id"].as_str().context("no id")?.to_owned();
    let url = format!("{base}/v1/recordings/{id}");
    let recording = wait_state(&client, &url, &["recording"]).await?;
    let post_to_recording_ms = posted.elapsed().as_millis();
    let first = ts(&recording, "started_at")? - ts(&recording, "created_at")?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    if args.warm {
        // The steady window starts once the pool's replacement browser is up (its start costs
        // ~1.7 CPU seconds; waiting, it costs nothing).
        wait_warm(&client, &base).await?;
    }
    let window = Duration::from_secs(args.seconds);
    let (cpu, participants) = match &call {
        Some(call) => {
            let (cpu, participants) = tokio::join!(sample_service_cpu(&instance, window), sample_cpu(call, window));
            (cpu, Some(participants))
        }
        None => (sample_service_cpu(&instance, window).await, None),
    };
    let stopped = Instant::now();
    client.post(format!("{url}/stop")).send().await?;
    let done = wait_state(&client, &url, &["completed", "failed"]).await?;
    let stop_to_delivered_ms = stopped.elapsed().as_millis();
    if done["state"] != "completed" {
        bail!("recording failed: {}", done["error"]);
    }
    service.stop().await?;
    let file_duration_s = done["duration_s"].as_f64().unwrap_or(0.0);
    let file_path = std::path::PathBuf::from(done["files"][0]["path"].as_str().unwrap_or(""));
    let file = file_path.clone();
    keep(args, &file)?;
    let markers = Markers::of(args, width, height);
    let fidelity = tokio::task::spawn_blocking(move || fidelity(&file, markers)).await??;
    Ok(Run {
        post_to_recording_ms,
        post_to_first_frame_ms: first.num_milliseconds(),
        post_to_first_participant_frame_ms: match call {
            Some(_) => first_colour_at(done["files"][0]["path"].as_str().unwrap_or(""), p1_rgb())
                .map(|t| first.num_milliseconds() + (t * 1000.0) as i64),
            None => None,
        },
        stop_to_delivered_ms,
        cpu,
        participants,
        file_duration_s,
        file_bytes: std::fs::metadata(&file_path).map_or(0, |m| m.len()),
        fidelity,
        baseline: None,
    })
}

/// Which flash/beep markers a run's file carries.
#[derive(Clone, Copy)]
enum Markers {
    /// The test pattern's, over the whole picture.
    Page,
    /// P1's (`--lip-sync`), in their tile, found by their camera's colour in a picture of
    /// this size.
    Participant { rgb: [u8; 3], size: (u32, u32) },
    None,
}

impl Markers {
    fn of(args: &Args, width: u32, height: u32) -> Self {
        match (args.participants, args.lip_sync) {
            (0, _) => Self::Page,
            (_, true) => Self::Participant { rgb: p1_rgb(), size: (width, height) },
            (_, false) => Self::None,
        }
    }
}

/// Frame delivery of `file`, and the A/V offset of its `markers`.
fn fidelity(file: &std::path::Path, markers: Markers) -> anyhow::Result<Fidelity> {
    use wallflower::measure::sync::{Sampling, offsets_in};
    let ffmpeg = std::path::Path::new("ffmpeg");
    let frames = wallflower::measure::frames::distinct(ffmpeg, file, None)?;
    let (mut sync, mut lip_sync) = (None, None);
    match markers {
        Markers::Page => sync = offsets_in(ffmpeg, file, Sampling::Screen, None).ok(),
        Markers::Participant { rgb, size } => {
            let tile = wallflower::measure::locate::colour_box(ffmpeg, file, size, rgb)?
                .with_context(|| format!("P1's tile (colour {rgb:02x?}) is not in {}", file.display()))?;
            lip_sync = Some(offsets_in(ffmpeg, file, Sampling::Screen, Some(wallflower::measure::locate::middle(tile)))?);
        }
        Markers::None => {}
    }
    Ok(Fidelity { fps: frames.fps, distinct_ratio: frames.distinct_ratio, longest_freeze_frames: frames.longest_identical_run, sync, lip_sync })
}

/// Waits until the service's warm pool has a browser ready.
async fn wait_warm(client: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let health: Value = client.get(format!("{base}/healthz")).send().await?.json().await?;
        if health["warm_browsers"].as_u64() >= Some(1) {
            // Let the new browser's start-up work settle before timing a recording.
            tokio::time::sleep(Duration::from_secs(2)).await;
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("no warm browser after 60 s: {health}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn ts(rec: &Value, field: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    Ok(rec[field].as_str().with_context(|| format!("no {field}"))?.parse()?)
}

/// Copies `file` into `--keep-files`, if given, under a name of its own.
fn keep(args: &Args, file: &std::path::Path) -> anyhow::Result<()> {
    let Some(dir) = &args.keep_files else { return Ok(()) };
    std::fs::create_dir_all(dir)?;
    let name = format!("run-{}.{}", chrono::Utc::now().format("%H%M%S%.3f"), file.extension().and_then(|e| e.to_str()).unwrap_or("mp4"));
    std::fs::copy(file, dir.join(&name)).with_context(|| format!("keeping {} in {}", file.display(), dir.display()))?;
    println!("       kept: {}", dir.join(name).display());
    Ok(())
}

/// P1's camera colour (the bench's participants are [`ParticipantSpec::numbered`]).
fn p1_rgb() -> [u8; 3] {
    ParticipantSpec::numbered(1)[0].rgb().unwrap_or_default()
}

/// Seconds into `file` of the first frame (10 per second, first 10 s) where `rgb` covers > 3 %.
fn first_colour_at(file: &str, rgb: [u8; 3]) -> Option<f64> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-t", "10", "-i", file, "-vf", "fps=10,scale=64:36", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .ok()?;
    let frame_len = 64 * 36 * 3;
    out.stdout.chunks_exact(frame_len).position(|frame| {
        let near = frame.chunks_exact(3).filter(|p| wallflower::measure::locate::near(p, rgb)).count();
        near as f64 / (64.0 * 36.0) > 0.03
    }).map(|i| i as f64 / 10.0)
}

