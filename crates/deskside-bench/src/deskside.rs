//! Driving the real deskside-server binary through its CLI and HTTP API, exactly as an
//! operator and a client would.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::child::{ServerProcess, run_logged};
use crate::http_client::{Connection, encode_request};

/// Created by `deskside-server demo seed`.
pub const DEMO_ADMIN: &str = "admin";
pub const DEMO_PASSWORD: &str = "deskside-demo";

/// Migrations and opening a large database can take a moment on a cold cache.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

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
    runtime.block_on(async {
        let body =
            serde_json::json!({ "username": DEMO_ADMIN, "password": DEMO_PASSWORD }).to_string();
        let request = encode_request(
            "POST",
            address,
            "/api/v1/auth/login",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        let mut connection = Connection::open(address)
            .await
            .with_context(|| format!("connecting to {address}"))?;
        let response = tokio::time::timeout(Duration::from_secs(30), connection.send(&request))
            .await
            .context("POST /api/v1/auth/login: no answer within 30 s")?
            .context("POST /api/v1/auth/login")?;
        if response.status != 200 {
            bail!(
                "POST /api/v1/auth/login as {DEMO_ADMIN:?} answered HTTP {}: {}",
                response.status,
                String::from_utf8_lossy(response.body)
            );
        }
        let answer: serde_json::Value = serde_json::from_slice(response.body)
            .context("POST /api/v1/auth/login: the answer is not JSON")?;
        answer
            .get("token")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .context("POST /api/v1/auth/login: no string field `token` in the answer")
    })
}

/// Headers every benchmark request carries, baselines included, so that all of them put
/// the same bytes on the wire.
pub fn json_headers(authorization: &str) -> [(&str, &str); 2] {
    [
        ("Authorization", authorization),
        ("Content-Type", "application/json"),
    ]
}
