//! `/v1/layouts` handlers: the catalog and rendered previews.

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::PathParam;
use crate::layouts::preview::PreviewRequest;
use crate::layouts::{Branding, LayoutError, LayoutInfo};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/layouts", get(list))
        .route("/v1/layouts/{name}", get(show))
        .route("/v1/layouts/{name}/preview.png", get(preview))
}

/// `GET /v1/layouts` answer.
#[derive(Serialize, ToSchema)]
pub struct LayoutList {
    /// Sorted by name; a custom layout replaces the built-in of the same name.
    pub layouts: Vec<LayoutInfo>,
}

/// Query of `GET /v1/layouts/{name}/preview.png`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PreviewQuery {
    /// Simulated participants, 0–25 (default 4).
    pub participants: Option<u32>,
    /// Image width, 160–3840 (default 1280).
    pub width: Option<u32>,
    /// Image height, 120–2160 (default 720).
    pub height: Option<u32>,
    /// Branding as JSON (the request's `branding` object).
    pub branding: Option<String>,
    /// Layout parameters as a JSON object.
    pub layout_params: Option<String>,
}

/// List the layouts.
#[utoipa::path(get, path = "/v1/layouts", responses((status = 200, body = LayoutList)))]
pub async fn list(State(state): State<AppState>) -> Json<LayoutList> {
    Json(LayoutList { layouts: state.previewer.layouts.catalog.list() })
}

/// One layout.
#[utoipa::path(get, path = "/v1/layouts/{name}", params(("name" = String, Path)), responses(
    (status = 200, body = LayoutInfo), (status = 400, description = "Unknown or invalid name", body = ErrorBody)))]
pub async fn show(State(state): State<AppState>, PathParam(name): PathParam) -> Result<Json<LayoutInfo>, ApiError> {
    Ok(Json(state.previewer.layouts.catalog.get(&name)?))
}

/// Render a layout with simulated participants, as a PNG.
#[utoipa::path(get, path = "/v1/layouts/{name}/preview.png", params(("name" = String, Path), PreviewQuery), responses(
    (status = 200, description = "The preview", content_type = "image/png"),
    (status = 400, body = ErrorBody), (status = 503, description = "Previews busy", body = ErrorBody)))]
pub async fn preview(
    State(state): State<AppState>,
    PathParam(name): PathParam,
    query: Result<Query<PreviewQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(query) = query.map_err(|e| LayoutError::invalid("invalid_query", "", e.body_text()))?;
    let mut request = PreviewRequest::new(&name);
    request.participants = query.participants.unwrap_or(request.participants);
    request.width = query.width.unwrap_or(request.width);
    request.height = query.height.unwrap_or(request.height);
    if let Some(text) = &query.branding {
        request.branding = json_param::<Branding>("branding", text)?;
    }
    if let Some(text) = &query.layout_params {
        request.layout_params = json_param("layout_params", text)?;
    }
    let shot = state.previewer.render(&request).await?;
    Ok(([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], shot.png))
}

fn json_param<T: serde::de::DeserializeOwned>(field: &str, text: &str) -> Result<T, LayoutError> {
    serde_json::from_str(text).map_err(|e| LayoutError::invalid("invalid_value", field, format!("{field}: {e}")))
}
