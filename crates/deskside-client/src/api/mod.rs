//! A typed async client for the Deskside server's `/api/v1`.

mod calls;
mod error;
mod types;

pub use calls::{DeviceDetail, Me};

pub use error::ApiError;
pub use types::{ChangeSet, Created, LoginResponse, TicketFilter, TicketPage};

use std::time::Duration;

use deskside_core::Ticket;
use deskside_core::ticket::NewTicket;
use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;

/// The header an enrolled device names its signed-in local user with (the server's
/// `LOCAL_USER_HEADER`).
const LOCAL_USER_HEADER: &str = "x-deskside-local-user";
/// Set by the server on an answer replayed for a repeated idempotency key.
const REPLAYED_HEADER: &str = "idempotent-replayed";

/// Who the client speaks as.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// An agent's session token from [`Client::login`].
    Staff { token: String },
    /// The endpoint's device credential, filing for the user signed in on it.
    Device {
        credential: String,
        local_user: String,
    },
    /// A requester session the endpoint's agent obtained for the user signed in on it
    /// ([`crate::agent_bridge::user_session`]): files and reads as that user only.
    Requester { token: String },
}

// Hand-written so secrets never end up in logs through `{:?}`.
impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Staff { .. } => f.write_str("Staff { token: <hidden> }"),
            Auth::Requester { .. } => f.write_str("Requester { token: <hidden> }"),
            Auth::Device { local_user, .. } => write!(
                f,
                "Device {{ credential: <hidden>, local_user: {local_user:?} }}"
            ),
        }
    }
}

/// A client for one server. Cheap to clone (the connection pool is shared).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    /// `http(s)://host:port`, no trailing slash.
    base: String,
    auth: Option<Auth>,
}

impl Client {
    /// A client for the server at `base_url` (e.g. `https://desk.example.com`), signed out.
    pub fn new(base_url: &str) -> Result<Client, ApiError> {
        let http = reqwest::Client::builder()
            // Bounded so a half-open connection shows up as "offline" instead of a hang.
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ApiError::Protocol(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            auth: None,
        })
    }

    /// The same client speaking as `auth`.
    pub fn with_auth(&self, auth: Auth) -> Client {
        Client {
            auth: Some(auth),
            ..self.clone()
        }
    }

    pub fn auth(&self) -> Option<&Auth> {
        self.auth.as_ref()
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Signs in as staff; the token goes into [`Auth::Staff`].
    pub async fn login(&self, username: &str, password: &str) -> Result<LoginResponse, ApiError> {
        let body = serde_json::json!({"username": username, "password": password});
        let request = self.http.post(self.url("/auth/login", &[])).json(&body);
        json(send(request).await?).await
    }

    /// One page of the staff queue.
    pub async fn list_tickets(&self, filter: &TicketFilter) -> Result<TicketPage, ApiError> {
        let request = self.authed(Method::GET, &self.url("/tickets", &filter.query_pairs()))?;
        json(send(request).await?).await
    }

    pub async fn ticket(&self, id: i64) -> Result<Ticket, ApiError> {
        let request = self.authed(Method::GET, &self.url(&format!("/tickets/{id}"), &[]))?;
        json(send(request).await?).await
    }

    /// Creates a ticket. With `idempotency_key`, a retry of a request whose answer was lost
    /// gets the first answer back instead of a second ticket.
    pub async fn create_ticket(
        &self,
        ticket: &NewTicket,
        idempotency_key: Option<&str>,
    ) -> Result<Created, ApiError> {
        let body = serde_json::to_string(ticket)
            .map_err(|e| ApiError::Protocol(format!("cannot encode the ticket: {e}")))?;
        self.create_ticket_raw(body, idempotency_key).await
    }

    /// Sends an already-encoded [`NewTicket`]. The outbox uses this: the server fingerprints
    /// the exact body bytes with the key, so a retry must send the bytes stored at enqueue
    /// time, not a re-encoding.
    pub(crate) async fn create_ticket_raw(
        &self,
        body: String,
        idempotency_key: Option<&str>,
    ) -> Result<Created, ApiError> {
        let mut request = self
            .authed(Method::POST, &self.url("/tickets", &[]))?
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        let response = send(request).await?;
        let replayed = response.headers().contains_key(REPLAYED_HEADER);
        Ok(Created {
            ticket: json(response).await?,
            replayed,
        })
    }

    /// What changed since `cursor` (0 for everything).
    pub async fn sync(&self, cursor: i64) -> Result<ChangeSet, ApiError> {
        let pairs = [("cursor", cursor.to_string())];
        let request = self.authed(Method::GET, &self.url("/sync", &pairs))?;
        json(send(request).await?).await
    }

    fn url(&self, path: &str, query: &[(&'static str, String)]) -> String {
        let mut url = format!("{}/api/v1{path}", self.base);
        if !query.is_empty() {
            // Infallible for string pairs.
            let encoded = serde_urlencoded::to_string(query).unwrap_or_default();
            url.push('?');
            url.push_str(&encoded);
        }
        url
    }

    fn authed(&self, method: Method, url: &str) -> Result<RequestBuilder, ApiError> {
        let request = self.http.request(method, url);
        Ok(match self.auth.as_ref().ok_or(ApiError::NotSignedIn)? {
            Auth::Staff { token } | Auth::Requester { token } => request.bearer_auth(token),
            Auth::Device {
                credential,
                local_user,
            } => request
                .bearer_auth(credential)
                .header(LOCAL_USER_HEADER, local_user),
        })
    }
}

/// Sends `request`; a non-2xx answer becomes [`ApiError::Server`].
async fn send(request: RequestBuilder) -> Result<Response, ApiError> {
    let response = request.send().await.map_err(ApiError::from_transport)?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let text = response.text().await.map_err(ApiError::from_transport)?;
    Err(ApiError::from_answer(status.as_u16(), &text))
}

async fn json<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    let bytes = response.bytes().await.map_err(ApiError::from_transport)?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::Protocol(e.to_string()))
}
