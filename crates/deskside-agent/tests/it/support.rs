//! The real server, in this process on its own runtime; the real agent binary as child
//! processes; and polling with deadlines instead of sleeps.

use std::fs::File;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use deskside_server::demo;
pub use deskside_server::testing::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// How long anything in these tests may take to happen.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A test's server and its staff API.
pub struct Desk {
    server: Option<TestServer>,
    /// Where the server listens; a restarted server listens there again.
    pub address: SocketAddr,
    /// The server's order-signing key id.
    pub key_id: String,
    pub data: tempfile::TempDir,
    pub http: reqwest::Client,
    pub admin: String,
}

impl Desk {
    pub async fn start() -> Desk {
        let data = tempfile::tempdir().expect("temp dir");
        let server = TestServer::start(data.path(), SocketAddr::from(([127, 0, 0, 1], 0)));
        let mut desk = Desk {
            address: server.address,
            key_id: server.key_id.clone(),
            server: Some(server),
            data,
            http: reqwest::Client::new(),
            admin: String::new(),
        };
        desk.admin = desk.login("admin").await;
        desk
    }

    /// Stops the server: its port is closed when this returns.
    pub fn stop_server(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
    }

    /// Starts the server again on the same address and data.
    pub fn restart_server(&mut self) {
        self.stop_server();
        let server = TestServer::start(self.data.path(), self.address);
        assert_eq!(
            server.key_id, self.key_id,
            "the signing key survives restarts"
        );
        self.server = Some(server);
        // Connections to the old server are gone.
        self.http = reqwest::Client::new();
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub async fn login(&self, username: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": username, "password": demo::DEMO_PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login {username}: {body}");
        body["token"].as_str().expect("token").to_owned()
    }

    /// A JSON request; returns status and body (`Null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.url()));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.expect("request sent")).await
    }

    /// A one-time enrollment token, as an administrator creates it.
    pub async fn enrollment_token(&self) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/enrollment-tokens",
                Some(&self.admin),
                Some(json!({})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().expect("token").to_owned()
    }

    /// The device as staff see it.
    pub async fn device(&self, id: &str) -> Value {
        let (status, body) = self
            .call(
                Method::GET,
                &format!("/api/v1/devices/{id}"),
                Some(&self.admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
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

/// `deskside-agent` with none of its settings inherited from the environment.
pub fn agent_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_deskside-agent"));
    for variable in [
        "DESKSIDE_AGENT_STATE_DIR",
        "DESKSIDE_AGENT_POLICY",
        "DESKSIDE_AGENT_SOCKET",
        "DESKSIDE_SERVER",
        "DESKSIDE_ENROLLMENT_TOKEN",
    ] {
        command.env_remove(variable);
    }
    command.env("DESKSIDE_LOG", "info");
    command
}

/// Runs a short `deskside-agent` command to completion.
pub fn agent(args: &[&str]) -> Output {
    agent_command()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("deskside-agent runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An enrolled agent's state directory.
pub struct Endpoint {
    pub state: tempfile::TempDir,
    pub device_id: String,
}

impl Endpoint {
    pub fn dir(&self) -> &Path {
        self.state.path()
    }

    pub fn dir_arg(&self) -> String {
        self.dir().display().to_string()
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir().join(name)
    }

    /// `status.json` as the daemon last wrote it, once it has (written atomically: never
    /// half a file).
    pub fn daemon_status(&self) -> Option<Value> {
        let bytes = std::fs::read(self.file("status.json")).ok()?;
        Some(serde_json::from_slice(&bytes).expect("status.json is JSON"))
    }

    pub fn credential(&self) -> String {
        std::fs::read_to_string(self.file("credential"))
            .expect("credential file")
            .trim()
            .to_owned()
    }

    pub fn status_json(&self) -> Value {
        let out = agent(&["status", "--json", "--state-dir", &self.dir_arg()]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("status --json prints JSON")
    }
}

/// Enrolls a fresh state directory with `desk` through the real binary.
pub async fn enrolled(desk: &Desk) -> Endpoint {
    let state = tempfile::tempdir().expect("temp dir");
    let token = desk.enrollment_token().await;
    let dir = state.path().display().to_string();
    let out = agent(&[
        "enroll",
        "--server",
        &desk.url(),
        "--token",
        &token,
        "--state-dir",
        &dir,
        "--hostname",
        "ws-test",
    ]);
    assert!(out.status.success(), "enroll: {}", text(&out.stderr));
    let enrollment: Value =
        serde_json::from_slice(&std::fs::read(state.path().join("agent.json")).unwrap()).unwrap();
    Endpoint {
        device_id: enrollment["deviceId"]
            .as_str()
            .expect("deviceId")
            .to_owned(),
        state,
    }
}

/// A running `deskside-agent run`, its stderr going to a file the test reads, its local
/// bridge socket in a directory of its own (never the system's default path). Killed when
/// dropped.
pub struct Daemon {
    child: Child,
    log: PathBuf,
    _log_dir: tempfile::TempDir,
    socket_dir: tempfile::TempDir,
}

impl Daemon {
    pub fn start(endpoint: &Endpoint) -> Daemon {
        let log_dir = tempfile::tempdir().expect("temp dir");
        let socket_dir = tempfile::tempdir().expect("temp dir");
        let log = log_dir.path().join("agent.log");
        let socket = socket_dir.path().join("agent.sock");
        let child = agent_command()
            .args(["run", "--state-dir", &endpoint.dir_arg()])
            .arg("--socket")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).expect("log file"))
            .spawn()
            .expect("deskside-agent run starts");
        Daemon {
            child,
            log,
            _log_dir: log_dir,
            socket_dir,
        }
    }

    /// The local bridge's socket (listening once the log says so).
    pub fn socket(&self) -> PathBuf {
        self.socket_dir.path().join("agent.sock")
    }

    /// The directory holding the socket (private to root until a test opens it).
    pub fn socket_dir(&self) -> &Path {
        self.socket_dir.path()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Still running?
    pub fn running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Waits until the log contains `needle`; panics with the log after the deadline.
    pub async fn wait_for_log(&mut self, needle: &str) {
        self.wait_for_log_count(needle, 1).await;
    }

    /// Waits until the log contains `needle` at least `times` times.
    pub async fn wait_for_log_count(&mut self, needle: &str, times: usize) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let log = self.log();
            if log.matches(needle).count() >= times {
                return;
            }
            assert!(
                self.running(),
                "the daemon exited while waiting for {needle:?}:\n{log}"
            );
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in the daemon's log in time:\n{log}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kills it with SIGKILL (no chance to clean up, as in a crash) and waits for the exit.
    pub fn kill_hard(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("wait");
    }

    /// Sends SIGTERM and waits for the exit.
    pub async fn terminate(&mut self) -> ExitStatus {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("pid");
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the daemon did not stop on SIGTERM:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `probe` until it returns `Some`, every 20 ms, for at most [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// A ticket filed from the endpoint by its local user `local_user`.
pub async fn ticket_from(desk: &Desk, endpoint: &Endpoint, local_user: &str) -> i64 {
    let (status, ticket) = read(
        desk.http
            .post(format!("{}/api/v1/tickets", desk.url()))
            .bearer_auth(endpoint.credential())
            .header("x-deskside-local-user", local_user)
            .json(&json!({
                "title": "Something on my workstation is stuck",
                "description": "Please fix it remotely.",
                "category": "software",
                "impact": "one_user",
                "urgency": "degraded",
                "requester": {"name": "Test User", "userKind": "internal_staff"}
            }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    ticket["id"].as_i64().unwrap()
}

/// Requests `action` on `ticket` as `token`; returns the new request.
pub async fn request(desk: &Desk, token: &str, ticket: i64, action: Value) -> Value {
    let (status, request) = desk
        .call(
            Method::POST,
            &format!("/api/v1/tickets/{ticket}/actions"),
            Some(token),
            Some(action),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    request
}

/// `GET /api/v1/tickets/{ticket}/actions` as `token`.
pub async fn actions(desk: &Desk, token: &str, ticket: i64) -> Value {
    let (status, requests) = desk
        .call(
            Method::GET,
            &format!("/api/v1/tickets/{ticket}/actions"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{requests}");
    requests
}

/// Waits until request `id` reaches a final state; returns it.
pub async fn settled(desk: &Desk, token: &str, ticket: i64, id: &str) -> Value {
    eventually("the order to be reported", || async {
        actions(desk, token, ticket)
            .await
            .as_array()?
            .iter()
            .find(|r| r["id"] == id)
            .filter(|r| {
                !matches!(
                    r["state"].as_str(),
                    Some("queued" | "running" | "awaiting_approval" | "awaiting_consent")
                )
            })
            .cloned()
    })
    .await
}
