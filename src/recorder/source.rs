//! What a recording points its browser at. A source builds the page URL and says how the page
//! signals that capture may begin; the Janus source (later) adds joining a call.

use serde::{Deserialize, Serialize};
use url::Url;

/// The content of a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    /// The built-in test pattern: clock, moving square, a steady tone, and every 1.0133 s a
    /// white flash with a beep at the same instant.
    Test {
        /// Frequency of the steady tone in Hz (20–20000).
        #[serde(default = "default_tone")]
        tone_hz: u32,
    },
    /// Any http(s) page, recorded as it is.
    Web {
        /// The page to record.
        url: String,
    },
    /// A Janus VideoRoom, joined as a hidden subscriber (never publishes, not in the room's
    /// participant list).
    Janus {
        /// Janus WebSocket API, e.g. `ws://127.0.0.1:8188`.
        server: String,
        room: u64,
        /// Room pin, for protected rooms. Never shown back.
        #[serde(default, serialize_with = "redact")]
        pin: Option<String>,
        /// Name the recorder uses with Janus (other participants never see it).
        #[serde(default = "default_display")]
        display: String,
        /// Start capturing right away (a "waiting for participants" slate until someone
        /// publishes) or only once the first participant's video shows.
        #[serde(default)]
        start: StartMode,
    },
}

/// When a call recording starts capturing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StartMode {
    #[default]
    Immediately,
    FirstPublisher,
}

fn default_tone() -> u32 {
    440
}

fn default_display() -> String {
    "Recorder".into()
}

/// Secrets are never written back out (API answers, the store, logs).
fn redact<S: serde::Serializer>(pin: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match pin {
        Some(_) => s.serialize_some("********"),
        None => s.serialize_none(),
    }
}

impl Source {
    /// The URL the recorder browser opens; `layouts` is the base URL of the layouts asset server.
    pub fn page_url(&self, layouts: &Url, recording_id: &str) -> Result<Url, url::ParseError> {
        match self {
            Self::Test { tone_hz } => {
                let mut url = layouts.join(&format!("r/{recording_id}/test/index.html"))?;
                url.query_pairs_mut().append_pair("id", recording_id).append_pair("tone", &tone_hz.to_string());
                Ok(url)
            }
            Self::Web { url } => Url::parse(url),
            // The host page keeps the call and loads the chosen layout (see layouts/README.md).
            // Under `r/{id}/`, the recording's Content-Security-Policy (`layouts::csp`).
            Self::Janus { .. } => layouts.join(&format!("r/{recording_id}/sdk/host.html")),
        }
    }

    /// What the page gets as `window.__wallflowerConfig` (`Wallflower.config` in the SDK); kept
    /// out of the URL so secrets such as a room pin never show in logs.
    pub fn page_config(&self, recording_id: &str) -> serde_json::Value {
        let mut config = serde_json::json!({"recording_id": recording_id});
        if let Self::Janus { server, room, pin, display, start } = self {
            config["source"] = serde_json::json!({"type": "janus", "server": server, "room": room, "pin": pin, "display": display});
            config["start"] = serde_json::json!(start);
        }
        config
    }

    /// True when the page uses the SDK and says `ready` itself; other pages are ready once loaded.
    pub fn signals_ready(&self) -> bool {
        matches!(self, Self::Test { .. } | Self::Janus { .. })
    }

    /// True when the page may legitimately wait (for the first publisher) before `ready`.
    pub fn waits_for_publishers(&self) -> bool {
        matches!(self, Self::Janus { start: StartMode::FirstPublisher, .. })
    }

    /// True for calls, which end when nobody has published for a while.
    pub fn is_call(&self) -> bool {
        matches!(self, Self::Janus { .. })
    }

    /// Short label for logs and progress lines.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Test { .. } => "test",
            Self::Web { .. } => "web",
            Self::Janus { .. } => "janus",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_source_points_at_the_test_pattern() {
        let base = Url::parse("http://127.0.0.1:9000/").unwrap();
        let url = Source::Test { tone_hz: 660 }.page_url(&base, "rec_1").unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:9000/r/rec_1/test/index.html?id=rec_1&tone=660");
    }

    #[test]
    fn janus_pins_reach_the_page_but_are_never_serialised() {
        let source: Source = serde_json::from_str(r#"{"type":"janus","server":"ws://x:8188","room":7,"pin":"s3cret"}"#).unwrap();
        let shown = serde_json::to_string(&source).unwrap();
        assert!(!shown.contains("s3cret") && shown.contains("********"), "{shown}");
        assert_eq!(source.page_config("rec_1")["source"]["pin"], "s3cret");
        assert_eq!(source.page_config("rec_1")["start"], "immediately");
    }

    #[test]
    fn unknown_fields_in_a_source_are_rejected() {
        let err = serde_json::from_str::<Source>(r#"{"type":"test","tone":3}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        let ok: Source = serde_json::from_str(r#"{"type":"test"}"#).unwrap();
        assert_eq!(ok, Source::Test { tone_hz: 440 });
    }
}
