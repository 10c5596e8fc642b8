//! What a recording points its browser at. A source builds the page URL and says how the page
//! signals that capture may begin; the Janus source (later) adds joining a call.

use serde::{Deserialize, Serialize};
use url::Url;

/// The content of a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    /// The built-in test pattern: clock, moving square, a steady tone, and once a second a white
    /// flash with a beep at the same instant.
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
}

fn default_tone() -> u32 {
    440
}

impl Source {
    /// The URL the recorder browser opens; `layouts` is the base URL of the layouts asset server.
    pub fn page_url(&self, layouts: &Url, recording_id: &str) -> Result<Url, url::ParseError> {
        match self {
            Self::Test { tone_hz } => {
                let mut url = layouts.join("test/index.html")?;
                url.query_pairs_mut().append_pair("id", recording_id).append_pair("tone", &tone_hz.to_string());
                Ok(url)
            }
            Self::Web { url } => Url::parse(url),
        }
    }

    /// True when the page uses the SDK and says `ready` itself; other pages are ready once loaded.
    pub fn signals_ready(&self) -> bool {
        matches!(self, Self::Test { .. })
    }

    /// Short label for logs and progress lines.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Test { .. } => "test",
            Self::Web { .. } => "web",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_source_points_at_the_test_pattern() {
        let base = Url::parse("http://127.0.0.1:9000/").unwrap();
        let url = Source::Test { tone_hz: 660 }.page_url(&base, "rec 1").unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:9000/test/index.html?id=rec+1&tone=660");
    }

    #[test]
    fn unknown_fields_in_a_source_are_rejected() {
        let err = serde_json::from_str::<Source>(r#"{"type":"test","tone":3}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        let ok: Source = serde_json::from_str(r#"{"type":"test"}"#).unwrap();
        assert_eq!(ok, Source::Test { tone_hz: 440 });
    }
}
