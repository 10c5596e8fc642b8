//! The recording's sound, timed by us rather than by ffmpeg's PulseAudio input. `parec` reads the
//! sink's monitor as raw PCM; one thread stamps each chunk with the wall clock as it arrives, and
//! another lays the samples on the capture's timeline — sample n is the wall-clock moment
//! `origin + n / 48000` — into a FIFO that ffmpeg reads as raw s16le (which counts samples from
//! media time zero, the capture's origin).
//!
//! Why: ffmpeg's `pulse` input stamps packets with the clock less a latency it has not finished
//! asking PulseAudio for, through a filter that averages the first packets' errors into the
//! whole file. When the capture starts just as the page's sound does (always, for us), that put
//! the sound 50–470 ms early, a different amount in every recording (BENCHMARKS.md). Here the
//! timeline comes from the sample count, anchored at the earliest-arriving chunks: a chunk can
//! arrive late (scheduling), never early, so the minimum of `arrival − samples so far` over a
//! sliding window is where sample zero was, within a millisecond. Samples PulseAudio dropped
//! (a stalled reader) move that anchor, and the writer fills the hole with silence.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;

use super::RecorderError;
use super::capture::now_s;
use super::fifo;
use super::process::{FEED_THREAD_PREFIX, prepare};

/// Sample rate and bytes per frame (s16le, stereo) of the feed.
pub const RATE: u32 = 48_000;
const FRAME_BYTES: usize = 4;
/// parec hands over 10 ms chunks.
const CHUNK_BYTES: usize = 1920;
/// The anchor is the minimum over this many seconds of chunks: long enough to include chunks
/// that came straight through, short enough to follow a hole within a few seconds.
const ANCHOR_WINDOW_S: f64 = 2.0;
/// When ffmpeg opens the FIFO the sound before then is silence, but for this margin: a chunk
/// that arrives a moment later may hold sound from it.
const OPEN_MARGIN_S: f64 = 0.1;
/// ...but at least this much silence goes in at once: ffmpeg reads its inputs only once it has
/// read a first packet of sound (1024 samples, 21 ms), and parec's first chunk can take half a
/// second. Opened within the margin of the origin (ffmpeg opens the picture FIFO just before),
/// the feed had too little to give, and the first picture frame stayed alone in the file for
/// 0.5 s (a frozen start in 2 of 8 recordings).
const FIRST_SILENCE_S: f64 = 0.05;
/// The writer corrects the timeline only when it is this far off (10 ms), so jitter never
/// cuts or pads the sound.
const TOLERANCE: i64 = 480;

/// What the feed needs to run.
pub struct FeedInput<'a> {
    pub parec: &'a Path,
    pub pulse_server: &'a std::ffi::OsStr,
    pub monitor: &'a str,
    /// Wall-clock Unix time of media time zero.
    pub origin_s: f64,
    /// Added to every sample's time: the pipeline's measured sound/picture offset, so a
    /// positive value plays the sound later.
    pub shift_s: f64,
    pub instance: &'a str,
    /// Where the FIFO's own dir goes: the service's runtime dir, swept when a service that died
    /// without cleaning up is followed by the next.
    pub runtime_dir: &'a Path,
}

/// A running feed; stops parec and its threads when dropped.
pub struct SoundFeed {
    parec: Child,
    dir: tempfile::TempDir,
}

impl SoundFeed {
    /// Starts parec and the threads. ffmpeg opens [`Self::fifo`] for reading; until it does,
    /// the writer waits and the chunks queue up, still stamped on arrival.
    pub fn start(input: FeedInput<'_>) -> Result<Self, RecorderError> {
        let dir = tempfile::Builder::new().prefix("sound-").tempdir_in(input.runtime_dir)?;
        let fifo = dir.path().join("sound.fifo");
        fifo::make(&fifo).map_err(|e| RecorderError::Audio(format!("mkfifo: {e}")))?;
        let mut cmd = std::process::Command::new(input.parec);
        // 40 ms chunks: 10 ms ones cost wakeups here, in parec and in PulseAudio. Each chunk is
        // anchored at its end, yet the sound still came ~15 ms sooner with them (likely PulseAudio
        // rendering larger blocks ahead), which DEFAULT_SOUND_SHIFT_MS takes back (BENCHMARKS.md).
        cmd.args(["--device", input.monitor, "--format=s16le", "--rate=48000", "--channels=2", "--latency-msec=40", "--raw"])
            .env("PULSE_SERVER", input.pulse_server)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        prepare(&mut cmd, input.instance);
        let mut parec = cmd.spawn().map_err(|e| RecorderError::Audio(format!("cannot run parec: {e}")))?;
        let stdout = parec.stdout.take().ok_or_else(|| RecorderError::Audio("parec has no output".into()))?;
        let (tx, rx) = mpsc::channel();
        let span = tracing::Span::current();
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| std::thread::Builder::new().name(name.into()).spawn(f);
        spawn(&format!("{FEED_THREAD_PREFIX}sound-read"), Box::new(move || read_chunks(stdout, tx)))?;
        let timeline = Timeline::new(input.origin_s, input.shift_s);
        spawn(&format!("{FEED_THREAD_PREFIX}sound-write"), Box::new(move || {
            let _enter = span.enter();
            write_chunks(&fifo, rx, timeline)
        }))?;
        Ok(Self { parec, dir })
    }

    /// The FIFO ffmpeg reads (`-f s16le -ar 48000 -ac 2 -i FIFO`).
    pub fn fifo(&self) -> PathBuf {
        self.dir.path().join("sound.fifo")
    }
}

impl Drop for SoundFeed {
    fn drop(&mut self) {
        // parec's end closes the reader's pipe, which ends both threads.
        let _ = self.parec.kill();
        let _ = self.parec.wait();
    }
}

/// One chunk as it arrived: wall-clock time and bytes.
type Chunk = (f64, Vec<u8>);

/// Reads parec's output in 10 ms chunks, stamping each on arrival; never blocks on the writer.
fn read_chunks(mut stdout: std::process::ChildStdout, tx: mpsc::Sender<Chunk>) {
    let mut buf = vec![0u8; CHUNK_BYTES];
    loop {
        match stdout.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if tx.send((now_s(), buf[..n].to_vec())).is_err() {
                    return;
                }
            }
        }
    }
}

/// Opens the FIFO once ffmpeg reads it and writes every chunk where the timeline puts it.
fn write_chunks(fifo: &Path, rx: mpsc::Receiver<Chunk>, mut timeline: Timeline) {
    let Some(mut out) = open_writer(fifo, &rx, &mut timeline) else { return };
    while let Ok((arrived, bytes)) = rx.recv() {
        let placed = timeline.place(arrived, &bytes);
        if out.write_all(&placed).is_err() {
            // ffmpeg finished (or died): nothing more to deliver.
            return;
        }
    }
}

/// Waits for ffmpeg to open the FIFO, keeping the timeline up to date with the chunks that
/// arrive meanwhile (they are written once it is open). `None` when parec ended first.
fn open_writer(path: &Path, rx: &mpsc::Receiver<Chunk>, timeline: &mut Timeline) -> Option<std::fs::File> {
    let mut waiting: Vec<Chunk> = Vec::new();
    loop {
        match fifo::open_writer(path) {
            Ok(Some(mut f)) => {
                // Give ffmpeg the silence up to now (less the margin), and no less than
                // FIRST_SILENCE_S of it, so it starts reading.
                let until = (now_s() - OPEN_MARGIN_S).max(timeline.origin_s + FIRST_SILENCE_S);
                let mut placed = timeline.silence_until(until);
                placed.extend(waiting.iter().flat_map(|(at, b)| timeline.place(*at, b)));
                return f.write_all(&placed).ok().map(|()| f);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!("cannot open the sound FIFO: {e}");
                return None;
            }
        }
        match rx.recv_timeout(std::time::Duration::from_millis(5)) {
            Ok(chunk) => waiting.push(chunk),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// Places chunks of the sound on the capture's timeline.
pub struct Timeline {
    origin_s: f64,
    shift_s: f64,
    /// Frames received so far.
    received: u64,
    /// Frames written so far (the file's sound position).
    written: i64,
    /// `(arrival, implied time of frame zero)` of recent chunks, for the sliding minimum.
    recent: VecDeque<(f64, f64)>,
    /// Dropping frames to get back on time: once started, it goes on until exactly on time.
    catching_up: bool,
}

impl Timeline {
    pub fn new(origin_s: f64, shift_s: f64) -> Self {
        Self { origin_s, shift_s, received: 0, written: 0, recent: VecDeque::new(), catching_up: false }
    }

    /// Silence from the sound written so far up to wall-clock time `until` (nothing if that is
    /// already written): for the time before the first chunk came.
    pub fn silence_until(&mut self, until: f64) -> Vec<u8> {
        let target = ((until - self.origin_s) * f64::from(RATE)).round() as i64;
        let frames = (target - self.written).max(0);
        self.written += frames;
        vec![0; frames as usize * FRAME_BYTES]
    }

    /// The bytes to write for a chunk of `bytes` that arrived at `arrived`: the chunk itself,
    /// after silence for a hole (or the very start), or less what would overlap sound already
    /// written. Every frame written is at `origin + written / RATE`.
    pub fn place(&mut self, arrived: f64, bytes: &[u8]) -> Vec<u8> {
        let frames = (bytes.len() / FRAME_BYTES) as u64;
        self.received += frames;
        let zero = arrived - self.received as f64 / f64::from(RATE);
        self.recent.push_back((arrived, zero));
        while self.recent.front().is_some_and(|(at, _)| arrived - at > ANCHOR_WINDOW_S) {
            self.recent.pop_front();
        }
        let anchor = self.recent.iter().map(|(_, z)| *z).fold(f64::INFINITY, f64::min);
        let first = anchor + (self.received - frames) as f64 / f64::from(RATE) + self.shift_s;
        let target = ((first - self.origin_s) * f64::from(RATE)).round() as i64;
        let ahead = target - self.written;
        let fix = self.received == frames || self.catching_up || ahead.abs() > TOLERANCE;
        let mut out = Vec::with_capacity(bytes.len());
        let mut skip = 0;
        if fix && ahead > 0 {
            out.resize(ahead as usize * FRAME_BYTES, 0);
            self.written += ahead;
        } else if fix && ahead < 0 {
            skip = ((-ahead) as usize).min(frames as usize);
        }
        self.catching_up = fix && ahead + (skip as i64) < 0;
        out.extend_from_slice(&bytes[skip * FRAME_BYTES..frames as usize * FRAME_BYTES]);
        self.written += frames as i64 - skip as i64;
        out
    }
}

#[cfg(test)]
#[path = "soundfeed_tests.rs"]
mod tests;
