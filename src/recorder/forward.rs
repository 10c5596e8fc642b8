//! One live output fed by the relay: an ffmpeg that copies the feed (no second encode) to an
//! RTMP(S) URL or into HLS segments. When it fails (an endpoint refusing or going away) it is
//! started again with backoff, and every change of its state is reported; the recording never
//! waits for it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::process::Supervised;
use crate::backoff::Backoff;
use super::{OutputState, RecorderEvent};

/// What an output makes of the feed.
#[derive(Debug, Clone)]
pub enum OutputKind {
    Rtmp { url: String },
    /// Segments and `index.m3u8` in `dir`.
    Hls { dir: PathBuf },
}

/// A running output.
pub struct LiveOutput {
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

/// What a forwarder needs besides its kind and feed.
#[derive(Clone)]
pub struct ForwardEnv {
    pub ffmpeg: PathBuf,
    pub instance: String,
    pub events: mpsc::Sender<RecorderEvent>,
}

/// How long an ffmpeg may take to finish its stream once the feed ended.
const FINISH: Duration = Duration::from_secs(5);
/// Restarts of a failed output: 1 s doubling to 30 s (no jitter: one endpoint per output).
const BACKOFF: Backoff = Backoff { first: Duration::from_secs(1), cap: Duration::from_secs(30) };

impl LiveOutput {
    pub fn start(id: String, kind: OutputKind, feed: mpsc::Receiver<Bytes>, env: ForwardEnv) -> Self {
        let cancel = CancellationToken::new();
        let span = tracing::Span::current();
        let task = tokio::spawn(tracing::Instrument::instrument(run(id, kind, feed, env, cancel.clone()), span));
        Self { cancel, task }
    }

    /// Ends the output now (removed from a live recording).
    pub async fn stop(self) {
        self.cancel.cancel();
        let _ = self.task.await;
    }

    /// Waits until the output has finished its stream (the feed ended); ends it after `FINISH`.
    pub async fn finish(self) {
        if tokio::time::timeout(FINISH * 2, &mut { self.task }).await.is_err() {
            self.cancel.cancel();
        }
    }
}

/// How one ffmpeg run ended.
enum Ended {
    /// The feed ended (capture over) or the output was removed: done.
    Done,
    /// ffmpeg failed; the text says why.
    Failed(String),
}

async fn run(id: String, kind: OutputKind, mut feed: mpsc::Receiver<Bytes>, env: ForwardEnv, cancel: CancellationToken) {
    let report = |state, attempts, error| env.events.try_send(RecorderEvent::Output { id: id.clone(), state, attempts, error });
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let _ = report(OutputState::Connecting, attempts, None);
        let ended = match Supervised::spawn_fed("ffmpeg", &env.ffmpeg, args(&kind, attempts > 1), &env.instance) {
            Ok(process) => pump(process, &mut feed, &cancel, || { let _ = report(OutputState::Live, attempts, None); }).await,
            Err(e) => Ended::Failed(format!("cannot start ffmpeg: {e}")),
        };
        match ended {
            Ended::Done => {
                let _ = report(OutputState::Stopped, attempts, None);
                return;
            }
            Ended::Failed(error) => {
                tracing::warn!(output = %id, attempts, "live output failed: {error}");
                let _ = report(OutputState::Retrying, attempts, Some(error));
            }
        }
        if !wait_to_retry(attempts, &mut feed, &cancel).await {
            // The capture ended (or the output was removed) while waiting to retry.
            let _ = report(OutputState::Stopped, attempts, None);
            return;
        }
    }
}

/// Waits out the backoff before attempt `attempts + 1`; false when the feed ended or the output
/// was cancelled meanwhile. Packets that arrive while waiting are dropped: a live stream resumes
/// at "now".
async fn wait_to_retry(attempts: u32, feed: &mut mpsc::Receiver<Bytes>, cancel: &CancellationToken) -> bool {
    let wait = tokio::time::sleep(BACKOFF.ceiling(attempts));
    tokio::pin!(wait);
    loop {
        tokio::select! {
            _ = &mut wait => return true,
            _ = cancel.cancelled() => return false,
            packet = feed.recv() => if packet.is_none() { return false },
        }
    }
}

/// One thing that happened while feeding an ffmpeg.
enum Step {
    Packet(Option<Bytes>),
    Cancelled,
    Exited(std::process::ExitStatus),
    Tick,
}

/// Feeds one ffmpeg until the feed ends, the output is cancelled, or ffmpeg fails.
async fn pump(mut process: Supervised, feed: &mut mpsc::Receiver<Bytes>, cancel: &CancellationToken, live: impl Fn()) -> Ended {
    let Some(mut stdin) = process.take_stdin() else { return Ended::Failed("no stdin".into()) };
    let output = process.output();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut is_live = false;
    loop {
        let step = tokio::select! {
            packet = feed.recv() => Step::Packet(packet),
            _ = cancel.cancelled() => Step::Cancelled,
            status = process.exited() => Step::Exited(status),
            _ = tick.tick() => Step::Tick,
        };
        match step {
            Step::Packet(Some(packet)) => {
                // A stalled ffmpeg (a hung connection) must not hold the task forever.
                if !matches!(tokio::time::timeout(FINISH, stdin.write_all(&packet)).await, Ok(Ok(()))) {
                    return failed(process, "stopped taking data").await;
                }
            }
            Step::Packet(None) | Step::Cancelled => break,
            Step::Exited(status) => return Ended::Failed(format!("ffmpeg exited ({status}): {}", errors(&output.text()))),
            Step::Tick => {
                if !is_live && output.text().contains("progress=") {
                    is_live = true;
                    live();
                }
            }
        }
    }
    // End of feed: close ffmpeg's input so it writes the stream's end (FLV trailer, HLS ENDLIST).
    drop(stdin);
    if tokio::time::timeout(FINISH, process.exited()).await.is_err() {
        tracing::warn!("live output did not finish within {FINISH:?}");
    }
    process.terminate(Duration::from_secs(1)).await;
    Ended::Done
}

async fn failed(process: Supervised, what: &str) -> Ended {
    let text = errors(&process.tail());
    process.terminate(Duration::from_secs(1)).await;
    Ended::Failed(format!("ffmpeg {what}: {text}"))
}

/// ffmpeg's complaints, without the `-progress` lines.
fn errors(tail: &str) -> String {
    let lines: Vec<&str> = tail.lines().filter(|l| !l.contains('=') || l.contains(' ')).collect();
    lines.join("; ")
}

/// ffmpeg's arguments; `resume`: a restarted output (HLS appends to its playlist).
fn args(kind: &OutputKind, resume: bool) -> Vec<String> {
    let mut args: Vec<String> = ["-hide_banner", "-nostats", "-loglevel", "warning", "-progress", "pipe:1", "-stats_period", "1"]
        .into_iter()
        .map(String::from)
        .collect();
    // The feed is MPEG-TS from the recording's encoder: copy it, never encode again. Copying
    // needs no frame rate, and guessing one can read up to the whole 5 s analyzeduration (it did
    // with variable-rate frames) before the first packet goes out: no fps probing, and 3 s (past
    // the next keyframe, 2 s apart, whose parameters the TS repeats) at the most.
    args.extend(["-fpsprobesize", "0", "-analyzeduration", "3000000"].map(String::from));
    args.extend(["-f", "mpegts", "-i", "pipe:0", "-map", "0", "-c", "copy"].map(String::from));
    match kind {
        OutputKind::Rtmp { url } => args.extend(["-f".into(), "flv".into(), "-flvflags".into(), "no_duration_filesize".into(), url.clone()]),
        OutputKind::Hls { dir } => args.extend(hls_args(dir, resume)),
    }
    args
}

/// An event playlist that lists every segment; a restarted output appends to it (after a
/// discontinuity) instead of starting over.
fn hls_args(dir: &Path, resume: bool) -> Vec<String> {
    let segment = dir.join("seg_%05d.ts").display().to_string();
    let playlist = dir.join("index.m3u8").display().to_string();
    let flags = if resume { "temp_file+append_list+independent_segments" } else { "temp_file+independent_segments" };
    ["-f", "hls", "-hls_time", "4", "-hls_list_size", "0", "-hls_playlist_type", "event"]
        .into_iter()
        .map(String::from)
        .chain(["-hls_flags".into(), flags.into()])
        .chain(["-hls_segment_filename".into(), segment, playlist])
        .collect()
}
