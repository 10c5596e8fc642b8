//! The flash and beep markers that [`super::sync`] times, as ffmpeg lavfi expressions: a 100 ms
//! white flash and a 60 ms 2000 Hz beep (2 ms ramps, like the test pattern page's) at
//! k · period for k ≥ 1, every fifth marker (k % 5 == 4) left out so that a shift of one whole
//! marker cannot pair. Shared by the synthetic participants (a camera that flashes while its
//! microphone beeps, to measure lip-sync through a call) and the measuring tests' clips.

/// The beep's pitch (the page's too): far above the participants' tones, so a band-pass keeps
/// it alone.
pub const BEEP_HZ: u32 = 2000;

/// A drawbox `enable` expression that is true while the picture flashes (on the first frame at
/// or after each marker: 1 ms of slack so frame k · fps lands on it despite floating-point
/// frame times).
pub fn flash_enable(period: f64) -> String {
    let p = period;
    format!("gte(t,{p})*lt(mod(t+1e-3,{p}),0.1)*not(eq(mod(floor((t+1e-3)/{p}),5),4))")
}

/// An aevalsrc expression of the beep alone (amplitude 0.5) for markers whose sound comes at
/// `(k · period + shift_s) · stretch`.
pub fn beep(period: f64, shift_s: f64, stretch: f64) -> String {
    // The marker's own clock: marker k starts where m crosses k.
    let m = format!("((t/{stretch})-{shift_s})/{period}");
    let into = format!("(mod({m},1)*{period})");
    let ramp = format!("min(1,min({into}/0.002,(0.06-{into})/0.002))");
    let gate = format!("gte({m},1)*lt({into},0.06)*not(eq(mod(floor({m}),5),4))*{ramp}");
    format!("0.5*sin(2*PI*{BEEP_HZ}*t)*{gate}")
}
