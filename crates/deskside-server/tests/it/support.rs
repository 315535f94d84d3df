//! `spawn_app()` and friends: start the real server, sign in, call the API.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use deskside_server::clock::ManualClock;
use deskside_server::secrets::HashCost;
use deskside_server::{Server, ServerConfig, demo};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

pub const PASSWORD: &str = demo::DEMO_PASSWORD;

/// A running server with the demo staff (admin, sam, alice L1, bob L2, carol L3) and a
/// clock the test moves. Tickets from the demo are not created unless asked for.
pub struct TestApp {
    pub server: Option<Server>,
    pub clock: Arc<ManualClock>,
    pub data_dir: PathBuf,
    _temp: Option<TempDir>,
    pub http: reqwest::Client,
}

/// Monday 2026-03-02 09:00 UTC: inside the default desk hours (UTC, Mon–Fri 08–18).
pub fn monday_morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

pub async fn spawn_app() -> TestApp {
    let temp = tempfile::tempdir().expect("temp dir");
    let data_dir = temp.path().to_owned();
    let mut app = start(data_dir, monday_morning()).await;
    app._temp = Some(temp);
    app
}

async fn start(data_dir: PathBuf, now: DateTime<Utc>) -> TestApp {
    let clock = Arc::new(ManualClock::new(now));
    seed_staff(&data_dir, clock.clone()).await;
    let server = start_server(&data_dir, clock.clone()).await;
    TestApp {
        server: Some(server),
        clock,
        data_dir,
        _temp: None,
        http: reqwest::Client::new(),
    }
}

async fn seed_staff(data_dir: &Path, clock: Arc<ManualClock>) {
    let state = deskside_server::open_state(data_dir, clock, HashCost::Fast)
        .await
        .expect("open state");
    demo::seed_staff(&state).await.expect("seed staff");
}

async fn start_server(data_dir: &Path, clock: Arc<ManualClock>) -> Server {
    let mut config = ServerConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), data_dir.to_owned());
    config.clock = clock;
    config.sla_sweep_every = None;
    config.password_cost = HashCost::Fast;
    Server::start(config).await.expect("server starts")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.as_ref().expect("running").url())
    }

    /// Stops the server and starts a new one on the same data dir (a new port).
    pub async fn restart(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
        self.server = Some(start_server(&self.data_dir, self.clock.clone()).await);
    }

    pub async fn sweep(&self) -> usize {
        self.server
            .as_ref()
            .expect("running")
            .sweep_sla()
            .await
            .expect("sweep")
    }

    pub async fn login(&self, username: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": username, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login {username}: {body}");
        body["token"].as_str().expect("token").to_owned()
    }

    /// Sends a JSON request; returns status and JSON body (`Value::Null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.expect("request sent")).await
    }

    /// Creates a ticket as `token` and returns it.
    pub async fn create_ticket(&self, token: &str, body: Value) -> Value {
        let (status, ticket) = self
            .call(Method::POST, "/api/v1/tickets", Some(token), Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ticket}");
        ticket
    }

    /// Enrolls a device and returns its credential.
    pub async fn enroll_device(&self, admin_token: &str, hostname: &str) -> String {
        let (status, token) = self
            .call(
                Method::POST,
                "/api/v1/enrollment-tokens",
                Some(admin_token),
                Some(json!({})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{token}");
        let (status, enrolled) = self
            .call(
                Method::POST,
                "/api/v1/devices/enroll",
                None,
                Some(json!({"token": token["token"], "hostname": hostname})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{enrolled}");
        enrolled["credential"]
            .as_str()
            .expect("credential")
            .to_owned()
    }

    /// A request as a device's local user.
    pub fn device_request(
        &self,
        method: Method,
        path: &str,
        credential: &str,
        user: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(credential)
            .header("x-deskside-local-user", user)
    }
}

pub async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// A typical end-user ticket.
pub fn printer_ticket() -> Value {
    json!({
        "title": "Printer on floor 2 jams",
        "description": "Every job jams after the first page.",
        "category": "printer",
        "impact": "team",
        "urgency": "degraded",
        "requester": {"name": "Dana Schulz", "userKind": "internal_staff"}
    })
}
