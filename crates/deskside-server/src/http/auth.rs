//! Who is calling: staff with a session token, or a requester: an enrolled device speaking
//! for its local user (device credential + local-user header, or a requester session the
//! device's agent obtained for that user). Also login (with throttling), logout, device
//! enrollment and requester sessions.

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use chrono::{DateTime, Duration, Utc};
use deskside_core::{Actor, ActorKind, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::client_addr::ClientIp;
use super::credential_cache::Principal;
use super::extract::JsonBody;
use super::login_throttle::RetryAfter;
use crate::AppState;
use crate::audit::AuditEntry;
use crate::error::{ApiError, ApiResult};
use crate::secrets::{self, decoy_hash, new_secret, secret_hash, verify_password};
use crate::storage::{Device, NewDevice, NewRequesterSession, RequesterScope, StaffUser};

pub const SESSION_LIFETIME: Duration = Duration::hours(12);
/// How long a requester session lasts: the desktop app asks the agent for a new one when
/// it expires, without the user doing anything.
pub const REQUESTER_SESSION_LIFETIME: Duration = Duration::days(30);
/// Live requester sessions kept per account of a device: issuing one more revokes the
/// oldest. More than one, so a second window or an app restarting while the old one still
/// holds its token do not sign each other out; few, so they cannot pile up.
pub const LIVE_REQUESTER_SESSIONS: u32 = 3;
pub const DEVICE_CREDENTIAL_PREFIX: &str = "dsd_";
pub const SESSION_TOKEN_PREFIX: &str = "dss_";
pub const ENROLLMENT_TOKEN_PREFIX: &str = "dse_";
pub const REQUESTER_SESSION_PREFIX: &str = "dsr_";
/// Longest local user name a requester session accepts.
pub const MAX_LOCAL_USER_CHARS: usize = 64;
pub const MAX_DISPLAY_NAME_CHARS: usize = 200;
/// The header an enrolled device names its signed-in local user with.
pub const LOCAL_USER_HEADER: &str = "x-deskside-local-user";
pub const LOCAL_USER_NAME_HEADER: &str = "x-deskside-local-user-name";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub enum Caller {
    Staff(StaffUser),
    Requester {
        device: Device,
        username: String,
        display_name: String,
    },
}

impl Caller {
    pub fn actor(&self) -> Actor {
        match self {
            Caller::Staff(user) => Actor {
                kind: ActorKind::Staff {
                    user_id: user.id,
                    role: user.role,
                    tier: user.tier,
                },
                display_name: user.display_name.clone(),
            },
            Caller::Requester {
                device,
                username,
                display_name,
            } => Actor {
                kind: ActorKind::Requester {
                    device_id: device.id.clone(),
                    username: username.clone(),
                },
                display_name: display_name.clone(),
            },
        }
    }

    /// Key under which idempotency records and audit lines name this caller.
    pub fn principal(&self) -> String {
        match self {
            Caller::Staff(user) => format!("user:{}", user.id),
            Caller::Requester {
                device, username, ..
            } => format!("device:{}/{}", device.id, username),
        }
    }

    /// `user:alice (admin)`, for audit lines.
    pub fn audit_name(&self) -> String {
        match self {
            Caller::Staff(user) => format!("user:{} ({})", user.username, user.role),
            Caller::Requester {
                device, username, ..
            } => format!("device:{} user:{username}", device.id),
        }
    }

    pub fn staff(&self) -> ApiResult<&StaffUser> {
        match self {
            Caller::Staff(user) => Ok(user),
            Caller::Requester { .. } => Err(ApiError::forbidden("this needs a staff account")),
        }
    }

    /// Staff whose role is one of `roles`.
    pub fn require_role(&self, roles: &[Role]) -> ApiResult<&StaffUser> {
        let user = self.staff()?;
        if roles.contains(&user.role) {
            Ok(user)
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::forbidden(format!(
                "this needs the role {}",
                names.join(" or ")
            )))
        }
    }

    pub fn requester_scope(&self) -> Option<RequesterScope> {
        match self {
            Caller::Staff(_) => None,
            Caller::Requester {
                device, username, ..
            } => Some(RequesterScope {
                device_id: device.id.clone(),
                username: username.clone(),
            }),
        }
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(axum::http::header::AUTHORIZATION)?;
    let value = value.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn header_text(parts: &Parts, name: &str) -> Option<String> {
    let value = parts.headers.get(name)?.to_str().ok()?.trim();
    (!value.is_empty() && value.chars().count() <= 200).then(|| value.to_owned())
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(|| {
            ApiError::unauthorized("sign in first: send Authorization: Bearer <token>")
        })?;
        let hash = secret_hash(token);
        let now = state.clock.now();
        let principal = match state.credentials.get(&hash, now) {
            Some(principal) => principal,
            None => resolve(state, token, &hash, now).await?,
        };
        match principal {
            Principal::Staff(user) => Ok(Caller::Staff(user)),
            // The session names its user; headers cannot change who that is.
            Principal::Requester {
                device,
                username,
                display_name,
            } => Ok(Caller::Requester {
                device,
                username,
                display_name,
            }),
            Principal::Device(device) => {
                let username = header_text(parts, LOCAL_USER_HEADER).ok_or_else(|| {
                    ApiError::unauthorized(format!(
                        "a device must name its local user in the {LOCAL_USER_HEADER} header"
                    ))
                })?;
                let display_name =
                    header_text(parts, LOCAL_USER_NAME_HEADER).unwrap_or_else(|| username.clone());
                Ok(Caller::Requester {
                    device,
                    username,
                    display_name,
                })
            }
        }
    }
}

/// An enrolled device's agent speaking for the machine itself (no local user): heartbeats,
/// snapshot uploads, orders.
#[derive(Debug, Clone)]
pub struct DeviceAgent(pub Device);

impl FromRequestParts<Arc<AppState>> for DeviceAgent {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(|| {
            ApiError::unauthorized("send the device credential: Authorization: Bearer <credential>")
        })?;
        if !token.starts_with(DEVICE_CREDENTIAL_PREFIX) {
            return Err(ApiError::forbidden("these routes are for enrolled devices"));
        }
        let hash = secret_hash(token);
        let now = state.clock.now();
        let principal = match state.credentials.get(&hash, now) {
            Some(principal) => principal,
            None => resolve(state, token, &hash, now).await?,
        };
        match principal {
            Principal::Device(device) => Ok(DeviceAgent(device)),
            Principal::Staff(_) | Principal::Requester { .. } => {
                Err(ApiError::forbidden("these routes are for enrolled devices"))
            }
        }
    }
}

/// Looks a credential up in storage and caches what it names.
async fn resolve(
    state: &AppState,
    token: &str,
    hash: &str,
    now: DateTime<Utc>,
) -> ApiResult<Principal> {
    let (principal, expires_at) = if token.starts_with(DEVICE_CREDENTIAL_PREFIX) {
        let device = state
            .storage
            .device_for_credential(hash)
            .await?
            .ok_or_else(|| ApiError::unauthorized("unknown device credential"))?;
        (Principal::Device(device), None)
    } else if token.starts_with(REQUESTER_SESSION_PREFIX) {
        let session = state
            .storage
            .requester_session(hash, now)
            .await?
            .ok_or_else(|| ApiError::unauthorized("the session has expired; sign in again"))?;
        let display_name = session
            .display_name
            .unwrap_or_else(|| session.local_user.clone());
        (
            Principal::Requester {
                device: session.device,
                username: session.local_user,
                display_name,
            },
            Some(session.expires_at),
        )
    } else {
        let (user, expires_at) = state
            .storage
            .session_user(hash, now)
            .await?
            .ok_or_else(|| ApiError::unauthorized("the session has expired; sign in again"))?;
        (Principal::Staff(user), Some(expires_at))
    };
    state
        .credentials
        .put(hash.to_owned(), principal.clone(), now, expires_at);
    Ok(principal)
}

pub use super::login_throttle::LoginThrottle;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`. Shown once; the server keeps only its hash.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: StaffUser,
}

/// Sign in with a username and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody,
               headers(("Retry-After" = i64, description = "seconds before another attempt is considered")))))]
pub async fn login(
    State(state): State<Arc<AppState>>,
    ClientIp(ip): ClientIp,
    body: JsonBody<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let request = body.value;
    let now = state.clock.now();
    if request.username.len() > 200 || request.password.len() > secrets::MAX_PASSWORD_CHARS * 4 {
        return Err(ApiError::unauthorized("wrong username or password"));
    }
    // Reserved before the password is judged, so parallel guesses are counted as they start.
    let attempt = state
        .login_throttle
        .begin(&request.username, ip, now)
        .map_err(|RetryAfter(wait)| {
            ApiError::too_many_requests(format!("too many failed sign-ins; try again in {wait} s"))
                .with_retry_after(wait)
        })?;
    let record = state.storage.staff_credentials(&request.username).await?;
    let password = request.password.clone();
    let stored = record.as_ref().map(|(_, hash)| hash.clone());
    let known = record.is_some();
    // Argon2 is deliberately slow: keep it off the async threads. The verdict is settled
    // there too, so a client hanging up mid-check cannot leave its guess uncounted.
    let valid = tokio::task::spawn_blocking(move || {
        let valid = verify_password(&password, stored.as_deref().unwrap_or_else(|| decoy_hash()));
        if valid && known {
            attempt.succeeded();
        } else {
            attempt.failed(now);
        }
        valid
    })
    .await
    .map_err(ApiError::internal)?;
    let user = match record {
        Some((user, _)) if valid => user,
        _ => {
            let entry = AuditEntry {
                actor: format!("ip:{ip}"),
                action: "auth.login_failed".into(),
                subject: format!("user:{}", request.username),
                details: serde_json::json!({}),
            };
            state.storage.append_audit(entry, now).await?;
            return Err(ApiError::unauthorized("wrong username or password"));
        }
    };
    let token = new_secret(SESSION_TOKEN_PREFIX);
    let expires_at = now + SESSION_LIFETIME;
    state
        .storage
        .create_session(secret_hash(&token), user.id, now, expires_at)
        .await?;
    Ok(Json(LoginResponse {
        token,
        expires_at,
        user,
    }))
}

/// End this session, a staff session or a requester session: the token stops working at
/// once. A device credential is no session (remove the device to revoke it): 403.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody)))]
pub async fn logout(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    parts: axum::http::HeaderMap,
) -> ApiResult<StatusCode> {
    let token = parts
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .map(|(_, t)| t.trim())
        .ok_or_else(|| ApiError::unauthorized("sign in first"))?;
    let hash = secret_hash(token);
    match caller {
        Caller::Staff(_) => {
            state.credentials.evict(&hash);
            state.storage.delete_session(hash).await?;
        }
        Caller::Requester { .. } if token.starts_with(REQUESTER_SESSION_PREFIX) => {
            state.credentials.evict(&hash);
            state.storage.delete_requester_session(hash).await?;
        }
        Caller::Requester { .. } => {
            return Err(ApiError::forbidden(
                "a device credential is not a session: remove the device to revoke it",
            ));
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum Me {
    Staff {
        user: StaffUser,
    },
    Requester {
        device: Device,
        username: String,
        display_name: String,
    },
}

/// Who the token belongs to.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses((status = 200, body = Me), (status = 401, body = crate::error::ErrorBody)))]
pub async fn me(caller: Caller) -> Json<Me> {
    Json(match caller {
        Caller::Staff(user) => Me::Staff { user },
        Caller::Requester {
            device,
            username,
            display_name,
        } => Me::Requester {
            device,
            username,
            display_name,
        },
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnrollRequest {
    pub token: String,
    pub hostname: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnrollResponse {
    pub device_id: String,
    /// The device's credential: send as `Authorization: Bearer <credential>` with the local
    /// user in `X-Deskside-Local-User`. Shown once.
    pub credential: String,
    /// The server's Ed25519 order-signing public key (base64): pin it, and run only orders
    /// it signed.
    pub order_signing_key: String,
    pub order_key_id: String,
}

/// Enroll a device with a one-time token.
#[utoipa::path(post, path = "/api/v1/devices/enroll", tag = "devices", request_body = EnrollRequest,
    responses((status = 201, body = EnrollResponse), (status = 401, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn enroll(
    State(state): State<Arc<AppState>>,
    body: JsonBody<EnrollRequest>,
) -> ApiResult<(StatusCode, Json<EnrollResponse>)> {
    let request = body.value;
    let mut errors = deskside_core::ValidationErrors::default();
    errors.require_text("hostname", &request.hostname, 253);
    errors.into_result().map_err(ApiError::validation)?;
    let now = state.clock.now();
    let device_id = new_device_id();
    let credential = new_secret(DEVICE_CREDENTIAL_PREFIX);
    let device = NewDevice {
        id: device_id.clone(),
        hostname: request.hostname.trim().to_owned(),
        credential_hash: secret_hash(&credential),
    };
    let audit = AuditEntry {
        actor: format!("device:{device_id}"),
        action: "device.enroll".into(),
        subject: format!("device:{device_id}"),
        details: serde_json::json!({ "hostname": device.hostname }),
    };
    state
        .storage
        .enroll_device(secret_hash(request.token.trim()), device, audit, now)
        .await
        .map_err(|error| match error {
            crate::storage::StorageError::NotFound(_)
            | crate::storage::StorageError::Conflict(_) => {
                ApiError::unauthorized("the enrollment token is unknown, used or expired")
            }
            other => other.into(),
        })?;
    Ok((
        StatusCode::CREATED,
        Json(EnrollResponse {
            device_id,
            credential,
            order_signing_key: state.order_signer.public_key_base64(),
            order_key_id: state.order_signer.key_id().to_owned(),
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserSessionRequest {
    /// The account signed in on the device, as its operating system names it (`alice`).
    /// 1–64 characters, no control characters.
    pub local_user: String,
    /// The person's name, if the operating system knows it (the account's full name).
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSessionResponse {
    /// Send as `Authorization: Bearer <token>`: the caller is then this device's local user,
    /// exactly as with the device credential and `X-Deskside-Local-User`. Shown once.
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for UserSessionResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserSessionResponse")
            .field("token", &"<hidden>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Checks a name that a requester session carries: no control characters, no surrounding
/// spaces (the operating system's names have none; a padded one is a confused caller).
fn check_name(errors: &mut deskside_core::ValidationErrors, field: &str, value: &str) {
    if value.chars().any(char::is_control) {
        errors.add(field, "must not contain control characters");
    } else if value.trim() != value {
        errors.add(field, "must not start or end with spaces");
    }
}

/// A device's agent vouches for the user signed in on it: the answer is a requester
/// session for that user on this device, for the user's desktop app, which cannot read the
/// device credential. Only the device credential may ask (the agent learns who the user is
/// from the operating system, not from the user).
#[utoipa::path(post, path = "/api/v1/devices/user-sessions", tag = "devices",
    request_body = UserSessionRequest,
    responses((status = 201, body = UserSessionResponse), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody, description = "issued too often for this account; see Retry-After")))]
pub async fn create_user_session(
    State(state): State<Arc<AppState>>,
    DeviceAgent(device): DeviceAgent,
    body: JsonBody<UserSessionRequest>,
) -> ApiResult<(StatusCode, Json<UserSessionResponse>)> {
    let request = body.value;
    validate_user_session(&request)?;
    let now = state.clock.now();
    // Throttled calls write nothing, not even an audit line: the limit is what bounds both.
    state
        .requester_session_limiter
        .take(&device.id, &request.local_user, now)
        .map_err(|seconds| {
            ApiError::too_many_requests(format!(
                "too many sessions for {} on this device; try again in {seconds} s",
                request.local_user
            ))
            .with_retry_after(seconds)
        })?;
    issue_user_session(&state, &device, request, now).await
}

fn validate_user_session(request: &UserSessionRequest) -> ApiResult<()> {
    let mut errors = deskside_core::ValidationErrors::default();
    errors.require_text("localUser", &request.local_user, MAX_LOCAL_USER_CHARS);
    if errors.is_empty() {
        check_name(&mut errors, "localUser", &request.local_user);
    }
    if let Some(name) = &request.display_name {
        let before = errors.0.len();
        errors.limit_text("displayName", name, MAX_DISPLAY_NAME_CHARS);
        if errors.0.len() == before && name.chars().any(char::is_control) {
            errors.add("displayName", "must not contain control characters");
        }
    }
    errors.into_result().map_err(ApiError::validation)
}

/// Stores a new session (revoking the account's oldest beyond [`LIVE_REQUESTER_SESSIONS`])
/// with its audit line.
async fn issue_user_session(
    state: &AppState,
    device: &Device,
    request: UserSessionRequest,
    now: DateTime<Utc>,
) -> ApiResult<(StatusCode, Json<UserSessionResponse>)> {
    let display_name = request
        .display_name
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty());
    let token = new_secret(REQUESTER_SESSION_PREFIX);
    let expires_at = now + REQUESTER_SESSION_LIFETIME;
    let audit = AuditEntry {
        actor: format!("device:{}", device.id),
        action: "device.user_session_create".into(),
        subject: format!("device:{}/{}", device.id, request.local_user),
        details: serde_json::json!({
            "localUser": request.local_user,
            "expiresAt": expires_at,
        }),
    };
    let session = NewRequesterSession {
        token_hash: secret_hash(&token),
        device_id: device.id.clone(),
        local_user: request.local_user.clone(),
        display_name: display_name.map(str::to_owned),
        expires_at,
    };
    let revoked = state
        .storage
        .create_requester_session(session, LIVE_REQUESTER_SESSIONS, audit, now)
        .await?;
    for hash in revoked {
        state.credentials.evict(&hash);
    }
    Ok((
        StatusCode::CREATED,
        Json(UserSessionResponse { token, expires_at }),
    ))
}

fn new_device_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    format!("dev_{}", hex::encode(bytes))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnrollmentTokenRequest {
    /// Hours until the token expires, 1–720; default 24.
    #[serde(default)]
    pub expires_in_hours: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnrollmentTokenResponse {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Issue a one-time device enrollment token (supervisor or admin).
#[utoipa::path(post, path = "/api/v1/enrollment-tokens", tag = "devices",
    request_body = EnrollmentTokenRequest,
    responses((status = 201, body = EnrollmentTokenResponse), (status = 403, body = crate::error::ErrorBody)))]
pub async fn create_enrollment_token(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: JsonBody<EnrollmentTokenRequest>,
) -> ApiResult<(StatusCode, Json<EnrollmentTokenResponse>)> {
    caller.require_role(&[Role::Supervisor, Role::Admin])?;
    let hours = body.value.expires_in_hours.unwrap_or(24);
    if !(1..=720).contains(&hours) {
        return Err(ApiError::field(
            "expiresInHours",
            "must be between 1 and 720",
        ));
    }
    let (token, expires_at) = issue_enrollment_token(
        &state,
        Duration::hours(i64::from(hours)),
        caller.audit_name(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(EnrollmentTokenResponse { token, expires_at }),
    ))
}

/// Makes and stores a one-time token; shared by the API and the CLI.
pub async fn issue_enrollment_token(
    state: &AppState,
    lifetime: Duration,
    actor: String,
) -> ApiResult<(String, DateTime<Utc>)> {
    let now = state.clock.now();
    let token = new_secret(ENROLLMENT_TOKEN_PREFIX);
    let expires_at = now + lifetime;
    let audit = AuditEntry {
        actor,
        action: "device.enrollment_token_create".into(),
        subject: "enrollment_token".into(),
        details: serde_json::json!({ "expiresAt": expires_at }),
    };
    state
        .storage
        .create_enrollment_token(secret_hash(&token), expires_at, audit, now)
        .await?;
    Ok((token, expires_at))
}
