//! `POST /v1/recordings` bodies: parsing with field paths in errors, and validation. The same
//! rules apply to the one-shot CLI.

use serde::Deserialize;
use utoipa::ToSchema;

use super::JobError;
use super::model::Limits;
use std::time::Duration;

use crate::layouts::settings::{Layouts, Overlays};
use crate::layouts::{Branding, PageSettings};
use crate::recorder::{CallControls, OutputSpec, RecordingJob, Source};
use crate::storage::DestinationSpec;

/// A request for a recording; everything but `source` is optional.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordingRequest {
    pub source: Source,
    #[serde(default)]
    pub output: OutputSpec,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub destination: DestinationSpec,
    /// Calls: the layout to render (default `grid`; `GET /v1/layouts` lists them).
    #[serde(default)]
    pub layout: Option<String>,
    /// Calls: the layout's parameters (see its entry in `GET /v1/layouts`).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub layout_params: Option<serde_json::Map<String, serde_json::Value>>,
    /// Calls: title, logo, colours, font, name labels, watermark, extra CSS.
    #[serde(default)]
    pub branding: Option<Branding>,
    /// Calls: which of chat, reactions and slides are drawn into the video (default all).
    #[serde(default)]
    pub overlays: Option<Overlays>,
}

impl RecordingRequest {
    /// Parses a JSON body; errors name the offending field (`output.width`).
    pub fn parse(body: &[u8]) -> Result<Self, JobError> {
        let request: Self = parse_json(body)?;
        request.validate()?;
        Ok(request)
    }

    /// The page settings of a call (checked against the layouts); `None` for other sources,
    /// which take no layout or branding.
    pub fn page_settings(&self, layouts: &Layouts) -> Result<Option<PageSettings>, JobError> {
        if !self.source.is_call() {
            let given = [
                ("layout", self.layout.is_some()),
                ("layout_params", self.layout_params.is_some()),
                ("branding", self.branding.is_some()),
                ("overlays", self.overlays.is_some()),
            ];
            if let Some((field, _)) = given.into_iter().find(|(_, set)| *set) {
                let message = format!("{field} applies to call sources (janus); a `{}` source is recorded as it is", self.source.kind());
                return Err(JobError::invalid("not_applicable", field, message));
            }
            return Ok(None);
        }
        let mut settings = layouts.settings(self.layout.as_deref(), self.layout_params.as_ref(), self.branding.as_ref())?;
        settings.overlays = self.overlays.unwrap_or_default();
        Ok(Some(settings))
    }

    /// The recorder's job for this request, writing to `file`; `call` carries a call's live
    /// settings and the events the application posts.
    pub fn into_job(self, id: String, file: std::path::PathBuf, call: Option<CallControls>) -> RecordingJob {
        let (settings, inbox) = call.map(|c| (c.settings, c.inbox)).unzip();
        let stop_when_empty = self.source.is_call().then(|| Duration::from_secs(self.limits.stop_when_empty_s));
        RecordingJob {
            id,
            source: self.source,
            output: self.output,
            max_duration: Duration::from_secs(self.limits.max_duration_s),
            stop_when_empty,
            file,
            settings,
            inbox,
        }
    }

    /// Checks ranges and URLs.
    pub fn validate(&self) -> Result<(), JobError> {
        let o = &self.output;
        even_in_range("output.width", o.width, 160, 3840)?;
        even_in_range("output.height", o.height, 120, 2160)?;
        in_range("output.fps", o.fps.into(), 1, 60)?;
        in_range("output.video_bitrate_kbps", o.video_bitrate_kbps.into(), 100, 50_000)?;
        in_range("limits.max_duration_s", self.limits.max_duration_s, 1, 86_400)?;
        in_range("limits.stop_when_empty_s", self.limits.stop_when_empty_s, 1, 86_400)?;
        match &self.source {
            Source::Test { tone_hz } => in_range("source.tone_hz", (*tone_hz).into(), 20, 20_000),
            Source::Web { url } => check_url("source.url", url, &["http", "https"]),
            Source::Janus { server, room, pin, display, .. } => {
                check_url("source.server", server, &["ws", "wss"])?;
                in_range("source.room", *room, 1, u64::MAX)?;
                text_len("source.display", display, 1, 100)?;
                pin.as_deref().map_or(Ok(()), |p| text_len("source.pin", p, 1, 256))
            }
        }
    }
}

/// Parses a JSON body into `T`; errors carry a stable code and the field's path.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, JobError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(classify)
}

fn in_range(field: &str, value: u64, min: u64, max: u64) -> Result<(), JobError> {
    if (min..=max).contains(&value) {
        return Ok(());
    }
    Err(JobError::invalid("out_of_range", field, format!("{field} must be between {min} and {max}, got {value}")))
}

fn even_in_range(field: &str, value: u32, min: u64, max: u64) -> Result<(), JobError> {
    in_range(field, value.into(), min, max)?;
    if value % 2 == 1 {
        return Err(JobError::invalid("not_even", field, format!("{field} must be even (H.264 4:2:0), got {value}")));
    }
    Ok(())
}

fn text_len(field: &str, value: &str, min: usize, max: usize) -> Result<(), JobError> {
    let len = value.chars().count();
    if (min..=max).contains(&len) {
        return Ok(());
    }
    Err(JobError::invalid("invalid_length", field, format!("{field} must be {min} to {max} characters long")))
}

fn check_url(field: &str, url: &str, schemes: &[&str]) -> Result<(), JobError> {
    let invalid = |why: String| JobError::invalid("invalid_url", field, why);
    let parsed = url::Url::parse(url).map_err(|e| invalid(format!("{field} is not a valid URL: {e}")))?;
    if !schemes.contains(&parsed.scheme()) {
        let allowed = schemes.join(" or ");
        return Err(invalid(format!("{field} must be {allowed}, not `{}`", parsed.scheme())));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid(format!("{field} has no host")));
    }
    Ok(())
}

/// Turns a serde error into a validation error with a stable code and the field's path.
fn classify(err: serde_path_to_error::Error<serde_json::Error>) -> JobError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    if matches!(inner.classify(), serde_json::error::Category::Syntax | serde_json::error::Category::Eof) {
        return JobError::invalid("malformed_json", "", format!("malformed JSON: {inner}"));
    }
    let text = inner.to_string();
    let message = text.split(" at line ").next().unwrap_or(&text).to_owned();
    let field = |name: Option<&str>| match (path.as_str(), name) {
        (".", Some(n)) => n.to_owned(),
        (p, Some(n)) if !p.ends_with(n) => format!("{p}.{n}"),
        (p, _) => p.to_owned(),
    };
    if let Some(name) = quoted_after(&message, "unknown field `") {
        return JobError::invalid("unknown_field", field(Some(name)), message.clone());
    }
    if let Some(name) = quoted_after(&message, "missing field `") {
        return JobError::invalid("missing_field", field(Some(name)), message.clone());
    }
    if message.starts_with("unknown variant") {
        // Tagged enums buffer their content, so the path stops at the enum; the expected
        // variants tell a wrong source type from a wrong value inside a source.
        if path.starts_with("source") && message.contains("`web`") {
            return JobError::invalid("unknown_source_type", "source.type", message);
        }
        if path.starts_with("destination") && message.contains("`local`") {
            return JobError::invalid("unknown_destination_type", "destination.type", message);
        }
        return JobError::invalid("invalid_value", field(None), message);
    }
    JobError::invalid("invalid_type", field(None), message)
}

fn quoted_after<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = text.strip_prefix(prefix)?;
    rest.split('`').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> (String, String) {
        match RecordingRequest::parse(body.as_bytes()).unwrap_err() {
            JobError::Invalid { code, field, .. } => (code.to_owned(), field),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn defaults_fill_everything_but_the_source() {
        let r = RecordingRequest::parse(br#"{"source":{"type":"test"}}"#).unwrap();
        assert_eq!(r.output, OutputSpec::default());
        assert_eq!(r.limits.max_duration_s, 10_800);
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(err(r#"{"source":{"type":"test"},"output":{"width":641}}"#), ("not_even".into(), "output.width".into()));
        assert_eq!(err(r#"{"source":{"type":"test"},"output":{"height":5000}}"#), ("out_of_range".into(), "output.height".into()));
        assert_eq!(err(r#"{"source":{"type":"test"},"output":{"fps":0}}"#), ("out_of_range".into(), "output.fps".into()));
        assert_eq!(err(r#"{"source":{"type":"test"},"outptu":{}}"#), ("unknown_field".into(), "outptu".into()));
        assert_eq!(err(r#"{"source":{"type":"test"},"output":{"widht":640}}"#), ("unknown_field".into(), "output.widht".into()));
        assert_eq!(err(r#"{"source":{"type":"zoom"}}"#), ("unknown_source_type".into(), "source.type".into()));
        assert_eq!(err(r#"{"output":{}}"#), ("missing_field".into(), "source".into()));
        assert_eq!(err(r#"{"source":{"type":"web"}}"#), ("missing_field".into(), "source.url".into()));
        assert_eq!(err(r#"{"source":{"type":"test"},"output":{"width":"big"}}"#), ("invalid_type".into(), "output.width".into()));
        assert_eq!(err(r#"{"source":"#), ("malformed_json".into(), "".into()));
    }

    #[test]
    fn janus_sources_are_checked() {
        let ok = RecordingRequest::parse(br#"{"source":{"type":"janus","server":"ws://127.0.0.1:8188","room":1234}}"#).unwrap();
        assert_eq!(ok.limits.stop_when_empty_s, 30);
        assert_eq!(err(r#"{"source":{"type":"janus","server":"http://x:8188","room":1}}"#), ("invalid_url".into(), "source.server".into()));
        assert_eq!(err(r#"{"source":{"type":"janus","server":"ws://x:8188","room":0}}"#), ("out_of_range".into(), "source.room".into()));
        assert_eq!(err(r#"{"source":{"type":"janus","server":"ws://x:8188","room":1,"display":""}}"#), ("invalid_length".into(), "source.display".into()));
        assert_eq!(err(r#"{"source":{"type":"janus","server":"ws://x:8188"}}"#), ("missing_field".into(), "source.room".into()));
        assert_eq!(err(r#"{"source":{"type":"janus","server":"ws://x:8188","room":1,"start":"later"}}"#), ("invalid_value".into(), "source".into()));
    }

    #[test]
    fn web_urls_must_be_http() {
        assert_eq!(err(r#"{"source":{"type":"web","url":"file:///etc/passwd"}}"#), ("invalid_url".into(), "source.url".into()));
        assert_eq!(err(r#"{"source":{"type":"web","url":"not a url"}}"#), ("invalid_url".into(), "source.url".into()));
        assert!(RecordingRequest::parse(br#"{"source":{"type":"web","url":"https://example.com/x"}}"#).is_ok());
    }
}
