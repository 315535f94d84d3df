//! The network edge under clients that never finish their request: header-read and idle
//! timeouts, caps on connections still sending their head, and the file-descriptor reserve
//! that keeps sign-in, `/healthz` and established agents served meanwhile.

use std::io::BufRead;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::support::*;

/// What a slowloris client sends: a request head that never ends.
const HALF_SENT: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n";

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// A connection from `source` that has sent only part of its request head.
async fn half_sent(server: SocketAddr, source: IpAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    let mut stream = socket.connect(server).await?;
    stream.write_all(HALF_SENT).await?;
    Ok(stream)
}

/// Reads until the server closes the connection (end of file or reset); false if it is
/// still open at `deadline`.
async fn closed_by(stream: &mut TcpStream, deadline: Instant) -> bool {
    let mut buffer = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// Ends the head a `half_sent` connection began and returns the status line it gets.
async fn finish_and_read_status(stream: &mut TcpStream) -> String {
    stream.write_all(b"\r\n").await.expect("finish the head");
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    while !answer.windows(2).any(|w| w == b"\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(n > 0, "closed before answering");
        answer.extend_from_slice(&buffer[..n]);
    }
    let text = String::from_utf8_lossy(&answer);
    text.lines().next().unwrap_or_default().to_owned()
}

fn server_address(app: &TestApp) -> SocketAddr {
    app.server.as_ref().expect("running").address
}

#[tokio::test]
async fn a_half_sent_request_is_closed_after_the_header_timeout_and_an_idle_one_after_the_idle_timeout()
 {
    let timeout = Duration::from_millis(800);
    let app = spawn_app_with(|config| {
        config.connections.header_read_timeout = timeout;
        config.connections.idle_timeout = timeout;
    })
    .await;
    let address = server_address(&app);

    let opened = Instant::now();
    let mut stream = half_sent(address, loopback(2)).await.expect("connect");
    assert!(
        closed_by(&mut stream, Instant::now() + Duration::from_secs(10)).await,
        "the half-sent request is still open"
    );
    let waited = opened.elapsed();
    assert!(
        waited >= timeout - Duration::from_millis(50),
        "closed after {waited:?}, before the header timeout"
    );

    // A kept-alive connection that answered a request is closed once idle that long.
    let mut stream = half_sent(address, loopback(2)).await.expect("connect");
    assert!(finish_and_read_status(&mut stream).await.contains("200"));
    let answered = Instant::now();
    assert!(
        closed_by(&mut stream, Instant::now() + Duration::from_secs(10)).await,
        "the idle connection is still open"
    );
    assert!(answered.elapsed() >= timeout - Duration::from_millis(50));
}

#[tokio::test]
async fn a_long_poll_outlives_the_header_and_idle_timeouts() {
    let app = spawn_app_with(|config| {
        config.connections.header_read_timeout = Duration::from_millis(500);
        config.connections.idle_timeout = Duration::from_millis(500);
    })
    .await;
    let admin = app.login("admin").await;
    let credential = app.enroll_device(&admin, "ws-long-poll").await;
    let started = Instant::now();
    let (status, body) = app
        .send(
            app.http
                .get(app.url("/api/v1/agent/orders?waitSeconds=2"))
                .bearer_auth(&credential),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["orders"], json!([]));
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "the poll held its full wait"
    );
}

#[tokio::test]
async fn stopping_the_server_closes_kept_alive_connections_and_long_polls() {
    let mut app = spawn_app().await;
    let admin = app.login("admin").await;
    let credential = app.enroll_device(&admin, "ws-stop").await;
    let address = server_address(&app);
    let mut kept_alive = half_sent(address, loopback(2)).await.expect("connect");
    assert!(
        finish_and_read_status(&mut kept_alive)
            .await
            .contains("200")
    );
    let poll = tokio::spawn(
        app.http
            .get(app.url("/api/v1/agent/orders?waitSeconds=50"))
            .bearer_auth(&credential)
            .send(),
    );
    // The poll is held by the server (it records the device's contact first) before it stops.
    let storage = app.server.as_ref().expect("running").state.storage.clone();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let devices = storage.devices().await.expect("devices");
        if devices
            .iter()
            .any(|d| d.hostname == "ws-stop" && d.last_seen_at.is_some())
        {
            break;
        }
        assert!(Instant::now() < deadline, "the long-poll never arrived");
        tokio::task::yield_now().await;
    }
    app.server.take().expect("running").stop();
    assert!(
        closed_by(&mut kept_alive, Instant::now() + Duration::from_secs(5)).await,
        "a kept-alive connection outlived the server"
    );
    let polled = tokio::time::timeout(Duration::from_secs(5), poll)
        .await
        .expect("the long-poll ends with the server")
        .expect("poll task");
    assert!(polled.is_err(), "the long-poll was answered: {polled:?}");
}

#[tokio::test]
async fn over_the_per_address_cap_the_oldest_waiting_connections_are_closed() {
    let cap = 20;
    let app = spawn_app_with(|config| {
        config.connections.max_waiting_per_address = cap;
        config.connections.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let address = server_address(&app);
    let mut bystander = half_sent(address, loopback(3)).await.expect("connect");
    let mut flood = Vec::new();
    for _ in 0..cap + 10 {
        flood.push(half_sent(address, loopback(2)).await.expect("connect"));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for (n, stream) in flood.iter_mut().take(10).enumerate() {
        assert!(
            closed_by(stream, deadline).await,
            "connection {n}, among the oldest, is still open"
        );
    }
    // The newest from the flooding address and the other address's connection are served.
    let newest = flood.last_mut().expect("flood");
    assert!(finish_and_read_status(newest).await.contains("200"));
    assert!(finish_and_read_status(&mut bystander).await.contains("200"));
}

#[tokio::test]
async fn over_the_total_cap_the_oldest_waiting_connections_are_closed() {
    let app = spawn_app_with(|config| {
        config.connections.max_waiting = 20;
        config.connections.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let address = server_address(&app);
    let mut streams = Vec::new();
    for n in 0..30u8 {
        // Ten sources, three each: no one address is over any cap of its own.
        streams.push(
            half_sent(address, loopback(10 + n % 10))
                .await
                .expect("connect"),
        );
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for (n, stream) in streams.iter_mut().take(10).enumerate() {
        assert!(
            closed_by(stream, deadline).await,
            "connection {n}, among the oldest, is still open"
        );
    }
    let newest = streams.last_mut().expect("streams");
    assert!(finish_and_read_status(newest).await.contains("200"));
    // A client of the API is served meanwhile.
    let (status, _) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_request_body_that_never_arrives_counts_as_waiting() {
    let cap = 5;
    let app = spawn_app_with(|config| {
        config.connections.max_waiting_per_address = cap;
        config.connections.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let address = server_address(&app);
    // Complete heads for a sign-in whose body stops after one byte.
    let mut stalled = Vec::new();
    for _ in 0..cap {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.bind(SocketAddr::new(loopback(4), 0)).expect("bind");
        let mut stream = socket.connect(address).await.expect("connect");
        stream
            .write_all(
                b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n\
                  Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
            )
            .await
            .expect("write");
        stalled.push(stream);
    }
    // As many half-sent heads from the same address crowd every stalled body out.
    let mut heads = Vec::new();
    for _ in 0..cap {
        heads.push(half_sent(address, loopback(4)).await.expect("connect"));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for (n, stream) in stalled.iter_mut().enumerate() {
        assert!(
            closed_by(stream, deadline).await,
            "stalled body {n} still holds its connection"
        );
    }
    assert!(
        finish_and_read_status(heads.last_mut().expect("heads"))
            .await
            .contains("200")
    );
}

/// The real `deskside-server serve` as its own process, killed when dropped.
pub(crate) struct ServeProcess {
    child: std::process::Child,
    pub url: String,
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `deskside-server serve` on a loopback port with `args` and `env` added, under an
/// open-file limit when one is given (through `prlimit`), once it prints its address.
pub(crate) fn serve_process(
    data_dir: &std::path::Path,
    open_files: Option<u32>,
    args: &[&str],
    env: &[(&str, &str)],
) -> ServeProcess {
    use std::process::{Command, Stdio};
    let binary = env!("CARGO_BIN_EXE_deskside-server");
    let mut command = match open_files {
        Some(limit) => {
            let mut command = Command::new("prlimit");
            command.arg(format!("--nofile={limit}:{limit}")).arg(binary);
            command
        }
        None => Command::new(binary),
    };
    let mut child = command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(args)
        .env_remove("DESKSIDE_LISTEN")
        .env_remove("DESKSIDE_DATA_DIR")
        .env("DESKSIDE_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the server starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut server = ServeProcess {
        child,
        url: String::new(),
    };
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the server prints its address");
    server.url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    server
}

pub(crate) const ADMIN: &str = "root-admin";
pub(crate) const ADMIN_PASSWORD: &str = "a long admin passphrase";

/// The first admin, made with the CLI as an install would.
pub(crate) async fn create_admin(data_dir: &std::path::Path) {
    let data_dir = data_dir.to_str().expect("utf-8 path");
    let created = run_cli(
        &[
            "user",
            "add",
            "--data-dir",
            data_dir,
            "--username",
            ADMIN,
            "--role",
            "admin",
            "--password-stdin",
        ],
        Some(ADMIN_PASSWORD),
        &[],
    )
    .await;
    assert!(created.success, "{created:?}");
}

#[tokio::test]
async fn thousands_of_half_sent_requests_do_not_starve_sign_in_health_or_agents() {
    if std::process::Command::new("prlimit")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: prlimit (util-linux) is not installed");
        return;
    }
    // One after the other: each flood holds 6,000 sockets in this process. A header
    // timeout longer than the test throughout: the caps and the reserve must do the work.
    // The defaults: the per-address cap (256 × 8 sources) holds the flood.
    flood_while_serving(&["--header-read-timeout", "120"]).await;
    // No per-address cap to speak of: the open-file budget (limit − reserve) holds it.
    flood_while_serving(&[
        "--header-read-timeout",
        "120",
        "--max-waiting-per-address",
        "100000",
    ])
    .await;
    // No reserve either: accepting runs out of descriptors and sheds the oldest.
    flood_while_serving(&[
        "--header-read-timeout",
        "120",
        "--max-waiting-per-address",
        "100000",
        "--fd-reserve",
        "0",
    ])
    .await;
}

async fn flood_while_serving(server_args: &[&str]) {
    let data = tempfile::tempdir().expect("temp dir");
    create_admin(data.path()).await;
    // 3,000 open files for the server; the flood below is twice that.
    let server = serve_process(data.path(), Some(3000), server_args, &[]);
    let url = |path: &str| format!("{}{path}", server.url);
    let established = reqwest::Client::new();
    let login = |client: reqwest::Client| {
        let url = url("/api/v1/auth/login");
        async move {
            let response = client
                .post(url)
                .json(&json!({"username": ADMIN, "password": ADMIN_PASSWORD}))
                .send()
                .await?;
            let status = response.status();
            let body: serde_json::Value = response.json().await?;
            Ok::<_, reqwest::Error>((status, body))
        }
    };
    let (status, body) = login(established.clone()).await.expect("login");
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["token"].as_str().expect("token").to_owned();
    let (status, enrollment) = read(
        established
            .post(url("/api/v1/enrollment-tokens"))
            .bearer_auth(&token)
            .json(&json!({}))
            .send()
            .await
            .expect("enrollment token"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{enrollment}");
    let (status, enrolled) = read(
        established
            .post(url("/api/v1/devices/enroll"))
            .json(&json!({"token": enrollment["token"], "hostname": "ws-under-flood"}))
            .send()
            .await
            .expect("enroll"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{enrolled}");
    let credential = enrolled["credential"]
        .as_str()
        .expect("credential")
        .to_owned();

    // An agent's long-poll is running when the flood starts, and must answer after it.
    let agent = reqwest::Client::new();
    let poll = tokio::spawn(
        agent
            .get(url("/api/v1/agent/orders?waitSeconds=6"))
            .bearer_auth(&credential)
            .send(),
    );

    let address: SocketAddr = server
        .url
        .trim_start_matches("http://")
        .parse()
        .expect("address");
    let per_source = 750;
    let flood: Vec<_> = (2..=9u8)
        .map(|last| {
            tokio::spawn(async move {
                let mut streams = Vec::with_capacity(per_source);
                for _ in 0..per_source {
                    // The server may close some at once (over the caps): that is the point.
                    if let Ok(stream) = half_sent(address, loopback(last)).await {
                        streams.push(stream);
                    }
                }
                streams
            })
        })
        .collect();
    let mut held = Vec::new();
    for task in flood {
        held.extend(task.await.expect("flood task"));
    }
    assert!(held.len() >= 5000, "only {} connections opened", held.len());

    // With 6,000 half-sent requests held open, within a deadline: a new client gets
    // /healthz, signs in and calls the API; the established one still gets answers.
    let deadline = Duration::from_secs(10);
    let fresh = reqwest::Client::builder()
        .timeout(deadline)
        .build()
        .expect("client");
    let health = fresh
        .get(url("/healthz"))
        .send()
        .await
        .expect("/healthz answers");
    assert_eq!(health.status(), StatusCode::OK);
    let (status, body) = login(fresh.clone()).await.expect("sign-in answers");
    assert_eq!(status, StatusCode::OK, "{body}");
    let fresh_token = body["token"].as_str().expect("token").to_owned();
    let (status, me) = read(
        fresh
            .request(Method::GET, url("/api/v1/auth/me"))
            .bearer_auth(&fresh_token)
            .send()
            .await
            .expect("the API answers"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let (status, tickets) = read(
        established
            .get(url("/api/v1/tickets"))
            .bearer_auth(&token)
            .timeout(deadline)
            .send()
            .await
            .expect("the established client is answered"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tickets}");
    let polled = tokio::time::timeout(Duration::from_secs(20), poll)
        .await
        .expect("the long-poll answers in time")
        .expect("poll task")
        .expect("the long-poll was not cut");
    assert_eq!(polled.status(), StatusCode::OK);
    drop(held);
}
