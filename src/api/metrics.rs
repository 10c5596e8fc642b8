//! `GET /metrics`: Prometheus metrics in the text exposition format. Behind the same bearer
//! token as the rest of the API: Prometheus sends one (`authorization` in its scrape config), and
//! the per-recording series name recording ids, which an open endpoint would give away.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::AppState;
use super::error::{ApiError, ErrorBody};

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// Prometheus metrics (text exposition format 0.0.4); names in the README.
#[utoipa::path(get, path = "/metrics", responses(
    (status = 200, description = "The metrics", content_type = "text/plain; version=0.0.4; charset=utf-8", body = String),
    (status = 401, description = "No or a wrong bearer token (when tokens are configured)", body = ErrorBody)))]
pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let text = state.jobs.metrics_text()?;
    Ok(([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text))
}
