//! The one error type of the HTTP API, rendered as `{code, message, fields?}`.
//! Internal details are logged once here and never sent to the caller.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use deskside_core::ticket::DomainError;
use deskside_core::{FieldError, ValidationErrors};
use serde::Serialize;
use utoipa::ToSchema;

use crate::storage::StorageError;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Stable machine-readable code; clients branch on this, never on `message`.
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldError>>,
    /// The current state of the resource, on a version conflict.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub current: Option<serde_json::Value>,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    /// Seconds for a `Retry-After` header (429).
    retry_after: Option<i64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                code,
                message: message.into(),
                fields: None,
                current: None,
            },
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn too_many_requests(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message)
    }

    /// Tells the client when to try again (`Retry-After`, in seconds).
    pub fn with_retry_after(mut self, secs: i64) -> ApiError {
        self.retry_after = Some(secs.max(1));
        self
    }

    pub fn validation(errors: ValidationErrors) -> ApiError {
        let mut error = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "some fields are not valid",
        );
        error.body.fields = Some(errors.0);
        error
    }

    pub fn field(field: &str, message: impl Into<String>) -> ApiError {
        let mut errors = ValidationErrors::default();
        errors.add(field, message);
        ApiError::validation(errors)
    }

    /// A stale write: 409 with the resource as it is now, so the client can merge.
    pub fn stale(current: serde_json::Value) -> ApiError {
        let mut error = ApiError::new(
            StatusCode::CONFLICT,
            "version_conflict",
            "someone else changed this ticket; review the current version and try again",
        );
        error.body.current = Some(current);
        error
    }

    /// Logs the cause and returns a bland 500.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(%cause, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on the server; it has been logged",
        )
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> ApiError {
        match error {
            StorageError::NotFound(what) => ApiError::not_found(what),
            StorageError::Conflict(message) => ApiError::conflict(message),
            StorageError::Stale(current) => ApiError::stale(current),
            StorageError::Domain(domain) => domain.into(),
            StorageError::IdempotencyKeyReused => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different request",
            ),
            StorageError::Internal(cause) => ApiError::internal(cause),
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> ApiError {
        match error {
            DomainError::Forbidden(message) => ApiError::forbidden(message),
            DomainError::InvalidTransition { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "invalid_transition",
                error.to_string(),
            ),
            DomainError::Invalid(errors) => ApiError::validation(errors),
            DomainError::Conflict(message) => ApiError::conflict(message),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
