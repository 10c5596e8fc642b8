//! The REST API (HTTP only: parsing, status codes, headers). The router is built from small
//! pieces; all error mapping lives in [`error`].

pub mod auth;
pub mod error;
pub mod extract;
pub mod layouts;
pub mod metrics;
pub mod openapi;
pub mod recordings;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::Uri;
use tower_http::trace::TraceLayer;

use std::sync::Arc;

use crate::jobs::JobManager;
use crate::layouts::preview::Previewer;
pub use error::ApiError;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    pub jobs: JobManager,
    /// Renders layout previews; also holds the layout catalog.
    pub previewer: Arc<Previewer>,
    /// Bearer tokens the API asks for (none: open).
    pub tokens: auth::Tokens,
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(recordings::router())
        .merge(layouts::router())
        .merge(health_router())
        .merge(metrics::router())
        .merge(openapi::router())
        .fallback(|uri: Uri| async move { ApiError::NoRoute(uri.path().to_owned()) })
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_token))
        .with_state(state)
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let path = req.extensions().get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or("?");
            // `client`: the name of the caller's token, once authenticated.
            tracing::debug_span!("http", method = %req.method(), path, client = tracing::field::Empty)
        }))
}

fn health_router() -> Router<AppState> {
    Router::new().route("/healthz", axum::routing::get(recordings::healthz))
}
