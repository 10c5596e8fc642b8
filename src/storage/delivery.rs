//! One recording's delivery. For S3 the video goes up while it is recorded ([`Delivery::stream`]);
//! once the files are final, [`Delivery::deliver`] sends what is left (the rest of the video, or
//! all of it, and the timeline and chat beside it), and only when the store has confirmed every
//! file are the local copies removed (unless the policy keeps them).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use futures::future::BoxFuture;
use object_store::{ObjectStoreExt, PutPayload};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::config::{S3Target, Target, UploadPolicy};
use super::multipart::{Growing, Upload};
use super::retry::{Retrier, classify};
use super::hls::{self, HlsUpload};
use super::{FileInfo, StorageError, UploadStatus, http, spec};
use crate::metrics::Metrics;

/// Delivers one recording's files to its target and reports progress.
#[derive(Clone)]
pub struct Delivery {
    target: Target,
    policy: UploadPolicy,
    status: Arc<watch::Sender<UploadStatus>>,
    client: reqwest::Client,
    cancel: CancellationToken,
    /// Where upload bytes and retries are counted.
    metrics: Metrics,
}

/// The uploads running while the files are written: the video, and HLS if any.
pub struct Streaming {
    done: watch::Sender<Option<PathBuf>>,
    video: Option<JoinHandle<Result<u64, StorageError>>>,
    hls: Option<JoinHandle<Result<u64, StorageError>>>,
}

impl Streaming {
    /// The recording produced no file: the upload is abandoned (and aborted at the store).
    pub async fn abandon(self) {
        drop(self.done);
        for task in self.video.into_iter().chain(self.hls) {
            let _ = task.await;
        }
    }
}

async fn joined(handle: JoinHandle<Result<u64, StorageError>>) -> Result<u64, StorageError> {
    handle.await.map_err(|e| StorageError::Rejected(format!("the upload task failed: {e}")))?
}

/// Runs an upload task (on the caller's task tracker).
pub type Spawner<'a> = &'a dyn Fn(BoxFuture<'static, Result<u64, StorageError>>) -> JoinHandle<Result<u64, StorageError>>;

impl Delivery {
    /// A delivery to `target`; the receiver follows its progress.
    /// `cancel`: the service is going away; failures are then final at once.
    pub fn new(target: Target, policy: UploadPolicy, client: reqwest::Client, cancel: CancellationToken, metrics: Metrics) -> (Self, watch::Receiver<UploadStatus>) {
        let status = UploadStatus { target: target.uri().unwrap_or_default(), ..UploadStatus::default() };
        let (tx, rx) = watch::channel(status);
        (Self { target, policy, status: Arc::new(tx), client, cancel, metrics }, rx)
    }

    /// How the upload stands now.
    pub fn status(&self) -> UploadStatus {
        self.status.borrow().clone()
    }

    fn retrier(&self) -> Retrier<'_> {
        Retrier::new(self.policy.retry_for, self.cancel.clone(), &self.status, self.metrics.clone())
    }

    /// True when files leave the service's disk.
    pub fn uploads(&self) -> bool {
        !matches!(self.target, Target::Local)
    }

    /// Starts uploading `spool` as it grows, and the HLS in `hls` as it is written (S3 only);
    /// [`Self::deliver`] finishes them.
    pub fn stream(&self, spool: Option<&Path>, hls: Option<&Path>, spawn: Spawner<'_>) -> Option<Streaming> {
        let Target::S3(s3) = &self.target else { return None };
        let (done, rx) = watch::channel(None);
        let video = spool.map(|spool| {
            let growing = Growing { spool: spool.to_path_buf(), done: rx.clone() };
            spawn(Box::pin(upload_video(self.clone(), s3.clone(), growing)))
        });
        let hls = hls.map(|dir| {
            let (s3, upload, this) = (s3.clone(), HlsUpload::new(dir, &s3.key), self.clone());
            spawn(Box::pin(async move { hls::stream(&s3, upload, this.retrier(), rx).await }))
        });
        Some(Streaming { done, video, hls })
    }

    /// Delivers the local `files` (the video first). `streaming`, if the video was being
    /// uploaded while recorded, is told the file is complete and awaited. Returns the files as
    /// delivered; local copies are gone unless the policy keeps them.
    pub async fn deliver(&self, files: Vec<FileInfo>, streaming: Option<Streaming>) -> Result<Vec<FileInfo>, StorageError> {
        let delivered = match &self.target {
            Target::Local => return Ok(files),
            Target::S3(s3) => self.to_s3(s3, files, streaming).await?,
            Target::Http(target) => {
                let mut files = files;
                if let Some(video) = files.iter_mut().find(|f| f.kind == "video") {
                    let path = local(video)?;
                    let mut retrier = self.retrier();
                    http::put_file(&self.client, target, &path, &video.content_type, &mut retrier, &self.status).await?;
                    video.uri = target.shown();
                }
                files
            }
        };
        self.status.send_modify(|s| s.completed_at = Some(Utc::now()));
        Ok(self.drop_local_copies(delivered))
    }

    async fn to_s3(
        &self,
        s3: &S3Target,
        mut files: Vec<FileInfo>,
        streaming: Option<Streaming>,
    ) -> Result<Vec<FileInfo>, StorageError> {
        for file in &mut files {
            let path = local(file)?;
            if file.kind == "video" {
                match &streaming {
                    Some(stream) => {
                        let _ = stream.done.send(Some(path));
                    }
                    None => {
                        upload_video(self.clone(), s3.clone(), Growing::complete(&path)).await?;
                    }
                }
                file.uri = s3.uri(&s3.key);
                continue;
            }
            if file.kind == "hls" {
                let mut upload = HlsUpload::new(path.parent().unwrap_or(Path::new(".")), &s3.key);
                if streaming.as_ref().is_none_or(|s| s.hls.is_none()) {
                    upload.sweep(s3, &mut self.retrier()).await?;
                }
                file.uri = s3.uri(&upload.playlist_key());
                continue;
            }
            let key = spec::sidecar_key(&s3.key, sidecar_suffix(&file.kind));
            self.put_small(s3, &key, &path).await?;
            file.uri = s3.uri(&key);
        }
        if let Some(stream) = streaming {
            if stream.done.borrow().is_none() {
                // A recording without a file has no path to name: an empty one says writing is over.
                let _ = stream.done.send(Some(PathBuf::new()));
            }
            for task in stream.video.into_iter().chain(stream.hls) {
                joined(task).await?;
            }
        }
        Ok(files)
    }

    /// A sidecar: one request, retried like the video.
    async fn put_small(&self, s3: &S3Target, key: &str, path: &Path) -> Result<(), StorageError> {
        let data = tokio::fs::read(path).await.map_err(|source| StorageError::Io { path: path.to_path_buf(), source })?;
        let data = bytes::Bytes::from(data);
        let (store, object) = (&s3.store, object_store::path::Path::from(key));
        let mut retrier = self.retrier();
        retrier.recording_ended();
        retrier.run(key, || {
            let payload = PutPayload::from(data.clone());
            let object = &object;
            async move { store.put(object, payload).await.map_err(classify) }
        }).await?;
        retrier.confirmed(data.len());
        Ok(())
    }

    /// Removes local copies of uploaded files (and their folder once empty), unless kept.
    fn drop_local_copies(&self, mut files: Vec<FileInfo>) -> Vec<FileInfo> {
        if self.policy.keep_local {
            return files;
        }
        let mut dirs = Vec::new();
        for file in files.iter_mut().filter(|f| !f.uri.starts_with("file:")) {
            if let Some(path) = file.path.take() {
                let removed = match file.kind.as_str() {
                    // HLS is a folder of segments beside its playlist.
                    "hls" => path.parent().map_or(Ok(()), std::fs::remove_dir_all),
                    _ => std::fs::remove_file(&path),
                };
                if let Err(e) = removed {
                    tracing::warn!(path = %path.display(), "cannot remove the local copy: {e}");
                }
                dirs.extend(path.parent().map(Path::to_path_buf));
            }
        }
        for dir in dirs {
            let _ = std::fs::remove_dir(dir);
        }
        files
    }
}

/// The video's multipart upload, owning what it needs so it can run as its own task.
async fn upload_video(delivery: Delivery, s3: S3Target, growing: Growing) -> Result<u64, StorageError> {
    let bytes = Upload::new(&s3, &s3.key, delivery.policy.part_size, delivery.retrier(), &delivery.status).run(growing).await?;
    tracing::info!(uri = %s3.uri(&s3.key), bytes, "video uploaded and verified");
    Ok(bytes)
}

fn local(file: &FileInfo) -> Result<PathBuf, StorageError> {
    file.path.clone().ok_or_else(|| StorageError::Io { path: PathBuf::from(&file.uri), source: std::io::ErrorKind::NotFound.into() })
}

fn sidecar_suffix(kind: &str) -> &'static str {
    match kind {
        "timeline" => "timeline.json",
        "chat" => "chat.vtt",
        _ => "bin",
    }
}
