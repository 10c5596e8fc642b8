//! The layouts asset server: serves the `layouts/` directory (built-in pages and the page SDK) to
//! the recorder browsers on a loopback port of its own, separate from the public API.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use axum::Router;
use tokio_util::sync::CancellationToken;
use tower_http::services::ServeDir;
use url::Url;

/// Errors of the layouts module.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("layouts directory {0} not found (set --layouts-dir or WALLFLOWER_LAYOUTS_DIR)")]
    DirNotFound(PathBuf),
    #[error("cannot serve layouts: {0}")]
    Io(#[from] std::io::Error),
}

impl LayoutError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::DirNotFound(_) => "layouts_dir_not_found",
            Self::Io(_) => "io_error",
        }
    }

    /// None of these are caused by a request.
    pub fn is_client_error(&self) -> bool {
        false
    }
}

/// Where the layouts are when nothing is configured: `./layouts` if present, else the source tree's.
pub fn default_dir() -> PathBuf {
    let local = PathBuf::from("layouts");
    if local.join("sdk").is_dir() {
        return local;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/layouts"))
}

/// A running asset server.
pub struct AssetServer {
    /// Base URL, ending in `/`.
    pub url: Url,
}

impl AssetServer {
    /// Serves `dir` on 127.0.0.1 (port chosen by the OS) until `cancel` fires.
    pub async fn start(dir: &Path, cancel: CancellationToken) -> Result<Self, LayoutError> {
        if !dir.join("sdk").is_dir() {
            return Err(LayoutError::DirNotFound(dir.to_path_buf()));
        }
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let app = Router::new().fallback_service(ServeDir::new(dir));
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(cancel.cancelled_owned());
            if let Err(e) = serve.await {
                tracing::error!("layouts server stopped: {e}");
            }
        });
        let url = Url::parse(&format!("http://{addr}/")).map_err(std::io::Error::other)?;
        tracing::debug!(%url, dir = %dir.display(), "serving layouts");
        Ok(Self { url })
    }
}
