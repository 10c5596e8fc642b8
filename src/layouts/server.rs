//! The layouts asset server: serves the page SDK and layouts to the recorder browsers on a
//! loopback port of its own, separate from the public API. A layout folder in the operator's
//! custom directory replaces the built-in one of the same name; `/assets/` serves the operator's
//! assets folder (logos). `/r/{id}/…` serves the same files with recording `id`'s
//! Content-Security-Policy ([`super::csp`]); every answer carries one.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeDir;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::LayoutError;
use super::csp::PageSources;
use super::settings::Layouts;

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
    /// Where recordings declare the hosts their pages may use.
    pub pages: PageSources,
}

impl AssetServer {
    /// Serves `layouts` on 127.0.0.1 (port chosen by the OS) until `cancel` fires.
    pub async fn start(layouts: &Layouts, cancel: CancellationToken) -> Result<Self, LayoutError> {
        let builtin = &layouts.catalog.builtin;
        if !builtin.join("sdk").is_dir() {
            return Err(LayoutError::DirNotFound(builtin.clone()));
        }
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let pages = PageSources::default();
        let app = Router::new().fallback(serve).with_state((layouts.clone(), pages.clone()));
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(cancel.cancelled_owned());
            if let Err(e) = serve.await {
                tracing::error!("layouts server stopped: {e}");
            }
        });
        let url = Url::parse(&format!("http://{addr}/")).map_err(std::io::Error::other)?;
        tracing::debug!(%url, dir = %builtin.display(), "serving layouts");
        Ok(Self { url, pages })
    }
}

/// Serves the file with the policy of the recording named by a `/r/{id}` prefix, if any.
async fn serve(State((layouts, pages)): State<(Layouts, PageSources)>, mut request: Request) -> Response {
    let path = request.uri().path();
    let recording = path.strip_prefix("/r/").and_then(|rest| rest.split_once('/'));
    let recording = recording.map(|(id, rest)| (id.to_owned(), format!("/{rest}")));
    let id = recording.map(|(id, rest)| {
        set_path(&mut request, &rest);
        id
    });
    let first = request.uri().path().trim_start_matches('/').split('/').next().unwrap_or_default();
    let custom = layouts.catalog.folder_of(first).is_some_and(|f| !f.starts_with(&layouts.catalog.builtin));
    let mut response = serve_file(&layouts, request).await;
    if let Ok(value) = HeaderValue::from_str(&pages.header(id.as_deref(), custom)) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// Replaces the request's path, keeping its query.
fn set_path(request: &mut Request, path: &str) {
    let query = request.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
    if let Ok(uri) = format!("{path}{query}").parse() {
        *request.uri_mut() = uri;
    }
}

/// Picks the folder for the request's first path segment, then serves the file from it.
async fn serve_file(layouts: &Layouts, request: Request) -> Response {
    let path = request.uri().path().trim_start_matches('/');
    let first = path.split('/').next().unwrap_or_default();
    let (root, strip) = match first {
        "assets" => (layouts.assets_dir.clone(), "/assets"),
        _ => match layouts.catalog.folder_of(first).and_then(|f| f.parent().map(PathBuf::from)) {
            Some(parent) if first != "sdk" => (parent, ""),
            _ => (layouts.catalog.builtin.clone(), ""),
        },
    };
    let mut request = request;
    if !strip.is_empty() {
        let rest = request.uri().path().strip_prefix(strip).unwrap_or("/").to_owned();
        set_path(&mut request, &rest);
    }
    match ServeDir::new(root).oneshot(request).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}
