//! `POST /v1/recordings` bodies: parsing with field paths in errors, and validation. The same
//! rules apply to the one-shot CLI.

use serde::Deserialize;
use utoipa::ToSchema;

use super::JobError;
use crate::fields::{self, FieldError, in_range};
use super::model::Limits;
use std::time::Duration;

use crate::layouts::settings::{Layouts, Overlays};
use crate::layouts::{Branding, PageSettings};
use crate::layouts::SettingsPatch;
use crate::recorder::outputs::StreamSpec;
use crate::recorder::pipeline::StreamsReceiver;
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
    /// Live RTMP(S) streams fed from the same encode as the file (`PATCH` changes them).
    #[serde(default)]
    pub streams: Vec<StreamSpec>,
    /// Where this recording's events go (`recording.started`, `.updated`, `.completed`,
    /// `.failed`), signed per Standard Webhooks; default: the server's `--webhook-url`.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// Calls: other hosts the page may show images from (slides), as http(s) origins such as
    /// `https://slides.example.com`; the layout pages' Content-Security-Policy allows only
    /// these, a remote `branding.logo_url`'s host and the service's own files.
    #[serde(default)]
    pub asset_hosts: Vec<String>,
}

/// `PATCH /v1/recordings/{id}`: a call's page settings and/or the live streams; what is left out
/// stays as it is.
#[derive(Debug, Clone, Default, PartialEq, ToSchema)]
pub struct RecordingPatch {
    /// `layout`, `layout_params`, `branding`, `overlays` (calls only).
    pub settings: Option<SettingsPatch>,
    /// The streams to feed from now on: listed ones go on or start, others stop.
    pub streams: Option<Vec<StreamSpec>>,
}

impl RecordingPatch {
    /// Parses a PATCH body; errors name the field.
    pub fn parse(body: &[u8]) -> Result<Self, JobError> {
        let mut value: serde_json::Value = parse_json(body)?;
        let Some(map) = value.as_object_mut() else {
            return Err(JobError::invalid("invalid_type", "", "the body must be a JSON object"));
        };
        let streams = match map.remove("streams") {
            Some(list) => Some(serde_path_to_error::deserialize(list).map_err(|e| prefixed("streams", e))?),
            None => None,
        };
        let settings = match map.is_empty() {
            true => None,
            false => Some(serde_path_to_error::deserialize(value).map_err(classify)?),
        };
        if settings.is_none() && streams.is_none() {
            let message = "the patch changes nothing: give layout, layout_params, branding, overlays or streams";
            return Err(JobError::invalid("empty_patch", "", message));
        }
        Ok(Self { settings, streams })
    }
}

/// A serde error inside `prefix`.
fn prefixed(prefix: &str, err: serde_path_to_error::Error<serde_json::Error>) -> JobError {
    fields::from_serde(prefix, &err.path().to_string(), err.inner()).into()
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
                ("asset_hosts", !self.asset_hosts.is_empty()),
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
    pub fn into_job(self, id: String, file: std::path::PathBuf, call: Option<CallControls>, streams: Option<StreamsReceiver>) -> RecordingJob {
        let (settings, inbox) = call.map(|c| (c.settings, c.inbox)).unzip();
        let stop_when_empty = self.source.is_call().then(|| Duration::from_secs(self.limits.stop_when_empty_s));
        RecordingJob {
            id,
            source: self.source,
            hls: self.output.hls,
            output: self.output,
            max_duration: Duration::from_secs(self.limits.max_duration_s),
            stop_when_empty,
            file,
            asset_hosts: self.asset_hosts,
            settings,
            inbox,
            streams,
            // S3 uploads the spool while it is written, so the spool is what gets delivered.
            keep_fragmented: matches!(self.destination, DestinationSpec::S3 { .. }),
        }
    }

    /// Checks ranges and URLs.
    pub fn validate(&self) -> Result<(), JobError> {
        Ok(self.check_fields()?)
    }

    fn check_fields(&self) -> Result<(), FieldError> {
        let o = &self.output;
        even_in_range("output.width", o.width, 160, 3840)?;
        even_in_range("output.height", o.height, 120, 2160)?;
        in_range("output.fps", o.fps.into(), 1, 60)?;
        in_range("output.video_bitrate_kbps", o.video_bitrate_kbps.into(), 100, 50_000)?;
        in_range("limits.max_duration_s", self.limits.max_duration_s, 1, 86_400)?;
        in_range("limits.stop_when_empty_s", self.limits.stop_when_empty_s, 1, 86_400)?;
        super::streams::check(&self.streams)?;
        self.check_live_only()?;
        if let Some(url) = &self.webhook_url {
            fields::url("webhook_url", url, &["http", "https"])?;
        }
        check_asset_hosts(&self.asset_hosts)?;
        match &self.source {
            Source::Test { tone_hz } => in_range("source.tone_hz", (*tone_hz).into(), 20, 20_000),
            Source::Web { url } => fields::url("source.url", url, &["http", "https"]).map(drop),
            Source::Janus { server, room, pin, display, .. } => {
                fields::url("source.server", server, &["ws", "wss"])?;
                in_range("source.room", *room, 1, u64::MAX)?;
                fields::length("source.display", display, 1, 100)?;
                pin.as_deref().map_or(Ok(()), |p| fields::length("source.pin", p, 1, 256))
            }
        }
    }
}

impl RecordingRequest {
    /// `output.file: false` makes only live outputs: there must be some, and a destination that
    /// takes them.
    fn check_live_only(&self) -> Result<(), FieldError> {
        if self.output.file {
            return Ok(());
        }
        if self.streams.is_empty() && !self.output.hls {
            let message = "output.file is false and there are no streams and no HLS: the recording would make nothing";
            return Err(FieldError::new("nothing_to_make", "output.file", message));
        }
        let takes_live = match &self.destination {
            DestinationSpec::Local => true,
            DestinationSpec::S3 { .. } => self.output.hls,
            DestinationSpec::Http { .. } => false,
        };
        if !takes_live {
            let message = "with output.file false there is no file for this destination (HLS can go to local or s3)";
            return Err(FieldError::new("not_applicable", "destination", message));
        }
        Ok(())
    }
}

/// Most `asset_hosts` a request may declare.
const MAX_ASSET_HOSTS: usize = 16;

/// Each an http(s) URL (its origin is what counts); at most [`MAX_ASSET_HOSTS`].
fn check_asset_hosts(hosts: &[String]) -> Result<(), FieldError> {
    if hosts.len() > MAX_ASSET_HOSTS {
        let message = format!("asset_hosts lists {} hosts; at most {MAX_ASSET_HOSTS} are allowed", hosts.len());
        return Err(FieldError::new("too_large", "asset_hosts", message));
    }
    for (i, host) in hosts.iter().enumerate() {
        fields::url(&format!("asset_hosts[{i}]"), host, &["http", "https"])?;
    }
    Ok(())
}

/// Parses a JSON body into `T`; errors carry a stable code and the field's path.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, JobError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(classify)
}

fn even_in_range(field: &str, value: u32, min: u64, max: u64) -> Result<(), FieldError> {
    in_range(field, value.into(), min, max)?;
    if value % 2 == 1 {
        return Err(FieldError::new("not_even", field, format!("{field} must be even (H.264 4:2:0), got {value}")));
    }
    Ok(())
}

/// A serde error as a field error; an unknown `type` of a source or destination has its own code.
fn classify(err: serde_path_to_error::Error<serde_json::Error>) -> JobError {
    let path = err.path().to_string();
    let e = fields::from_serde("", &path, err.inner());
    if e.message.starts_with("unknown variant") {
        // Tagged enums buffer their content, so the path stops at the enum; the expected
        // variants tell a wrong source type from a wrong value inside a source.
        if path.starts_with("source") && e.message.contains("`web`") {
            return JobError::invalid("unknown_source_type", "source.type", e.message);
        }
        if path.starts_with("destination") && e.message.contains("`local`") {
            return JobError::invalid("unknown_destination_type", "destination.type", e.message);
        }
    }
    e.into()
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
