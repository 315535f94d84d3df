//! Driving the real deskside-server binary through its CLI and HTTP API, exactly as an
//! operator and a client would.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::baseline::TICKETS_PATH;
use crate::child::{ServerProcess, run_logged};
use crate::http_client::{Connection, encode_request};

/// Created by `deskside-server demo seed`.
pub const DEMO_ADMIN: &str = "admin";
pub const DEMO_PASSWORD: &str = "deskside-demo";

/// Migrations and opening a large database can take a moment on a cold cache.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

const LOGIN_PATH: &str = "/api/v1/auth/login";
const ENROLLMENT_TOKENS_PATH: &str = "/api/v1/enrollment-tokens";
const ENROLL_PATH: &str = "/api/v1/devices/enroll";
const SNAPSHOTS_PATH: &str = "/api/v1/agent/snapshots";
/// A device's long-poll for orders; `/{id}/report` below it takes its reports.
pub const ORDERS_PATH: &str = "/api/v1/agent/orders";
/// The local user a device files tickets for.
const LOCAL_USER_HEADER: &str = "X-Deskside-Local-User";

/// Every API call in the setup of a benchmark answers in milliseconds; this means stuck.
const API_TIMEOUT: Duration = Duration::from_secs(30);

/// A typical ticket as the desktop app files it; the baselines receive the same bytes.
pub const TICKET_JSON: &str = concat!(
    r#"{"title":"Printer on floor 2 jams","#,
    r#""description":"The shared printer next to the kitchen jams on every duplex job since this morning. "#,
    r#"Single-sided pages print fine. I restarted it once, no change. Paper tray 2 is full.","#,
    r#""category":"printer","impact":"team","urgency":"degraded","#,
    r#""requester":{"name":"Dana Office","userKind":"internal_staff"}}"#
);

/// `deskside-server demo seed --data-dir DIR [--bulk-tickets N]`; returns how long it took.
pub fn seed(
    binary: &Path,
    data_dir: &Path,
    bulk_tickets: Option<u64>,
    log_path: &Path,
) -> anyhow::Result<Duration> {
    let mut command = Command::new(binary);
    command.args(["demo", "seed", "--data-dir"]).arg(data_dir);
    if let Some(count) = bulk_tickets {
        command.args(["--bulk-tickets", &count.to_string()]);
    }
    let started = Instant::now();
    run_logged(command, log_path)?;
    Ok(started.elapsed())
}

/// `deskside-server serve --listen 127.0.0.1:0 --data-dir DIR`, up and listening.
pub fn serve(binary: &Path, data_dir: &Path, log_path: &Path) -> anyhow::Result<ServerProcess> {
    let mut command = Command::new(binary);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir);
    ServerProcess::start(command, log_path, STARTUP_TIMEOUT)
}

/// Logs in as the demo admin; returns the bearer token.
pub fn login(address: SocketAddr) -> anyhow::Result<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async { ApiClient::connect(address).await?.login().await })
}

/// One keep-alive connection to deskside-server's API, speaking JSON. Every call checks
/// the status it expects and fails with the method, path, status and the answer's start.
pub struct ApiClient {
    connection: Connection,
    address: SocketAddr,
}

impl ApiClient {
    pub async fn connect(address: SocketAddr) -> anyhow::Result<ApiClient> {
        let connection = Connection::open(address)
            .await
            .with_context(|| format!("connecting to {address}"))?;
        Ok(ApiClient {
            connection,
            address,
        })
    }

    /// Sends one request; returns the answer as JSON (`Null` when it has no body).
    pub async fn call(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        expected_status: u16,
    ) -> anyhow::Result<serde_json::Value> {
        let mut all_headers = headers.to_vec();
        if body.is_some() {
            all_headers.push(("Content-Type", "application/json"));
        }
        let request = encode_request(
            method,
            self.address,
            path,
            &all_headers,
            body.unwrap_or_default(),
        );
        self.send_encoded(&request, expected_status).await
    }

    /// Sends a request encoded up front (by [`encode_request`]), as [`ApiClient::call`] does.
    pub async fn send_encoded(
        &mut self,
        request: &[u8],
        expected_status: u16,
    ) -> anyhow::Result<serde_json::Value> {
        let what = request_line(request);
        let response = tokio::time::timeout(API_TIMEOUT, self.connection.send(request))
            .await
            .with_context(|| format!("{what}: no answer within {API_TIMEOUT:?}"))?
            .with_context(|| what.clone())?;
        if response.status != expected_status {
            bail!(
                "{what} answered HTTP {} (expected {expected_status}): {}",
                response.status,
                body_start(response.body)
            );
        }
        if response.body.is_empty() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_slice(response.body)
            .with_context(|| format!("{what}: the answer is not JSON"))
    }

    /// Logs in as the demo admin; returns the bearer token.
    pub async fn login(&mut self) -> anyhow::Result<String> {
        let body =
            serde_json::json!({ "username": DEMO_ADMIN, "password": DEMO_PASSWORD }).to_string();
        let answer = self
            .call("POST", LOGIN_PATH, &[], Some(body.as_bytes()), 200)
            .await
            .with_context(|| format!("logging in as {DEMO_ADMIN:?}"))?;
        string_field(&answer, "token", LOGIN_PATH)
    }

    /// Issues a one-time enrollment token as staff and enrolls a device with it; returns
    /// the device's credential, sent as `Authorization: Bearer <credential>`.
    pub async fn enroll_device(
        &mut self,
        staff_authorization: &str,
        hostname: &str,
    ) -> anyhow::Result<String> {
        let token_answer = self
            .call(
                "POST",
                ENROLLMENT_TOKENS_PATH,
                &[("Authorization", staff_authorization)],
                Some(b"{}"),
                201,
            )
            .await?;
        let token = string_field(&token_answer, "token", ENROLLMENT_TOKENS_PATH)?;
        let body = serde_json::json!({ "token": token, "hostname": hostname }).to_string();
        let enrolled = self
            .call("POST", ENROLL_PATH, &[], Some(body.as_bytes()), 201)
            .await?;
        string_field(&enrolled, "credential", ENROLL_PATH)
    }

    /// Uploads a diagnostics snapshot as the device, which records its platform.
    pub async fn upload_snapshot(
        &mut self,
        device_authorization: &str,
        snapshot_json: &str,
    ) -> anyhow::Result<()> {
        self.call(
            "POST",
            SNAPSHOTS_PATH,
            &[("Authorization", device_authorization)],
            Some(snapshot_json.as_bytes()),
            201,
        )
        .await?;
        Ok(())
    }

    /// Files [`TICKET_JSON`] as the device for its local user; returns the ticket's id.
    pub async fn create_ticket_as_device(
        &mut self,
        device_authorization: &str,
        local_user: &str,
    ) -> anyhow::Result<i64> {
        let ticket = self
            .call(
                "POST",
                TICKETS_PATH,
                &[
                    ("Authorization", device_authorization),
                    (LOCAL_USER_HEADER, local_user),
                ],
                Some(TICKET_JSON.as_bytes()),
                201,
            )
            .await?;
        ticket
            .get("id")
            .and_then(serde_json::Value::as_i64)
            .with_context(|| format!("POST {TICKETS_PATH}: no integer field `id` in the answer"))
    }
}

fn string_field(answer: &serde_json::Value, field: &str, path: &str) -> anyhow::Result<String> {
    answer
        .get(field)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("{path}: no string field `{field}` in the answer"))
}

/// `POST /api/v1/tickets` from an encoded request, for error messages.
fn request_line(request: &[u8]) -> String {
    let line = request
        .split(|&byte| byte == b'\r')
        .next()
        .unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    line.trim_end_matches(" HTTP/1.1").to_owned()
}

/// The first 300 bytes of an answer, for error messages.
pub fn body_start(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned()
}

/// Headers every benchmark request carries, baselines included, so that all of them put
/// the same bytes on the wire.
pub fn json_headers(authorization: &str) -> [(&str, &str); 2] {
    [
        ("Authorization", authorization),
        ("Content-Type", "application/json"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_line_names_method_and_path() {
        let address: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let request = encode_request("POST", address, "/api/v1/x?y=1", &[], b"{}");
        assert_eq!(request_line(&request), "POST /api/v1/x?y=1");
    }
}
