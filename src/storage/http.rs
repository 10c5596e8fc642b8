//! One `PUT` of a finished file to a URL that takes it, such as a presigned S3 URL: streamed from
//! disk with its length, retried like any upload, and checked against the MD5 ETag that S3-like
//! servers answer with.

use std::path::Path;

use md5::{Digest, Md5};
use tokio::io::AsyncReadExt;

use super::config::HttpTarget;
use super::retry::{Attempt, Retrier, one_line};
use super::{StorageError, UploadStatus};

/// Sends `file` to `target`; returns its size once the server accepted it.
pub async fn put_file(
    client: &reqwest::Client,
    target: &HttpTarget,
    file: &Path,
    content_type: &str,
    retrier: &mut Retrier<'_>,
    status: &tokio::sync::watch::Sender<UploadStatus>,
) -> Result<u64, StorageError> {
    retrier.recording_ended();
    let len = tokio::fs::metadata(file).await.map_err(|source| StorageError::Io { path: file.to_path_buf(), source })?.len();
    let sum = md5_file(file).await?;
    let shown = target.shown();
    let response = retrier.run("PUT", || async {
        let body = tokio::fs::File::open(file).await.map_err(|source| Attempt::Fatal(StorageError::Io { path: file.to_path_buf(), source }))?;
        let request = client
            .put(target.url.clone())
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .header(reqwest::header::CONTENT_LENGTH, len)
            .body(reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(body)));
        let response = request.send().await.map_err(|e| Attempt::Retry(one_line(&e.without_url())))?;
        let code = response.status();
        if code.is_success() {
            return Ok(response);
        }
        let text = format!("{shown} answered {code}");
        if code.is_client_error() && code.as_u16() != 408 && code.as_u16() != 429 {
            return Err(Attempt::Fatal(StorageError::Rejected(text)));
        }
        Err(Attempt::Retry(text))
    }).await?;
    let etag = response.headers().get(reqwest::header::ETAG).and_then(|v| v.to_str().ok()).unwrap_or("").trim_matches('"');
    let expected: String = sum.iter().map(|b| format!("{b:02x}")).collect();
    // Only a plain MD5 ETag can be checked (multipart or encrypted objects have other forms).
    if etag.len() == 32 && etag.chars().all(|c| c.is_ascii_hexdigit()) && etag != expected {
        return Err(StorageError::Mismatch(format!("{shown} stored ETag {etag}, the file's MD5 is {expected}")));
    }
    retrier.confirmed(usize::try_from(len).unwrap_or(usize::MAX));
    status.send_modify(|s| {
        s.bytes_uploaded = len;
        s.parts = 1;
    });
    Ok(len)
}

async fn md5_file(path: &Path) -> Result<[u8; 16], StorageError> {
    let io = |source| StorageError::Io { path: path.to_path_buf(), source };
    let mut f = tokio::fs::File::open(path).await.map_err(io)?;
    let mut hasher = Md5::new();
    let mut buf = vec![0; 1 << 20];
    loop {
        let n = f.read(&mut buf).await.map_err(io)?;
        if n == 0 {
            return Ok(hasher.finalize().into());
        }
        hasher.update(&buf[..n]);
    }
}
