//! Decoding a recording into what the measurements need: small gray frames with their exact
//! presentation times, and mono 48 kHz PCM with the time of its first sample.
//!
//! Times come from ffmpeg's `showinfo`/`ashowinfo` filters after `settb=AVTB`, so every pts is
//! an integer number of microseconds and no frame rate is assumed. `-copyts` keeps the file's own
//! timestamps in both decodes, so video and audio times are on one clock whatever each stream's
//! start time is.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

use super::MeasureError;

/// Sample rate the audio is decoded at.
pub const RATE: u32 = 48_000;

/// Mono PCM and where it sits on the file's clock.
#[derive(Debug, Clone)]
pub struct Pcm {
    /// Seconds (file clock) of `samples[0]`.
    pub start_s: f64,
    /// Samples at [`RATE`].
    pub samples: Vec<f32>,
}

/// Decodes the first video stream through `filter` (which must end in a `gray` frame of
/// `frame_bytes` bytes), handing each frame to `on_frame`; returns each frame's time in seconds.
pub fn video_frames(
    ffmpeg: &Path,
    file: &Path,
    filter: &str,
    frame_bytes: usize,
    mut on_frame: impl FnMut(&[u8]),
) -> Result<Vec<f64>, MeasureError> {
    let vf = format!("settb=AVTB,{filter},showinfo");
    let args = ["-map", "0:v:0", "-vf", &vf, "-fps_mode", "passthrough", "-f", "rawvideo", "-"];
    let mut count = 0usize;
    let stderr = run(ffmpeg, file, &args, frame_bytes, |frame| {
        count += 1;
        on_frame(frame)
    })?;
    let times = showinfo_times(&stderr, "Parsed_showinfo")?;
    if times.len() != count {
        return Err(MeasureError::Parse(format!("{count} frames decoded but {} frame times read", times.len())));
    }
    Ok(times)
}

/// Decodes the first audio stream to mono f32 at [`RATE`], through `filter` (e.g. a band-pass).
pub fn audio(ffmpeg: &Path, file: &Path, filter: &str) -> Result<Pcm, MeasureError> {
    let af = format!("aformat=sample_fmts=flt:channel_layouts=mono:sample_rates={RATE},{filter},asettb=AVTB,ashowinfo");
    let args = ["-map", "0:a:0", "-af", &af, "-f", "f32le", "-"];
    let mut samples = Vec::new();
    let stderr = run(ffmpeg, file, &args, 4096 * 4, |chunk| {
        samples.extend(chunk.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
    })?;
    // The player plays audio as one continuous stream, so only the first frame's time matters.
    let start_s = *showinfo_times(&stderr, "Parsed_ashowinfo")?
        .first()
        .ok_or_else(|| MeasureError::Parse("no audio frames decoded".into()))?;
    Ok(Pcm { start_s, samples })
}

/// Runs ffmpeg on `file` with `args`, feeding stdout to `on_chunk` in `chunk`-byte pieces (a
/// shorter last piece is dropped); returns stderr.
fn run(ffmpeg: &Path, file: &Path, args: &[&str], chunk: usize, mut on_chunk: impl FnMut(&[u8])) -> Result<String, MeasureError> {
    let mut child = Command::new(ffmpeg)
        .args(["-hide_banner", "-nostdin", "-nostats", "-loglevel", "info", "-copyts", "-i"])
        .arg(file)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| MeasureError::Spawn { program: ffmpeg.display().to_string(), source: e })?;
    // showinfo writes a line per frame: stderr is drained on its own thread so neither pipe fills.
    let mut err_pipe = child.stderr.take().expect("stderr is piped");
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = BufReader::new(&mut err_pipe).read_to_string(&mut s);
        s
    });
    let mut out = BufReader::with_capacity(1 << 20, child.stdout.take().expect("stdout is piped"));
    let mut buf = vec![0u8; chunk];
    loop {
        match read_full(&mut out, &mut buf)? {
            n if n == chunk => on_chunk(&buf),
            _ => break,
        }
    }
    let status = child.wait()?;
    let stderr = err_thread.join().unwrap_or_default();
    if !status.success() {
        return Err(MeasureError::Ffmpeg { status: status.to_string(), tail: tail(&stderr) });
    }
    Ok(stderr)
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_full(r: &mut impl BufRead, buf: &mut [u8]) -> Result<usize, MeasureError> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(filled)
}

/// The `pts:` of every line that `filter` (a showinfo instance) logged, in seconds; the pts are
/// microseconds because of `settb=AVTB`.
pub(crate) fn showinfo_times(stderr: &str, filter: &str) -> Result<Vec<f64>, MeasureError> {
    stderr
        .lines()
        .filter(|l| l.contains(filter) && l.contains(" n:"))
        .map(|l| {
            let rest = l.split_once(" pts:").map(|(_, r)| r.trim_start()).unwrap_or("");
            let token = rest.split_whitespace().next().unwrap_or("");
            token
                .parse::<i64>()
                .map(|us| us as f64 / 1e6)
                .map_err(|_| MeasureError::Parse(format!("no integer pts in showinfo line: {l}")))
        })
        .collect()
}

/// The last lines of ffmpeg's stderr, for an error message.
fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.contains("showinfo")).collect();
    lines[lines.len().saturating_sub(5)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn showinfo_lines_give_microsecond_times_and_skip_other_lines() {
        let err = "  Duration: 00:00:00.20, start: 0.000000, bitrate: 366 kb/s\n\
            [Parsed_showinfo_3 @ 0x55] config in time_base: 1/1000000, frame_rate: 30/1\n\
            [Parsed_showinfo_3 @ 0x55] n:   0 pts:      0 pts_time:0       pos:      315 fmt:gray\n\
            [Parsed_showinfo_3 @ 0x55] n:   1 pts:  33333 pts_time:0.033333 pos:     4865 fmt:gray\n\
            [Parsed_ashowinfo_2 @ 0x56] n:0 pts:-21333 pts_time:-0.021333 pos:4462 fmt:flt\n";
        assert_eq!(showinfo_times(err, "Parsed_showinfo").unwrap(), vec![0.0, 0.033333]);
        assert_eq!(showinfo_times(err, "Parsed_ashowinfo").unwrap(), vec![-0.021333]);
    }

    #[test]
    fn a_frame_without_pts_is_an_error() {
        let err = "[Parsed_showinfo_3 @ 0x55] n:   0 pts:NOPTS pts_time:NOPTS\n";
        assert_eq!(showinfo_times(err, "Parsed_showinfo").unwrap_err().code(), "measure_parse_failed");
    }
}
