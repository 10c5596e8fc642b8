//! The capture's picture options: when the picture is grabbed (on Chromium's own frame grid) and
//! how x264 encodes it. The quality benchmark encodes with the same line.

/// The picture's encoder: x264 at `preset`, a keyframe every 2 s, `kbps` capped at that rate
/// over 2 s (a live output cannot take bursts).
pub fn video_codec_args(preset: &str, fps: u32, kbps: u32) -> Vec<String> {
    let (rate, buf) = (format!("{kbps}k"), format!("{}k", kbps * 2));
    ["-c:v", "libx264", "-preset", preset, "-pix_fmt", "yuv420p", "-g", &(fps * 2).to_string()]
        .into_iter()
        // CABAC (off in `ultrafast` alone, on in every slower preset): +0.2 dB at the same
        // bitrate on a call for ~0.02 cores; H.264 Main profile, which every player decodes
        // (BENCHMARKS.md, "Quality of a call").
        .chain(["-x264-params", "cabac=1"])
        .chain(["-b:v", &rate, "-maxrate", &rate, "-bufsize", &buf])
        .map(String::from)
        .collect()
}

/// How often the picture is grabbed, in frames per second as a fraction (numerator, denominator).
/// Chromium draws on Xvfb every 16666 µs (its default interval: Xvfb reports no refresh rate),
/// i.e. at 60.0024 Hz, not 60. Grabbing at exactly 30 fps, each grab fell 1 µs later among
/// Chromium's frames, so the picture's delay behind the page wandered through a Chromium frame
/// (16.7 ms) every ~9 minutes: a 10-minute recording's A/V offset drifted. So when the rate
/// divides 60 Hz evenly, grab every that many Chromium intervals (30 fps: 33332 µs); the file's
/// timeline is then the page's own, at ~30.0012 fps (BENCHMARKS.md, "The picture's clock").
pub fn grab_rate(fps: u32) -> (u32, u32) {
    const CHROMIUM_INTERVAL_US: u32 = 16_666;
    match fps.max(1) {
        f if 60 % f == 0 => (1_000_000, CHROMIUM_INTERVAL_US * (60 / f)),
        f => (f, 1),
    }
}

/// [`grab_rate`] as ffmpeg writes a rational.
pub fn grab_rate_arg(fps: u32) -> String {
    let (num, den) = grab_rate(fps);
    format!("{num}/{den}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grabs_on_chromiums_frame_grid_when_the_rate_divides_60() {
        assert_eq!(grab_rate_arg(30), "1000000/33332");
        assert_eq!(grab_rate(60), (1_000_000, 16_666));
        assert_eq!(grab_rate(15), (1_000_000, 66_664));
        assert_eq!(grab_rate(25), (25, 1));
        assert_eq!(grab_rate_arg(24), "24/1");
    }
}
