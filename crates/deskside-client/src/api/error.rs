//! One error type for every API call. Callers branch on [`ApiError::code`], never on the
//! message, exactly as the server's `{code, message, fields?}` contract asks.

use deskside_core::FieldError;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The server could not be reached (refused, reset, timed out, DNS): the request may
    /// or may not have arrived, so only idempotent retries are safe.
    #[error("the server is not reachable: {0}")]
    Offline(String),
    /// The server answered with its error body.
    #[error("{code}: {message}")]
    Server {
        status: u16,
        /// Stable machine-readable code from the server (`validation_failed`, `conflict`…).
        code: String,
        message: String,
        /// Per-field problems on `validation_failed`.
        fields: Vec<FieldError>,
    },
    /// A call that needs credentials was made on a client without any.
    #[error("not signed in")]
    NotSignedIn,
    /// The server answered something that is not the API's shape (a proxy page, a newer
    /// server): a bug to report rather than a state to show.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
}

/// The server's error body.
#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
    #[serde(default)]
    fields: Option<Vec<FieldError>>,
}

impl ApiError {
    /// The code to branch on: the server's, or a client-side one for the other variants.
    pub fn code(&self) -> &str {
        match self {
            ApiError::Offline(_) => "offline",
            ApiError::Server { code, .. } => code,
            ApiError::NotSignedIn => "not_signed_in",
            ApiError::Protocol(_) => "protocol",
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Server { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn fields(&self) -> &[FieldError] {
        match self {
            ApiError::Server { fields, .. } => fields,
            _ => &[],
        }
    }

    /// Whether sending the same request later may succeed. Server faults, throttling and an
    /// expired session are not the request's fault; every other 4xx is, and repeating it
    /// would only repeat the answer.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Offline(_) | ApiError::NotSignedIn => true,
            ApiError::Server { status, .. } => *status >= 500 || matches!(status, 401 | 408 | 429),
            ApiError::Protocol(_) => false,
        }
    }

    /// Builds the error for a non-2xx answer from its status and body text.
    pub(crate) fn from_answer(status: u16, text: &str) -> ApiError {
        match serde_json::from_str::<ErrorBody>(text) {
            Ok(body) => ApiError::Server {
                status,
                code: body.code,
                message: body.message,
                fields: body.fields.unwrap_or_default(),
            },
            // Something in between (a proxy, a load balancer) answered: keep the status so
            // 5xx still counts as transient.
            Err(_) => ApiError::Server {
                status,
                code: format!("http_{status}"),
                message: text.chars().take(200).collect(),
                fields: Vec::new(),
            },
        }
    }

    pub(crate) fn from_transport(error: reqwest::Error) -> ApiError {
        if error.is_decode() {
            ApiError::Protocol(error.to_string())
        } else {
            // Connect, timeout, reset, body read: all mean "no usable answer".
            ApiError::Offline(error.to_string())
        }
    }
}
