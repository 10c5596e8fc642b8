//! Extractors whose rejections are our JSON errors rather than axum's plain text.

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use super::ApiError;

/// One path parameter as text (a recording id, a layout name).
pub struct PathParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(bad_path(rejection)),
        }
    }
}

fn bad_path(rejection: PathRejection) -> ApiError {
    use axum::extract::path::ErrorKind;
    let message = rejection.body_text();
    let field = match rejection {
        PathRejection::FailedToDeserializePathParams(e) => match e.into_kind() {
            ErrorKind::InvalidUtf8InPathParam { key } | ErrorKind::ParseErrorAtKey { key, .. } | ErrorKind::DeserializeError { key, .. } => Some(key),
            _ => None,
        },
        _ => None,
    };
    ApiError::BadPath { field, message }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn invalid_utf8_in_an_id_is_a_400_naming_it() {
        let app = Router::new().route("/v1/recordings/{id}", get(|PathParam(id): PathParam| async move { id }));
        let request = Request::get("/v1/recordings/%88%7F%FB").body(Body::empty()).unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: serde_json::Value = serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
        assert_eq!((body["error"]["code"].as_str(), body["error"]["field"].as_str()), (Some("invalid_path"), Some("id")), "{body}");
        let fine = app.oneshot(Request::get("/v1/recordings/rec_%C3%A9").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(fine.status(), StatusCode::OK);
    }
}
