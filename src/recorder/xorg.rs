//! The Xorg display (`display_server = "xorg"`): Xorg with the `dummy` video driver, whose one
//! mode refreshes at the recording's frame rate.
//!
//! Why: Chromium draws a frame whenever the page or a video changes, at most once per refresh
//! of the display, and it reads the refresh rate from RandR. Xvfb reports none, so Chromium
//! draws at its default 60 Hz although the file keeps 30 frames a second. On a 30 Hz Xorg a
//! page that moves all the time (the test pattern) cost Chromium 0.15–0.20 cores instead of
//! 0.26–0.33 at 1280x720; a 4-person call of 15 fps cameras came out about even (Chromium a
//! little less, x264 a little more). Its picture reaches the file a frame later, from 1 or 2 of
//! Chromium's 33 ms frames, so the A/V offset spreads twice as wide between recordings, which
//! is why Xvfb stays the default (BENCHMARKS.md, "A display at the file's frame rate").

use std::path::Path;

/// Xorg's configuration for a `width`x`height` screen refreshing at `fps` Hz. Input devices are
/// not probed (nobody types into a recording), and `configdir` (an empty directory) keeps the
/// system's `xorg.conf.d` snippets out.
pub fn config(width: u32, height: u32, fps: u32) -> String {
    let mode = Modeline::new(width, height, fps);
    let width = mode.width;
    // The dummy driver's framebuffer: 4 bytes a pixel, in KiB, with room to spare; and its
    // highest dot clock (`DacSpeed`, MHz; 300 unless raised), above the mode's.
    let video_ram_kib = width * height * 4 / 1024 + 2048;
    let dac_speed_mhz = (mode.clock_khz / 1000 + 10).max(300);
    format!(
        r#"Section "ServerFlags"
  Option "AutoAddDevices" "false"
  Option "AutoEnableDevices" "false"
  Option "DontVTSwitch" "true"
EndSection
Section "Device"
  Identifier "wallflower"
  Driver "dummy"
  VideoRam {video_ram_kib}
  DacSpeed {dac_speed_mhz}
EndSection
Section "Monitor"
  Identifier "wallflower"
  HorizSync 1-10000
  VertRefresh 1-1000
  Modeline "wallflower" {mode}
EndSection
Section "Screen"
  Identifier "wallflower"
  Device "wallflower"
  Monitor "wallflower"
  DefaultDepth 24
  SubSection "Display"
    Depth 24
    Modes "wallflower"
    Virtual {width} {height}
  EndSubSection
EndSection
"#
    )
}

/// Xorg's arguments for display `:number`, with its configuration and log in `dir`.
pub fn args(number: u32, dir: &Path, xauthority: &Path) -> Vec<String> {
    let path = |name: &str| dir.join(name).display().to_string();
    let mut args = vec![format!(":{number}"), "-config".into(), path("xorg.conf"), "-configdir".into(), path("conf.d")];
    args.extend(["-logfile".into(), path("xorg.log"), "-auth".into(), xauthority.display().to_string()]);
    // No VT of its own (a server has none to give), no TCP, no cursor in the picture.
    args.extend(["-nolisten", "tcp", "-noreset", "-nocursor", "-novtswitch", "-keeptty", "-sharevts"].map(String::from));
    args
}

/// The interval Chromium draws at on a display refreshing at `fps` Hz: it takes the refresh
/// rate from the mode (dot clock / (htotal × vtotal), exact here) and truncates its inverse to
/// whole microseconds, as it does for its 60 Hz default (16666 µs).
pub fn chromium_interval_us(fps: u32) -> u32 {
    1_000_000 / fps.max(1)
}

/// A video mode whose refresh rate is exactly `fps`: the dot clock is a whole number of kHz
/// (the unit Xorg keeps it in), so the totals are rounded up to multiples of 100 and 10. The
/// dummy driver takes no dot clock under 11 MHz, so small or slow modes get longer blanking;
/// and it rounds the screen's width up to a multiple of 8 (the kiosk window keeps its size).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Modeline {
    width: u32,
    height: u32,
    htotal: u32,
    vtotal: u32,
    clock_khz: u64,
}

impl Modeline {
    fn new(width: u32, height: u32, fps: u32) -> Self {
        const MIN_CLOCK_HZ: u64 = 12_000_000;
        let (width, fps) = (width.next_multiple_of(8), u64::from(fps.max(1)));
        // Pixels a frame must span (blanking included) for the clock to reach the minimum.
        let area = MIN_CLOCK_HZ.div_ceil(fps);
        let htotal = (width + 160).max(area.isqrt() as u32).div_ceil(100) * 100;
        let vtotal = (height + 30).max(area.div_ceil(u64::from(htotal)) as u32).div_ceil(10) * 10;
        let clock_khz = u64::from(htotal) * u64::from(vtotal) * fps / 1000;
        Self { width, height, htotal, vtotal, clock_khz }
    }

    #[cfg(test)]
    fn refresh_hz(&self) -> f64 {
        self.clock_khz as f64 * 1000.0 / (f64::from(self.htotal) * f64::from(self.vtotal))
    }
}

impl std::fmt::Display for Modeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self { width: w, height: h, htotal, vtotal, clock_khz } = *self;
        let mhz = format!("{}.{:03}", clock_khz / 1000, clock_khz % 1000);
        write!(f, "{mhz} {w} {} {} {htotal} {h} {} {} {vtotal} -hsync +vsync", w + 32, w + 112, h + 3, h + 8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_refreshes_at_exactly_the_frame_rate() {
        for (w, h) in [(1281, 721), (1921, 1081), (641, 361), (161, 121), (3841, 2161)] {
            for fps in [1, 15, 24, 25, 30, 50, 60] {
                let mode = Modeline::new(w, h, fps);
                assert_eq!(mode.refresh_hz(), f64::from(fps), "{w}x{h}@{fps}: {mode:?}");
                assert!(mode.width >= w && mode.width.is_multiple_of(8), "{mode:?}");
                assert!(mode.htotal >= mode.width + 160 && mode.vtotal >= h + 30, "{mode:?}");
                assert!(mode.clock_khz >= 11_000 && mode.htotal < 32_768 && mode.vtotal < 32_768, "{mode:?}");
            }
        }
        assert_eq!(Modeline::new(1281, 721, 30).to_string(), "34.200 1288 1320 1400 1500 721 724 729 760 -hsync +vsync");
    }

    #[test]
    fn chromium_draws_at_the_modes_rate() {
        assert_eq!(chromium_interval_us(30), 33_333);
        assert_eq!(chromium_interval_us(25), 40_000);
        assert_eq!(chromium_interval_us(60), 16_666);
    }

    #[test]
    fn the_config_names_the_mode_and_screen() {
        let text = config(1281, 721, 30);
        assert!(text.contains("Modes \"wallflower\""), "{text}");
        assert!(text.contains("Virtual 1288 721"), "{text}");
        assert!(text.contains("DacSpeed 300"), "{text}");
        assert!(text.contains("Driver \"dummy\""), "{text}");
        let args = args(101, Path::new("/run/x"), Path::new("/run/auth"));
        assert_eq!(args[..3], [":101", "-config", "/run/x/xorg.conf"]);
        assert!(args.windows(2).any(|w| w == ["-auth", "/run/auth"]), "{args:?}");
    }
}
