//! The baseline the benchmark compares against: the classic silent-participant recipe Jitsi's
//! Jibri ships — Chromium in kiosk mode on Xvfb playing into PulseAudio, and one ffmpeg that grabs
//! the display with x11grab and the sink's monitor with ffmpeg's own PulseAudio input, x264
//! `ultrafast` at CRF 25, AAC 128k with `aresample=async=1` — recording the same page (the test
//! pattern, or the call's layout page) on the same machine with the same Chromium as Wallflower's
//! recorder; or, for the quality benchmark, a lossless capture of that page ([`Recipe::Lossless`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::mpsc;

use crate::config::Settings;
use crate::layouts::AssetServer;
use crate::measure::cpu::CpuReport;
use crate::recorder::audio::PulseServer;
use crate::recorder::browser::{Browser, LaunchOptions, Screen};
use crate::recorder::display::{Display, Server};
use crate::recorder::process::prepare;
use crate::recorder::tools::Tools;
use crate::recorder::{Source, bridge, page};

/// One baseline recording.
pub struct BaselineRun {
    /// The MP4 ffmpeg wrote.
    pub file: PathBuf,
    /// CPU and memory of all its processes over the steady window.
    pub cpu: CpuReport,
    /// From asking for the recording to ffmpeg being started (after the page said ready).
    pub start_to_capture_ms: u128,
}

/// What ffmpeg records the page with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipe {
    /// The classic line (the baseline), into `baseline.mp4`.
    Classic,
    /// The picture only, losslessly (x264 at QP 0, 4:2:0 as every recipe encodes it), into
    /// `reference.mkv`: what the quality benchmark encodes with each recipe and compares against.
    Lossless,
}

/// What to record, its frame size and rate, and how long to measure.
pub struct BaselineSpec {
    /// The page: the test pattern, or a Janus call's layout page.
    pub source: Source,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub window: Duration,
    pub recipe: Recipe,
}

/// Records `spec.source` with `spec.recipe` into `dir`, measuring its CPU over
/// `spec.window` after two settling seconds.
pub async fn record(settings: &Settings, spec: &BaselineSpec, dir: &Path) -> anyhow::Result<BaselineRun> {
    let instance = uuid::Uuid::new_v4().simple().to_string();
    let sandbox = settings.sandbox()?;
    let cancel = tokio_util::sync::CancellationToken::new();
    let assets = AssetServer::start(&settings.layouts(), cancel.clone()).await?;
    let tools = Tools::locate(&settings.chromium, settings.display_server)?;
    let socket = sandbox.path().join(format!("baseline-pulse-{}", &instance[..8]));
    let pulse = PulseServer::start(&tools.pulseaudio, &tools.pactl, &dir.join("pulse"), socket, &instance).await?;
    let started = Instant::now();
    let result = async {
        let sink = pulse.create_sink("baseline").await?;
        // The classic recipe runs on Xvfb, as Jibri does.
        let xvfb = Server::Xvfb(tools.xvfb.clone());
        let display = Display::start(&xvfb, (spec.width + 1, spec.height + 1), spec.fps, &instance, &sandbox).await?;
        let profile = sandbox.scratch("baseline-")?;
        let server = pulse.server_env();
        let screen = Screen { display: &display.name(), xauthority: display.xauthority(), pulse_server: &server, sink: &sink.name };
        let launch = LaunchOptions {
            program: &tools.chromium,
            screen: Some(screen),
            profile_dir: profile.path(),
            width: spec.width,
            height: spec.height,
            no_sandbox: sandbox.no_sandbox,
            run_as: sandbox.run_as.as_ref(),
            instance: &instance,
            extra_args: Vec::new(),
        };
        let browser = Browser::launch(launch).await?;
        let run = capture(&tools, &browser, &display, &sink.monitor(), &server, &assets, spec, dir, &instance, started).await;
        browser.close().await;
        display.stop().await;
        sink.remove().await;
        run
    }
    .await;
    pulse.stop().await;
    cancel.cancel();
    result
}

/// Loads the page and waits for it to be ready (a call's: its first publisher shown), then runs
/// the recipe's ffmpeg line while measuring.
#[allow(clippy::too_many_arguments)]
async fn capture(
    tools: &Tools,
    browser: &Browser,
    display: &Display,
    monitor: &str,
    pulse_server: &std::ffi::OsStr,
    assets: &AssetServer,
    spec: &BaselineSpec,
    dir: &Path,
    instance: &str,
    started: Instant,
) -> anyhow::Result<BaselineRun> {
    let id = format!("baseline_{}", &instance[..8]);
    let source = &spec.source;
    let (events, _) = mpsc::channel(64);
    let messages = bridge::install(&browser.page, &source.page_config(&id)).await?;
    let mut link = page::PageLink::new(messages);
    assets.pages.insert(&id, page::source_sources(source, []));
    page::load(&browser.page, &source.page_url(&assets.url, &id)?, Duration::from_secs(15)).await?;
    page::wait_ready(&mut link, Duration::from_secs(15), None, &events).await?;
    let file = dir.join(if spec.recipe == Recipe::Classic { "baseline.mp4" } else { "reference.mkv" });
    let mut ffmpeg = recipe_ffmpeg(&tools.ffmpeg, display, monitor, spec, &file);
    ffmpeg.env("PULSE_SERVER", pulse_server).env("XAUTHORITY", display.xauthority());
    prepare(&mut ffmpeg, instance);
    let mut child = tokio::process::Command::from(ffmpeg).kill_on_drop(true).spawn().context("cannot run ffmpeg")?;
    let start_to_capture_ms = started.elapsed().as_millis();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cpu = super::sample_cpu(instance, spec.window).await;
    if let Some(mut stdin) = child.stdin.take() {
        use tokio::io::AsyncWriteExt;
        let _ = stdin.write_all(b"q").await;
    }
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait()).await.context("ffmpeg did not stop")??;
    anyhow::ensure!(status.success(), "the classic ffmpeg failed: {status}");
    Ok(BaselineRun { file, cpu, start_to_capture_ms })
}

/// The classic recipe's picture encoder (Jibri's), also used on the lossless reference.
pub const CLASSIC_VIDEO: [&str; 10] = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "25", "-pix_fmt", "yuv420p", "-g", "60"];

/// The recipe's ffmpeg line; the classic one is Jibri's, with PulseAudio in place of its ALSA
/// loopback.
fn recipe_ffmpeg(ffmpeg: &Path, display: &Display, monitor: &str, spec: &BaselineSpec, file: &Path) -> std::process::Command {
    let (size, fps) = (format!("{}x{}", spec.width, spec.height), spec.fps.to_string());
    let mut cmd = std::process::Command::new(ffmpeg);
    cmd.args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(["-f", "x11grab", "-draw_mouse", "0", "-r", &fps, "-s", &size, "-thread_queue_size", "4096"])
        .args(["-i", &format!("{}.0+0,0", display.name())]);
    match spec.recipe {
        Recipe::Classic => cmd
            .args(["-f", "pulse", "-thread_queue_size", "4096", "-i", monitor])
            .args(CLASSIC_VIDEO)
            .args(["-r", &fps, "-c:a", "aac", "-b:a", "128k", "-af", "aresample=async=1"]),
        Recipe::Lossless => cmd.args(["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p"]),
    };
    cmd.arg(file)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    cmd
}
