//! `/v1/recordings` handlers and `/healthz`.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::PathParam;
use super::{AppState, MAX_BODY_BYTES};
use crate::jobs::{JobError, Recording, RecordingRequest};
use crate::timeline::CallEvent;
use crate::timeline::event::MAX_EVENT_BYTES;
use crate::jobs::request::RecordingPatch;
use crate::layouts::SettingsPatch;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/recordings", post(create).get(list))
        .route("/v1/recordings/{id}", get(show).patch(update))
        .route("/v1/recordings/{id}/stop", post(stop))
        .route("/v1/recordings/{id}/retry-upload", post(retry_upload))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .route("/v1/recordings/{id}/events", post(post_event).layer(DefaultBodyLimit::max(MAX_EVENT_BYTES)))
}

/// `GET /v1/recordings` answer.
#[derive(Serialize, ToSchema)]
pub struct RecordingList {
    /// Newest first.
    pub recordings: Vec<Recording>,
}

/// `GET /healthz` answer.
#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub recordings_running: usize,
    /// Browsers started ahead and waiting for a recording (only with a warm pool).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm_browsers: Option<usize>,
    /// Webhook deliveries since the service started.
    pub webhooks: crate::webhooks::WebhookStats,
}

/// Start a recording.
#[utoipa::path(post, path = "/v1/recordings", request_body = RecordingRequest, responses(
    (status = 201, description = "Admitted; `Location` names the new resource", body = Recording),
    (status = 400, description = "Invalid request", body = ErrorBody),
    (status = 413, description = "Body too large", body = ErrorBody),
    (status = 503, description = "At capacity or shutting down (see Retry-After)", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let body = body.map_err(|r| ApiError::from_body(r, MAX_BODY_BYTES))?;
    let request = RecordingRequest::parse(&body)?;
    let recording = state.jobs.create(request).await?.redacted();
    let location = format!("/v1/recordings/{}", recording.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(recording)))
}

/// List recordings, newest first.
#[utoipa::path(get, path = "/v1/recordings", responses((status = 200, body = RecordingList)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<RecordingList>, ApiError> {
    Ok(Json(RecordingList { recordings: state.jobs.list()?.into_iter().map(Recording::redacted).collect() }))
}

/// One recording.
#[utoipa::path(get, path = "/v1/recordings/{id}", params(("id" = String, Path)), responses(
    (status = 200, body = Recording), (status = 404, body = ErrorBody)))]
pub async fn show(State(state): State<AppState>, PathParam(id): PathParam) -> Result<Json<Recording>, ApiError> {
    Ok(Json(state.jobs.get(&id)?.redacted()))
}

/// Change a running call recording's layout, layout parameters or branding (merge patch for
/// `branding`); the page shows it within a second, without a gap in the file.
#[utoipa::path(patch, path = "/v1/recordings/{id}", params(("id" = String, Path)), request_body = SettingsPatch, responses(
    (status = 200, description = "Applied to the recording; `changes` shows when the page shows it", body = Recording),
    (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 409, description = "The recording has finished", body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    PathParam(id): PathParam,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Recording>, ApiError> {
    let body = body.map_err(|r| ApiError::from_body(r, MAX_BODY_BYTES))?;
    let patch = RecordingPatch::parse(&body)?;
    Ok(Json(state.jobs.update(&id, &patch).await?.redacted()))
}

/// `POST /v1/recordings/{id}/events` answer.
#[derive(Serialize, ToSchema)]
pub struct EventAccepted {
    /// The event's id, as it appears in the timeline.
    pub id: String,
}

/// Show a chat message, reaction or slide in a running call recording (and its timeline).
#[utoipa::path(post, path = "/v1/recordings/{id}/events", params(("id" = String, Path)), request_body = CallEvent, responses(
    (status = 202, description = "On its way to the page", body = EventAccepted),
    (status = 400, description = "Unknown type or a bad field", body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 409, description = "The recording has finished", body = ErrorBody),
    (status = 413, description = "Over 4 KiB", body = ErrorBody),
    (status = 429, description = "Too many events (see Retry-After)", body = ErrorBody)))]
pub async fn post_event(
    State(state): State<AppState>,
    PathParam(id): PathParam,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let body = body.map_err(|r| ApiError::from_body(r, MAX_EVENT_BYTES))?;
    let event = CallEvent::parse(&body, &state.previewer.layouts.assets_dir).map_err(JobError::from)?;
    let event_id = state.jobs.post_event(&id, &event).await?;
    Ok((StatusCode::ACCEPTED, Json(EventAccepted { id: event_id })))
}

/// Stop a recording (idempotent: a finished one is returned as it is).
#[utoipa::path(post, path = "/v1/recordings/{id}/stop", params(("id" = String, Path)), responses(
    (status = 202, description = "Stopping (or already finished)", body = Recording),
    (status = 404, body = ErrorBody)))]
pub async fn stop(State(state): State<AppState>, PathParam(id): PathParam) -> Result<impl IntoResponse, ApiError> {
    Ok((StatusCode::ACCEPTED, Json(state.jobs.stop(&id)?.redacted())))
}

/// Upload again a recording whose upload failed (`upload_failed`); its local files were kept.
#[utoipa::path(post, path = "/v1/recordings/{id}/retry-upload", params(("id" = String, Path)), responses(
    (status = 202, description = "Uploading again; follow `state` and `upload`", body = Recording),
    (status = 404, body = ErrorBody),
    (status = 409, description = "Not a failed upload (`not_retryable`), or its local copy is gone (`local_copy_missing`)", body = ErrorBody)))]
pub async fn retry_upload(State(state): State<AppState>, PathParam(id): PathParam) -> Result<impl IntoResponse, ApiError> {
    Ok((StatusCode::ACCEPTED, Json(state.jobs.retry_upload(&id)?.redacted())))
}

/// Liveness; 503 `shutting_down` while a shutdown delivers the last recordings (take the
/// instance out of rotation).
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let (code, status) = if state.jobs.shutting_down() { (StatusCode::SERVICE_UNAVAILABLE, "shutting_down") } else { (StatusCode::OK, "ok") };
    (code, Json(Health {
        status,
        recordings_running: state.jobs.running(),
        warm_browsers: state.jobs.warm_browsers(),
        webhooks: state.jobs.webhook_stats(),
    }))
}
