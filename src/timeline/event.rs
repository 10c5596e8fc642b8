//! Call events — chat, emoji reactions, slides — as participants send them over their data
//! channel and applications post them to `POST /v1/recordings/{id}/events`. One schema for
//! both (documented in `layouts/README.md`); every field is checked here.

use std::path::Path;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::TimelineError;
use crate::fields::{self, FieldError};

/// Largest event body, in bytes.
pub const MAX_EVENT_BYTES: usize = 4 * 1024;

/// Something said or shown in the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CallEvent {
    /// A chat message (plain text; 1–2000 characters).
    Chat {
        /// Display name of the sender (API events; data-channel events carry the publisher's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        text: String,
    },
    /// An emoji reaction, floating over the sender's tile.
    Reaction {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        emoji: String,
    },
    /// The slide being presented: an http(s) image URL or a file in the assets folder.
    Slide {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        index: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
    },
}

impl CallEvent {
    /// Parses and checks an event body; `assets` is the operator's assets folder (slide files).
    pub fn parse(body: &[u8], assets: &Path) -> Result<Self, TimelineError> {
        if body.len() > MAX_EVENT_BYTES {
            return Err(TimelineError::TooLarge { bytes: body.len(), max: MAX_EVENT_BYTES });
        }
        let de = &mut serde_json::Deserializer::from_slice(body);
        let event: Self = serde_path_to_error::deserialize(de).map_err(classify)?;
        Ok(event.validate(assets).map(|()| event)?)
    }

    /// The event's type name (`chat`, `reaction`, `slide`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Chat { .. } => "chat",
            Self::Reaction { .. } => "reaction",
            Self::Slide { .. } => "slide",
        }
    }

    fn validate(&self, assets: &Path) -> Result<(), FieldError> {
        let from = match self {
            Self::Chat { from, text } => {
                fields::length("text", text, 1, 2000)?;
                from
            }
            Self::Reaction { from, emoji } => {
                fields::length("emoji", emoji, 1, 16)?;
                if emoji.chars().any(|c| c.is_ascii_alphanumeric() || c.is_whitespace()) {
                    return Err(FieldError::new("invalid_value", "emoji", "emoji must be emoji, e.g. \"🎉\""));
                }
                from
            }
            Self::Slide { from, url, title, .. } => {
                fields::url_or_asset("url", url, assets)?;
                if let Some(title) = title {
                    fields::length("title", title, 0, 200)?;
                }
                from
            }
        };
        match from {
            Some(name) => fields::length("from", name, 1, 100),
            None => Ok(()),
        }
    }
}

/// A serde error as a field error; an unknown `type` is `unknown_event_type`.
fn classify(err: serde_path_to_error::Error<serde_json::Error>) -> TimelineError {
    let e = fields::from_serde("", &err.path().to_string(), err.inner());
    if e.message.starts_with("unknown variant") {
        return TimelineError::invalid("unknown_event_type", "type", format!("{} (event types)", e.message));
    }
    e.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<CallEvent, (&'static str, String)> {
        let assets = tempfile::tempdir().unwrap();
        std::fs::write(assets.path().join("slide-3.png"), b"png").unwrap();
        CallEvent::parse(body.as_bytes(), assets.path()).map_err(|e| (e.code(), e.field().unwrap_or_default().to_owned()))
    }

    #[test]
    fn the_three_kinds_parse() {
        let chat = parse(r#"{"type":"chat","from":"Ann","text":"<b>hi</b>"}"#).unwrap();
        assert_eq!(chat, CallEvent::Chat { from: Some("Ann".into()), text: "<b>hi</b>".into() });
        assert_eq!(parse(r#"{"type":"reaction","emoji":"🎉"}"#).unwrap().kind(), "reaction");
        assert_eq!(parse(r#"{"type":"slide","url":"slide-3.png","index":3,"title":"Q3"}"#).unwrap().kind(), "slide");
        assert_eq!(parse(r#"{"type":"slide","url":"https://cdn.example.com/3.png"}"#).unwrap().kind(), "slide");
    }

    #[test]
    fn bad_events_name_code_and_field() {
        let err = |body: &str| parse(body).unwrap_err();
        assert_eq!(err(r#"{"type":"poll","question":"?"}"#), ("unknown_event_type", "type".into()));
        assert_eq!(err(r#"{"type":"chat"}"#), ("missing_field", "text".into()));
        assert_eq!(err(r#"{"type":"chat","text":""}"#), ("invalid_length", "text".into()));
        assert_eq!(err(r#"{"type":"chat","text":"x","color":"red"}"#), ("unknown_field", "color".into()));
        assert_eq!(err(r#"{"type":"reaction","emoji":"lol"}"#), ("invalid_value", "emoji".into()));
        assert_eq!(err(r#"{"type":"slide","url":"javascript:alert(1)"}"#), ("invalid_url", "url".into()));
        assert_eq!(err(r#"{"type":"slide","url":"missing.png"}"#), ("asset_not_found", "url".into()));
        assert_eq!(err(r#"{"type":"chat""#).0, "malformed_json");
        let big = format!(r#"{{"type":"chat","text":"{}"}}"#, "a".repeat(5000));
        assert_eq!(err(&big).0, "event_too_large");
    }
}
