//! `GET /v1/openapi.json`: the API description, generated from the handler and type annotations.

use axum::{Json, Router, routing::get};
use utoipa::OpenApi;

use super::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Wallflower", description = "Records video calls and web pages as a silent participant."),
    paths(super::recordings::create, super::recordings::list, super::recordings::show,
          super::recordings::stop, super::recordings::update, super::recordings::post_event, super::recordings::retry_upload,
          super::recordings::healthz, super::metrics::metrics,
          super::layouts::list, super::layouts::show, super::layouts::preview)
)]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
}
