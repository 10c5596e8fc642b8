//! The page ↔ service bridge: a CDP binding (`window.__wallflower`) that pages call with a JSON
//! message. The layouts SDK (`layouts/sdk/wallflower.js`) wraps it; see `layouts/README.md`.

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::page::AddScriptToEvaluateOnNewDocumentParams;
use chromiumoxide::cdp::js_protocol::runtime::{AddBindingParams, EventBindingCalled};
use futures::StreamExt;
use serde::Deserialize;
use tokio::sync::mpsc;

use super::RecorderError;

/// Name of the binding installed on every page of the recorder browser.
pub const BINDING: &str = "__wallflower";

/// Every page says once a second, from `requestAnimationFrame`, that it still draws: a frozen
/// renderer stops saying it (see the watchdog in [`super::supervise`]). One animation frame a
/// second, not a loop: a page that requests every frame keeps the renderer and the compositor
/// ticking at 60 Hz even when nothing on it moves.
const HEARTBEAT: &str = r#"(() => { setInterval(() => requestAnimationFrame(() => {
    if (window.__wallflower) window.__wallflower('{"type":"heartbeat"}'); }), 1000); })();"#;

/// A message from the page.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PageMessage {
    /// Content is rendered; capture may begin.
    Ready,
    /// The page drew frames in the last second (the watchdog's sign of life).
    Heartbeat,
    /// The page says the session is over.
    End {
        #[serde(default)]
        reason: Option<String>,
    },
    /// Who is publishing in the call (sent on every change). `waiting`: nobody is.
    Status {
        #[serde(default)]
        waiting: bool,
        #[serde(default)]
        publishers: Vec<Publisher>,
    },
    /// The source cannot go on, e.g. `room_not_found`, `janus_unreachable`, `auth_failed`.
    Error {
        code: String,
        #[serde(default)]
        message: String,
    },
    /// The call's room was destroyed.
    RoomDestroyed,
    /// Something went wrong and recovered (or not yet), e.g. `connection_lost`.
    Incident {
        kind: String,
        #[serde(default)]
        message: Option<String>,
    },
    /// The page shows the settings of `revision` (after a live change).
    Applied {
        revision: u32,
        #[serde(default)]
        layout: Option<String>,
    },
    /// The page could not show the settings of `revision` and kept the previous ones.
    ApplyFailed {
        revision: u32,
        #[serde(default)]
        message: String,
    },
    /// A log line from the page, forwarded into the recording's span.
    Log {
        #[serde(default)]
        level: Option<String>,
        #[serde(default)]
        message: String,
    },
    /// A chat message, reaction or slide the page received (from a participant's data channel,
    /// or injected by the service) and, if `shown`, drew at `shown_at_ms` (Unix ms).
    CallEvent {
        event: serde_json::Value,
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        source: Option<String>,
        #[serde(default)]
        shown_at_ms: Option<f64>,
        #[serde(default = "yes")]
        shown: bool,
    },
    /// How many call events the page received, drew, and dropped (floods are coalesced).
    EventStats {
        #[serde(default)]
        received: u64,
        #[serde(default)]
        shown: u64,
        #[serde(default)]
        dropped: u64,
    },
    /// Anything else; logged.
    #[serde(untagged)]
    Other(serde_json::Value),
}

fn yes() -> bool {
    true
}

/// A publisher in the call, as the page reports it.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct Publisher {
    /// The SFU's id of the participant.
    #[schema(value_type = Object)]
    pub id: serde_json::Value,
    #[serde(default)]
    pub display: Option<String>,
}

/// Installs the binding on `page` and returns a stream of its messages. Must run before the page
/// navigates to its content so early `ready` calls are not lost.
/// `config` becomes `window.__wallflowerConfig` on every document the page loads.
pub async fn install(page: &Page, config: &serde_json::Value) -> Result<mpsc::Receiver<PageMessage>, RecorderError> {
    let control = |e: chromiumoxide::error::CdpError| RecorderError::BrowserControl(e.to_string());
    let mut calls = page.event_listener::<EventBindingCalled>().await.map_err(control)?;
    page.execute(AddBindingParams::new(BINDING)).await.map_err(control)?;
    let script = format!("window.__wallflowerConfig = {config};{HEARTBEAT}");
    page.execute(AddScriptToEvaluateOnNewDocumentParams::new(script)).await.map_err(control)?;
    let (tx, rx) = mpsc::channel(64);
    let span = tracing::Span::current();
    tokio::spawn(async move {
        while let Some(call) = calls.next().await {
            if call.name != BINDING {
                continue;
            }
            let message = parse(&call.payload);
            if let PageMessage::Log { level, message } = &message {
                let _enter = span.enter();
                tracing::info!(page_level = level.as_deref().unwrap_or("info"), "page: {message}");
                continue;
            }
            if tx.send(message).await.is_err() {
                break;
            }
        }
    });
    Ok(rx)
}

/// Parses one payload; something that is not a JSON object still reaches the timeline as text.
fn parse(payload: &str) -> PageMessage {
    serde_json::from_str(payload).unwrap_or_else(|_| PageMessage::Other(serde_json::Value::String(payload.into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_sdk_messages() {
        assert_eq!(parse(r#"{"type":"ready"}"#), PageMessage::Ready);
        assert_eq!(parse(r#"{"type":"end","reason":"done"}"#), PageMessage::End { reason: Some("done".into()) });
        assert_eq!(parse(r#"{"type":"end"}"#), PageMessage::End { reason: None });
        assert!(matches!(parse(r#"{"type":"chat","text":"hi"}"#), PageMessage::Other(_)));
        let status = parse(r#"{"type":"status","waiting":false,"publishers":[{"id":42,"display":"Ann"}]}"#);
        assert!(matches!(status, PageMessage::Status { waiting: false, ref publishers } if publishers.len() == 1));
        let error = parse(r#"{"type":"error","code":"room_not_found","message":"no room 9"}"#);
        assert!(matches!(error, PageMessage::Error { ref code, .. } if code == "room_not_found"));
        assert_eq!(parse(r#"{"type":"room_destroyed"}"#), PageMessage::RoomDestroyed);
        assert_eq!(parse(r#"{"type":"applied","revision":2,"layout":"speaker"}"#), PageMessage::Applied { revision: 2, layout: Some("speaker".into()) });
        assert!(matches!(parse(r#"{"type":"apply_failed","revision":3,"message":"404"}"#), PageMessage::ApplyFailed { revision: 3, .. }));
        let event = parse(r#"{"type":"call_event","event":{"type":"chat","text":"hi"},"source":"data_channel","shown_at_ms":1.7e12}"#);
        assert!(matches!(event, PageMessage::CallEvent { shown: true, shown_at_ms: Some(_), .. }), "{event:?}");
        assert!(matches!(parse("not json"), PageMessage::Other(serde_json::Value::String(_))));
    }
}
