//! The request's `destination`: what a client may ask for, and its checks. Credentials never
//! appear here: they come from the server's storage profiles ([`super::config`]).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::fields::{self, FieldError};

/// The object key used when a request names none.
pub const DEFAULT_KEY: &str = "recordings/{id}/recording.mp4";

/// Where a recording should be delivered (request field `destination`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DestinationSpec {
    /// Keep the file under `DATA_DIR/recordings/{id}/`.
    #[default]
    Local,
    /// Any S3-compatible store (AWS, MinIO, Garage, R2, …). The file is uploaded while it is being
    /// recorded (multipart), so it is in the bucket seconds after the stop.
    S3 {
        /// Default: the profile's bucket.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bucket: Option<String>,
        /// Object key; may use `{id}`, `{date}` (UTC, `YYYY-MM-DD`) and `{room}` (a call's room,
        /// else `none`). Default `recordings/{id}/recording.mp4`. The timeline and chat go beside
        /// it (`recording.timeline.json`, `recording.chat.vtt`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        /// e.g. `http://127.0.0.1:3900`; default: the profile's, else AWS.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        endpoint: Option<String>,
        /// Default: the profile's, else `AWS_REGION`, else `us-east-1`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        region: Option<String>,
        /// Path-style requests (`endpoint/bucket/key`), as most self-hosted stores want.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path_style: Option<bool>,
        /// A credential profile from the server's configuration (default `default`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        profile: Option<String>,
    },
    /// One HTTP request to a URL that accepts the file, e.g. a presigned S3 `PUT` URL. Sent once
    /// the file is final (a presigned URL takes one request); the timeline stays local.
    Http {
        /// http(s); its query (a signature, typically) is never logged nor shown.
        url: String,
        /// Only `PUT`.
        #[serde(default = "default_method")]
        method: String,
    },
}

fn default_method() -> String {
    "PUT".into()
}

impl DestinationSpec {
    /// Checks what can be checked without the server's configuration.
    pub fn check(&self) -> Result<(), FieldError> {
        match self {
            Self::Local => Ok(()),
            Self::S3 { bucket, key, endpoint, region, profile, .. } => {
                if let Some(bucket) = bucket {
                    check_bucket(bucket)?;
                }
                check_key_template(key.as_deref().unwrap_or(DEFAULT_KEY))?;
                if let Some(endpoint) = endpoint {
                    fields::url("destination.endpoint", endpoint, &["http", "https"])?;
                }
                if let Some(region) = region {
                    check_name("destination.region", region)?;
                }
                profile.as_deref().map_or(Ok(()), |p| check_name("destination.profile", p))
            }
            Self::Http { url, method } => {
                fields::url("destination.url", url, &["http", "https"])?;
                if method != "PUT" {
                    let message = format!("destination.method must be `PUT` (a presigned upload), got `{method}`");
                    return Err(FieldError::new("unsupported_method", "destination.method", message));
                }
                Ok(())
            }
        }
    }

    /// The spec as clients see it: an upload URL without its query (a presigned URL's signature
    /// is a credential); the full URL stays in the store for `retry-upload`.
    pub fn redacted(&self) -> Self {
        match self {
            Self::Http { url, method } => Self::Http { url: redact_url(url), method: method.clone() },
            other => other.clone(),
        }
    }
}

/// `url` with its query (a signature or token, typically) and any password replaced.
pub fn redact_url(url: &str) -> String {
    let Ok(mut u) = url::Url::parse(url) else { return String::new() };
    if u.query().is_some() {
        u.set_query(Some("REDACTED"));
    }
    if u.password().is_some() {
        let _ = u.set_password(Some("REDACTED"));
    }
    u.set_fragment(None);
    u.to_string()
}

/// S3 bucket names: 3–63 of `a-z 0-9 . -`, starting and ending with a letter or digit.
fn check_bucket(bucket: &str) -> Result<(), FieldError> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-';
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if (3..=63).contains(&bucket.len()) && bucket.chars().all(ok_char) && edge(bucket.chars().next()) && edge(bucket.chars().last()) {
        return Ok(());
    }
    let message = format!("destination.bucket `{bucket}` is not a valid bucket name (3-63 of a-z, 0-9, `.`, `-`)");
    Err(FieldError::new("invalid_bucket", "destination.bucket", message))
}

/// Profile and region names: 1–64 of `A-Z a-z 0-9 _ -`.
fn check_name(field: &str, value: &str) -> Result<(), FieldError> {
    let ok = (1..=64).contains(&value.len()) && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        return Ok(());
    }
    Err(FieldError::new("invalid_value", field, format!("{field} must be 1-64 of A-Z, a-z, 0-9, `_`, `-`")))
}

/// What a key template's placeholders stand for.
#[derive(Debug, Clone)]
pub struct KeyContext {
    pub id: String,
    /// `YYYY-MM-DD`, UTC.
    pub date: String,
    pub room: String,
}

const PLACEHOLDERS: [&str; 3] = ["{id}", "{date}", "{room}"];

fn check_key_template(template: &str) -> Result<(), FieldError> {
    let invalid = |why: String| FieldError::new("invalid_key", "destination.key", why);
    let mut rest = template.to_owned();
    for p in PLACEHOLDERS {
        rest = rest.replace(p, "x");
    }
    if let Some(bad) = rest.find(['{', '}']) {
        return Err(invalid(format!("destination.key may use only {} as placeholders (at `{}`)", PLACEHOLDERS.join(", "), &rest[bad..])));
    }
    if template.is_empty() || template.len() > 900 {
        return Err(invalid("destination.key must be 1 to 900 bytes long".into()));
    }
    if object_store::path::Path::parse(&rest).is_err() || rest.starts_with('/') || rest.ends_with('/') {
        return Err(invalid(format!("destination.key `{template}` is not a valid object key (no empty, `.` or `..` parts)")));
    }
    Ok(())
}

/// The key for `ctx` (the template was checked by [`DestinationSpec::check`]).
pub fn expand_key(template: &str, ctx: &KeyContext) -> String {
    template.replace("{id}", &ctx.id).replace("{date}", &ctx.date).replace("{room}", &ctx.room)
}

/// The key of a sidecar beside `video_key`: `a/b/recording.mp4` → `a/b/recording.timeline.json`.
pub fn sidecar_key(video_key: &str, suffix: &str) -> String {
    let (dir, name) = video_key.rsplit_once('/').map_or(("", video_key), |(d, n)| (d, n));
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    if dir.is_empty() { format!("{stem}.{suffix}") } else { format!("{dir}/{stem}.{suffix}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(json: &str) -> Result<(), FieldError> {
        let spec: DestinationSpec = serde_json::from_str(json).unwrap();
        spec.check()
    }

    #[test]
    fn keys_expand_and_sidecars_sit_beside_them() {
        let ctx = KeyContext { id: "rec_1".into(), date: "2026-11-25".into(), room: "1234".into() };
        assert_eq!(expand_key("{date}/{room}/{id}.mp4", &ctx), "2026-11-25/1234/rec_1.mp4");
        assert_eq!(sidecar_key("recordings/rec_1/recording.mp4", "timeline.json"), "recordings/rec_1/recording.timeline.json");
        assert_eq!(sidecar_key("rec_1.mp4", "chat.vtt"), "rec_1.chat.vtt");
    }

    #[test]
    fn bad_fields_are_named() {
        assert!(s3(r#"{"type":"s3","bucket":"rec","key":"a/{id}.mp4"}"#).is_ok());
        assert_eq!(s3(r#"{"type":"s3","bucket":"Bad_Bucket"}"#).unwrap_err().field, "destination.bucket");
        assert_eq!(s3(r#"{"type":"s3","key":"a/{user}.mp4"}"#).unwrap_err().code, "invalid_key");
        assert_eq!(s3(r#"{"type":"s3","key":"a/../b.mp4"}"#).unwrap_err().code, "invalid_key");
        assert_eq!(s3(r#"{"type":"s3","endpoint":"ftp://x"}"#).unwrap_err().field, "destination.endpoint");
        assert_eq!(s3(r#"{"type":"s3","profile":"a b"}"#).unwrap_err().field, "destination.profile");
        assert_eq!(s3(r#"{"type":"http","url":"https://x/y?sig=1","method":"POST"}"#).unwrap_err().code, "unsupported_method");
        assert_eq!(s3(r#"{"type":"http","url":"file:///etc/passwd"}"#).unwrap_err().field, "destination.url");
    }
}
