//! The API's one error type: an HTTP status and a message for the person or program that
//! sent the request. Bodies are `{"error": {"status": 400, "message": "..."}}`, with
//! `"field"` beside the message when one field of a form is wrong (the dashboard shows
//! the message next to it).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sheetsight_store::StoreError;

#[derive(Debug, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// The form field that is wrong, when one is.
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), field: None }
    }
    /// 400 for one wrong field of a form.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: Some(field.into()), ..Self::bad_request(message) }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "log in first (session cookie or `Authorization: Bearer` token)")
    }
    pub fn forbidden(needed: &str, have: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, format!("this needs the role `{needed}`; you are `{have}`"))
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// A failure inside the server: the cause goes to the log with `what`, the client
    /// learns only what failed.
    pub fn internal(what: &str, cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "{what}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{what} failed (the server's log says why)"))
    }
}

/// The database's own text stays in the server's log: an answer says what was being done.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.kind == sheetsight_store::StoreErrorKind::Conflict {
            return Self::conflict(format!("{}: it exists already", e.what));
        }
        tracing::error!(error = %sheetsight_base::error::with_causes(&e), "history");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, format!("history: {} failed (the server's log says why)", e.what))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = serde_json::json!({"status": self.status.as_u16(), "message": self.message});
        if let Some(field) = self.field {
            error["field"] = field.into();
        }
        let body = serde_json::json!({ "error": error });
        (self.status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A JSON body whose rejection (malformed, wrong fields, too large, wrong content type)
/// answers in the API's error format with the parser's message.
pub struct ApiJson<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(r) => Err(ApiError::new(r.status(), format!("the request body: {}", r.body_text()))),
        }
    }
}

/// A URL query whose rejection answers in the API's error format.
pub struct ApiQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(r) => Err(ApiError::new(r.status(), format!("the query: {}", r.body_text()))),
        }
    }
}
