//! `wallflower record`: the same pipeline as the service, for one recording, with progress on the
//! terminal. Ctrl-C stops and finalises the file.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::config::{CommonArgs, ServeArgs, Settings};
use crate::jobs::RecordingRequest;
use crate::jobs::model::Limits;
use crate::layouts::AssetServer;
use crate::recorder::{OutputSpec, Recorder, RecorderEvent, Source, StopSignal};
use crate::storage::DestinationSpec;

#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// `test` for the built-in test pattern, or an http(s) URL.
    #[arg(long)]
    source: String,
    /// How long to record, e.g. `10s` or `1h` (default: until Ctrl-C, at most 3 h).
    #[arg(long, value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
    /// Output MP4 file.
    #[arg(long)]
    out: PathBuf,
    /// Frame size, e.g. `1280x720`.
    #[arg(long, default_value = "1280x720")]
    size: String,
    #[arg(long, default_value_t = 30)]
    fps: u32,
    #[arg(long, default_value_t = 2500)]
    video_bitrate_kbps: u32,
    #[command(flatten)]
    pub(super) common: CommonArgs,
}

pub async fn run(args: RecordArgs) -> anyhow::Result<()> {
    let request = request(&args)?;
    let settings = Settings::resolve(&ServeArgs { common: args.common.clone(), ..ServeArgs::default() })?;
    if let Source::Web { url } = &request.source {
        settings.url_policy.check("--source", url).await?;
    }
    let (recorder, cancel, instance) = start_local(&settings).await?;
    let file = std::path::absolute(&args.out).context("output path")?;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // The CLI records test patterns and web pages, which have no layout settings.
    let job = request.into_job(format!("cli_{}", &instance[..8]), file, None, None);
    let stop = StopSignal::default();
    let (tx, rx) = mpsc::channel(64);
    let printer = tokio::spawn(print_progress(rx));
    stop_on_ctrl_c(&stop.stop);
    // The same span as a recording of the service, so log lines name it alike.
    let span = tracing::info_span!("recording", id = %job.id);
    let result = recorder.record(&job, tx, stop).instrument(span).await;
    let _ = printer.await;
    recorder.shutdown().await;
    cancel.cancel();
    match result {
        Ok(outcome) => {
            if let Some((file, m)) = &outcome.video {
                println!("{} ({:.1} s, {}x{}, {} bytes)", file.display(), m.duration_s, m.width, m.height, m.bytes);
            }
            Ok(())
        }
        Err(failure) => {
            if let Some((file, media)) = failure.partial {
                eprintln!("partial recording kept: {} ({:.1} s)", file.display(), media.duration_s);
            }
            bail!("recording failed ({}): {}", failure.error.code(), failure.error)
        }
    }
}

/// The layouts' asset server (stopped by the returned token) and a recorder beside it, for
/// recordings made without the service; also returns the recorder's instance id.
pub(super) async fn start_local(settings: &Settings) -> anyhow::Result<(Recorder, CancellationToken, String)> {
    let cancel = CancellationToken::new();
    let assets = AssetServer::start(&settings.layouts(), cancel.clone()).await?;
    let instance = uuid::Uuid::new_v4().simple().to_string();
    let recorder = Recorder::start(settings.recorder_config(&assets, settings.sandbox()?), &instance).await?;
    Ok((recorder, cancel, instance))
}

/// Ctrl-C cancels `stop` (the recording then finalises its file).
pub(super) fn stop_on_ctrl_c(stop: &CancellationToken) {
    let stop = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nstopping…");
            stop.cancel();
        }
    });
}

/// Builds and validates the same request the API would get.
fn request(args: &RecordArgs) -> anyhow::Result<RecordingRequest> {
    let source = match args.source.as_str() {
        "test" => Source::Test { tone_hz: 440 },
        url => Source::Web { url: url.to_owned() },
    };
    let output = output(&args.size, args.fps, args.video_bitrate_kbps)?;
    one_file_request(source, output, args.duration)
}

/// The output of `--size WxH`, `--fps` and the bitrate (checked with the request).
pub(super) fn output(size: &str, fps: u32, video_bitrate_kbps: u32) -> anyhow::Result<OutputSpec> {
    let (w, h) = size.split_once('x').context("--size must look like 1280x720")?;
    Ok(OutputSpec {
        width: w.parse().context("--size width")?,
        height: h.parse().context("--size height")?,
        fps,
        video_bitrate_kbps,
        hls: false,
        file: true,
    })
}

/// A validated request for one local file of `source`, stopping after `duration` if given.
pub(super) fn one_file_request(source: Source, output: OutputSpec, duration: Option<Duration>) -> anyhow::Result<RecordingRequest> {
    let max = duration.map(|d| d.as_secs().max(1)).unwrap_or(Limits::default().max_duration_s);
    let request = RecordingRequest {
        source,
        output,
        limits: Limits { max_duration_s: max, ..Limits::default() },
        destination: DestinationSpec::Local,
        layout: None,
        layout_params: None,
        branding: None,
        overlays: None,
        streams: Vec::new(),
        webhook_url: None,
        asset_hosts: Vec::new(),
    };
    request.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(request)
}

async fn print_progress(mut events: mpsc::Receiver<RecorderEvent>) {
    while let Some(event) = events.recv().await {
        match event {
            RecorderEvent::Started { .. } => eprintln!("recording (Ctrl-C to stop)"),
            RecorderEvent::Progress { duration_s, bytes, fps } => {
                eprint!("\r  {duration_s:7.1} s  {fps:5.1} fps  {:8.2} MB ", bytes as f64 / 1e6);
                let _ = std::io::stderr().flush();
            }
            RecorderEvent::Stopping { reason } => eprintln!("\nfinishing ({reason:?})…"),
            RecorderEvent::Participants { waiting: true, .. } => eprintln!("\nwaiting for participants"),
            RecorderEvent::Participants { publishers, .. } => {
                let names: Vec<_> = publishers.iter().map(|p| p.display.as_deref().unwrap_or("?")).collect();
                eprintln!("\nparticipants: {}", names.join(", "));
            }
            RecorderEvent::Incident { kind, message } => eprintln!("\nincident: {kind} {}", message.unwrap_or_default()),
            RecorderEvent::Restarted { part, cause, gap_s, .. } => eprintln!("\n{} relaunched after: {cause} ({gap_s:.2} s gap)", part.name()),
            RecorderEvent::Output { id, state, error, .. } => eprintln!("\noutput {id}: {state:?} {}", error.unwrap_or_default()),
            RecorderEvent::SettingsApplied { .. } | RecorderEvent::CallEvent { .. } | RecorderEvent::EventStats { .. } => {}
        }
    }
}
