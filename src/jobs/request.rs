//! `POST /v1/recordings` bodies: parsing with field paths in errors, and validation. The same
//! rules apply to the one-shot CLI.

use serde::Deserialize;
use utoipa::ToSchema;

use super::JobError;
use super::model::Limits;
use crate::recorder::{OutputSpec, Source};
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
}

impl RecordingRequest {
    /// Parses a JSON body; errors name the offending field (`output.width`).
    pub fn parse(body: &[u8]) -> Result<Self, JobError> {
        let de = &mut serde_json::Deserializer::from_slice(body);
        let request: Self = serde_path_to_error::deserialize(de).map_err(classify)?;
        request.validate()?;
        Ok(request)
    }

    /// Checks ranges and URLs.
    pub fn validate(&self) -> Result<(), JobError> {
        let o = &self.output;
        even_in_range("output.width", o.width, 160, 3840)?;
        even_in_range("output.height", o.height, 120, 2160)?;
        in_range("output.fps", o.fps.into(), 1, 60)?;
        in_range("output.video_bitrate_kbps", o.video_bitrate_kbps.into(), 100, 50_000)?;
        in_range("limits.max_duration_s", self.limits.max_duration_s, 1, 86_400)?;
        match &self.source {
            Source::Test { tone_hz } => in_range("source.tone_hz", (*tone_hz).into(), 20, 20_000),
            Source::Web { url } => check_web_url(url),
        }
    }
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

fn check_web_url(url: &str) -> Result<(), JobError> {
    let invalid = |why: String| JobError::invalid("invalid_url", "source.url", why);
    let parsed = url::Url::parse(url).map_err(|e| invalid(format!("source.url is not a valid URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid(format!("source.url must be http or https, not `{}`", parsed.scheme())));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("source.url has no host".into()));
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
        let code = if path.starts_with("source") { "unknown_source_type" } else { "unknown_type" };
        return JobError::invalid(code, field(Some("type")), message);
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
    fn web_urls_must_be_http() {
        assert_eq!(err(r#"{"source":{"type":"web","url":"file:///etc/passwd"}}"#), ("invalid_url".into(), "source.url".into()));
        assert_eq!(err(r#"{"source":{"type":"web","url":"not a url"}}"#), ("invalid_url".into(), "source.url".into()));
        assert!(RecordingRequest::parse(br#"{"source":{"type":"web","url":"https://example.com/x"}}"#).is_ok());
    }
}
