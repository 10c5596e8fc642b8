//! The server's side of delivery: credential profiles for S3-compatible stores (from the config
//! file, or the standard `AWS_*` variables for the `default` profile), the upload policy, and
//! turning a request's destination into a [`Target`] with a ready client.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::{ClientOptions, RetryConfig};
use serde::Deserialize;

use super::spec::{self, DEFAULT_KEY, DestinationSpec, KeyContext};
use crate::fields::FieldError;

/// The `[storage]` table of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageFileConfig {
    /// Keep the local copy after the store confirmed the upload (default false).
    pub keep_local: Option<bool>,
    /// How long to retry an unreachable store after the recording ended (default 900).
    pub retry_for_s: Option<u64>,
    /// Multipart part size in MiB, 5–512 (default 8).
    pub part_size_mib: Option<u64>,
    /// Named S3 credential profiles, e.g. `[storage.s3.default]`.
    #[serde(default)]
    pub s3: HashMap<String, S3Profile>,
}

/// One S3 credential profile. The `default` profile falls back to `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` and `AWS_ENDPOINT_URL`.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Profile {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub bucket: Option<String>,
    pub path_style: Option<bool>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for S3Profile {
    // Never print secrets, even in debug logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Profile")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// How uploads behave.
#[derive(Debug, Clone)]
pub struct UploadPolicy {
    pub keep_local: bool,
    /// Give up once the store has not answered for this long after the recording ended.
    pub retry_for: Duration,
    pub part_size: usize,
}

impl Default for UploadPolicy {
    fn default() -> Self {
        Self { keep_local: false, retry_for: Duration::from_secs(900), part_size: 8 << 20 }
    }
}

/// Resolved storage settings.
#[derive(Debug, Clone, Default)]
pub struct StorageConfig {
    pub profiles: HashMap<String, S3Profile>,
    pub policy: UploadPolicy,
}

impl StorageConfig {
    /// From the config file's `[storage]` table; `retry_for` and `keep_local` may come from flags.
    pub fn from_file(file: StorageFileConfig, retry_for: Option<Duration>, keep_local: Option<bool>) -> anyhow::Result<Self> {
        let part_mib = file.part_size_mib.unwrap_or(8);
        anyhow::ensure!((5..=512).contains(&part_mib), "storage.part_size_mib must be 5-512 (S3's smallest part is 5 MiB)");
        let defaults = UploadPolicy::default();
        let policy = UploadPolicy {
            keep_local: keep_local.or(file.keep_local).unwrap_or(defaults.keep_local),
            retry_for: retry_for.or(file.retry_for_s.map(Duration::from_secs)).unwrap_or(defaults.retry_for),
            part_size: (part_mib as usize) << 20,
        };
        Ok(Self { profiles: file.s3, policy })
    }

    /// The delivery target of `spec` for the recording `ctx`; errors name the request field.
    pub fn target(&self, spec: &DestinationSpec, ctx: &KeyContext) -> Result<Target, FieldError> {
        spec.check()?;
        match spec {
            DestinationSpec::Local => Ok(Target::Local),
            DestinationSpec::Http { url, .. } => {
                let url = url::Url::parse(url).map_err(|e| FieldError::new("invalid_url", "destination.url", e.to_string()))?;
                Ok(Target::Http(HttpTarget { url }))
            }
            DestinationSpec::S3 { bucket, key, endpoint, region, path_style, profile } => {
                let name = profile.as_deref().unwrap_or("default");
                let base = self.profile(name)?;
                let choice = S3Choice { bucket, endpoint, region, path_style: *path_style };
                let s3 = build(&base, &choice)?;
                let key = spec::expand_key(key.as_deref().unwrap_or(DEFAULT_KEY), ctx);
                let bucket = bucket.clone().or(base.bucket).unwrap_or_default();
                Ok(Target::S3(S3Target { store: Arc::new(s3), bucket, key }))
            }
        }
    }

    /// The profile `name`; `default` also exists when only the environment configures it.
    fn profile(&self, name: &str) -> Result<S3Profile, FieldError> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        match (self.profiles.get(name), name) {
            (Some(p), _) => Ok(p.clone()),
            (None, "default") => Ok(S3Profile {
                endpoint: env("AWS_ENDPOINT_URL").or_else(|| env("AWS_ENDPOINT")),
                region: env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")),
                bucket: None,
                path_style: None,
                access_key_id: env("AWS_ACCESS_KEY_ID"),
                secret_access_key: env("AWS_SECRET_ACCESS_KEY"),
                session_token: env("AWS_SESSION_TOKEN"),
            }),
            (None, _) => {
                let mut known: Vec<_> = self.profiles.keys().cloned().collect();
                known.sort();
                let message = format!("no storage profile `{name}` is configured (configured: {})", known.join(", "));
                Err(FieldError::new("unknown_profile", "destination.profile", message))
            }
        }
    }
}

/// The request's overrides of a profile.
struct S3Choice<'a> {
    bucket: &'a Option<String>,
    endpoint: &'a Option<String>,
    region: &'a Option<String>,
    path_style: Option<bool>,
}

fn build(base: &S3Profile, choice: &S3Choice<'_>) -> Result<AmazonS3, FieldError> {
    let (Some(key_id), Some(secret)) = (&base.access_key_id, &base.secret_access_key) else {
        // Without keys object_store would ask an instance-metadata service: never on our network.
        let message = "the storage profile has no credentials (set access_key_id/secret_access_key in [storage.s3.NAME] or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)";
        return Err(FieldError::new("missing_credentials", "destination.profile", message));
    };
    let Some(bucket) = choice.bucket.as_ref().or(base.bucket.as_ref()) else {
        return Err(FieldError::new("missing_field", "destination.bucket", "destination.bucket is required (the profile names no bucket)"));
    };
    let region = choice.region.clone().or(base.region.clone()).unwrap_or_else(|| "us-east-1".into());
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(region)
        .with_access_key_id(key_id)
        .with_secret_access_key(secret)
        .with_virtual_hosted_style_request(!choice.path_style.or(base.path_style).unwrap_or(false))
        // Our own retry loop counts attempts and shows them; one request per attempt here.
        .with_retry(RetryConfig { max_retries: 0, ..RetryConfig::default() })
        .with_client_options(ClientOptions::new().with_connect_timeout(Duration::from_secs(5)).with_timeout(Duration::from_secs(120)));
    if let Some(token) = &base.session_token {
        builder = builder.with_token(token);
    }
    if let Some(endpoint) = choice.endpoint.as_ref().or(base.endpoint.as_ref()) {
        builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
    }
    builder.build().map_err(|e| FieldError::new("invalid_destination", "destination", format!("cannot use this S3 destination: {e}")))
}

/// Where one recording's files go, with a client ready to send them.
#[derive(Debug, Clone)]
pub enum Target {
    Local,
    S3(S3Target),
    Http(HttpTarget),
}

/// A bucket and the video's key in it.
#[derive(Debug, Clone)]
pub struct S3Target {
    pub store: Arc<AmazonS3>,
    pub bucket: String,
    pub key: String,
}

impl S3Target {
    pub fn uri(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

/// A URL that takes one `PUT` of the file.
#[derive(Debug, Clone)]
pub struct HttpTarget {
    pub url: url::Url,
}

impl HttpTarget {
    /// The URL without its query and fragment (which may carry a signature).
    pub fn shown(&self) -> String {
        let mut shown = self.url.clone();
        shown.set_query(None);
        shown.set_fragment(None);
        shown.to_string()
    }
}

impl Target {
    /// Where the video ends up, as the resource shows it (`None`: it stays local).
    pub fn uri(&self) -> Option<String> {
        match self {
            Self::Local => None,
            Self::S3(s3) => Some(s3.uri(&s3.key)),
            Self::Http(http) => Some(http.shown()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> KeyContext {
        KeyContext { id: "rec_1".into(), date: "2026-11-25".into(), room: "none".into() }
    }

    #[test]
    fn profiles_supply_credentials_and_unknown_ones_are_named() {
        let mut config = StorageConfig::default();
        let profile = S3Profile {
            endpoint: Some("http://127.0.0.1:3900".into()),
            access_key_id: Some("GK1".into()),
            secret_access_key: Some("secret".into()),
            bucket: Some("rec".into()),
            ..S3Profile::default()
        };
        config.profiles.insert("garage".into(), profile);
        let spec: DestinationSpec = serde_json::from_str(r#"{"type":"s3","profile":"garage","path_style":true}"#).unwrap();
        let Ok(Target::S3(t)) = config.target(&spec, &ctx()) else { panic!("no target") };
        assert_eq!(t.uri(&t.key), "s3://rec/recordings/rec_1/recording.mp4");
        let spec: DestinationSpec = serde_json::from_str(r#"{"type":"s3","profile":"nope"}"#).unwrap();
        let err = config.target(&spec, &ctx()).unwrap_err();
        assert_eq!((err.code, err.message.contains("garage")), ("unknown_profile", true));
        assert!(!format!("{:?}", config.profiles["garage"]).contains("secret"));
    }

    #[test]
    fn presigned_urls_are_shown_without_their_signature() {
        let t = HttpTarget { url: url::Url::parse("https://s3.example/b/k.mp4?X-Amz-Signature=abc#x").unwrap() };
        assert_eq!(t.shown(), "https://s3.example/b/k.mp4");
    }
}
