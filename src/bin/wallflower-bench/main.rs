//! `wallflower-bench`: starts the service in-process, makes recordings one after the other
//! through the REST API — of the test pattern, or (`--participants N`) of a real Janus call with N
//! synthetic participants in a private network namespace — and prints per run: POST →
//! `recording`, POST → first frame in the file, CPU cores of the recording's processes over a
//! steady window (mean, median and p95 of half-second intervals, by program) and their peak PSS,
//! the participants' own CPU apart, stop → delivered, and what the file holds (fps, distinct
//! frames, freezes, and the test pattern's A/V offset). Results, with the CPU series, also go to
//! a JSON file, and the CPU of every run over time to a PNG chart.

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use serde_json::{Value, json};
use wallflower::config::{ServeArgs, Settings};
use wallflower::recorder::display::ServerChoice;
use wallflower::harness::{CallHarness, ParticipantSpec};
use wallflower::bench::baseline::{BaselineSpec, Recipe};
use wallflower::bench::chart::Line;
use wallflower::bench::density::{self, KEEP_DISTINCT};

mod run;
use run::{Baseline, Fidelity, Run, one_run};

#[derive(Parser)]
#[command(about = "Measures start time and CPU cost of Wallflower recordings")]
struct Args {
    /// Recordings to make, one after the other.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Frame size.
    #[arg(long, default_value = "1280x720")]
    size: String,
    #[arg(long, default_value_t = 30)]
    fps: u32,
    /// Seconds of steady recording over which CPU is measured.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// x264 preset of the recorder.
    #[arg(long, default_value = "ultrafast")]
    preset: String,
    /// Milliseconds the recorder moves the sound later (default: the service's default); 0
    /// measures the pipeline's own offset.
    #[arg(long, allow_hyphen_values = true)]
    sound_shift_ms: Option<i32>,
    /// The recorder's X server (default: the service's, Xvfb); the classic recipe always runs
    /// on Xvfb.
    #[arg(long, value_enum)]
    display_server: Option<ServerChoice>,
    /// The recorder's Chromium (default: the service's): e.g. a wrapper script that adds flags,
    /// to measure them without a new build. The classic recipe keeps the service's.
    #[arg(long)]
    chromium: Option<std::path::PathBuf>,
    /// Record a Janus call with this many synthetic participants instead of the test pattern
    /// (needs root: network namespace).
    #[arg(long, default_value_t = 0)]
    participants: usize,
    /// The participants are ffmpeg sending plain RTP into Janus (about 1 % of a core each)
    /// instead of publishing Chromiums (~0.25 cores each): the recorder then has the machine
    /// to itself, as it would beside a remote SFU.
    #[arg(long)]
    rtp_participants: bool,
    /// With `--rtp-participants`: P1's camera flashes white while their microphone beeps, every
    /// 1.04 s, and each run reports P1's lip-sync in the file (their tile's flash against the
    /// beep; positive: sound late). Only RTP participants send picture and sound on one clock.
    /// P1's camera then sends 25 pictures a second, not 15, so density does not take it.
    #[arg(long, requires = "rtp_participants", conflicts_with = "density")]
    lip_sync: bool,
    /// With `--rtp-participants`: each participant sends three simulcast layers (320x180,
    /// 640x360, 1280x720, as a browser's 720p camera does), each with a colour band of its own
    /// along its foot; the recorder asks Janus for the layer that fits each tile.
    #[arg(long, requires = "rtp_participants")]
    simulcast: bool,
    /// After each run, record the same page (the test pattern, or the same call) with the
    /// classic recipe (Jibri's ffmpeg line) and report Wallflower / baseline ratios.
    #[arg(long)]
    baseline: bool,
    /// Start each run's service with a warm pool of one browser of the run's size, and POST
    /// once it is ready: the start figures are then warm starts (CPU is measured once the
    /// pool's replacement browser has started).
    #[arg(long)]
    warm: bool,
    /// Instead of the runs: start 1, 2, 3 … recordings at once until one keeps under 95 % of
    /// its frames distinct (the test pattern's every frame; with `--participants`, the first
    /// tile's camera pictures), and report the most the machine held.
    #[arg(long)]
    density: bool,
    /// With `--density`: run each step this many times; a step holds when most of its tries do
    /// (one try's verdict swings by a step or two on the same machine).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=9))]
    density_tries: u32,
    /// After the runs, capture the page (the test pattern, or a call's) losslessly and compare
    /// Wallflower's encoder with the classic recipe's at equal bitrate (SSIM against the
    /// capture, encoder CPU).
    #[arg(long)]
    quality: bool,
    /// Copy each run's recording into this folder (they are deleted otherwise), to look at.
    #[arg(long)]
    keep_files: Option<std::path::PathBuf>,
    /// The layouts and their SDK to record with, and the participants' page (default: ./layouts
    /// if there, else the source tree's): a changed copy compares a page change.
    #[arg(long, env = "WALLFLOWER_LAYOUTS_DIR")]
    layouts_dir: Option<std::path::PathBuf>,
    /// Where to write the JSON results.
    #[arg(long, default_value = "bench-results.json")]
    json: std::path::PathBuf,
    /// Where to draw the CPU of every run over time (PNG; an SVG goes beside it).
    #[arg(long, default_value = "bench-cpu.png")]
    chart: std::path::PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // The service runs in this process: its warnings (and with WALLFLOWER_LOG more) show here.
    if std::env::var_os("WALLFLOWER_LOG").is_some() {
        wallflower::logging::init(wallflower::logging::LogFormat::Text);
    }
    if args.participants > 0 {
        // Before any thread exists: only threads created afterwards are in the namespace.
        wallflower::harness::netns::isolate()?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(bench(args))
}

async fn bench(args: Args) -> anyhow::Result<()> {
    let (w, h) = args.size.split_once('x').context("--size like 1280x720")?;
    let (w, h): (u32, u32) = (w.parse()?, h.parse()?);
    if args.density {
        return density(&args, (w, h)).await;
    }
    let mut runs = Vec::new();
    for i in 0..args.runs {
        let run = one_run(&args, w, h).await?;
        let c = &run.cpu;
        println!(
            "run {}: POST→recording {} ms, POST→first frame {} ms (participant {}), stop→delivered {} ms",
            i + 1, run.post_to_recording_ms, run.post_to_first_frame_ms,
            run.post_to_first_participant_frame_ms.map_or("none".into(), |ms| format!("{ms} ms")), run.stop_to_delivered_ms,
        );
        let shares: Vec<String> = c.by_program.iter().map(|(program, cores)| format!("{program} {cores:.3}")).collect();
        println!("       cores {:.2} (median {:.2}, p95 {:.2}; {}), peak PSS {:.0} MiB, participants+Janus {:.2} cores",
            c.mean_cores, c.median_cores, c.p95_cores, shares.join(", "), c.peak_pss_mib, run.participants.as_ref().map_or(0.0, |p| p.mean_cores));
        println!("       file: {}", describe(&run.fidelity));
        if let Some(b) = &run.baseline {
            print_baseline(b);
        }
        runs.push(run);
    }
    let med = |f: &dyn Fn(&Run) -> f64| median(runs.iter().map(f).collect());
    let firsts: Vec<f64> = runs.iter().filter_map(|r| r.post_to_first_participant_frame_ms.map(|v| v as f64)).collect();
    if !firsts.is_empty() {
        println!("median POST→first participant frame: {:.0} ms", median(firsts));
    }
    println!(
        "median of {} {}runs at {}x{}@{} ({}, {} {}participants): POST→recording {:.0} ms, POST→first frame {:.0} ms, stop→delivered {:.0} ms, {:.2} cores",
        runs.len(), if args.warm { "warm " } else { "" }, w, h, args.fps, args.preset, args.participants, kind(&args),
        med(&|r| r.post_to_recording_ms as f64), med(&|r| r.post_to_first_frame_ms as f64),
        med(&|r| r.stop_to_delivered_ms as f64), med(&|r| r.cpu.mean_cores)
    );
    let quality = match args.quality {
        true => Some(quality(&args, (w, h)).await?),
        false => None,
    };
    let out = json!({"size": args.size, "fps": args.fps, "preset": args.preset, "seconds": args.seconds,
                     "participants": args.participants, "rtp_participants": args.rtp_participants, "simulcast": args.simulcast, "warm": args.warm, "runs": runs, "quality": quality});
    std::fs::write(&args.json, serde_json::to_string_pretty(&out)?)?;
    println!("results: {}", args.json.display());
    let title = format!("CPU of one recording, {w}x{h}@{} {} ({} {}participants)", args.fps, args.preset, args.participants, kind(&args));
    chart(&title, &runs, &args.chart).await?;
    println!("CPU chart: {}", args.chart.display());
    Ok(())
}

/// The most recordings (of the test pattern, or of a call with `--participants`) that run at
/// once with every one keeping its frames.
async fn density(args: &Args, size: (u32, u32)) -> anyhow::Result<()> {
    let call = start_call(args).await?;
    let scene = match &call {
        None => density::Scene::test_pattern(),
        Some(call) => density::Scene::call(&call.instance, args.participants, size),
    };
    let window = Duration::from_secs(args.seconds);
    let result = density::search(&scene, &service_args(args), (size, args.fps), window, args.density_tries as usize).await;
    end_call(call).await;
    let (held, steps) = result?;
    let what = if args.participants > 0 { format!("a call of {} {}participants", args.participants, kind(args)) } else { "the test pattern".into() };
    let tries = if args.density_tries > 1 { format!(" in most of {} tries", args.density_tries) } else { String::new() };
    println!("density at {}x{}@{} ({}), {what}: {held} recordings at once keep ≥ {:.0} % of their frames{tries}", size.0, size.1, args.fps, args.preset, KEEP_DISTINCT * 100.0);
    let out = json!({"size": args.size, "fps": args.fps, "preset": args.preset, "seconds": args.seconds, "participants": args.participants,
                     "rtp_participants": args.rtp_participants, "density": held, "tries": args.density_tries, "steps": steps});
    std::fs::write(&args.json, serde_json::to_string_pretty(&out)?)?;
    println!("results: {}", args.json.display());
    Ok(())
}

/// Encodes a lossless capture of the run's page (in its own call, with `--participants`) with
/// each recipe and prints how each did.
async fn quality(args: &Args, size: (u32, u32)) -> anyhow::Result<Vec<wallflower::bench::quality::Row>> {
    let data = tempfile::tempdir()?;
    let settings = settings_in(data.path())?;
    let call = start_call(args).await?;
    let spec = BaselineSpec {
        source: serde_json::from_value(source(args))?,
        width: size.0,
        height: size.1,
        fps: args.fps,
        window: Duration::from_secs(args.seconds),
        recipe: Recipe::Lossless,
    };
    let rows = wallflower::bench::quality::compare(&settings, &spec, &args.preset, data.path()).await;
    end_call(call).await;
    let rows = rows?;
    println!("quality against a lossless capture ({}x{}@{}, {} s):", size.0, size.1, args.fps, args.seconds);
    for r in &rows {
        println!("  {:<40} {:>7.0} kb/s  SSIM {:.4} ({:.2} dB)  encoder {:.2} cores", r.label, r.encoded.kbps, r.ssim.mean, r.ssim.db, r.encoded.cores);
    }
    Ok(rows)
}

/// Draws every run's CPU over its window (and the baseline's, the participants') into `png`.
async fn chart(title: &str, runs: &[Run], png: &std::path::Path) -> anyhow::Result<()> {
    let mut lines = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        lines.push(Line { label: format!("Wallflower {}", i + 1), points: &run.cpu.series });
        if let Some(b) = &run.baseline {
            lines.push(Line { label: format!("classic recipe {}", i + 1), points: &b.cpu.series });
        }
        if let Some(p) = &run.participants {
            lines.push(Line { label: format!("participants {}", i + 1), points: &p.series });
        }
    }
    let svg = wallflower::bench::chart::svg(title, &lines);
    std::fs::write(png.with_extension("svg"), &svg)?;
    let data = tempfile::tempdir()?;
    wallflower::bench::chart::render_png(&settings_in(data.path())?, &svg, png).await
}

/// The service's default settings with its data in `dir`.
fn settings_in(dir: &std::path::Path) -> anyhow::Result<Settings> {
    let mut serve = ServeArgs::default();
    serve.common.data_dir = Some(dir.to_path_buf());
    Settings::resolve(&serve)
}

/// One line on what a file holds.
fn describe(f: &Fidelity) -> String {
    let offset = |s: &wallflower::measure::sync::SyncReport| {
        let drift = s.drift_ms.map_or("n/a".into(), |d| format!("{d:+.1} ms"));
        format!("{:+.1} ms (p10 {:+.1}, p90 {:+.1}, {} markers, drift {drift})", s.median_ms, s.p10_ms, s.p90_ms, s.count)
    };
    let lip_sync = f.lip_sync.as_ref().map(|s| format!(", P1 lip-sync {}", offset(s))).unwrap_or_default();
    format!("{:.2} fps, {:.1} % distinct frames, longest freeze {} frames, A/V offset {}{lip_sync}",
        f.fps, f.distinct_ratio * 100.0, f.longest_freeze_frames, f.sync.as_ref().map_or("n/a".into(), offset))
}

fn print_baseline(b: &Baseline) {
    let c = &b.cpu;
    println!("       baseline (classic recipe): cores {:.2} (median {:.2}, p95 {:.2}) {:?}, peak PSS {:.0} MiB", c.mean_cores, c.median_cores, c.p95_cores, c.by_program, c.peak_pss_mib);
    println!("       baseline file: {}, {} bytes", describe(&b.fidelity), b.file_bytes);
    println!("       Wallflower / baseline: cores {:.2}, peak PSS {:.2}", b.cores_ratio, b.pss_ratio);
}

/// How the participants publish, as the report names it.
fn kind(args: &Args) -> &'static str {
    match (args.rtp_participants, args.simulcast) {
        (true, true) => "RTP simulcast ",
        (true, false) => "RTP ",
        _ => "",
    }
}

/// Janus and `args.participants` synthetic participants in its open room (none without).
async fn start_call(args: &Args) -> anyhow::Result<Option<CallHarness>> {
    if args.participants == 0 {
        return Ok(None);
    }
    let mut specs = ParticipantSpec::numbered(args.participants);
    if args.rtp_participants {
        specs = specs.into_iter().map(ParticipantSpec::over_rtp).collect();
    }
    if args.simulcast {
        specs = specs.into_iter().map(|s| s.with_simulcast(1280, 720)).collect();
    }
    if args.lip_sync {
        specs[0] = specs[0].clone().with_markers();
    }
    let layouts = args.layouts_dir.clone().unwrap_or_else(wallflower::layouts::default_dir);
    Ok(Some(CallHarness::start_with(&layouts, specs).await?))
}

async fn end_call(call: Option<CallHarness>) {
    if let Some(call) = call {
        call.stop().await;
    }
}

/// The recordings' `source`: the harness call's room with `--participants`, else the test pattern.
fn source(args: &Args) -> Value {
    match args.participants {
        0 => json!({"type": "test"}),
        _ => json!({"type": "janus", "server": wallflower::harness::janus::URL, "room": wallflower::harness::janus::ROOM}),
    }
}

/// The service settings every measured recording runs with.
fn service_args(args: &Args) -> ServeArgs {
    let mut serve = ServeArgs::default();
    serve.common.x264_preset = Some(args.preset.clone());
    serve.common.sound_shift_ms = args.sound_shift_ms;
    serve.common.display_server = args.display_server;
    serve.common.chromium = args.chromium.clone();
    serve.common.layouts_dir = args.layouts_dir.clone();
    serve
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}
