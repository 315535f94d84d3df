//! The server's agent API, typed: every call the agent makes, and one error type that says
//! what the daemon should do about a failure (retry soon, wait long, give up).
//!
//! Outbound HTTP(S) only (the agent listens only on its local bridge socket, never on the
//! network). Wire names are camelCase.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deskside_diagnostics::Snapshot;
use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::orders::OrderReport;
use crate::state::DeviceCredential;

pub const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");
const USER_AGENT: &str = concat!("deskside-agent/", env!("CARGO_PKG_VERSION"));

/// Connecting may take this long before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Any ordinary request, answer included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Uploading a snapshot (tens of KiB) over a slow link.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(60);
/// A long poll may take `waitSeconds` plus this before we give up on the answer.
const LONG_POLL_GRACE: Duration = Duration::from_secs(15);
/// Error messages from the server are shown up to this many characters.
const MESSAGE_MAX: usize = 300;

/// Why a call failed, sorted by what to do next.
/// Why the agent sends a snapshot: the server records it beside the snapshot, so staff can
/// tell the agent's own uploads from what the user attached to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadSource {
    /// The periodic upload.
    Background,
    /// A `diagnostics.collect` order ("Refresh now").
    OnRequest,
}

impl UploadSource {
    pub fn as_str(self) -> &'static str {
        match self {
            UploadSource::Background => "background",
            UploadSource::OnRequest => "on_request",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// No answer: DNS, connection refused or reset, TLS, timeout. Retry with backoff.
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// 401: the server does not (or no longer does) know this device's credential.
    #[error("the server rejected the device credential: {message}")]
    Unauthorized { message: String },
    /// 5xx, or 429: the server is there but cannot answer now. Retry with backoff.
    #[error("the server failed (HTTP {status}): {message}")]
    Server { status: u16, message: String },
    /// Another 4xx: the server understood and refused. Retrying the same request will not
    /// help (or not soon: an older server without this route answers 404).
    #[error("the server refused the request (HTTP {status}, {code}): {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// A 2xx whose body is not what the API promises.
    #[error("unexpected answer from the server: {0}")]
    InvalidResponse(String),
}

impl ApiError {
    /// Worth retrying soon, with the usual backoff.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ApiError::Unreachable(_) | ApiError::Server { .. } | ApiError::InvalidResponse(_)
        )
    }

    /// The error from a non-success answer.
    pub fn from_status(status: StatusCode, body: &str) -> ApiError {
        #[derive(Deserialize)]
        struct ErrorBody {
            code: Option<String>,
            message: Option<String>,
        }
        let parsed: Option<ErrorBody> = serde_json::from_str(body).ok();
        let code = parsed
            .as_ref()
            .and_then(|b| b.code.clone())
            .unwrap_or_else(|| "unknown".to_owned());
        let message = parsed
            .and_then(|b| b.message)
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| {
                let text = body.trim();
                if text.is_empty() {
                    status
                        .canonical_reason()
                        .unwrap_or("no explanation")
                        .to_owned()
                } else {
                    text.to_owned()
                }
            });
        let message = truncate(&message);
        let status_code = status.as_u16();
        if status == StatusCode::UNAUTHORIZED {
            ApiError::Unauthorized { message }
        } else if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            ApiError::Server {
                status: status_code,
                message,
            }
        } else {
            ApiError::Refused {
                status: status_code,
                code: truncate(&code),
                message,
            }
        }
    }
}

fn truncate(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match clean.char_indices().nth(MESSAGE_MAX) {
        Some((cut, _)) => format!("{}…", &clean[..cut]),
        None => clean,
    }
}

/// Checks and normalises a server URL: `http` or `https`, a host, no query, fragment or
/// user info. The result has no trailing slash.
pub fn normalize_server_url(input: &str) -> Result<String, String> {
    let url = Url::parse(input.trim()).map_err(|e| format!("{input:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "{input:?}: the server URL must start with https://"
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{input:?} names no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{input:?}: no query or fragment, please"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{input:?}: no user name or password in the URL"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Whether `url` sends credentials in clear over a network (plain http, not to this host).
pub fn is_cleartext_remote(url: &str) -> bool {
    let Ok(url) = Url::parse(url) else {
        return false;
    };
    let host = url.host_str().unwrap_or_default();
    let local = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    url.scheme() == "http" && !local
}

/// `POST /api/v1/devices/enroll`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct EnrollRequest<'a> {
    token: &'a str,
    hostname: &'a str,
}

/// The answer to enrollment. The key fields are optional here so that a server too old to
/// send them gets a clear message instead of a decoding error.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollResponse {
    pub device_id: String,
    pub credential: String,
    #[serde(default)]
    pub order_signing_key: Option<String>,
    #[serde(default)]
    pub order_key_id: Option<String>,
}

impl std::fmt::Debug for EnrollResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrollResponse")
            .field("device_id", &self.device_id)
            .field("credential", &"[redacted]")
            .field("order_key_id", &self.order_key_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct HeartbeatRequest<'a> {
    agent_version: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatResponse {
    pub server_time: DateTime<Utc>,
    pub heartbeat_seconds: u64,
    pub snapshot_seconds: u64,
}

/// `POST /api/v1/devices/user-sessions`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct UserSessionRequest<'a> {
    local_user: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<&'a str>,
}

/// A requester session for a local user: the token is for that user's desktop app only.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSessionResponse {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for UserSessionResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserSessionResponse")
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

#[derive(Debug, Deserialize)]
struct OrdersResponse {
    orders: Vec<serde_json::Value>,
}

/// A client for one server, with or without the device credential.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: Url,
    credential: Option<Arc<DeviceCredential>>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl ApiClient {
    /// `server_url` as [`normalize_server_url`] returns it.
    pub fn new(server_url: &str) -> anyhow::Result<Self> {
        let base = Url::parse(&format!("{}/", server_url.trim_end_matches('/')))?;
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(CONNECT_TIMEOUT)
            // Long polls hold a connection open; keep it alive across them.
            .tcp_keepalive(Duration::from_secs(30))
            .build()?;
        Ok(ApiClient {
            http,
            base,
            credential: None,
        })
    }

    pub fn with_credential(mut self, credential: DeviceCredential) -> Self {
        self.credential = Some(Arc::new(credential));
        self
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            // Each segment is percent-encoded: an order id cannot add a path level.
            path.pop_if_empty().extend(["api", "v1"]).extend(segments);
        }
        url
    }

    fn request(
        &self,
        method: reqwest::Method,
        url: Url,
        timeout: Duration,
    ) -> reqwest::RequestBuilder {
        let request = self.http.request(method, url).timeout(timeout);
        match &self.credential {
            Some(credential) => request.bearer_auth(credential.expose()),
            None => request,
        }
    }

    pub async fn enroll(&self, token: &str, hostname: &str) -> Result<EnrollResponse, ApiError> {
        let request = self
            .request(
                reqwest::Method::POST,
                self.url(&["devices", "enroll"]),
                REQUEST_TIMEOUT,
            )
            .json(&EnrollRequest { token, hostname });
        json_answer(request.send().await).await
    }

    pub async fn heartbeat(&self) -> Result<HeartbeatResponse, ApiError> {
        let request = self
            .request(
                reqwest::Method::POST,
                self.url(&["agent", "heartbeat"]),
                REQUEST_TIMEOUT,
            )
            .json(&HeartbeatRequest {
                agent_version: AGENT_VERSION,
            });
        json_answer(request.send().await).await
    }

    /// Asks for a requester session for `local_user`, whom this device vouches for.
    pub async fn user_session(
        &self,
        local_user: &str,
        display_name: Option<&str>,
    ) -> Result<UserSessionResponse, ApiError> {
        let request = self
            .request(
                reqwest::Method::POST,
                self.url(&["devices", "user-sessions"]),
                REQUEST_TIMEOUT,
            )
            .json(&UserSessionRequest {
                local_user,
                display_name,
            });
        json_answer(request.send().await).await
    }

    /// Uploads a snapshot, saying why it was taken (`?source=`; a server that predates the
    /// parameter ignores it).
    pub async fn upload_snapshot(
        &self,
        snapshot: &Snapshot,
        source: UploadSource,
    ) -> Result<(), ApiError> {
        let mut url = self.url(&["agent", "snapshots"]);
        url.query_pairs_mut().append_pair("source", source.as_str());
        let request = self
            .request(reqwest::Method::POST, url, UPLOAD_TIMEOUT)
            .json(snapshot);
        empty_answer(request.send().await).await
    }

    /// Waits up to `wait` for orders; the server answers at once when some are pending.
    /// Orders come back as raw JSON so that one malformed order cannot hide the others.
    pub async fn poll_orders(&self, wait: Duration) -> Result<Vec<serde_json::Value>, ApiError> {
        let mut url = self.url(&["agent", "orders"]);
        url.query_pairs_mut()
            .append_pair("waitSeconds", &wait.as_secs().to_string());
        let request = self.request(reqwest::Method::GET, url, wait + LONG_POLL_GRACE);
        let answer: OrdersResponse = json_answer(request.send().await).await?;
        Ok(answer.orders)
    }

    pub async fn report_order(&self, order_id: &str, report: &OrderReport) -> Result<(), ApiError> {
        let request = self
            .request(
                reqwest::Method::POST,
                self.url(&["agent", "orders", order_id, "report"]),
                REQUEST_TIMEOUT,
            )
            .json(report);
        empty_answer(request.send().await).await
    }
}

fn transport_error(error: &reqwest::Error) -> ApiError {
    // The chain names the actual cause (connection refused, timed out, certificate…).
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    ApiError::Unreachable(truncate(&text))
}

async fn checked(
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<reqwest::Response, ApiError> {
    let response = sent.map_err(|e| transport_error(&e))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    Err(ApiError::from_status(status, &body))
}

async fn json_answer<T: DeserializeOwned>(
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<T, ApiError> {
    let response = checked(sent).await?;
    let bytes = response.bytes().await.map_err(|e| transport_error(&e))?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::InvalidResponse(truncate(&e.to_string())))
}

async fn empty_answer(sent: Result<reqwest::Response, reqwest::Error>) -> Result<(), ApiError> {
    let response = checked(sent).await?;
    // Read the body so the connection can be reused.
    response.bytes().await.map_err(|e| transport_error(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_normalised_or_refused_with_a_reason() {
        let ok = [
            ("https://desk.example.org", "https://desk.example.org"),
            ("https://desk.example.org/", "https://desk.example.org"),
            (" http://127.0.0.1:8080/ ", "http://127.0.0.1:8080"),
            ("https://example.org/desk/", "https://example.org/desk"),
        ];
        for (input, expected) in ok {
            assert_eq!(normalize_server_url(input).as_deref(), Ok(expected));
        }
        let refused = [
            ("desk.example.org", "not a URL"),
            ("ftp://desk.example.org", "https://"),
            ("https://desk.example.org/?x=1", "no query"),
            ("https://u:p@desk.example.org", "no user name"),
        ];
        for (input, reason) in refused {
            let error = normalize_server_url(input).unwrap_err();
            assert!(error.contains(reason), "{input}: {error}");
        }
    }

    #[test]
    fn cleartext_is_flagged_only_off_this_machine() {
        assert!(is_cleartext_remote("http://desk.example.org"));
        assert!(!is_cleartext_remote("https://desk.example.org"));
        assert!(!is_cleartext_remote("http://127.0.0.1:8080"));
        assert!(!is_cleartext_remote("http://localhost:8080"));
        assert!(!is_cleartext_remote("http://[::1]:8080"));
    }

    #[test]
    fn answers_map_to_what_the_daemon_does_next() {
        let body = r#"{"code":"unauthorized","message":"unknown credential"}"#;
        assert_eq!(
            ApiError::from_status(StatusCode::UNAUTHORIZED, body),
            ApiError::Unauthorized {
                message: "unknown credential".into()
            }
        );
        let e = ApiError::from_status(StatusCode::BAD_GATEWAY, "<html>bad gateway</html>");
        assert_eq!(
            e,
            ApiError::Server {
                status: 502,
                message: "<html>bad gateway</html>".into()
            }
        );
        assert!(e.is_transient());
        assert!(ApiError::from_status(StatusCode::TOO_MANY_REQUESTS, "").is_transient());
        let e = ApiError::from_status(StatusCode::NOT_FOUND, "");
        assert_eq!(
            e,
            ApiError::Refused {
                status: 404,
                code: "unknown".into(),
                message: "Not Found".into()
            }
        );
        assert!(!e.is_transient());
        let long = format!(r#"{{"code":"x","message":"{}"}}"#, "a\n".repeat(400));
        let ApiError::Refused { message, .. } =
            ApiError::from_status(StatusCode::UNPROCESSABLE_ENTITY, &long)
        else {
            panic!("a 422 is a refusal");
        };
        assert!(message.chars().count() <= MESSAGE_MAX + 1 && !message.contains('\n'));
    }

    #[test]
    fn paths_are_built_under_the_api_prefix_and_ids_cannot_escape() {
        let client = ApiClient::new("https://example.org/desk").unwrap();
        assert_eq!(
            client.url(&["agent", "heartbeat"]).as_str(),
            "https://example.org/desk/api/v1/agent/heartbeat"
        );
        assert_eq!(
            client
                .url(&["agent", "orders", "../../x?y", "report"])
                .as_str(),
            "https://example.org/desk/api/v1/agent/orders/..%2F..%2Fx%3Fy/report"
        );
    }
}
