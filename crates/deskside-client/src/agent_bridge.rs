//! The desktop app's side of the agent's local bridge: how the app, running as the signed-in
//! user, gets a requester session and the user's temporary passwords from the device's
//! agent, which holds the device credential the user may not read, and tells it which
//! diagnostics sections the user does not want shared.
//!
//! One Unix-socket connection per call: one JSON request line, one JSON answer line. The
//! agent learns who is asking from the kernel (the socket's peer credentials), so nothing
//! here names a user. Linux and macOS only; elsewhere every call fails with
//! `unsupported_platform` (Windows will get a named pipe).

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::api::Auth;

/// Where the agent listens unless configured otherwise (its `--socket`).
pub fn default_socket() -> PathBuf {
    if cfg!(target_os = "macos") {
        PathBuf::from("/var/run/deskside/agent.sock")
    } else {
        PathBuf::from("/run/deskside/agent.sock")
    }
}

/// A whole call may take this long: the agent may wait up to 40 s on the server for a
/// session, plus the exchange itself.
const CALL_TIMEOUT: Duration = Duration::from_secs(50);
/// Largest answer read: a session is about 300 bytes, a secret about 150.
const MAX_ANSWER_BYTES: u64 = 1024 * 1024;

/// A requester session for the signed-in user, as the agent obtained it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSession {
    /// The server to use the token with (`https://…`).
    pub server: String,
    /// The account the agent vouched for: the one this process runs as.
    pub local_user: String,
    /// The person's name, if the operating system knows it.
    #[serde(default)]
    pub display_name: Option<String>,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

impl UserSession {
    /// The API credentials: use with [`crate::Client::with_auth`].
    pub fn auth(&self) -> Auth {
        Auth::Requester {
            token: self.token.clone(),
        }
    }
}

impl std::fmt::Debug for UserSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserSession")
            .field("server", &self.server)
            .field("local_user", &self.local_user)
            .field("display_name", &self.display_name)
            .field("token", &"<hidden>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A temporary password set by a help-desk password reset, for this user only. The agent
/// hands each one out once.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingSecret {
    pub order_id: String,
    /// The account whose password was reset.
    pub account: String,
    pub password: String,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for PendingSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSecret")
            .field("order_id", &self.order_id)
            .field("account", &self.account)
            .field("password", &"<hidden>")
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// Why a bridge call failed. Branch on [`BridgeError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BridgeError {
    /// No agent listens at the socket (not installed, not running, not this platform's
    /// path), or it could not be reached.
    #[error("the Deskside agent is not available on this machine: {0}")]
    Unavailable(String),
    /// The agent did not answer in time.
    #[error("the Deskside agent did not answer in time")]
    Timeout,
    /// The agent answered with a failure: its `code` (`not_enrolled`, `offline`,
    /// `bad_request`, `unknown_user`, `server_error`, `refused`, `busy`, `internal`).
    #[error("{code}: {message}")]
    Agent { code: String, message: String },
    /// The answer is not the bridge's shape.
    #[error("unexpected answer from the Deskside agent: {0}")]
    Protocol(String),
    /// This platform has no bridge yet.
    #[error("the agent bridge is not supported on this platform yet")]
    Unsupported,
}

impl BridgeError {
    /// `agent_unavailable`, `agent_timeout`, `protocol`, `unsupported_platform`, or the
    /// agent's own code.
    pub fn code(&self) -> &str {
        match self {
            BridgeError::Unavailable(_) => "agent_unavailable",
            BridgeError::Timeout => "agent_timeout",
            BridgeError::Agent { code, .. } => code,
            BridgeError::Protocol(_) => "protocol",
            BridgeError::Unsupported => "unsupported_platform",
        }
    }
}

/// Asks the agent listening at `socket` for a requester session for the user this process
/// runs as.
pub async fn user_session(socket: &Path) -> Result<UserSession, BridgeError> {
    call(socket, r#"{"op":"userSession"}"#).await
}

/// Collects the temporary passwords waiting for the user this process runs as. Each is
/// handed out once: the agent deletes it after this answer, so show it (or keep it) now.
pub async fn pending_secrets(socket: &Path) -> Result<Vec<PendingSecret>, BridgeError> {
    #[derive(Deserialize)]
    struct Secrets {
        secrets: Vec<PendingSecret>,
    }
    let answer: Secrets = call(socket, r#"{"op":"pendingSecrets"}"#).await?;
    Ok(answer.secrets)
}

/// Tells the agent which diagnostics sections the user this process runs as switched off
/// (the whole list; empty switches everything back on). The agent leaves them out of what
/// it sends on its own and answers with what it now keeps out.
pub async fn sharing_choices(
    socket: &Path,
    withheld: &std::collections::BTreeSet<deskside_diagnostics::SectionName>,
) -> Result<Vec<deskside_diagnostics::SectionName>, BridgeError> {
    #[derive(Deserialize)]
    struct Kept {
        withheld: Vec<deskside_diagnostics::SectionName>,
    }
    let request = serde_json::json!({"op": "sharingChoices", "withheld": withheld}).to_string();
    let answer: Kept = call(socket, &request).await?;
    Ok(answer.withheld)
}

/// Failure answers: `{"ok":false,"code":…,"message":…}`.
#[derive(Deserialize)]
struct Status {
    ok: bool,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// Reads an answer line into `T`, or the agent's failure.
fn decode<T: serde::de::DeserializeOwned>(line: &[u8]) -> Result<T, BridgeError> {
    let status: Status = serde_json::from_slice(line)
        .map_err(|e| BridgeError::Protocol(format!("not a bridge answer: {e}")))?;
    if !status.ok {
        return Err(BridgeError::Agent {
            code: status.code.unwrap_or_else(|| "unknown".to_owned()),
            message: status.message.unwrap_or_default(),
        });
    }
    serde_json::from_slice(line).map_err(|e| BridgeError::Protocol(e.to_string()))
}

#[cfg(unix)]
async fn call<T: serde::de::DeserializeOwned>(
    socket: &Path,
    request: &str,
) -> Result<T, BridgeError> {
    let line = tokio::time::timeout(CALL_TIMEOUT, exchange(socket, request))
        .await
        .map_err(|_| BridgeError::Timeout)??;
    decode(&line)
}

#[cfg(unix)]
async fn exchange(socket: &Path, request: &str) -> Result<Vec<u8>, BridgeError> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let mut stream = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|e| BridgeError::Unavailable(format!("{}: {e}", socket.display())))?;
    let mut line = request.as_bytes().to_vec();
    line.push(b'\n');
    stream
        .write_all(&line)
        .await
        .map_err(|e| BridgeError::Unavailable(format!("sending the request: {e}")))?;
    let mut answer = Vec::new();
    BufReader::new(stream.take(MAX_ANSWER_BYTES))
        .read_until(b'\n', &mut answer)
        .await
        .map_err(|e| BridgeError::Unavailable(format!("reading the answer: {e}")))?;
    if answer.is_empty() {
        return Err(BridgeError::Protocol(
            "the agent closed the connection without an answer".to_owned(),
        ));
    }
    if !answer.ends_with(b"\n") {
        return Err(BridgeError::Protocol(
            "the answer is cut short or too large".to_owned(),
        ));
    }
    Ok(answer)
}

#[cfg(not(unix))]
async fn call<T: serde::de::DeserializeOwned>(
    socket: &Path,
    request: &str,
) -> Result<T, BridgeError> {
    let _ = (socket, request, CALL_TIMEOUT, MAX_ANSWER_BYTES);
    Err(BridgeError::Unsupported)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_decode_into_values_or_the_agent_s_failure() {
        let session: UserSession = decode(
            br#"{"ok":true,"server":"https://desk.example.org","localUser":"alice","displayName":"Alice Example","token":"dsr_secret","expiresAt":"2026-04-01T09:00:00Z"}
"#,
        )
        .unwrap();
        assert_eq!(session.local_user, "alice");
        assert_eq!(session.display_name.as_deref(), Some("Alice Example"));
        assert_eq!(
            session.auth(),
            Auth::Requester {
                token: "dsr_secret".into()
            }
        );
        let shown = format!("{session:?} {:?}", session.auth());
        assert!(!shown.contains("dsr_secret"), "{shown}");

        let failure = decode::<UserSession>(
            br#"{"ok":false,"code":"not_enrolled","message":"enroll again"}"#,
        )
        .unwrap_err();
        assert_eq!(failure.code(), "not_enrolled");
        assert_eq!(
            decode::<UserSession>(b"<html>").unwrap_err().code(),
            "protocol"
        );
        assert_eq!(
            decode::<UserSession>(br#"{"ok":true}"#).unwrap_err().code(),
            "protocol"
        );

        let secret: PendingSecret = serde_json::from_str(
            r#"{"orderId":"ord_1","account":"alice","password":"Tmp234abcDEFGH","createdAt":"2026-03-02T09:00:00Z"}"#,
        )
        .unwrap();
        assert!(!format!("{secret:?}").contains("Tmp234"));
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn no_agent_at_the_socket_is_agent_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let error = user_session(&dir.path().join("agent.sock"))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "agent_unavailable", "{error}");
        // A socket file nobody listens on (an agent that was killed).
        let path = dir.path().join("stale.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let error = pending_secrets(&path).await.unwrap_err();
        assert_eq!(error.code(), "agent_unavailable", "{error}");
    }
}
