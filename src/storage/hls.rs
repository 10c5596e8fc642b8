//! HLS to S3 as it is written: each segment goes up once ffmpeg has finished it (its `temp_file`
//! flag renames a segment into place only when complete), then the playlist that lists it, so a
//! player reading the bucket never meets a listed segment that is not there yet.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use object_store::{ObjectStoreExt, PutPayload};
use tokio::sync::watch;

use super::StorageError;
use super::config::S3Target;
use super::retry::{Retrier, classify};

/// The playlist's file name, locally and in the bucket.
pub const PLAYLIST: &str = "index.m3u8";

/// The key prefix of a recording's HLS beside its video: `a/recording.mp4` → `a/recording-hls`.
pub fn prefix(video_key: &str) -> String {
    let stem = video_key.rsplit_once('.').map_or(video_key, |(s, _)| s);
    format!("{stem}-hls")
}

/// What of one HLS folder is in the bucket already.
pub struct HlsUpload {
    dir: PathBuf,
    prefix: String,
    sent: HashSet<String>,
    playlist: Option<(u64, SystemTime)>,
    pub bytes: u64,
}

impl HlsUpload {
    pub fn new(dir: &Path, video_key: &str) -> Self {
        Self { dir: dir.to_path_buf(), prefix: prefix(video_key), sent: HashSet::new(), playlist: None, bytes: 0 }
    }

    /// The playlist's key.
    pub fn playlist_key(&self) -> String {
        format!("{}/{PLAYLIST}", self.prefix)
    }

    /// Uploads the finished segments not sent yet, then the playlist if it changed.
    pub async fn sweep(&mut self, s3: &S3Target, retrier: &mut Retrier<'_>) -> Result<(), StorageError> {
        let mut segments: Vec<String> = std::fs::read_dir(&self.dir)
            .map(|d| d.flatten().filter_map(|e| e.file_name().into_string().ok()).collect())
            .unwrap_or_default();
        segments.retain(|n| n.ends_with(".ts") && !self.sent.contains(n));
        segments.sort();
        for name in segments {
            self.put(s3, &name, retrier).await?;
            self.sent.insert(name);
        }
        let playlist = self.dir.join(PLAYLIST);
        let stamp = std::fs::metadata(&playlist).ok().map(|m| (m.len(), m.modified().unwrap_or(SystemTime::UNIX_EPOCH)));
        if stamp.is_some() && stamp != self.playlist {
            self.put(s3, PLAYLIST, retrier).await?;
            self.playlist = stamp;
        }
        Ok(())
    }

    async fn put(&mut self, s3: &S3Target, name: &str, retrier: &mut Retrier<'_>) -> Result<(), StorageError> {
        let path = self.dir.join(name);
        let data = tokio::fs::read(&path).await.map_err(|source| StorageError::Io { path: path.clone(), source })?;
        self.bytes += data.len() as u64;
        let data = bytes::Bytes::from(data);
        let key = object_store::path::Path::from(format!("{}/{name}", self.prefix));
        let store = &s3.store;
        retrier.run(name, || {
            let (payload, key) = (PutPayload::from(data.clone()), &key);
            async move { store.put(key, payload).await.map_err(classify) }
        }).await?;
        retrier.confirmed(data.len());
        Ok(())
    }
}

/// Uploads HLS from `dir` while it is written, until `done` says the recording ended (then one
/// last sweep takes the end of the playlist).
pub async fn stream(s3: &S3Target, mut upload: HlsUpload, mut retrier: Retrier<'_>, mut done: watch::Receiver<Option<PathBuf>>) -> Result<u64, StorageError> {
    loop {
        let finished = done.borrow().is_some();
        if finished {
            retrier.recording_ended();
        }
        upload.sweep(s3, &mut retrier).await?;
        if finished {
            return Ok(upload.bytes);
        }
        super::multipart::wait(&mut done).await?;
    }
}
