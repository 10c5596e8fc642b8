//! Delivery of recordings: where files may go ([`spec`]), the server's credential profiles and
//! upload policy ([`config`]), and one recording's delivery ([`delivery`]): uploaded to S3 while
//! it is being recorded ([`multipart`]) or sent to a presigned URL once final (`http`), retried
//! with backoff ([`retry`]), and checked before the local copy goes.

pub mod config;
pub mod delivery;
pub mod hls;
mod http;
pub mod multipart;
pub mod retry;
pub mod spec;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::recorder::MediaInfo;
pub use config::{StorageConfig, Target, UploadPolicy};
pub use delivery::Delivery;
pub use spec::{DestinationSpec, KeyContext};

/// Errors of the storage module.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// The store refused (no such bucket, access denied, bad request): retrying will not help.
    #[error("the store refused the upload: {0}")]
    Rejected(String),
    #[error("gave up after {attempts} failed attempts; the store has not answered for {secs} s: {last}")]
    GaveUp { attempts: u32, secs: u64, last: String },
    #[error("the upload does not match the file: {0}")]
    Mismatch(String),
    #[error("the recording produced no file to upload")]
    Abandoned,
}

impl StorageError {
    /// Stable machine-readable code: every upload problem is `upload_failed` (the local file is
    /// kept and `POST /v1/recordings/{id}/retry-upload` tries again).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "delivery_failed",
            Self::Rejected(_) | Self::GaveUp { .. } | Self::Mismatch(_) | Self::Abandoned => "upload_failed",
        }
    }

    /// Delivery problems are never the client's fault as a request; a refused destination is
    /// reported on the recording, not as an HTTP error.
    pub fn is_client_error(&self) -> bool {
        false
    }
}

/// One delivered file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FileInfo {
    /// `video` for the recording itself; `timeline` (JSON) and `chat` (WebVTT) beside a call's.
    pub kind: String,
    /// Where the file is: `s3://bucket/key`, the upload URL without its query, or `file:///…`.
    pub uri: String,
    /// The local copy on the service's machine, while there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub path: Option<PathBuf>,
    pub bytes: u64,
    pub content_type: String,
    /// Videos only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

impl FileInfo {
    /// Describes a finished local video file.
    pub fn video(path: &Path, media: &MediaInfo) -> Self {
        Self {
            duration_s: Some(media.duration_s),
            width: Some(media.width),
            height: Some(media.height),
            bytes: media.bytes,
            ..Self::sidecar("video", path, "video/mp4")
        }
    }

    /// Describes a local sidecar file (`timeline`, `chat`) beside the video.
    pub fn sidecar(kind: &str, path: &Path, content_type: &str) -> Self {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let uri = url::Url::from_file_path(&path).map(String::from).unwrap_or_else(|()| path.display().to_string());
        Self { kind: kind.into(), uri, path: Some(path), bytes, content_type: content_type.into(), duration_s: None, width: None, height: None }
    }
}

/// How an upload is going (the recording's `upload`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UploadStatus {
    /// Where the video goes: `s3://bucket/key`, or the upload URL without its query.
    pub target: String,
    /// Bytes of the video the store has taken so far.
    pub bytes_uploaded: u64,
    /// Parts sent (multipart uploads; 1 for a single request).
    pub parts: u32,
    /// Requests that failed and were (or will be) retried.
    pub failed_attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the next attempt is due, while the store does not answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_retry_at: Option<DateTime<Utc>>,
    /// When the store confirmed every file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
}
