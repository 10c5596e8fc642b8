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
use axum::http::{Method, Uri};
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
        // After every route: it applies to the routes registered before it.
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_token))
        .with_state(state)
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let path = req.extensions().get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or("?");
            // `client`: the name of the caller's token, once authenticated.
            tracing::debug_span!("http", method = %req.method(), path, client = tracing::field::Empty)
        }))
}

/// A route that exists, asked with a method it does not take: our error, not an empty 405.
async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed { method: method.to_string(), path: uri.path().to_owned() }
}

fn health_router() -> Router<AppState> {
    Router::new().route("/healthz", axum::routing::get(recordings::healthz))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn a_method_a_route_does_not_take_is_our_405_with_allow() {
        let app: Router = Router::new().route("/v1/layouts", get(|| async { "ok" })).method_not_allowed_fallback(method_not_allowed);
        let response = app.oneshot(Request::patch("/v1/layouts").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert!(response.headers()[header::ALLOW].to_str().unwrap().contains("GET"));
        let body: serde_json::Value = serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
        assert_eq!(body["error"]["code"], "method_not_allowed", "{body}");
    }
}
