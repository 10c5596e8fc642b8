//! Synthetic participants: headless Chromium publishing into a Janus room from fake devices fed by
//! ffmpeg-made files (a solid colour with the name and a running clock; a steady tone), so a
//! recording can be checked for each one's colour and frequency. Each is driven over CDP, so a
//! test can make it send data-channel messages (chat, reactions) at known moments. The same
//! picture and tone can instead come from ffmpeg over plain RTP ([`super::rtp`]), far cheaper.

use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use super::HarnessError;
use super::janus_client;
use super::rtp::RtpPublisher;
use crate::measure::markers;
use crate::recorder::browser::{Browser, LaunchOptions};

/// New pictures a second from every synthetic participant's camera (each differs from the last
/// while the clock runs).
pub const CAMERA_FPS: u32 = 15;
/// A marked participant's camera rate (see [`ParticipantSpec::markers`]). At 15 fps every
/// picture lands at one phase of a 30 fps recording's frames, so a flash could only be timed to
/// a whole frame (±17 ms); at 25 fps, with markers 26 pictures apart, successive flashes fall at
/// five phases 6.7 ms apart, and their median is timed to a few ms.
pub const MARKED_CAMERA_FPS: u32 = 25;
/// Seconds between a marked participant's markers: 26 pictures at [`MARKED_CAMERA_FPS`].
pub const MARKER_PERIOD_S: f64 = 1.04;
/// Length of a participant's media files, which loop: a marked one holds whole marker periods
/// (25) so the loop keeps the pattern.
const CLIP_S: u32 = 10;
const MARKED_CLIP_S: u32 = 26;

/// Who a synthetic participant is.
#[derive(Debug, Clone)]
pub struct ParticipantSpec {
    /// Display name in the call.
    pub name: String,
    /// Background colour of their camera, as ffmpeg names it (`0xRRGGBB` or `red`).
    pub color: String,
    /// Frequency of their microphone's tone; 0 for a silent microphone.
    pub tone_hz: u32,
    pub room: u64,
    pub pin: Option<String>,
    /// A running clock on the camera; off for tests that look for changes in the picture.
    pub clock: bool,
    /// Published by ffmpeg over plain RTP instead of a browser (no data channel).
    pub rtp: bool,
    /// The camera flashes white while the microphone beeps, every [`MARKER_PERIOD_S`] (see
    /// [`crate::measure::markers`]), so a recording shows how far apart their picture and sound
    /// arrive. Only an RTP participant sends both from one clip with one clock; a browser's fake
    /// camera and microphone loop their files independently.
    pub markers: bool,
    /// Published as three simulcast layers, a quarter, half and all of this size (width,
    /// height), as a browser's 720p camera is; each layer has a band of its own colour
    /// ([`SIMULCAST_BANDS`]) along its foot, so a recording shows which layer it received.
    /// RTP participants only.
    pub simulcast: Option<(u32, u32)>,
}

/// The colour band along the foot of simulcast layer 0, 1 and 2 (yellow, cyan, magenta).
pub const SIMULCAST_BANDS: [[u8; 3]; 3] = [[0xff, 0xff, 0x00], [0x00, 0xff, 0xff], [0xff, 0x00, 0xff]];

/// A participant in the call.
pub struct Participant {
    pub spec: ParticipantSpec,
    publisher: Publisher,
}

enum Publisher {
    Browser { browser: Browser, _profile: tempfile::TempDir },
    Rtp(RtpPublisher),
}

impl ParticipantSpec {
    /// A participant in the open harness room.
    pub fn new(name: &str, color: &str, tone_hz: u32) -> Self {
        Self { name: name.into(), color: color.into(), tone_hz, room: super::janus::ROOM, pin: None, clock: true, rtp: false, markers: false, simulcast: None }
    }

    /// The same participant published by ffmpeg over plain RTP (see [`super::rtp`]).
    pub fn over_rtp(mut self) -> Self {
        self.rtp = true;
        self
    }

    /// The same participant published over RTP as three simulcast layers up to `width`x`height`
    /// (see [`Self::simulcast`]).
    pub fn with_simulcast(mut self, width: u32, height: u32) -> Self {
        self.rtp = true;
        self.simulcast = Some((width, height));
        self
    }

    /// The same participant with a flash-and-beep marker every [`MARKER_PERIOD_S`].
    pub fn with_markers(mut self) -> Self {
        self.markers = true;
        self
    }

    /// P1, P2 … `n`: each with their own colour and tone (all far below the markers' beep).
    pub fn numbered(n: usize) -> Vec<Self> {
        const COLOURS: [&str; 6] = ["0xd02020", "0x2040e0", "0x20b040", "0xd0a020", "0x8020d0", "0x20c0c0"];
        (0..n).map(|i| Self::new(&format!("P{}", i + 1), COLOURS[i % COLOURS.len()], 300 + 150 * i as u32)).collect()
    }

    /// The same participant with a silent microphone (they never speak).
    pub fn silent(mut self) -> Self {
        self.tone_hz = 0;
        self
    }

    /// The same participant with a still camera picture (no clock).
    pub fn still(mut self) -> Self {
        self.clock = false;
        self
    }

    /// The camera's background colour as RGB, when given as `0xRRGGBB`.
    pub fn rgb(&self) -> Option<[u8; 3]> {
        let hex = u32::from_str_radix(self.color.strip_prefix("0x")?, 16).ok()?;
        Some([(hex >> 16) as u8, (hex >> 8) as u8, hex as u8])
    }

    /// New pictures a second from the camera.
    pub fn camera_fps(&self) -> u32 {
        if self.markers { MARKED_CAMERA_FPS } else { CAMERA_FPS }
    }

    /// Seconds of the camera's and microphone's media, which loop.
    pub(super) fn clip_seconds(&self) -> u32 {
        if self.markers { MARKED_CLIP_S } else { CLIP_S }
    }

    /// The camera picture as an ffmpeg lavfi source at [`Self::camera_fps`]: 320x180, or a
    /// simulcast participant's largest size.
    pub(super) fn video_source(&self) -> String {
        let (fps, seconds) = (self.camera_fps(), self.clip_seconds());
        let (width, height) = self.simulcast.unwrap_or((320, 180));
        // The name and clock keep their share of the picture at any size.
        let (name_px, clock_px, margin) = (28 * height / 180, 24 * height / 180, 8 * height / 180);
        let text = format!("drawtext=fontsize={name_px}:fontcolor=white:x=(w-tw)/2:y=(h-th)/2");
        let clock = format!("drawtext=fontsize={clock_px}:fontcolor=white:x=w-tw-{margin}:y={margin}:text='%{{pts\\:hms}}'");
        let clock = if self.clock { format!(",{clock}") } else { String::new() };
        let flash = match self.markers {
            true => format!(",drawbox=c=white:t=fill:enable='{}'", markers::flash_enable(MARKER_PERIOD_S)),
            false => String::new(),
        };
        format!("color=c={}:s={width}x{height}:r={fps}:d={seconds},{text}:text='{}'{clock}{flash}", self.color, self.name)
    }

    /// The microphone's tone (and the markers' beeps) as an ffmpeg lavfi source.
    pub(super) fn tone_source(&self) -> String {
        let seconds = self.clip_seconds();
        match (self.tone_hz, self.markers) {
            (0, false) => format!("anullsrc=r=48000:cl=mono:d={seconds}"),
            (hz, false) => format!("sine=f={hz}:sample_rate=48000:d={seconds}"),
            // The sine source's amplitude (1/8) under the beep.
            (hz, true) => format!("aevalsrc='0.125*sin(2*PI*{hz}*t)+{}':s=48000:d={seconds}", markers::beep(MARKER_PERIOD_S, 0.0, 1.0)),
        }
    }

    /// Makes the camera (`.y4m`) and microphone (`.wav`) files in `dir`.
    async fn make_media(&self, ffmpeg: &Path, dir: &Path) -> Result<(PathBuf, PathBuf), HarnessError> {
        let (video, audio) = (dir.join("camera.y4m"), dir.join("microphone.wav"));
        run_ffmpeg(ffmpeg, &["-f", "lavfi", "-i", &self.video_source(), "-pix_fmt", "yuv420p"], &video).await?;
        run_ffmpeg(ffmpeg, &["-f", "lavfi", "-i", &self.tone_source(), "-ac", "1"], &audio).await?;
        Ok((video, audio))
    }
}

async fn run_ffmpeg(ffmpeg: &Path, args: &[&str], out: &Path) -> Result<(), HarnessError> {
    let result = tokio::process::Command::new(ffmpeg).args(["-v", "error", "-y"]).args(args).arg(out).output().await?;
    if !result.status.success() {
        let message = format!("ffmpeg: {}", String::from_utf8_lossy(&result.stderr).trim());
        return Err(HarnessError::Participant { name: out.display().to_string(), message });
    }
    Ok(())
}

/// Where a participant's browser comes from.
pub struct Launch<'a> {
    pub chromium: &'a Path,
    pub ffmpeg: &'a Path,
    /// Base URL of an asset server for `layouts/` (the participant page lives there).
    pub layouts: &'a Url,
    pub janus_url: &'a str,
    /// The participant's own folder (media files, browser profile).
    pub dir: &'a Path,
    pub instance: &'a str,
}

impl Participant {
    /// Starts the participant's browser (or RTP sender) and waits until Janus lists them as
    /// publishing.
    pub async fn join(spec: ParticipantSpec, launch: Launch<'_>) -> Result<Self, HarnessError> {
        std::fs::create_dir_all(launch.dir)?;
        if spec.rtp {
            let publisher = RtpPublisher::start(&spec, launch.ffmpeg, launch.janus_url, launch.dir, launch.instance).await?;
            return Ok(Self { spec, publisher: Publisher::Rtp(publisher) });
        }
        let (video, audio) = spec.make_media(launch.ffmpeg, launch.dir).await?;
        let mut page = launch.layouts.join("participant/index.html").map_err(|e| fail(&spec, e))?;
        page.query_pairs_mut()
            .append_pair("server", launch.janus_url)
            .append_pair("room", &spec.room.to_string())
            .append_pair("display", &spec.name)
            .append_pair("pin", spec.pin.as_deref().unwrap_or(""));
        let profile = tempfile::Builder::new().prefix("profile-").tempdir_in(launch.dir)?;
        let options = LaunchOptions {
            program: launch.chromium,
            screen: None,
            profile_dir: profile.path(),
            width: 640,
            height: 360,
            // Test publishers, not recorders: they load only the harness's own page.
            no_sandbox: true,
            run_as: None,
            instance: launch.instance,
            extra_args: media_args(&video, &audio),
        };
        let browser = Browser::launch(options).await.map_err(|e| fail(&spec, e))?;
        if let Err(e) = browser.page.goto(page.as_str()).await {
            browser.close().await;
            return Err(fail(&spec, e));
        }
        let participant = Self { spec, publisher: Publisher::Browser { browser, _profile: profile } };
        if let Err(e) = participant.wait_published(launch.janus_url).await {
            participant.leave().await;
            return Err(e);
        }
        Ok(participant)
    }

    async fn wait_published(&self, janus_url: &str) -> Result<(), HarnessError> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while tokio::time::Instant::now() < deadline {
            if let Ok(list) = janus_client::participants(janus_url, self.spec.room).await
                && list.iter().any(|p| p.publisher && p.display.as_deref() == Some(&self.spec.name))
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let tail = match &self.publisher {
            Publisher::Browser { browser, .. } => browser.tail(),
            Publisher::Rtp(_) => String::new(),
        };
        Err(fail(&self.spec, format!("not publishing after 20 s: {tail}")))
    }

    /// Sends `text` on the participant's data channel (as a chat or reaction would travel).
    pub async fn send_data(&self, text: &str) -> Result<(), HarnessError> {
        self.send_data_times(text, 1).await
    }

    /// Sends `text` `times` times in a row, as fast as the page can (a flood).
    pub async fn send_data_times(&self, text: &str, times: u32) -> Result<(), HarnessError> {
        let script = format!(
            "(() => {{ const p = window.wfParticipant; if (!p) return false; \
              for (let i = 0; i < {times}; i++) if (!p.sendData({})) return false; return true; }})()",
            serde_json::json!(text)
        );
        let Publisher::Browser { browser, .. } = &self.publisher else {
            return Err(fail(&self.spec, "an RTP participant has no data channel"));
        };
        let sent = browser.page.evaluate(script).await.map_err(|e| fail(&self.spec, e))?;
        match sent.into_value::<bool>() {
            Ok(true) => Ok(()),
            _ => Err(fail(&self.spec, "the data channel is not open")),
        }
    }

    /// Leaves the call (closes the browser, or stops sending and leaves the room).
    pub async fn leave(self) {
        match self.publisher {
            Publisher::Browser { browser, .. } => browser.close().await,
            Publisher::Rtp(publisher) => publisher.stop().await,
        }
    }
}

pub(super) fn fail(spec: &ParticipantSpec, message: impl std::fmt::Display) -> HarnessError {
    HarnessError::Participant { name: spec.name.clone(), message: message.to_string() }
}

/// Fake camera and microphone fed from files, and WebRTC on loopback with plain IP candidates.
fn media_args(video: &Path, audio: &Path) -> Vec<String> {
    let mut args: Vec<String> = [
        "--use-fake-device-for-media-stream", "--allow-loopback-in-peer-connection",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    args.push(format!("--use-file-for-fake-video-capture={}", video.display()));
    args.push(format!("--use-file-for-fake-audio-capture={}", audio.display()));
    args
}
