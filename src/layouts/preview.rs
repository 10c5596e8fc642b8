//! Layout previews: a layout rendered in headless Chromium with simulated participants (coloured
//! moving tiles with names), as a PNG, plus the boxes of its tiles and branding as the page
//! reports them (`wfHost.boxes()`), so tests can check for overlap and overflow.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::page::ScreenshotParams;
use serde_json::{Map, Value, json};
use tokio::sync::{Semaphore, mpsc};
use url::Url;

use super::settings::Layouts;
use super::{Branding, LayoutError};
use crate::recorder::bridge::{self, PageMessage};
use crate::recorder::browser::{Browser, LaunchOptions};
use crate::fields::{self, FieldError};
use crate::sandbox::Sandbox;
use crate::recorder::{RecorderError, page};

/// How long a preview page may take to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// What to render.
#[derive(Debug, Clone)]
pub struct PreviewRequest {
    pub layout: String,
    pub participants: u32,
    pub width: u32,
    pub height: u32,
    pub layout_params: Map<String, Value>,
    pub branding: Branding,
    /// Display names instead of the built-in list.
    pub names: Option<Vec<String>>,
    /// Moving tiles and transitions; `false` draws a fixed picture (reference images).
    pub animate: bool,
    /// Call events (chat, reactions, slides) the simulated participants send at the start, each
    /// with `from_index` (which participant) besides the event's own fields.
    pub events: Vec<Value>,
}

impl PreviewRequest {
    /// The defaults for `layout`: 4 participants, 1280x720, a still picture.
    pub fn new(layout: &str) -> Self {
        Self {
            layout: layout.to_owned(),
            participants: 4,
            width: 1280,
            height: 720,
            layout_params: Map::new(),
            branding: Branding::default(),
            names: None,
            animate: false,
            events: Vec::new(),
        }
    }

    fn check(&self) -> Result<(), FieldError> {
        fields::in_range("participants", self.participants.into(), 0, 25)?;
        fields::in_range("width", self.width.into(), 160, 3840)?;
        fields::in_range("height", self.height.into(), 120, 2160)
    }
}

/// A rendered preview.
#[derive(Debug)]
pub struct Preview {
    pub png: Vec<u8>,
    /// `wfHost.boxes()`: `{width, height, layout, tiles: [...], brand: [...]}`.
    pub boxes: Value,
}

/// Renders previews; shared by the API, the CLI and tests.
pub struct Previewer {
    pub layouts: Layouts,
    pub chromium: PathBuf,
    /// As whom and how the browsers run; their profiles go into its runtime dir.
    pub sandbox: Arc<Sandbox>,
    /// Base URL of the asset server serving `layouts`.
    pub assets_url: Url,
    pub instance: String,
    /// Previews render at most this many at once (each is a browser).
    slots: Semaphore,
}

/// Most previews rendering at once through [`Previewer::render`].
const MAX_AT_ONCE: usize = 2;

impl Previewer {
    pub fn new(layouts: Layouts, chromium: PathBuf, sandbox: Arc<Sandbox>, assets_url: Url, instance: String) -> Self {
        Self { layouts, chromium, sandbox, assets_url, instance, slots: Semaphore::new(MAX_AT_ONCE) }
    }

    /// Renders one preview in a browser of its own; busy when `MAX_AT_ONCE` are rendering.
    pub async fn render(&self, request: &PreviewRequest) -> Result<Preview, LayoutError> {
        // Bad requests are answered before any browser starts.
        self.page_config(request)?;
        let _slot = self.slots.try_acquire().map_err(|_| LayoutError::PreviewBusy(MAX_AT_ONCE))?;
        let session = self.session(request.width, request.height).await?;
        let preview = session.render(request).await;
        session.close().await;
        preview
    }

    /// Checks `request` and builds the page's configuration: the layout settings plus the
    /// simulated participants.
    fn page_config(&self, request: &PreviewRequest) -> Result<Value, LayoutError> {
        request.check()?;
        let settings = self.layouts.settings(Some(&request.layout), Some(&request.layout_params), Some(&request.branding))?;
        let info = self.layouts.catalog.get(&request.layout)?;
        let screen_share = info.preview.get("screen_share").and_then(Value::as_bool).unwrap_or(false);
        let mut config = settings.for_page(&self.assets_url);
        config["recording_id"] = json!("preview");
        config["start"] = json!("immediately");
        config["source"] = json!({
            "type": "simulated", "participants": request.participants, "animate": request.animate,
            "screen_share": screen_share, "names": request.names, "events": request.events,
        });
        Ok(config)
    }

    /// A browser that renders many previews (one page each), e.g. every reference image.
    pub async fn session(&self, width: u32, height: u32) -> Result<PreviewSession<'_>, LayoutError> {
        let profile = self.sandbox.scratch("preview-")?;
        let profile_dir = profile.path().join("profile");
        let launch = LaunchOptions {
            program: &self.chromium,
            screen: None,
            profile_dir: &profile_dir,
            width,
            height,
            no_sandbox: self.sandbox.no_sandbox,
            run_as: self.sandbox.run_as.as_ref(),
            instance: &self.instance,
            extra_args: Vec::new(),
        };
        let browser = Browser::launch(launch).await.map_err(preview_error)?;
        Ok(PreviewSession { previewer: self, browser, _profile: profile })
    }
}

/// One headless browser rendering previews.
pub struct PreviewSession<'a> {
    previewer: &'a Previewer,
    browser: Browser,
    _profile: tempfile::TempDir,
}

impl PreviewSession<'_> {
    /// Renders `request` in a fresh page.
    pub async fn render(&self, request: &PreviewRequest) -> Result<Preview, LayoutError> {
        let config = self.previewer.page_config(request)?;
        let page = self.browser.new_page(request.width, request.height).await.map_err(preview_error)?;
        let shot = shoot(&page, &config, &self.previewer.assets_url).await;
        let _ = page.close().await;
        shot
    }

    /// Closes the browser and removes its profile.
    pub async fn close(self) {
        self.browser.close().await;
    }
}

async fn shoot(page: &Page, config: &Value, base: &Url) -> Result<Preview, LayoutError> {
    let mut messages = bridge::install(page, config).await.map_err(preview_error)?;
    let url = base.join("sdk/host.html").map_err(|e| LayoutError::Preview(e.to_string()))?;
    page::load(page, &url, READY_TIMEOUT).await.map_err(preview_error)?;
    wait_ready(&mut messages).await?;
    page::settle(page).await.map_err(preview_error)?;
    let control = |e: chromiumoxide::error::CdpError| LayoutError::Preview(e.to_string());
    let params = ScreenshotParams::builder().format(CaptureScreenshotFormat::Png).build();
    let png = page.screenshot(params).await.map_err(control)?;
    let boxes = page.evaluate("window.wfHost ? window.wfHost.boxes() : null").await.map_err(control)?;
    Ok(Preview { png, boxes: boxes.into_value().unwrap_or(Value::Null) })
}

/// Waits for the host page's `ready`; an error it reports fails the preview.
async fn wait_ready(messages: &mut mpsc::Receiver<PageMessage>) -> Result<(), LayoutError> {
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        match tokio::time::timeout_at(deadline, messages.recv()).await {
            Ok(Some(PageMessage::Ready)) => return Ok(()),
            Ok(Some(PageMessage::Error { code, message })) => return Err(LayoutError::Preview(format!("{code}: {message}"))),
            Ok(Some(_)) => {}
            Ok(None) => return Err(LayoutError::Preview("the page bridge closed before `ready`".into())),
            Err(_) => return Err(LayoutError::Preview(format!("the layout was not ready within {READY_TIMEOUT:?}"))),
        }
    }
}

fn preview_error(e: RecorderError) -> LayoutError {
    LayoutError::Preview(e.to_string())
}
