//! The local bridge: how the signed-in user's desktop app gets what only the agent may hold.
//!
//! The desktop app runs as the office user; the device credential is root's (a 0600 file on
//! Linux, LocalSystem's credential on Windows) and must stay so, or any local user could
//! speak as any other. So while `deskside-agent run` runs it listens on a Unix domain socket
//! (default [`default_socket_path`], mode 0666: any local user may connect). Who connects is
//! the kernel's word (`SO_PEERCRED` / `getpeereid`: the peer's uid, looked up in
//! [`accounts`]), never something the client says.
//!
//! Protocol: the client sends one JSON line, the agent answers one JSON line and closes.
//! - `{"op":"userSession"}` → the agent asks the server (`POST /devices/user-sessions`, with
//!   the device credential) for a requester session for the peer's account and answers
//!   `{"ok":true,"server":URL,"localUser":NAME,"displayName":NAME?,"token":…,"expiresAt":…}`.
//! - `{"op":"pendingSecrets"}` → the temporary passwords waiting for the peer's account (and
//!   nobody else's), deleted once the answer is written:
//!   `{"ok":true,"secrets":[{"orderId","account","password","createdAt"}]}`.
//! - `{"op":"sharingChoices","withheld":["processes","software"]}` → remembers, for the
//!   peer's account, the diagnostics sections its user switched off (the whole list, each a
//!   section name; `[]` switches everything back on), which the agent then leaves out of
//!   what it sends on its own ([`crate::sharing`]); answers
//!   `{"ok":true,"localUser":NAME,"withheld":[…]}`.
//! - Failures: `{"ok":false,"code":…,"message":…}` with the codes of [`Failure`].
//!
//! Requests are at most [`MAX_REQUEST_BYTES`] and must arrive within [`READ_TIMEOUT`]; each
//! connection is its own task, at most [`MAX_CONNECTIONS`] at once and
//! [`MAX_CONNECTIONS_PER_USER`] per uid. A connection over either limit is still accepted and
//! told `{"ok":false,"code":"busy",…}`, never reset: the agent writes the line, shuts its
//! side down, and reads what the client sent until it closes (up to
//! [`BUSY_DRAIN_TIMEOUT`]), because a Unix socket closed with unread data resets the peer.
//!
//! Windows: not yet. The design is a named pipe (`\\.\pipe\deskside-agent`) whose server
//! identifies the client by impersonating it (`ImpersonateNamedPipeClient`) and reading the
//! token's user; until then [`start`] says so and the daemon runs without the bridge.

// Windows has no bridge yet: its protocol pieces are unused there.
#![cfg_attr(not(unix), allow(dead_code))]

#[cfg(unix)]
pub mod accounts;
#[cfg(unix)]
mod unix;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deskside_diagnostics::SectionName;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::client::{ApiClient, ApiError};
use crate::orders::PendingSecret;
use crate::sharing::SharingChoices;

pub const SOCKET_ENV: &str = "DESKSIDE_AGENT_SOCKET";
/// Largest request line accepted.
pub const MAX_REQUEST_BYTES: usize = 4 * 1024;
/// A client must send its request within this time.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Writing the answer may take this long before the client counts as gone.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once, over all users; more are told `busy` and closed.
pub const MAX_CONNECTIONS: usize = 32;
/// Connections one account (uid) may have served at once: well under [`MAX_CONNECTIONS`],
/// so one local user holding connections open cannot keep the others out.
pub const MAX_CONNECTIONS_PER_USER: usize = 4;
/// `busy` answers being delivered at once; beyond that a connection is closed unanswered.
pub const MAX_BUSY_ANSWERS: usize = 64;
/// After a `busy` answer, how long the agent reads what the client sent before closing.
pub const BUSY_DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// Where the bridge listens unless told otherwise.
pub fn default_socket_path() -> PathBuf {
    #[cfg(target_os = "macos")]
    {
        // The system volume is read-only on macOS: no /run.
        PathBuf::from("/var/run/deskside/agent.sock")
    }
    #[cfg(windows)]
    {
        // The planned named pipe; not served yet.
        PathBuf::from(r"\\.\pipe\deskside-agent")
    }
    #[cfg(not(any(target_os = "macos", windows)))]
    {
        PathBuf::from("/run/deskside/agent.sock")
    }
}

/// What the bridge needs from the daemon.
pub struct BridgeSetup {
    pub socket: PathBuf,
    /// Carries the device credential.
    pub client: ApiClient,
    pub server_url: String,
    pub pending_secrets_dir: PathBuf,
    /// Where `sharingChoices` are kept.
    pub sharing: Arc<SharingChoices>,
    pub shutdown: watch::Receiver<bool>,
}

/// Starts the bridge: binds the socket and serves it on a task until shutdown, then removes
/// the socket file. An error means the bridge is off; the daemon goes on without it.
#[cfg(unix)]
pub fn start(setup: BridgeSetup) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    unix::start(setup)
}

/// Not supported on Windows yet: the intended design is a named pipe whose server
/// impersonates the connecting client (`ImpersonateNamedPipeClient`) to learn its account,
/// the equivalent of the Unix peer credentials. Until it is written the daemon logs this
/// and runs without the bridge.
#[cfg(windows)]
pub fn start(setup: BridgeSetup) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let _ = setup;
    anyhow::bail!(
        "the local bridge for desktop apps is not supported on Windows yet (planned: a named \
         pipe that identifies its client by impersonation)"
    )
}

/// A request line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    UserSession,
    PendingSecrets,
    SharingChoices { withheld: BTreeSet<SectionName> },
}

/// A request as sent: `{"op": …}` (and `withheld` for `sharingChoices`), nothing else (a
/// client cannot name a user).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireRequest {
    op: String,
    #[serde(default)]
    withheld: Option<Vec<String>>,
}

const OPS: &str = "userSession, pendingSecrets and sharingChoices";

/// Parses a request line (a trailing newline is optional).
pub fn parse_request(line: &[u8]) -> Result<Request, Failure> {
    let text = std::str::from_utf8(line)
        .map_err(|_| Failure::bad_request("the request is not UTF-8"))?
        .trim();
    if text.is_empty() {
        return Err(Failure::bad_request(
            "send one JSON request line, e.g. {\"op\":\"userSession\"}",
        ));
    }
    let wire: WireRequest = serde_json::from_str(text).map_err(|e| {
        Failure::bad_request(format!(
            "not a request ({e}); send {{\"op\":\"userSession\"}}, for instance (the ops are {OPS})"
        ))
    })?;
    match (wire.op.as_str(), wire.withheld) {
        ("userSession", None) => Ok(Request::UserSession),
        ("pendingSecrets", None) => Ok(Request::PendingSecrets),
        ("sharingChoices", Some(names)) => Ok(Request::SharingChoices {
            withheld: withheld_sections(&names)?,
        }),
        ("sharingChoices", None) => Err(Failure::bad_request(
            "sharingChoices needs `withheld`: the list of sections not to share",
        )),
        (op @ ("userSession" | "pendingSecrets"), Some(_)) => Err(Failure::bad_request(format!(
            "`withheld` belongs to sharingChoices, not {op}"
        ))),
        (other, _) => Err(Failure::bad_request(format!(
            "unknown op {:?}; the ops are {OPS}",
            other.chars().take(64).collect::<String>()
        ))),
    }
}

/// Section names exactly as the snapshot spells them (`software`, not `Software `).
fn withheld_sections(names: &[String]) -> Result<BTreeSet<SectionName>, Failure> {
    names
        .iter()
        .map(|name| {
            SectionName::exact(name).ok_or_else(|| {
                Failure::bad_request(format!(
                    "unknown section {:?}; the sections are {}",
                    name.chars().take(64).collect::<String>(),
                    SectionName::valid_names()
                ))
            })
        })
        .collect()
}

/// `{"ok":true,…}` for `userSession`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionAnswer<'a> {
    pub ok: bool,
    pub server: &'a str,
    pub local_user: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<&'a str>,
    pub token: &'a str,
    pub expires_at: DateTime<Utc>,
}

/// `{"ok":true,"secrets":[…]}` for `pendingSecrets`.
#[derive(Serialize)]
pub struct SecretsAnswer<'a> {
    pub ok: bool,
    pub secrets: Vec<&'a PendingSecret>,
}

/// `{"ok":true,"localUser":…,"withheld":[…]}` for `sharingChoices`: what is now kept.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SharingAnswer<'a> {
    pub ok: bool,
    pub local_user: &'a str,
    pub withheld: &'a BTreeSet<SectionName>,
}

/// `{"ok":false,"code":…,"message":…}`. Codes: `bad_request` (malformed, oversized or late
/// request), `unknown_user` (the peer's uid has no account), `not_enrolled` (the server no
/// longer knows this device), `offline` (the server cannot be reached), `server_error`,
/// `refused` (the server refused the request), `busy`, `internal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub ok: bool,
    pub code: &'static str,
    pub message: String,
}

impl Failure {
    pub fn new(code: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            ok: false,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Failure {
        Failure::new("bad_request", message)
    }

    /// What the desktop app is told when the server call fails.
    pub fn from_api(error: &ApiError) -> Failure {
        match error {
            ApiError::Unreachable(_) => Failure::new("offline", error.to_string()),
            ApiError::Unauthorized { .. } => Failure::new(
                "not_enrolled",
                "the server no longer accepts this device's enrollment; ask IT to enroll it again",
            ),
            // The server limits how often an account gets a new session: ask again later.
            ApiError::Server { status: 429, .. } => Failure::new("busy", error.to_string()),
            ApiError::Server { .. } | ApiError::InvalidResponse(_) => {
                Failure::new("server_error", error.to_string())
            }
            ApiError::Refused { .. } => Failure::new("refused", error.to_string()),
        }
    }
}

/// One answer line, newline included. Serialising these types cannot fail; if it ever
/// did, the client gets an `internal` failure rather than nothing.
pub fn answer_line<T: Serialize>(answer: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(answer).unwrap_or_else(|_| {
        br#"{"ok":false,"code":"internal","message":"the agent could not encode its answer"}"#
            .to_vec()
    });
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_or_fail_as_bad_requests() {
        assert_eq!(
            parse_request(b"{\"op\":\"userSession\"}\n"),
            Ok(Request::UserSession)
        );
        assert_eq!(
            parse_request(b" {\"op\":\"pendingSecrets\"} "),
            Ok(Request::PendingSecrets)
        );
        assert_eq!(
            parse_request(
                br#"{"op":"sharingChoices","withheld":["processes","software","processes"]}"#
            ),
            Ok(Request::SharingChoices {
                withheld: [SectionName::Processes, SectionName::Software].into()
            })
        );
        assert_eq!(
            parse_request(br#"{"op":"sharingChoices","withheld":[]}"#),
            Ok(Request::SharingChoices {
                withheld: BTreeSet::new()
            })
        );
        for bad in [
            &b""[..],
            b"\n",
            b"hello\n",
            b"{\"op\":\"deleteEverything\"}",
            b"{\"op\":\"userSession\",\"localUser\":\"root\"}",
            b"{}",
            b"[1,2]",
            b"{\"op\":\"userSession\"} {\"op\":\"userSession\"}",
            b"\xff\xfe",
            b"{\"op\":\"sharingChoices\"}",
            b"{\"op\":\"sharingChoices\",\"withheld\":[\"Software\"]}",
            b"{\"op\":\"sharingChoices\",\"withheld\":\"software\"}",
            b"{\"op\":\"sharingChoices\",\"withheld\":[\"software\"],\"uid\":0}",
            b"{\"op\":\"userSession\",\"withheld\":[]}",
        ] {
            let failure = parse_request(bad).unwrap_err();
            assert_eq!(failure.code, "bad_request", "{bad:?}");
            assert!(!failure.ok);
            assert!(!failure.message.is_empty());
        }
    }

    #[test]
    fn server_failures_map_to_bridge_codes() {
        let code = |e: ApiError| Failure::from_api(&e).code;
        assert_eq!(code(ApiError::Unreachable("refused".into())), "offline");
        assert_eq!(
            code(ApiError::Unauthorized {
                message: "unknown".into()
            }),
            "not_enrolled"
        );
        assert_eq!(
            code(ApiError::Server {
                status: 503,
                message: "down".into()
            }),
            "server_error"
        );
        assert_eq!(
            code(ApiError::Server {
                status: 429,
                message: "too many sessions".into()
            }),
            "busy"
        );
        assert_eq!(
            code(ApiError::Refused {
                status: 404,
                code: "not_found".into(),
                message: "route not found".into()
            }),
            "refused"
        );
    }

    #[test]
    fn answers_are_one_json_line() {
        let line = answer_line(&Failure::new("busy", "try again"));
        assert_eq!(line.last(), Some(&b'\n'));
        assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
        let value: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"ok": false, "code": "busy", "message": "try again"})
        );
        let at = DateTime::parse_from_rfc3339("2026-04-01T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let session = SessionAnswer {
            ok: true,
            server: "https://desk.example.org",
            local_user: "alice",
            display_name: None,
            token: "dsr_x",
            expires_at: at,
        };
        let value: serde_json::Value = serde_json::from_slice(&answer_line(&session)).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"ok": true, "server": "https://desk.example.org",
                "localUser": "alice", "token": "dsr_x", "expiresAt": "2026-04-01T09:00:00Z"})
        );
    }
}
