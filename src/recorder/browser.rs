//! Chromium for one recording: launched headful in kiosk mode on the recording's display, playing
//! into its sink, with a fresh profile, and controlled over CDP (chromiumoxide) on a port it picks.
//! Layout previews launch it headless the same way.

use std::ffi::OsStr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::{Browser as CdpBrowser, Page};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{RecorderError, RecorderEvent, guard};
use super::process::{Supervised, kill_strays};
use crate::sandbox::{self, RunAs};

/// Where and how Chromium should run.
pub struct LaunchOptions<'a> {
    pub program: &'a Path,
    /// The recording's display and sound; `None` runs headless (previews).
    pub screen: Option<Screen<'a>>,
    pub profile_dir: &'a Path,
    pub width: u32,
    pub height: u32,
    pub no_sandbox: bool,
    /// The unprivileged user to run as (the service runs as root); it gets the profile dir.
    pub run_as: Option<&'a RunAs>,
    pub instance: &'a str,
    /// More Chromium flags (synthetic participants add fake media devices).
    pub extra_args: Vec<String>,
}

/// The X display and PulseAudio sink a recording's Chromium draws and plays into.
pub struct Screen<'a> {
    pub display: &'a str,
    /// The display's cookie file.
    pub xauthority: &'a Path,
    pub pulse_server: &'a OsStr,
    pub sink: &'a str,
}

/// A running Chromium with a CDP connection and the kiosk page.
pub struct Browser {
    process: Supervised,
    /// Profile dir and instance, to find helpers that left the process group.
    profile: String,
    instance: String,
    /// Shared with the request guard, which answers paused requests on it.
    cdp: Arc<CdpBrowser>,
    handler: JoinHandle<()>,
    /// The URL policy's request interception, once started.
    guard: Option<JoinHandle<()>>,
    pub page: Page,
}

impl Browser {
    /// Launches Chromium on `about:blank` (the page is navigated once the bridge is installed).
    pub async fn launch(opts: LaunchOptions<'_>) -> Result<Self, RecorderError> {
        let args = chromium_args(&opts);
        if opts.no_sandbox {
            tracing::warn!("Chromium runs with --no-sandbox");
        }
        // Chromium (and HOME) writes here, as the user it runs as.
        std::fs::create_dir_all(opts.profile_dir)?;
        sandbox::give(opts.profile_dir, opts.run_as)?;
        let mut envs = vec![("HOME", opts.profile_dir.as_os_str())];
        if let Some(screen) = &opts.screen {
            envs.push(("DISPLAY", OsStr::new(screen.display)));
            envs.push(("XAUTHORITY", screen.xauthority.as_os_str()));
            envs.push(("PULSE_SERVER", screen.pulse_server));
            envs.push(("PULSE_SINK", OsStr::new(screen.sink)));
        }
        let mut process = Supervised::spawn_as("chromium", opts.program, &args, &envs, opts.instance, opts.run_as)
            .map_err(|e| RecorderError::BrowserLaunch(format!("{}: {e}", opts.program.display())))?;
        let ws = devtools_url(&mut process, opts.profile_dir).await?;
        let (cdp, mut events) = CdpBrowser::connect(ws)
            .await
            .map_err(|e| RecorderError::BrowserLaunch(format!("CDP connect: {e}")))?;
        // The handler stream drives the connection; it ends (Err or None) when Chromium goes away.
        let handler = tokio::spawn(async move { while let Some(Ok(())) = events.next().await {} });
        let emulate = opts.screen.is_none() || opts.width < MIN_WINDOW_WIDTH;
        let page = match first_page(&cdp, opts.width, opts.height, emulate).await {
            Ok(page) => page,
            Err(e) => {
                handler.abort();
                return Err(e);
            }
        };
        let (profile, instance) = (opts.profile_dir.display().to_string(), opts.instance.to_owned());
        Ok(Self { process, profile, instance, cdp: Arc::new(cdp), handler, guard: None, page })
    }

    /// Enforces `rules` on every request the browser makes from now on; blocked ones are
    /// reported on `events` as `request_blocked` incidents.
    pub async fn guard(&mut self, rules: guard::Rules, events: mpsc::Sender<RecorderEvent>) -> Result<(), RecorderError> {
        self.guard = Some(guard::start(Arc::clone(&self.cdp), rules, events).await?);
        Ok(())
    }

    /// Opens another page (previews render each image in a fresh one) sized `width`x`height`.
    pub async fn new_page(&self, width: u32, height: u32) -> Result<Page, RecorderError> {
        let control = |e: chromiumoxide::error::CdpError| RecorderError::BrowserControl(e.to_string());
        let page = self.cdp.new_page("about:blank").await.map_err(control)?;
        let size = SetDeviceMetricsOverrideParams::new(i64::from(width), i64::from(height), 1.0, false);
        page.execute(size).await.map_err(control)?;
        Ok(page)
    }

    /// True once Chromium has exited.
    pub fn has_exited(&mut self) -> bool {
        self.process.try_exited().is_some()
    }

    /// Resolves when Chromium exits on its own; gives the exit status.
    pub async fn exited(&mut self) -> String {
        self.process.exited().await.to_string()
    }

    /// The last lines Chromium printed.
    pub fn tail(&self) -> String {
        self.process.tail()
    }

    /// Closes the browser politely, then makes sure its whole process group is gone.
    pub async fn close(mut self) {
        let close = self.cdp.execute(chromiumoxide::cdp::browser_protocol::browser::CloseParams::default());
        let _ = tokio::time::timeout(Duration::from_secs(2), close).await;
        if let Some(guard) = self.guard.take() {
            guard.abort();
        }
        self.handler.abort();
        self.process.terminate(Duration::from_secs(3)).await;
        kill_strays(&self.instance, &self.profile);
    }

    /// Kills a broken browser at once (a frozen one would not answer a polite close).
    pub async fn kill(self) {
        self.handler.abort();
        self.process.terminate(Duration::ZERO).await;
        kill_strays(&self.instance, &self.profile);
    }
}

fn chromium_args(opts: &LaunchOptions<'_>) -> Vec<String> {
    let mode: &[&str] = match opts.screen {
        Some(_) => &["--kiosk", "--app=about:blank", "--window-position=0,0"],
        None => &["--headless=new", "about:blank"],
    };
    let mut args: Vec<String> = [
        "--autoplay-policy=no-user-gesture-required", "--disable-gpu", "--no-first-run",
        "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-quic", "--disable-extensions", "--disable-default-apps",
        "--disable-features=Translate,WebRtcHideLocalIpsWithMdns,MediaRouter,DialMediaRouteProvider",
        "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows", "--hide-scrollbars", "--password-store=basic",
        "--use-fake-ui-for-media-stream", "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
    ]
    .into_iter()
    .chain(mode.iter().copied())
    .map(String::from)
    .collect();
    args.push(format!("--window-size={},{}", opts.width, opts.height));
    args.push(format!("--user-data-dir={}", opts.profile_dir.display()));
    if opts.no_sandbox {
        args.push("--no-sandbox".into());
    }
    args.extend(opts.extra_args.iter().cloned());
    args
}

/// Reads the CDP endpoint Chromium writes to `DevToolsActivePort` (port line, then path line).
async fn devtools_url(process: &mut Supervised, profile: &Path) -> Result<String, RecorderError> {
    let file = profile.join("DevToolsActivePort");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = process.try_exited() {
            let tail = process.tail();
            return Err(RecorderError::BrowserLaunch(format!("exited ({status}) before CDP was up: {tail}")));
        }
        if let Ok(text) = tokio::fs::read_to_string(&file).await {
            let mut lines = text.lines();
            if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                return Ok(format!("ws://127.0.0.1:{}{}", port.trim(), path.trim()));
            }
        }
        if tokio::time::Instant::now() > deadline {
            return Err(RecorderError::BrowserLaunch("no DevTools endpoint within 15 s".into()));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Chromium will not make a window narrower than this (a 320 px kiosk window came out 500).
const MIN_WINDOW_WIDTH: u32 = 500;

/// The kiosk window's page; the handler attaches to it shortly after connecting. Pages narrower
/// than Chromium's smallest window get their size emulated, drawn in the window's top-left corner,
/// which is what the capture grabs. Headless pages always get their size emulated.
async fn first_page(cdp: &CdpBrowser, width: u32, height: u32, emulate: bool) -> Result<Page, RecorderError> {
    let control = |e: chromiumoxide::error::CdpError| RecorderError::BrowserControl(e.to_string());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let pages = cdp.pages().await.map_err(control)?;
        if let Some(page) = pages.into_iter().next() {
            if emulate {
                let size = SetDeviceMetricsOverrideParams::new(i64::from(width), i64::from(height), 0.0, false);
                page.execute(size).await.map_err(control)?;
            }
            return Ok(page);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(RecorderError::BrowserControl("the kiosk page never appeared".into()));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
