//! Delivery of finished recordings. A [`Destination`] takes the finalised local file and reports
//! where it ended up; `local` keeps it under the data directory (object storage comes later).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::recorder::MediaInfo;

/// Errors of the storage module.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("I/O error delivering {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl StorageError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "delivery_failed",
        }
    }

    /// Delivery problems are never the client's fault.
    pub fn is_client_error(&self) -> bool {
        false
    }
}

/// Where a recording should be delivered (request field `destination`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DestinationSpec {
    /// Keep the file under `DATA_DIR/recordings/{id}/`.
    #[default]
    Local,
}

/// One delivered file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FileInfo {
    /// `video` for the recording itself; `timeline` (JSON) and `chat` (WebVTT) beside a call's.
    pub kind: String,
    /// Absolute path of the file on the service's machine.
    #[schema(value_type = String)]
    pub path: PathBuf,
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
    /// Describes a finished video file.
    pub fn video(path: &Path, media: &MediaInfo) -> Self {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        Self {
            kind: "video".into(),
            path,
            bytes: media.bytes,
            content_type: "video/mp4".into(),
            duration_s: Some(media.duration_s),
            width: Some(media.width),
            height: Some(media.height),
        }
    }

    /// Describes a sidecar file (`timeline`, `chat`) beside the video.
    pub fn sidecar(kind: &str, path: &Path, content_type: &str) -> Self {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        Self { kind: kind.into(), path, bytes, content_type: content_type.into(), duration_s: None, width: None, height: None }
    }
}

/// Delivers a finished file.
pub trait Destination: Send + Sync {
    /// Delivers `file` and returns where it is now.
    fn deliver(&self, file: &Path, media: &MediaInfo) -> Result<Vec<FileInfo>, StorageError>;
}

/// Keeps files where the recorder wrote them (already under the data directory).
pub struct LocalDestination;

impl Destination for LocalDestination {
    fn deliver(&self, file: &Path, media: &MediaInfo) -> Result<Vec<FileInfo>, StorageError> {
        std::fs::metadata(file).map_err(|source| StorageError::Io { path: file.to_path_buf(), source })?;
        Ok(vec![FileInfo::video(file, media)])
    }
}

impl DestinationSpec {
    /// The destination that delivers to this spec.
    pub fn destination(&self) -> Box<dyn Destination> {
        match self {
            Self::Local => Box::new(LocalDestination),
        }
    }
}
