//! Request extractors that turn every malformed input into an [`ApiError`] with field
//! messages, instead of axum's plain-text rejections.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};
use crate::storage::{Idempotency, Storage, Written};

/// Largest JSON body accepted on ordinary routes.
pub const MAX_JSON_BYTES: usize = 256 * 1024;
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 200;

/// A JSON body, kept with its raw bytes (idempotency fingerprints hash them).
///
/// A field the type does not know, at any depth, is refused (422 naming it): a typo such as
/// `descripton` must not quietly become an empty description. Only the agent protocol
/// accepts additions, see [`AgentJsonBody`].
pub struct JsonBody<T, const ACCEPT_UNKNOWN_FIELDS: bool = false> {
    pub value: T,
    pub raw: Bytes,
}

/// A body an endpoint agent sends about its machine (heartbeats, snapshots, order reports).
/// Fields this server does not know are ignored, so a newer agent can report more than an
/// older server understands; the agent's own commands (enrollment, user sessions) are
/// strict [`JsonBody`]s like every other write.
pub type AgentJsonBody<T> = JsonBody<T, true>;

impl<S: Send + Sync, T: DeserializeOwned, const ACCEPT_UNKNOWN_FIELDS: bool> FromRequest<S>
    for JsonBody<T, ACCEPT_UNKNOWN_FIELDS>
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let mime = v.split(';').next().unwrap_or("").trim();
                mime.eq_ignore_ascii_case("application/json")
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let raw = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| body_rejection(rejection.status()))?;
        let value = if ACCEPT_UNKNOWN_FIELDS {
            parse_json_lenient(&raw)?
        } else {
            parse_json(&raw)?
        };
        Ok(JsonBody { value, raw })
    }
}

pub fn body_rejection(status: StatusCode) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is larger than this endpoint accepts",
        )
    } else {
        ApiError::bad_request("the request body could not be read")
    }
}

/// Parses JSON, naming the field at fault: syntax errors are 400, wrong shapes and fields
/// the type does not know 422.
pub fn parse_json<T: DeserializeOwned>(raw: &[u8]) -> Result<T, ApiError> {
    let mut unknown: Option<String> = None;
    let value = parse_json_noting_unknown(raw, |path| {
        unknown.get_or_insert_with(|| ignored_path(&path));
    })?;
    match unknown {
        Some(field) => Err(ApiError::field(
            &field,
            format!(
                "unknown field `{}`; check its spelling",
                field.rsplit(['.', '[']).next().unwrap_or(&field)
            ),
        )),
        None => Ok(value),
    }
}

/// Like [`parse_json`], but fields the type does not know are skipped.
pub fn parse_json_lenient<T: DeserializeOwned>(raw: &[u8]) -> Result<T, ApiError> {
    parse_json_noting_unknown(raw, |_| {})
}

/// The path of a skipped field, written as serde_path_to_error writes paths
/// (`requester.nickname`, `tags[2]`).
fn ignored_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", ignored_path(parent)),
        Path::Map { parent, key } => match ignored_path(parent) {
            parent if parent.is_empty() => key.clone(),
            parent => format!("{parent}.{key}"),
        },
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => ignored_path(parent),
    }
}

fn parse_json_noting_unknown<T: DeserializeOwned>(
    raw: &[u8],
    mut on_unknown: impl FnMut(serde_ignored::Path<'_>),
) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(raw);
    let noting = serde_ignored::Deserializer::new(&mut deserializer, &mut on_unknown);
    let value = serde_path_to_error::deserialize(noting).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        // Deserialising stops at the first problem, which may be a wrong field before a
        // syntax error further on; and serde_json reports some wrong shapes (a number where
        // an enum's name belongs) as syntax errors. So tell the two apart on the whole body.
        if let Err(syntax) = check_json_syntax(raw) {
            return ApiError::bad_request(format!("the body is not valid JSON: {syntax}"));
        }
        let message = match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "has the wrong type or is out of range".to_owned()
            }
            _ => inner.to_string(),
        };
        let field = field_path(&path, &message);
        ApiError::field(&field, describe_serde_error(&message))
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

/// Whether `raw` is one well-formed JSON document in UTF-8, whatever its shape.
fn check_json_syntax(raw: &[u8]) -> Result<(), String> {
    std::str::from_utf8(raw).map_err(|_| "it is not UTF-8".to_owned())?;
    serde_json::from_slice::<serde::de::IgnoredAny>(raw)
        .map(|_| ())
        .map_err(|error| error.to_string())
}

/// The path of the field at fault. serde reports a missing field (and, behind
/// `#[serde(flatten)]`, an unknown one) at the object that should hold it; name the field
/// itself, e.g. `requester.userKind`.
fn field_path(path: &str, message: &str) -> String {
    let parent = if path == "." { "" } else { path };
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix)?.split('`').next());
    match named {
        Some(name) if parent == name || parent.ends_with(&format!(".{name}")) => parent.to_owned(),
        Some(name) if parent.is_empty() => name.to_owned(),
        Some(name) => format!("{parent}.{name}"),
        None => parent.to_owned(),
    }
}

/// serde's messages carry " at line 1 column 40", which means nothing to a person reading a
/// form: keep the part before it.
fn describe_serde_error(message: &str) -> String {
    match message.find(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

/// Method, path and `Idempotency-Key` of a mutation.
pub struct Mutation {
    method: Method,
    path: String,
    key: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Mutation {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Ok(Mutation {
            method: parts.method.clone(),
            path: parts.uri.path().to_owned(),
            key: idempotency_key(&parts.headers)?,
        })
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY_CHARS)
        .ok_or_else(|| {
            ApiError::field(
                "Idempotency-Key",
                format!("must be 1–{MAX_IDEMPOTENCY_KEY_CHARS} visible ASCII characters"),
            )
        })?;
    Ok(Some(key.to_owned()))
}

impl Mutation {
    /// The idempotency record for this request by `principal`, if the client sent a key.
    pub fn idempotency(&self, principal: &str, body: &[u8]) -> Option<Idempotency> {
        let key = self.key.as_ref()?;
        let mut hasher = Sha256::new();
        hasher.update(self.method.as_str().as_bytes());
        hasher.update([0]);
        hasher.update(self.path.as_bytes());
        hasher.update([0]);
        hasher.update(body);
        Some(Idempotency {
            principal: principal.to_owned(),
            key: key.clone(),
            fingerprint: hex::encode(hasher.finalize()),
        })
    }
}

/// Renders a write: fresh results with `status`, replays with the status first sent and
/// `Idempotent-Replayed: true`.
pub fn written<T: serde::Serialize>(result: Written<T>, status: StatusCode) -> Response {
    let (status, body, replayed) = match result {
        Written::Fresh(value) => match serde_json::to_value(value) {
            Ok(body) => (status, body, false),
            Err(error) => return ApiError::internal(error).into_response(),
        },
        Written::Replayed { status, body } => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            body,
            true,
        ),
    };
    let mut response = if status == StatusCode::NO_CONTENT {
        status.into_response()
    } else {
        (status, Json(body)).into_response()
    };
    if replayed {
        response.headers_mut().insert(
            "idempotent-replayed",
            axum::http::HeaderValue::from_static("true"),
        );
    }
    response
}

/// The first answer, when this request is a retry of one already done. Handlers whose
/// checks the first try's own effect would now fail (approve twice: "no longer waiting";
/// report twice: "already running") ask before those checks; the write itself checks again
/// in its transaction, so two tries racing still write once.
pub async fn earlier_answer(
    storage: &dyn Storage,
    idempotency: Option<&Idempotency>,
) -> ApiResult<Option<Written<serde_json::Value>>> {
    match idempotency {
        Some(idempotency) => Ok(storage.idempotent_answer(idempotency).await?),
        None => Ok(None),
    }
}

/// A path parameter; a malformed one (`/tickets/abc`) is a 400 in the usual JSON shape.
pub struct PathParam<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParam<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| PathParam(value))
            .map_err(|_| ApiError::bad_request("the URL names a resource id that is not a number"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_name_the_field_at_fault() {
        // (path serde_path_to_error reports, serde's message, field shown to the user)
        let cases = [
            (".", "missing field `title`", "title"),
            (
                "requester",
                "missing field `userKind`",
                "requester.userKind",
            ),
            ("admin", "unknown field `admin`, expected `a`", "admin"),
            (".", "unknown field `status`", "status"),
            ("a.b", "unknown field `b`", "a.b"),
            (
                "requester.userKind",
                "unknown variant `alien`",
                "requester.userKind",
            ),
            ("tags[1]", "invalid type: integer `5`", "tags[1]"),
            (".", "invalid type: sequence, expected struct", ""),
        ];
        for (path, message, field) in cases {
            assert_eq!(field_path(path, message), field, "{path} / {message}");
        }
    }
}
