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
        .chain(threads(preset).iter().copied())
        .map(String::from)
        .collect()
}

/// One x264 thread for `ultrafast`, whose whole encode takes ~0.15 cores at 1280x720@30:
/// frame threads only add their own bookkeeping there (~0.005 cores, BENCHMARKS.md, "A cheaper
/// sound encoder, one x264 thread"). Frames come with their stamps from the picture feed, so an
/// encode that waits a little moves no frame. Slower presets keep x264's threads: one core may
/// not keep up with them.
fn threads(preset: &str) -> &'static [&'static str] {
    if preset == "ultrafast" { &["-threads", "1"] } else { &[] }
}

/// How often the picture is grabbed, in frames per second as a fraction (numerator,
/// denominator), for a file of `fps` on a display where Chromium draws every `chromium_interval_us`.
///
/// Chromium's interval is whole microseconds (16666 on Xvfb, which reports no refresh rate:
/// 60.0024 Hz, not 60; 33333 on a 30 Hz Xorg). Grabbing at exactly `fps`, each grab fell a
/// little later among Chromium's frames, so the picture's delay behind the page wandered through
/// a whole Chromium frame every few minutes: a 10-minute recording's A/V offset drifted. So when
/// a whole number of Chromium's frames make one of the file's (within 0.1 %), grab every that
/// many Chromium intervals; the file's timeline is then the page's own, at ~30.0003 fps on Xorg
/// (BENCHMARKS.md, "The picture's clock").
pub fn grab_rate(fps: u32, chromium_interval_us: u32) -> (u32, u32) {
    let (fps, interval) = (fps.max(1), chromium_interval_us.max(1));
    let per_grab = (1e6 / (f64::from(fps) * f64::from(interval))).round() as u32;
    let period_us = per_grab * interval;
    let whole_frames = per_grab > 0 && (u64::from(period_us) * u64::from(fps)).abs_diff(1_000_000) <= 1_000;
    if whole_frames { (1_000_000, period_us) } else { (fps, 1) }
}

/// [`grab_rate`] as ffmpeg writes a rational.
pub fn grab_rate_arg((num, den): (u32, u32)) -> String {
    format!("{num}/{den}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grabs_on_chromiums_frame_grid_when_whole_frames_make_one() {
        // Xvfb: Chromium at its default 60 Hz.
        assert_eq!(grab_rate_arg(grab_rate(30, 16_666)), "1000000/33332");
        assert_eq!(grab_rate(60, 16_666), (1_000_000, 16_666));
        assert_eq!(grab_rate(15, 16_666), (1_000_000, 66_664));
        assert_eq!(grab_rate(25, 16_666), (25, 1));
        assert_eq!(grab_rate(24, 16_666), (24, 1));
        // Xorg: Chromium at the file's own rate.
        assert_eq!(grab_rate(30, 33_333), (1_000_000, 33_333));
        assert_eq!(grab_rate(25, 40_000), (1_000_000, 40_000));
        assert_eq!(grab_rate(24, 41_666), (1_000_000, 41_666));
        assert_eq!(grab_rate(1, 0), (1_000_000, 1_000_000));
    }

    #[test]
    fn one_x264_thread_for_ultrafast_only() {
        let line = |preset| video_codec_args(preset, 30, 2500).join(" ");
        assert!(line("ultrafast").ends_with("-threads 1"), "{}", line("ultrafast"));
        assert!(!line("veryfast").contains("-threads"), "{}", line("veryfast"));
    }
}
