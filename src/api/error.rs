//! The one place errors become HTTP responses: `{"error": {"code", "message", "field"?}}`.
//! 4xx are the client's business and not logged; 5xx are logged once here.

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::jobs::JobError;
use crate::layouts::LayoutError;
use crate::timeline::TimelineError;

/// Seconds a client should wait before retrying a 503.
const RETRY_AFTER_S: &str = "5";

/// An error answered by the API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Job(#[from] JobError),
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("cannot read the request body: {0}")]
    BadBody(String),
    #[error("no route for {0}")]
    NoRoute(String),
    #[error("{path} does not take {method} (see the Allow header)")]
    MethodNotAllowed { method: String, path: String },
    #[error("authentication required: {0}")]
    Unauthorized(String),
    #[error("bad path: {message}")]
    BadPath { field: Option<String>, message: String },
    #[error("cannot encode the metrics")]
    Metrics(#[from] std::fmt::Error),
}

impl From<LayoutError> for ApiError {
    fn from(e: LayoutError) -> Self {
        Self::Job(JobError::Layout(e))
    }
}

/// The JSON error envelope.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `out_of_range`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The request field at fault, e.g. `output.width`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// Maps a body-reading rejection (size limit or broken stream).
    pub fn from_body(rejection: BytesRejection, limit: usize) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::PayloadTooLarge(limit)
        } else {
            Self::BadBody(rejection.body_text())
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Job(e) => match e {
                JobError::Invalid { .. } => StatusCode::BAD_REQUEST,
                JobError::NotFound(_) => StatusCode::NOT_FOUND,
                JobError::Conflict { .. } => StatusCode::CONFLICT,
                JobError::Layout(LayoutError::PreviewBusy(_)) => StatusCode::SERVICE_UNAVAILABLE,
                JobError::Layout(e) if e.is_client_error() => StatusCode::BAD_REQUEST,
                JobError::Layout(_) => StatusCode::INTERNAL_SERVER_ERROR,
                JobError::Event(TimelineError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
                JobError::Event(e) if e.is_client_error() => StatusCode::BAD_REQUEST,
                JobError::Event(_) => StatusCode::INTERNAL_SERVER_ERROR,
                JobError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
                JobError::AtCapacity { .. } | JobError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
                JobError::InsufficientStorage { .. } => StatusCode::INSUFFICIENT_STORAGE,
                JobError::Store(_) | JobError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadBody(_) | Self::BadPath { .. } => StatusCode::BAD_REQUEST,
            Self::NoRoute(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Metrics(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// True for 4xx answers.
    pub fn is_client_error(&self) -> bool {
        self.status().is_client_error()
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Job(e) => e.code(),
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::BadBody(_) => "bad_body",
            Self::BadPath { .. } => "invalid_path",
            Self::NoRoute(_) => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::Unauthorized(_) => "unauthorized",
            Self::Metrics(_) => "metrics_failed",
        }
    }

    fn field(&self) -> Option<String> {
        match self {
            Self::Job(JobError::Invalid { field, .. }) if !field.is_empty() => Some(field.clone()),
            Self::Job(JobError::Layout(e)) => e.field().map(String::from),
            Self::Job(JobError::Event(e)) => e.field().map(String::from),
            Self::BadPath { field, .. } => field.clone(),
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() && !matches!(status, StatusCode::SERVICE_UNAVAILABLE | StatusCode::INSUFFICIENT_STORAGE) {
            tracing::error!(code = self.code(), "{self}");
        }
        let body = ErrorBody { error: ErrorDetail { code: self.code().into(), message: self.to_string(), field: self.field() } };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_S));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
