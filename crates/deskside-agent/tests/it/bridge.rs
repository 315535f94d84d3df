//! The local bridge of `deskside-agent run`, as the desktop app uses it: the real daemon
//! listening on its socket, the real server, and `deskside_client::agent_bridge` as the
//! client. Who the caller is comes from the kernel: this test process's own account here;
//! another local account in the root-only password-reset test (`remediation.rs`), through
//! [`bridge_helper_as`].

use std::path::Path;
use std::process::{Command, Stdio};

use deskside_client::Client;
use deskside_client::agent_bridge::{self, BridgeError};
use deskside_client::api::TicketFilter;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::*;

/// This process's account name, from the password file (independently of the agent's
/// parser).
fn my_account_name() -> String {
    let uid = rustix::process::getuid().as_raw();
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    let name = passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.len() >= 7 && fields[2] == uid.to_string())
        .map(|fields| fields[0].to_owned())
        .unwrap_or_else(|| panic!("uid {uid} is not in /etc/passwd"));
    if uid == 0 {
        assert_eq!(name, "root");
    }
    name
}

/// A daemon connected to `desk` whose bridge is listening.
async fn bridged_daemon(desk: &Desk) -> (Endpoint, Daemon) {
    let endpoint = enrolled(desk).await;
    let mut daemon = Daemon::start(&endpoint);
    daemon
        .wait_for_log("listening for desktop apps on the local bridge")
        .await;
    (endpoint, daemon)
}

/// Sends `request` as raw bytes and reads the one answer line.
async fn raw_exchange(socket: &Path, request: &[u8]) -> Value {
    let mut stream = tokio::net::UnixStream::connect(socket)
        .await
        .expect("connect to the bridge");
    stream.write_all(request).await.expect("send");
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .await
        .expect("answer");
    assert!(line.ends_with('\n'), "one whole line: {line:?}");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
}

#[tokio::test]
async fn a_desktop_app_gets_a_session_for_its_own_user_and_files_tickets_as_them() {
    let desk = Desk::start().await;
    let (endpoint, mut daemon) = bridged_daemon(&desk).await;
    let me = my_account_name();
    assert_eq!(mode(&daemon.socket()), 0o666);

    let session = agent_bridge::user_session(&daemon.socket())
        .await
        .expect("a session from the bridge");
    assert_eq!(session.local_user, me);
    assert_eq!(session.server, desk.url());
    assert!(session.token.starts_with("dsr_"), "a requester session");
    let days = (session.expires_at - chrono::Utc::now()).num_hours() / 24;
    assert!((29..=30).contains(&days), "{days} days");
    assert!(!format!("{session:?}").contains(&session.token));

    // The desktop app files a ticket with it: the requester is this account, on this device.
    let client = Client::new(&session.server)
        .expect("client")
        .with_auth(session.auth());
    let created = client
        .create_ticket(
            &serde_json::from_value(json!({
                "title": "My screen flickers",
                "description": "Since this morning.",
                "category": "hardware",
                "impact": "one_user",
                "urgency": "degraded",
                "requester": {"name": "Someone", "userKind": "internal_staff"}
            }))
            .expect("a new ticket"),
            None,
        )
        .await
        .expect("the ticket is filed");
    let ticket = created.ticket;
    assert_eq!(ticket.requester.username.as_deref(), Some(me.as_str()));
    assert_eq!(
        ticket.device_id.as_deref(),
        Some(endpoint.device_id.as_str())
    );

    // Another user's ticket on the same device stays out of this user's list.
    let others = ticket_from(&desk, &endpoint, "somebody-else").await;
    let mine = client
        .list_tickets(&TicketFilter::default())
        .await
        .expect("list");
    let ids: Vec<i64> = mine.items.iter().map(|t| t.id).collect();
    assert_eq!(ids, vec![ticket.id]);
    assert!(!ids.contains(&others));
    // Staff see who filed it.
    let (_, staff_view) = desk
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/tickets/{}", ticket.id),
            Some(&desk.admin),
            None,
        )
        .await;
    assert_eq!(staff_view["requester"]["username"], me.as_str());

    // A requester session is not the device credential.
    let (status, body) = desk
        .call(
            reqwest::Method::POST,
            "/api/v1/agent/heartbeat",
            Some(&session.token),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::FORBIDDEN, "{body}");

    // Nothing waits for this user.
    let secrets = agent_bridge::pending_secrets(&daemon.socket())
        .await
        .expect("pending secrets");
    assert!(secrets.is_empty(), "{secrets:?}");

    // The socket goes away with the daemon, and then the bridge is unavailable.
    let exit = daemon.terminate().await;
    assert!(exit.success(), "{exit:?}\n{}", daemon.log());
    assert!(!daemon.socket().exists(), "{}", daemon.log());
    let error = agent_bridge::user_session(&daemon.socket())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "agent_unavailable", "{error}");
    assert!(
        !daemon.log().contains(&session.token),
        "the token is not logged"
    );
}

#[tokio::test]
async fn malformed_or_oversized_requests_get_bad_request_and_the_bridge_carries_on() {
    let desk = Desk::start().await;
    let (_endpoint, mut daemon) = bridged_daemon(&desk).await;
    let socket = daemon.socket();

    for request in [
        &b"this is not json\n"[..],
        b"{\"op\":\"rootShell\"}\n",
        b"{\"op\":\"userSession\",\"localUser\":\"root\"}\n",
        b"\n",
    ] {
        let answer = raw_exchange(&socket, request).await;
        assert_eq!(answer["ok"], false, "{answer}");
        assert_eq!(answer["code"], "bad_request", "{answer}");
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let answer = raw_exchange(&socket, &vec![b'{'; 64 * 1024]).await;
    assert_eq!(answer["code"], "bad_request", "{answer}");

    // A client that connects and says nothing is dropped after the read timeout, and
    // meanwhile others are served.
    let silent = tokio::net::UnixStream::connect(&socket).await.unwrap();
    let session = agent_bridge::user_session(&socket).await;
    assert!(session.is_ok(), "{session:?}");
    let mut line = String::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        BufReader::new(silent).read_line(&mut line),
    )
    .await
    .expect("the agent gives up on a silent client");
    assert!(read.is_ok());
    let answer: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    assert_eq!(answer["code"], "bad_request", "{answer}");
    assert!(daemon.running(), "{}", daemon.log());
}

#[tokio::test]
async fn the_daemon_runs_without_the_bridge_when_its_socket_cannot_be_made() {
    let desk = Desk::start().await;
    let endpoint = enrolled(&desk).await;
    // The socket's directory would have to be inside a regular file.
    let blocker = tempfile::NamedTempFile::new().unwrap();
    let socket = blocker.path().join("agent.sock");
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("agent.log");
    let mut child = agent_command()
        .args(["run", "--state-dir", &endpoint.dir_arg()])
        .env("DESKSIDE_AGENT_SOCKET", &socket)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("deskside-agent run starts");
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    eventually("the daemon to connect without its bridge", || async {
        let log = read_log();
        (log.contains("the local bridge for desktop apps is off")
            && log.contains("connected to the server"))
        .then_some(())
    })
    .await;
    assert!(child.try_wait().unwrap().is_none(), "{}", read_log());
    let _ = child.kill();
    let _ = child.wait();
}

/// What a desktop app of another local user gets from the bridge (run as that user by
/// [`bridge_helper_as`]).
pub struct HelperAnswers {
    pub session: Result<agent_bridge::UserSession, BridgeError>,
    pub first: Result<Vec<agent_bridge::PendingSecret>, BridgeError>,
    pub second: Result<Vec<agent_bridge::PendingSecret>, BridgeError>,
}

const HELPER_SOCKET_ENV: &str = "DESKSIDE_TEST_BRIDGE_HELPER_SOCKET";
const HELPER_MARK: &str = "BRIDGE-HELPER-ANSWER ";

/// Not a test of its own: the desktop-app half of tests that need another local user.
/// [`bridge_helper_as`] runs this test binary again, under that user's uid, with only this
/// test selected and the socket in the environment; run any other way, it has nothing to
/// do and returns.
#[tokio::test]
async fn bridge_helper_as_another_user() {
    let Some(socket) = std::env::var_os(HELPER_SOCKET_ENV) else {
        return;
    };
    let socket = std::path::PathBuf::from(socket);
    let session = agent_bridge::user_session(&socket).await;
    let first = agent_bridge::pending_secrets(&socket).await;
    let second = agent_bridge::pending_secrets(&socket).await;
    let as_json = |secrets: &Result<Vec<agent_bridge::PendingSecret>, BridgeError>| match secrets {
        Ok(secrets) => json!({"ok": secrets.iter().map(|s| json!({
            "orderId": s.order_id, "account": s.account, "password": s.password,
            "createdAt": s.created_at,
        })).collect::<Vec<_>>()}),
        Err(error) => json!({"error": error.code()}),
    };
    let answer = json!({
        "session": match &session {
            Ok(s) => json!({"ok": {"server": s.server, "localUser": s.local_user,
                "displayName": s.display_name, "token": s.token, "expiresAt": s.expires_at}}),
            Err(error) => json!({"error": error.code()}),
        },
        "first": as_json(&first),
        "second": as_json(&second),
    });
    println!("{HELPER_MARK}{answer}");
}

/// Runs [`bridge_helper_as_another_user`] as `account` (a child process of this test binary
/// with that uid and gid) against the bridge at `socket`. The socket's directory must be
/// reachable by that account.
pub fn bridge_helper_as(account: &str, socket: &Path) -> HelperAnswers {
    let stdout = run_test_as(
        account,
        "bridge::bridge_helper_as_another_user",
        &[(HELPER_SOCKET_ENV, socket.as_os_str())],
    );
    let answer: Value = stdout
        .lines()
        .find_map(|line| line.split_once(HELPER_MARK).map(|(_, json)| json))
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_else(|| panic!("no answer from the helper:\n{stdout}"));
    let error = |value: &Value| BridgeError::Agent {
        code: value["error"].as_str().unwrap_or("?").to_owned(),
        message: String::new(),
    };
    let secrets = |value: &Value| match value.get("ok") {
        Some(list) => Ok(serde_json::from_value(list.clone()).expect("secrets")),
        None => Err(error(value)),
    };
    HelperAnswers {
        session: match answer["session"].get("ok") {
            Some(session) => Ok(serde_json::from_value(session.clone()).expect("session")),
            None => Err(error(&answer["session"])),
        },
        first: secrets(&answer["first"]),
        second: secrets(&answer["second"]),
    }
}

/// This test binary, to run only `test` as `account` (its uid and gid) with `env` set; and
/// the directory holding the copy it runs from, to keep while it runs.
fn helper_command(
    account: &str,
    test: &str,
    env: &[(&str, &std::ffi::OsStr)],
) -> (Command, tempfile::TempDir) {
    use std::os::unix::process::CommandExt;
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, account])
            .output()
            .expect("id runs");
        assert!(out.status.success(), "id {flag} {account}");
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    let (uid, gid) = (id("-u"), id("-g"));
    // The target directory may sit where only root can read (CI keeps it under /root):
    // the other account runs a copy from a directory it can reach.
    let copy_dir = tempfile::tempdir().expect("temp dir");
    let copy = copy_dir.path().join("bridge-helper");
    std::fs::copy(std::env::current_exe().expect("this test binary"), &copy)
        .expect("copy the test binary");
    for path in [copy_dir.path(), copy.as_path()] {
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("make the copy reachable");
    }
    let mut command = Command::new(&copy);
    command
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .envs(env.iter().copied())
        .env_remove("DESKSIDE_AGENT_SOCKET")
        .current_dir("/")
        .uid(uid)
        .gid(gid);
    (command, copy_dir)
}

/// Runs the single test `test` of this test binary as `account` (uid and gid), with `env`
/// set; returns its standard output. How a test plays another user's desktop app.
pub fn run_test_as(account: &str, test: &str, env: &[(&str, &std::ffi::OsStr)]) -> String {
    let (mut command, _copy) = helper_command(account, test, env);
    let out = command
        .stdin(Stdio::null())
        .output()
        .expect("the helper runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "helper: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

const FLOOD_SOCKET_ENV: &str = "DESKSIDE_TEST_BRIDGE_FLOOD_SOCKET";
const FLOOD_HOLDING: &str = "BRIDGE-FLOOD-HOLDING";
const FLOOD_MARK: &str = "BRIDGE-FLOOD-ANSWERS ";
/// How many idle connections the flooding account holds (the probe's figure).
const FLOOD_CONNECTIONS: usize = 40;

/// Not a test of its own: the flooding local user of
/// [`one_local_user_holding_many_connections_does_not_lock_the_others_out`], run as that
/// user. It opens [`FLOOD_CONNECTIONS`] connections and sends nothing, says so, holds them
/// until its stdin closes, then reads what each connection got: one JSON line, or the
/// error that ended it.
#[tokio::test]
async fn bridge_flood_helper_as_another_user() {
    let Some(socket) = std::env::var_os(FLOOD_SOCKET_ENV) else {
        return;
    };
    let mut held = Vec::new();
    for _ in 0..FLOOD_CONNECTIONS {
        held.push(
            tokio::net::UnixStream::connect(&socket)
                .await
                .expect("connect"),
        );
    }
    println!("{FLOOD_HOLDING}");
    tokio::task::spawn_blocking(|| {
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
    })
    .await
    .unwrap();
    let mut answers = Vec::new();
    for stream in held {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            reader.read_line(&mut line),
        )
        .await;
        answers.push(match read {
            Ok(Ok(_)) => serde_json::from_str::<Value>(&line)
                .map(|answer| answer["code"].as_str().unwrap_or("ok").to_owned())
                .unwrap_or_else(|_| format!("not JSON: {line:?}")),
            Ok(Err(error)) => format!("error: {error}"),
            Err(_) => "no answer".to_owned(),
        });
    }
    println!("{FLOOD_MARK}{}", json!(answers));
}

/// What the probe did: one local user holds 40 idle connections to the bridge, and every
/// other user was refused (resets, `busy`, broken pipes). Now that user gets its share
/// (served, then timed out as a silent client) and `busy` as JSON for the rest, and another
/// user's 20 requests are all answered.
#[tokio::test]
async fn one_local_user_holding_many_connections_does_not_lock_the_others_out() {
    use std::io::{BufRead as _, Write as _};
    const TEST: &str = "one_local_user_holding_many_connections_does_not_lock_the_others_out";
    if let Some(why) = crate::fixtures::requires_root_and(&["useradd", "userdel", "id"]) {
        return crate::fixtures::skip(TEST, &why);
    }
    let flooder =
        crate::fixtures::LocalAccount::create(&format!("dsk-flood-{}", std::process::id()));
    let desk = Desk::start().await;
    let (_endpoint, mut daemon) = bridged_daemon(&desk).await;
    std::fs::set_permissions(
        daemon.socket_dir(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let socket = daemon.socket();

    let (mut command, _copy) = helper_command(
        &flooder.name,
        "bridge::bridge_flood_helper_as_another_user",
        &[(FLOOD_SOCKET_ENV, socket.as_os_str())],
    );
    let mut helper = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the flooding helper runs");
    let mut lines = std::io::BufReader::new(helper.stdout.take().unwrap()).lines();
    let holding = tokio::task::spawn_blocking(move || {
        let found = lines.any(|line| line.is_ok_and(|l| l.contains(FLOOD_HOLDING)));
        (found, lines)
    });
    let (found, lines) = holding.await.unwrap();
    assert!(found, "the helper never held its connections");

    // Meanwhile this user (root) asks 20 times, one after the other, and is always answered.
    for attempt in 0..20 {
        let answer = raw_exchange(&socket, b"{\"op\":\"pendingSecrets\"}\n").await;
        assert_eq!(
            answer,
            json!({"ok": true, "secrets": []}),
            "attempt {attempt}"
        );
    }

    // Let the helper read what its connections got.
    helper.stdin.take().unwrap().flush().unwrap();
    // Read its output to the end: the test harness still prints after the answers.
    let answers = tokio::task::spawn_blocking(move || {
        let output: Vec<String> = lines.map_while(Result::ok).collect();
        output
            .iter()
            .find_map(|line| line.split_once(FLOOD_MARK).map(|(_, json)| json.to_owned()))
            .and_then(|json| serde_json::from_str::<Vec<String>>(&json).ok())
    })
    .await
    .unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut helper.stderr.take().unwrap(), &mut stderr).unwrap();
    let status = helper.wait().unwrap();
    let answers =
        answers.unwrap_or_else(|| panic!("no answers from the helper ({status}):\n{stderr}"));
    assert!(status.success(), "{status}:\n{stderr}");
    assert_eq!(answers.len(), FLOOD_CONNECTIONS);
    let busy = answers.iter().filter(|a| *a == "busy").count();
    let silent = answers.iter().filter(|a| *a == "bad_request").count();
    // Its share was served (and dropped as silent after the read timeout); every other
    // connection was told `busy`, as JSON: no reset, no broken pipe.
    assert_eq!(
        (silent, busy),
        (MAX_PER_USER, FLOOD_CONNECTIONS - MAX_PER_USER),
        "{answers:?}"
    );
    assert!(daemon.running(), "{}", daemon.log());
}

/// The agent's per-user share of the bridge (`bridge::MAX_CONNECTIONS_PER_USER`).
const MAX_PER_USER: usize = 4;
