//! How a recorder's display and browser start: shared by a recording's pipeline, its restarts
//! and the warm pool, so a warm browser is the same as a cold one.

use std::path::Path;

use super::audio::{PulseServer, Sink};
use super::browser::{Browser, LaunchOptions, Screen};
use super::display::Display;
use super::tools::Tools;
use super::RecorderError;
use crate::sandbox::Sandbox;

/// Starts an X display for `width`x`height` frames at `fps`. Without a window manager the kiosk
/// window comes out one pixel short of the screen, so the screen is one pixel larger than what
/// is captured.
pub(super) async fn start_display(tools: &Tools, (width, height): (u32, u32), fps: u32, instance: &str, sandbox: &Sandbox) -> Result<Display, RecorderError> {
    Display::start(&tools.display, (width + 1, height + 1), fps, instance, sandbox).await
}

/// Frames in each of Chromium's sound buffers (~43 ms at 48 kHz): nobody listens live, so a
/// quarter of the default's wakeups in the renderer, Chromium's audio service and PulseAudio.
/// With parec reading every 40 ms too, the sound took ~0.035 cores a recording less (0.070 →
/// 0.037 in a 4-person call). The sound reaches the file earlier against the picture with them,
/// which [`crate::config::DEFAULT_SOUND_SHIFT_MS`] takes back (BENCHMARKS.md, "Fewer sound wakeups").
const AUDIO_BUFFER_FRAMES: u32 = 2048;

/// Chromium's flags for a recorder besides the common ones. Without
/// `--disable-rtc-smoothness-algorithm` each call video picks its frames by an estimated cadence,
/// and now and then a recording shows some camera pictures for no frame at all (one tile keeping
/// 92–94 % of them while the others keep 97–99 %); with it each decoded picture is shown at the
/// next frame. That costs ~0.02 cores a 4-person call recording in a quick hour of the
/// benchmark's machine and ~0.04 in a slow one, and lets more recordings share a machine with
/// every picture kept (BENCHMARKS.md, "The smoothing flag taken"). A participant's picture and
/// sound stay as close with it as without (`--lip-sync`: +1.0 against −15.5 ms over 120 s).
fn recorder_flags() -> Vec<String> {
    vec![
        format!("--audio-buffer-size={AUDIO_BUFFER_FRAMES}"),
        "--disable-rtc-smoothness-algorithm".into(),
        format!("--force-fieldtrials={NETEQ_SMART_FLUSHING}"),
    ]
}

/// WebRTC's field trial for NetEQ (each participant's sound jitter buffer): once the sound
/// waiting there spans twice 150 ms (or twice NetEQ's own target, if higher), drop the oldest
/// down to that level. Without it NetEQ plays a backlog ~10 % fast until it is gone, and a
/// recording's start has one: Chromium's sound output starts ~0.75 s after the first sound
/// arrives, so each participant's sound was ~0.5 s late for the first 5–7 s of every recording
/// (on a loaded machine, after any stall too). With it every marker of the benchmark's
/// participant pairs from the first, 0.8–2.0 s into the file (−23…+76 ms), beside a busy core
/// too (BENCHMARKS.md, "The start's sound backlog flushed"). What is dropped is sound that
/// would have been heard late.
const NETEQ_SMART_FLUSHING: &str = "WebRTC-Audio-NetEqSmartFlushing/enabled:true,target_level_threshold_ms:150,target_level_multiplier:2/";

/// Launches a recorder Chromium (kiosk, `about:blank`) on `display`, playing into `sink`.
#[allow(clippy::too_many_arguments)]
pub(super) async fn launch_browser(
    tools: &Tools,
    sandbox: &Sandbox,
    instance: &str,
    pulse: &PulseServer,
    display: &Display,
    sink: &Sink,
    profile: &Path,
    (width, height): (u32, u32),
) -> Result<Browser, RecorderError> {
    let server = pulse.server_env();
    let display_name = display.name();
    Browser::launch(LaunchOptions {
        program: &tools.chromium,
        screen: Some(Screen { display: &display_name, xauthority: display.xauthority(), pulse_server: &server, sink: &sink.name }),
        profile_dir: profile,
        width,
        height,
        no_sandbox: sandbox.no_sandbox,
        run_as: sandbox.run_as.as_ref(),
        instance,
        extra_args: recorder_flags(),
    })
    .await
}
