//! Loading the source's page in the recorder browser and waiting until capture may begin; the
//! hosts a layout page may use (its Content-Security-Policy).

use std::time::Duration;

use chromiumoxide::Page;
use tokio::sync::mpsc;
use url::Url;

use tokio::time::Instant;

use super::bridge::PageMessage;
use super::pipeline::RecordingJob;
use super::source::Source;
use crate::layouts::csp::Sources;
use super::{RecorderError, RecorderEvent, SourceErrorCode, supervise};

/// Navigates to `url` and checks the main document loaded (an HTTP error status counts as a
/// failure: recording a 404 page is never what the user wanted).
pub async fn load(page: &Page, url: &Url, timeout: Duration) -> Result<(), RecorderError> {
    let nav = tokio::time::timeout(timeout, page.goto(url.as_str())).await;
    match nav {
        Err(_) => return Err(RecorderError::PageLoadFailed(format!("{url} did not load within {timeout:?}"))),
        Ok(Err(e)) => return Err(RecorderError::PageLoadFailed(format!("{url}: {e}"))),
        Ok(Ok(_)) => {}
    }
    let status = page
        .evaluate("performance.getEntriesByType('navigation')[0]?.responseStatus ?? 0")
        .await
        .map_err(|e| RecorderError::BrowserControl(e.to_string()))?
        .into_value::<u16>()
        .unwrap_or(0);
    if status >= 400 {
        return Err(RecorderError::PageLoadFailed(format!("{url} answered HTTP {status}")));
    }
    Ok(())
}

/// A loaded page's messages, and what it last said about who publishes.
pub struct PageLink {
    pub messages: mpsc::Receiver<PageMessage>,
    /// Whether anyone publishes, by the page's latest `status` (`None`: it has said nothing).
    /// The page sends a status only when the publishers change, so this is kept beside its
    /// messages: whoever reads them next (the watch of the next segment too) must know it.
    pub publishing: Option<bool>,
}

impl PageLink {
    pub fn new(messages: mpsc::Receiver<PageMessage>) -> Self {
        Self { messages, publishing: None }
    }

    /// Keeps what a message says about who publishes; returns it when it said something.
    pub fn note(&mut self, message: &PageMessage) -> Option<bool> {
        let PageMessage::Status { waiting, .. } = message else { return None };
        self.publishing = Some(!waiting);
        self.publishing
    }
}

/// Waits for the page's `ready` message, relaying call status on the way. `patience`: how long
/// the page may take while it reports waiting for the first publisher (else `timeout`).
pub async fn wait_ready(
    page: &mut PageLink,
    timeout: Duration,
    patience: Option<Duration>,
    events: &mpsc::Sender<RecorderEvent>,
) -> Result<(), RecorderError> {
    let mut deadline = Instant::now() + timeout;
    loop {
        let next = tokio::time::timeout_at(deadline, page.messages.recv()).await;
        let message = next.map_err(|_| RecorderError::PageNotReady(timeout))?
            .ok_or_else(|| RecorderError::BrowserControl("the page bridge closed before `ready`".into()))?;
        match message {
            PageMessage::Ready => return Ok(()),
            PageMessage::Status { .. } => {
                let publishing = page.note(&message);
                if let Some(patience) = patience {
                    deadline = Instant::now() + if publishing == Some(true) { timeout } else { patience };
                }
                supervise::relay(message, events).await;
            }
            other => match supervise::relay(other, events).await {
                Some(Err(error)) => return Err(error),
                Some(Ok(reason)) => {
                    let message = format!("the session ended before capture began ({reason:?})");
                    return Err(RecorderError::Source { code: SourceErrorCode::Other, message });
                }
                None => {}
            },
        }
    }
}

/// For pages without the SDK: wait until fonts are loaded and two frames have been painted.
pub async fn settle(page: &Page) -> Result<(), RecorderError> {
    let script = "(async () => { await document.fonts.ready; \
        for (let i = 0; i < 2; i++) await new Promise(r => requestAnimationFrame(r)); return true; })()";
    let settled = tokio::time::timeout(Duration::from_secs(5), page.evaluate(script)).await;
    if let Ok(Err(e)) = settled {
        return Err(RecorderError::BrowserControl(e.to_string()));
    }
    Ok(())
}

/// The hosts a recording's layout pages may use: its remote logo and asset hosts, its Janus server.
pub fn declared_sources(job: &RecordingJob) -> Sources {
    let logo = job.settings.as_ref().and_then(|s| s.borrow().branding.logo_url.clone());
    let images = logo.iter().chain(&job.asset_hosts).map(String::as_str);
    source_sources(&job.source, images)
}

/// The hosts a page of `source` may use: `images`, and the source's Janus server if any.
pub fn source_sources<'a>(source: &Source, images: impl IntoIterator<Item = &'a str>) -> Sources {
    let janus = match source {
        Source::Janus { server, .. } => Some(server.as_str()),
        _ => None,
    };
    Sources::declared(images, janus)
}
