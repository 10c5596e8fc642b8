//! `wallflower calibrate`: measures this machine's own sound/picture offset, the constant the
//! recorder corrects with `sound_shift_ms`. It records the test pattern with the sound unshifted,
//! reads the offset of each flash and its beep (the page makes them at the same instant), and
//! prints the setting that cancels the median. The default (40 ms) was measured this way on a
//! 2-core Xeon (BENCHMARKS.md); a different CPU, load or display size may need its own.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::config::{CommonArgs, ServeArgs, Settings};
use crate::jobs::RecordingRequest;
use crate::measure::{median, sync};
use crate::recorder::{Recorder, Source, StopSignal};

/// Under this many paired markers a run says too little (a marker comes about once a second).
const MIN_MARKERS: usize = 3;
/// Runs whose medians spread wider than this disagree: the machine was busy, say so.
const STEADY_SPREAD_MS: f64 = 40.0;

#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {
    /// Recordings to make; the result is the median of their offsets.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    runs: u32,
    /// Length of each recording in seconds (about one marker a second).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(5..=120))]
    seconds: u64,
    /// Frame size to calibrate, e.g. `1280x720` (the offset grows with the compositor's work).
    #[arg(long, default_value = "1280x720")]
    size: String,
    #[arg(long, default_value_t = 30)]
    fps: u32,
    #[command(flatten)]
    pub(super) common: CommonArgs,
}

pub async fn run(args: CalibrateArgs) -> anyhow::Result<()> {
    // What the flags, the environment or the config file set now (to print beside the result).
    let configured = Settings::resolve(&ServeArgs { common: args.common.clone(), ..ServeArgs::default() })?.sound_shift_ms;
    let mut common = args.common.clone();
    common.sound_shift_ms = Some(0);
    let settings = Settings::resolve(&ServeArgs { common, ..ServeArgs::default() })?;
    let output = super::record::output(&args.size, args.fps, 2500)?;
    let request = super::record::one_file_request(Source::Test { tone_hz: 440 }, output, Some(Duration::from_secs(args.seconds)))?;
    let (recorder, cancel, _) = super::record::start_local(&settings).await?;
    let stop = StopSignal::default();
    super::record::stop_on_ctrl_c(&stop.stop);
    let ffmpeg = recorder.tools().ffmpeg.clone();
    let dir = tempfile::Builder::new().prefix("wallflower-calibrate-").tempdir().context("temp dir")?;
    let result = measure(&recorder, &request, &args, (&ffmpeg, dir.path()), &stop).await;
    recorder.shutdown().await;
    cancel.cancel();
    report(&result?, configured, &args.size);
    Ok(())
}

/// Records and measures `args.runs` files; returns each run's median offset (ms).
/// `paths`: the ffmpeg that reads the files, and where they are written.
async fn measure(recorder: &Recorder, request: &RecordingRequest, args: &CalibrateArgs, paths: (&Path, &Path), stop: &StopSignal) -> anyhow::Result<Vec<f64>> {
    let (ffmpeg, dir) = paths;
    let mut medians = Vec::new();
    for run in 1..=args.runs {
        if stop.stop.is_cancelled() {
            bail!("interrupted");
        }
        let file = dir.join(format!("run{run}.mp4"));
        record(recorder, request, &file, run, stop).await?;
        let (probe, path) = (ffmpeg.to_path_buf(), file.clone());
        let sync = tokio::task::spawn_blocking(move || sync::offsets(&probe, &path, sync::Sampling::Screen)).await??;
        let _ = std::fs::remove_file(&file);
        if sync.count < MIN_MARKERS {
            bail!("run {run}: only {} flash/beep pairs found in {} s; is the machine too busy to draw the test pattern?", sync.count, args.seconds);
        }
        println!("run {run}: {:+.1} ms (p10 {:+.1}, p90 {:+.1}, {} markers)", sync.median_ms, sync.p10_ms, sync.p90_ms, sync.count);
        medians.push(sync.median_ms);
    }
    Ok(medians)
}

/// One test-pattern recording into `file`, until its duration limit (or Ctrl-C).
async fn record(recorder: &Recorder, request: &RecordingRequest, file: &Path, run: u32, stop: &StopSignal) -> anyhow::Result<()> {
    let job = request.clone().into_job(format!("calibrate_{run}"), file.to_path_buf(), None, None);
    let (tx, mut rx) = mpsc::channel(64);
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    eprintln!("run {run}: recording {} s…", request.limits.max_duration_s);
    let span = tracing::info_span!("recording", id = %job.id);
    let result = recorder.record(&job, tx, stop.clone()).instrument(span).await;
    let _ = drain.await;
    match result {
        Ok(_) if stop.stop.is_cancelled() => bail!("interrupted"),
        Ok(_) => Ok(()),
        Err(failure) => bail!("run {run}: recording failed ({}): {}", failure.error.code(), failure.error),
    }
}

/// Prints the measured offset and the setting that cancels it.
fn report(medians: &[f64], configured: i32, size: &str) {
    let offset = median(medians);
    let spread = medians.iter().copied().fold(f64::NEG_INFINITY, f64::max) - medians.iter().copied().fold(f64::INFINITY, f64::min);
    let shift = shift_for(offset);
    let (lead, side) = if offset <= 0.0 { (-offset, "before") } else { (offset, "after") };
    let runs = if medians.len() == 1 { "1 run".to_owned() } else { format!("{} runs, spread {spread:.0} ms", medians.len()) };
    println!("unshifted, the sound reaches the file {lead:.0} ms {side} its picture at {size} (median of {runs})");
    if medians.len() > 1 && spread > STEADY_SPREAD_MS {
        println!("warning: the runs disagree by more than {STEADY_SPREAD_MS:.0} ms; calibrate again on an idle machine");
    }
    println!("sound_shift_ms = {shift}");
    println!("(set it in the config file, or pass --sound-shift-ms {shift} / WALLFLOWER_SOUND_SHIFT_MS={shift}; now {configured})");
}

/// The shift that cancels an unshifted offset: sound early (negative) is moved later.
fn shift_for(offset_ms: f64) -> i32 {
    (-offset_ms).round().clamp(-1000.0, 1000.0) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn early_sound_is_moved_later_by_as_much() {
        assert_eq!(shift_for(-41.2), 41);
        assert_eq!(shift_for(12.6), -13);
        assert_eq!(shift_for(-5000.0), 1000);
    }
}
