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

/// `spawn_app()` with the server's configuration adjusted first (limits, trusted proxies).
/// A restart keeps the defaults.
pub async fn spawn_app_with(configure: impl FnOnce(&mut ServerConfig)) -> TestApp {
    let temp = tempfile::tempdir().expect("temp dir");
    let data_dir = temp.path().to_owned();
    let clock = Arc::new(ManualClock::new(monday_morning()));
    seed_staff(&data_dir, clock.clone()).await;
    let mut config = test_config(&data_dir, clock.clone());
    configure(&mut config);
    TestApp {
        server: Some(Server::start(config).await.expect("server starts")),
        clock,
        data_dir,
        _temp: Some(temp),
        http: reqwest::Client::new(),
    }
}

/// Starts the server on a data dir prepared by the caller (e.g. with the CLI), without
/// seeding anyone: the server's own start-up checks apply.
pub async fn spawn_app_on(data_dir: &Path, now: DateTime<Utc>) -> anyhow::Result<TestApp> {
    let clock = Arc::new(ManualClock::new(now));
    let server = try_start_server(data_dir, clock.clone()).await?;
    Ok(TestApp {
        server: Some(server),
        clock,
        data_dir: data_dir.to_owned(),
        _temp: None,
        http: reqwest::Client::new(),
    })
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
    try_start_server(data_dir, clock)
        .await
        .expect("server starts")
}

async fn try_start_server(data_dir: &Path, clock: Arc<ManualClock>) -> anyhow::Result<Server> {
    Server::start(test_config(data_dir, clock)).await
}

fn test_config(data_dir: &Path, clock: Arc<ManualClock>) -> ServerConfig {
    let mut config = ServerConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), data_dir.to_owned());
    config.clock = clock;
    config.sla_sweep_every = None;
    config.password_cost = HashCost::Fast;
    // Tests take audit checkpoints when they mean to (`checkpoint_audit`).
    config.audit_checkpoint_every = None;
    config
}

impl TestApp {
    /// The server's (injected) time.
    pub fn now(&self) -> DateTime<Utc> {
        use deskside_server::clock::Clock;
        self.clock.now()
    }

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
        self.login_as(username, PASSWORD).await
    }

    pub async fn login_as(&self, username: &str, password: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": username, "password": password})),
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
        self.enroll(admin_token, hostname).await["credential"]
            .as_str()
            .expect("credential")
            .to_owned()
    }

    /// Enrolls a new device: the server's answer (`deviceId`, `credential`, …).
    pub async fn enroll(&self, admin_token: &str, hostname: &str) -> Value {
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
        enrolled
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

/// Who sends a request: the callers of the role × route matrix.
#[derive(Debug, Clone, Copy)]
pub enum Who<'a> {
    Anonymous,
    Staff(&'a str),
    /// An enrolled device speaking for its signed-in local user.
    Device {
        credential: &'a str,
        user: &'a str,
    },
    /// A requester session token, issued to a device's agent for its local user.
    Session(&'a str),
}

impl TestApp {
    /// A request builder carrying `who`'s credentials.
    pub fn builder(&self, method: Method, path: &str, who: Who<'_>) -> reqwest::RequestBuilder {
        let request = self.http.request(method, self.url(path));
        match who {
            Who::Anonymous => request,
            Who::Staff(token) | Who::Session(token) => request.bearer_auth(token),
            Who::Device { credential, user } => request
                .bearer_auth(credential)
                .header("x-deskside-local-user", user),
        }
    }

    /// A JSON request as `who`; returns status and JSON body.
    pub async fn call_as(
        &self,
        method: Method,
        path: &str,
        who: Who<'_>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.builder(method, path, who);
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.expect("request sent")).await
    }

    /// Sends a prepared request; returns status and JSON body.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        read(request.send().await.expect("request sent")).await
    }

    /// A ticket as `who` sees it.
    pub async fn ticket(&self, who: Who<'_>, id: i64) -> Value {
        let (status, ticket) = self
            .call_as(Method::GET, &format!("/api/v1/tickets/{id}"), who, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{ticket}");
        ticket
    }

    /// A ticket's timeline as `who` sees it.
    pub async fn timeline(&self, who: Who<'_>, id: i64) -> Vec<Value> {
        let (status, events) = self
            .call_as(
                Method::GET,
                &format!("/api/v1/tickets/{id}/timeline"),
                who,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{events}");
        events.as_array().expect("timeline is a list").clone()
    }

    /// A command on a ticket that must succeed (`POST /tickets/{id}/{action}`).
    pub async fn act(&self, who: Who<'_>, id: i64, action: &str, body: Value) -> Value {
        let (status, ticket) = self
            .call_as(
                Method::POST,
                &format!("/api/v1/tickets/{id}/{action}"),
                who,
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{action} on {id}: {ticket}");
        ticket
    }

    /// Moves a ticket's status as `who`; must succeed.
    pub async fn move_status(&self, who: Who<'_>, id: i64, to: &str) -> Value {
        self.act(who, id, "status", json!({ "status": to })).await
    }

    /// The ids of every ticket `who` can list with `query` (walking all pages).
    pub async fn list_ids(&self, who: Who<'_>, query: &str) -> Vec<i64> {
        self.list_all(who, query)
            .await
            .iter()
            .map(|t| t["id"].as_i64().expect("id"))
            .collect()
    }

    /// Every ticket `who` can list with `query`, following cursors.
    pub async fn list_all(&self, who: Who<'_>, query: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/tickets?limit=200{query}");
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let (status, page) = self.call_as(Method::GET, &path, who, None).await;
            assert_eq!(status, StatusCode::OK, "{path}: {page}");
            items.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return items,
            }
        }
    }

    /// The id of a staff member, from the agents directory.
    pub async fn staff_id(&self, token: &str, username: &str) -> i64 {
        let (status, agents) = self
            .call(Method::GET, "/api/v1/agents", Some(token), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{agents}");
        agents
            .as_array()
            .expect("list")
            .iter()
            .find(|a| a["username"] == username)
            .and_then(|a| a["id"].as_i64())
            .unwrap_or_else(|| panic!("no staff member {username}"))
    }

    /// Signs and stores a checkpoint of the audit log's head now, as the running server
    /// does every minute and at shutdown.
    pub async fn checkpoint_audit(&self) -> anyhow::Result<()> {
        let state = &self.server.as_ref().expect("running").state;
        deskside_server::audit_checkpoints::checkpoint_now(state).await?;
        Ok(())
    }

    /// Opens the server's database file directly (for tampering and checks).
    pub fn database(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.data_dir.join("deskside.db")).expect("open database")
    }
}

/// A ticket body with `title`, impact and urgency, for internal staff.
pub fn ticket_with(title: &str, impact: &str, urgency: &str) -> Value {
    json!({
        "title": title,
        "description": "",
        "category": "other",
        "impact": impact,
        "urgency": urgency,
        "requester": {"name": "Dana Schulz", "userKind": "internal_staff"}
    })
}

/// Whole office blocked: P1.
pub fn p1_ticket(title: &str) -> Value {
    ticket_with(title, "whole_office", "blocked")
}

/// The `id` of a JSON ticket.
pub fn id_of(ticket: &Value) -> i64 {
    ticket["id"].as_i64().expect("ticket id")
}

/// The `type`s of timeline events, in order.
pub fn event_types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["event"]["type"].as_str().expect("event type").to_owned())
        .collect()
}

/// Asserts an error response: status, `code`, a non-empty `message`.
#[track_caller]
pub fn assert_error(actual: (StatusCode, &Value), status: StatusCode, code: &str) {
    let (actual_status, body) = actual;
    assert_eq!(actual_status, status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "error without a message: {body}"
    );
}

/// The `field`s named by a validation error.
pub fn error_fields(body: &Value) -> Vec<String> {
    body["fields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .map(|f| f["field"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts a 422 whose `fields` name `field`.
#[track_caller]
pub fn assert_field_error(actual: (StatusCode, &Value), field: &str) {
    assert_error(
        actual,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let fields = error_fields(actual.1);
    assert!(
        fields.iter().any(|f| f == field),
        "expected a message for {field}, got {fields:?}: {}",
        actual.1
    );
}

/// What a run of the `deskside-server` binary printed and how it ended.
#[derive(Debug)]
pub struct CliRun {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the real `deskside-server` binary with `args`, feeding `stdin`, with extra `env`.
/// Gives up (and kills it) after a generous deadline, so a command that wrongly keeps
/// running fails the test instead of hanging it.
pub async fn run_cli(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> CliRun {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let stdin = stdin.map(str::to_owned);
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_deskside-server"))
            .args(&args)
            .env_remove("DESKSIDE_DATA_DIR")
            .env_remove("DESKSIDE_LISTEN")
            .env("DESKSIDE_LOG", "warn")
            .envs(env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let mut pipe = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
        drop(pipe);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("deskside-server {args:?} did not finish in time");
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let output = child.wait_with_output().expect("output");
        CliRun {
            success: output.status.success(),
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    })
    .await
    .expect("the CLI task")
}
