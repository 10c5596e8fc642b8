//! The warm pool: sets of a PulseAudio sink, an X display and a Chromium on that display, started
//! before any recording asks for them, so a recording of the pool's frame size starts at its page
//! load instead of first waiting for Xvfb and Chromium. A set that is taken is replaced in the
//! background, a few seconds later so the new Chromium does not slow the page load of the
//! recording that took it; a set whose processes died while it waited is thrown away.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::audio::{PulseServer, Sink};
use super::browser::Browser;
use super::display::Display;
use super::tools::Tools;
use super::{RecorderError, launch};
use crate::sandbox::Sandbox;

/// How long after a set is taken its replacement starts.
const REFILL_DELAY: Duration = Duration::from_secs(3);
/// How long to wait before trying again when a set failed to start.
const RETRY_DELAY: Duration = Duration::from_secs(10);

/// How many sets the pool keeps ready, for which frame size and rate (a recording of another
/// size or rate starts cold: Xorg displays refresh at the recording's frame rate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WarmPoolConfig {
    pub sets: usize,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

/// The frame rate of the pool's displays unless `warm_pool_size` names one.
pub const DEFAULT_POOL_FPS: u32 = 30;

/// One ready set; its browser shows `about:blank`.
pub(super) struct WarmSet {
    pub sink: Sink,
    pub display: Display,
    pub browser: Browser,
    /// The browser's profile (removed when dropped, after the browser is gone).
    pub profile: tempfile::TempDir,
}

impl WarmSet {
    /// Whether every process is still there and the sink belongs to the running PulseAudio.
    fn is_alive(&mut self, pulse_generation: u64) -> bool {
        self.sink.generation == pulse_generation && !self.display.has_exited() && !self.browser.has_exited()
    }

    /// Ends the set's processes. A sink of an earlier PulseAudio is forgotten, not removed: its
    /// module number may now be another sink's.
    pub async fn teardown(self, pulse_generation: u64) {
        self.browser.close().await;
        self.display.stop().await;
        if self.sink.generation == pulse_generation {
            self.sink.remove().await;
        } else {
            self.sink.forget();
        }
    }
}

/// What starting a set takes: the recorder's programs, sound server and sandbox.
pub(super) struct Launcher {
    pub tools: Tools,
    pub pulse: Arc<PulseServer>,
    pub sandbox: Arc<Sandbox>,
    pub instance: String,
}

impl Launcher {
    async fn start_set(&self, config: WarmPoolConfig) -> Result<WarmSet, RecorderError> {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let sink = self.pulse.create_sink(&format!("wf_warm_{}", &tag[..12])).await?;
        let display = match launch::start_display(&self.tools, (config.width, config.height), config.fps, &self.instance, &self.sandbox).await {
            Ok(display) => display,
            Err(e) => {
                sink.remove().await;
                return Err(e);
            }
        };
        let started = async {
            let profile = self.sandbox.scratch("warm-")?;
            let size = (config.width, config.height);
            let browser = launch::launch_browser(&self.tools, &self.sandbox, &self.instance, &self.pulse, &display, &sink, profile.path(), size).await?;
            Ok::<_, RecorderError>((browser, profile))
        }
        .await;
        match started {
            Ok((browser, profile)) => Ok(WarmSet { sink, display, browser, profile }),
            Err(e) => {
                display.stop().await;
                sink.remove().await;
                Err(e)
            }
        }
    }
}

/// The ready sets and the task that keeps them topped up.
pub(super) struct WarmPool {
    config: WarmPoolConfig,
    /// The sound server the sets' sinks belong to.
    pulse: Arc<PulseServer>,
    ready: Mutex<Vec<WarmSet>>,
    wake: Notify,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl WarmPool {
    /// Starts filling the pool in the background.
    pub fn start(config: WarmPoolConfig, launcher: Launcher) -> Arc<Self> {
        let pool = Arc::new(Self {
            config,
            pulse: Arc::clone(&launcher.pulse),
            ready: Mutex::new(Vec::new()),
            wake: Notify::new(),
            cancel: CancellationToken::new(),
            tracker: TaskTracker::new(),
        });
        pool.tracker.spawn(Arc::clone(&pool).fill(launcher));
        pool.tracker.close();
        pool
    }

    /// A ready set for a `width`x`height` recording at `fps`, if there is one; wakes the filler.
    pub async fn take(&self, width: u32, height: u32, fps: u32) -> Option<WarmSet> {
        if (width, height, fps) != (self.config.width, self.config.height, self.config.fps) {
            return None;
        }
        let pulse_generation = self.pulse.generation();
        loop {
            let popped = self.ready.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let Some(mut set) = popped else { break };
            self.wake.notify_one();
            if set.is_alive(pulse_generation) {
                tracing::info!(left = self.len(), "took a warm browser from the pool");
                return Some(set);
            }
            tracing::warn!("a warm browser's processes died while it waited; starting cold");
            set.teardown(pulse_generation).await;
        }
        None
    }

    /// Sets ready now.
    pub fn len(&self) -> usize {
        self.ready.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Keeps `config.sets` sets ready until closed.
    async fn fill(self: Arc<Self>, launcher: Launcher) {
        while !self.cancel.is_cancelled() {
            if self.len() >= self.config.sets {
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = self.cancel.cancelled() => return,
                }
                self.pause(REFILL_DELAY).await;
                continue;
            }
            // A start runs to its end (a half-started set would leave processes behind).
            match launcher.start_set(self.config).await {
                Ok(set) if self.cancel.is_cancelled() => set.teardown(self.pulse.generation()).await,
                Ok(set) => self.ready.lock().unwrap_or_else(|e| e.into_inner()).push(set),
                Err(e) => {
                    tracing::warn!("cannot start a warm browser: {e}; trying again in {RETRY_DELAY:?}");
                    self.pause(RETRY_DELAY).await;
                }
            }
        }
    }

    async fn pause(&self, delay: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = self.cancel.cancelled() => {}
        }
    }

    /// Stops filling and ends every ready set's processes.
    pub async fn close(&self) {
        self.cancel.cancel();
        self.tracker.wait().await;
        let sets = std::mem::take(&mut *self.ready.lock().unwrap_or_else(|e| e.into_inner()));
        for set in sets {
            set.teardown(self.pulse.generation()).await;
        }
    }
}

/// Parses a `WIDTHxHEIGHT[@FPS]` frame size and rate as a recording's output takes them (even,
/// 160x120 to 3840x2160, 1 to 60 fps; [`DEFAULT_POOL_FPS`] when no rate is named).
pub fn parse_size(text: &str) -> Result<(u32, u32, u32), String> {
    let (size, fps) = match text.split_once('@') {
        Some((size, fps)) => (size, fps.trim().parse::<u32>().ok()),
        None => (text, Some(DEFAULT_POOL_FPS)),
    };
    let parsed = size.split_once('x').and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?, fps?)));
    match parsed {
        Some((w, h, fps)) if (160..=3840).contains(&w) && (120..=2160).contains(&h) && w % 2 == 0 && h % 2 == 0 && (1..=60).contains(&fps) => Ok((w, h, fps)),
        _ => Err(format!("warm_pool_size must be WIDTHxHEIGHT or WIDTHxHEIGHT@FPS (even, 160x120 to 3840x2160, 1 to 60 fps), not {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_like_a_recordings_output() {
        assert_eq!(parse_size("1280x720"), Ok((1280, 720, 30)));
        assert_eq!(parse_size("640x360@25"), Ok((640, 360, 25)));
        for bad in ["1280", "1281x720", "100x100", "4000x2000", "axb", "", "1280x720@0", "1280x720@61", "1280x720@"] {
            assert!(parse_size(bad).unwrap_err().contains("warm_pool_size"), "{bad}");
        }
    }
}
