//! Uploading a file to S3 while it is still being written: each time `part_size` new bytes are on
//! disk they go up as the next part of a multipart upload; once the writer is done the rest goes
//! up, every part is checked against the local bytes (MD5, re-sent if the file changed under it),
//! the upload is completed, and the object's size and ETag are checked against the file.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use md5::{Digest, Md5};
use object_store::multipart::{MultipartStore, PartId};
use object_store::{MultipartId, ObjectStoreExt, PutPayload};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::watch;

use super::config::S3Target;
use super::retry::{Retrier, classify};
use super::{StorageError, UploadStatus};

/// A file being written: `spool` while it grows; `done` says where it is once complete.
pub struct Growing {
    pub spool: PathBuf,
    pub done: watch::Receiver<Option<PathBuf>>,
}

impl Growing {
    /// A file that is already complete.
    pub fn complete(path: &Path) -> Self {
        let (_, done) = watch::channel(Some(path.to_path_buf()));
        Self { spool: path.to_path_buf(), done }
    }
}

/// One multipart upload in progress.
pub struct Upload<'a> {
    s3: &'a S3Target,
    path: object_store::path::Path,
    part_size: usize,
    id: Option<MultipartId>,
    parts: Vec<(PartId, [u8; 16], usize)>,
    offset: u64,
    retrier: Retrier<'a>,
    status: &'a watch::Sender<UploadStatus>,
}

impl<'a> Upload<'a> {
    pub fn new(s3: &'a S3Target, key: &str, part_size: usize, retrier: Retrier<'a>, status: &'a watch::Sender<UploadStatus>) -> Self {
        let path = object_store::path::Path::from(key);
        Self { s3, path, part_size, id: None, parts: Vec::new(), offset: 0, retrier, status }
    }

    /// Uploads `src` as it grows; returns the object's size once the store confirmed it.
    pub async fn run(mut self, mut src: Growing) -> Result<u64, StorageError> {
        let result = self.upload(&mut src).await;
        if result.is_err()
            && let Some(id) = self.id.take()
        {
            // Best effort: a store that is down keeps the parts until its lifecycle rules clear them.
            let _ = self.s3.store.abort_multipart(&self.path, &id).await;
        }
        result
    }

    async fn upload(&mut self, src: &mut Growing) -> Result<u64, StorageError> {
        let mut file: Option<(tokio::fs::File, PathBuf)> = None;
        loop {
            let finished = src.done.borrow().clone();
            if finished.is_some() {
                self.retrier.recording_ended();
            }
            if let (Some((f, _)), Some(path)) = (&file, &finished)
                && !same_file(f, path).await
            {
                // The file delivered is not the spool being sent (a recording whose pipeline was
                // relaunched is joined from several spools): send that file instead.
                tracing::info!(path = %path.display(), "the delivered file replaces the spool; uploading it from the start");
                self.start_over().await;
                file = None;
            }
            if file.is_none() {
                file = open_first(&[Some(&src.spool), finished.as_ref()]).await;
            }
            let Some((f, at)) = file.as_mut() else {
                if let Some(path) = finished {
                    return Err(StorageError::Io { path, source: std::io::ErrorKind::NotFound.into() });
                }
                wait(&mut src.done).await?;
                continue;
            };
            let len = f.metadata().await.map_err(|source| StorageError::Io { path: at.clone(), source })?.len();
            let ready = len.saturating_sub(self.offset);
            if ready >= self.part_size as u64 {
                let data = read_at(f, at, self.offset, self.part_size).await?;
                self.put_part(data).await?;
            } else if finished.is_some() {
                let data = read_at(f, at, self.offset, ready as usize).await?;
                return self.finish(f, at, data, len).await;
            } else {
                wait(&mut src.done).await?;
            }
        }
    }

    /// Drops what was sent so far (the upload is aborted at the store).
    async fn start_over(&mut self) {
        if let Some(id) = self.id.take() {
            let _ = self.s3.store.abort_multipart(&self.path, &id).await;
        }
        self.parts.clear();
        self.offset = 0;
        self.status.send_modify(|s| {
            s.bytes_uploaded = 0;
            s.parts = 0;
        });
    }

    async fn put_part(&mut self, data: Bytes) -> Result<(), StorageError> {
        let id = match &self.id {
            Some(id) => id.clone(),
            None => {
                let (store, path) = (&self.s3.store, &self.path);
                let id = self.retrier.run("create upload", || async { store.create_multipart(path).await.map_err(classify) }).await?;
                self.id.insert(id).clone()
            }
        };
        let index = self.parts.len();
        let part = self.send_part(&id, index, data.clone()).await?;
        self.parts.push((part, md5(&data), data.len()));
        self.offset += data.len() as u64;
        let (offset, count) = (self.offset, self.parts.len() as u32);
        self.status.send_modify(|s| {
            s.bytes_uploaded = offset;
            s.parts = count;
        });
        tracing::debug!(part = index + 1, bytes = data.len(), "part uploaded");
        Ok(())
    }

    async fn send_part(&mut self, id: &MultipartId, index: usize, data: Bytes) -> Result<PartId, StorageError> {
        let (store, path) = (&self.s3.store, &self.path);
        let what = format!("part {}", index + 1);
        let part = self.retrier.run(&what, || {
            let payload = PutPayload::from(data.clone());
            async move { store.put_part(path, id, index, payload).await.map_err(classify) }
        }).await?;
        self.retrier.confirmed(data.len());
        Ok(part)
    }

    /// Sends the last bytes, checks every part against the file, completes and verifies.
    async fn finish(&mut self, f: &mut tokio::fs::File, at: &Path, last: Bytes, len: u64) -> Result<u64, StorageError> {
        if self.id.is_none() {
            return self.put_whole(last, len).await;
        }
        if !last.is_empty() {
            self.put_part(last).await?;
        }
        self.resend_changed_parts(f, at).await?;
        let id = self.id.clone().unwrap_or_default();
        let ids: Vec<PartId> = self.parts.iter().map(|(p, _, _)| p.clone()).collect();
        let (store, path) = (&self.s3.store, &self.path);
        self.retrier.run("complete upload", || {
            let ids = ids.clone();
            let id = &id;
            async move { store.complete_multipart(path, id, ids).await.map_err(classify) }
        }).await?;
        self.id = None;
        let md5s: Vec<[u8; 16]> = self.parts.iter().map(|(_, m, _)| *m).collect();
        self.verify(len, &multipart_etag(&md5s)).await
    }

    /// A file smaller than one part goes up in one request.
    async fn put_whole(&mut self, data: Bytes, len: u64) -> Result<u64, StorageError> {
        let (store, path) = (&self.s3.store, &self.path);
        let sum = md5(&data);
        self.retrier.run("upload", || {
            let payload = PutPayload::from(data.clone());
            async move { store.put(path, payload).await.map_err(classify) }
        }).await?;
        self.retrier.confirmed(data.len());
        self.status.send_modify(|s| {
            s.bytes_uploaded = len;
            s.parts = 1;
        });
        self.verify(len, &hex(&sum)).await
    }

    /// ffmpeg only appends to a fragmented MP4, but if anything rewrote bytes already sent, the
    /// part goes up again (a part number may be re-sent until the upload is completed).
    async fn resend_changed_parts(&mut self, f: &mut tokio::fs::File, at: &Path) -> Result<(), StorageError> {
        let id = self.id.clone().unwrap_or_default();
        let mut offset = 0u64;
        for index in 0..self.parts.len() {
            let (_, sum, size) = self.parts[index];
            let data = read_at(f, at, offset, size).await?;
            if md5(&data) != sum {
                tracing::warn!(part = index + 1, "part changed on disk after upload; sending it again");
                let part = self.send_part(&id, index, data.clone()).await?;
                self.parts[index] = (part, md5(&data), size);
            }
            offset += size as u64;
        }
        Ok(())
    }

    /// The object in the store has the file's size and the ETag its parts give.
    async fn verify(&mut self, len: u64, etag: &str) -> Result<u64, StorageError> {
        let (store, path) = (&self.s3.store, &self.path);
        let meta = self.retrier.run("check object", || async { store.head(path).await.map_err(classify) }).await?;
        let got = meta.e_tag.as_deref().unwrap_or("").trim_matches('"').to_owned();
        if meta.size != len || (!got.is_empty() && got != etag) {
            let message = format!("the stored object has {} bytes and ETag `{got}`; the file has {len} bytes and ETag `{etag}`", meta.size);
            return Err(StorageError::Mismatch(message));
        }
        self.status.send_modify(|s| s.bytes_uploaded = len);
        Ok(len)
    }
}

/// Whether the open `f` is the file at `path` (a renamed spool still is).
async fn same_file(f: &tokio::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (f.metadata().await, tokio::fs::metadata(path).await) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        // Cannot tell: keep going with what is open.
        _ => true,
    }
}

/// The first of `paths` that opens.
async fn open_first(paths: &[Option<&PathBuf>]) -> Option<(tokio::fs::File, PathBuf)> {
    for path in paths.iter().flatten() {
        if let Ok(f) = tokio::fs::File::open(path).await {
            return Some((f, path.to_path_buf()));
        }
    }
    None
}

/// Waits for more bytes (polling: a second is small against a part) or for the writer to finish;
/// an error once the writer went away without a file (the recording produced none).
pub(super) async fn wait(done: &mut watch::Receiver<Option<PathBuf>>) -> Result<(), StorageError> {
    match tokio::time::timeout(Duration::from_secs(1), done.changed()).await {
        Ok(Err(_)) if done.borrow().is_none() => Err(StorageError::Abandoned),
        _ => Ok(()),
    }
}

async fn read_at(f: &mut tokio::fs::File, at: &Path, offset: u64, size: usize) -> Result<Bytes, StorageError> {
    let io = |source| StorageError::Io { path: at.to_path_buf(), source };
    f.seek(SeekFrom::Start(offset)).await.map_err(io)?;
    let mut buf = vec![0; size];
    f.read_exact(&mut buf).await.map_err(io)?;
    Ok(Bytes::from(buf))
}

fn md5(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// S3's ETag of a multipart object: the MD5 of the parts' MD5s, then `-` and the part count.
fn multipart_etag(md5s: &[[u8; 16]]) -> String {
    let joined: Vec<u8> = md5s.iter().flatten().copied().collect();
    format!("{}-{}", hex(&md5(&joined)), md5s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_etags_follow_s3() {
        // Two parts "a" and "b": md5(md5("a") ++ md5("b")) with the count.
        let etag = multipart_etag(&[md5(b"a"), md5(b"b")]);
        assert!(etag.ends_with("-2") && etag.len() == 34, "{etag}");
        assert_eq!(hex(&md5(b"")), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
