//! The bridge on Unix: a Unix domain socket, the peer identified by the kernel.

use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Mutex, Semaphore};

use super::accounts::{self, Account};
use super::{
    BUSY_DRAIN_TIMEOUT, BridgeSetup, Failure, MAX_BUSY_ANSWERS, MAX_CONNECTIONS,
    MAX_CONNECTIONS_PER_USER, MAX_REQUEST_BYTES, READ_TIMEOUT, Request, SecretsAnswer,
    SessionAnswer, SharingAnswer, WRITE_TIMEOUT, answer_line, parse_request,
};
use crate::client::ApiClient;
use crate::orders::{pending_secrets_for, remove_pending_secrets};
use crate::sharing::SharingChoices;

/// Mode of the socket: every local user may connect (who they are comes from the kernel).
const SOCKET_MODE: u32 = 0o666;
/// Mode of the socket's directory when the agent creates it.
const SOCKET_DIR_MODE: u32 = 0o755;

/// What every connection task shares.
struct Shared {
    client: ApiClient,
    server_url: String,
    pending_secrets_dir: PathBuf,
    /// Held while secrets are read, answered and deleted, so each is handed out once.
    secrets: Mutex<()>,
    sharing: Arc<SharingChoices>,
}

pub fn start(setup: BridgeSetup) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let BridgeSetup {
        socket,
        client,
        server_url,
        pending_secrets_dir,
        sharing,
        mut shutdown,
    } = setup;
    let (listener, identity) = bind(&socket)?;
    tracing::info!(
        socket = %socket.display(),
        "listening for desktop apps on the local bridge"
    );
    let context = Arc::new(Shared {
        client,
        server_url,
        pending_secrets_dir,
        secrets: Mutex::new(()),
        sharing,
    });
    let limits = Arc::new(ConnectionLimits::default());
    let busy_answers = Arc::new(Semaphore::new(MAX_BUSY_ANSWERS));
    Ok(tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = shutdown.wait_for(|stop| *stop) => break,
            };
            match accepted {
                Ok((stream, _)) => {
                    let uid = match stream.peer_cred() {
                        Ok(credentials) => credentials.uid(),
                        Err(error) => {
                            tracing::warn!(%error, "bridge: cannot tell who connected; closing");
                            continue;
                        }
                    };
                    match ConnectionLimits::try_acquire(&limits, uid) {
                        Ok(slot) => {
                            let context = Arc::clone(&context);
                            tokio::spawn(async move {
                                serve(stream, uid, &context).await;
                                drop(slot);
                            });
                        }
                        Err(failure) => match Arc::clone(&busy_answers).try_acquire_owned() {
                            Ok(permit) => {
                                tokio::spawn(async move {
                                    answer_busy(stream, &failure).await;
                                    drop(permit);
                                });
                            }
                            Err(_) => {
                                tracing::debug!(uid, "bridge: flooded; closing unanswered");
                            }
                        },
                    }
                }
                Err(error) => {
                    // Out of file descriptors, say: do not spin on it.
                    tracing::warn!(%error, "the local bridge cannot accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
        remove_if_ours(&socket, identity);
    }))
}

/// Connections being served, in total and per uid.
#[derive(Default)]
struct ConnectionLimits {
    counts: std::sync::Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_uid: std::collections::HashMap<u32, usize>,
}

/// A served connection's place in [`ConnectionLimits`], given back when dropped.
struct Slot {
    limits: Arc<ConnectionLimits>,
    uid: u32,
}

impl ConnectionLimits {
    /// A slot for `uid`, or the `busy` answer saying which limit it met.
    fn try_acquire(limits: &Arc<ConnectionLimits>, uid: u32) -> Result<Slot, Failure> {
        let mut counts = limits.counts.lock().unwrap_or_else(|e| e.into_inner());
        let mine = counts.per_uid.get(&uid).copied().unwrap_or(0);
        if mine >= MAX_CONNECTIONS_PER_USER {
            return Err(Failure::new(
                "busy",
                format!(
                    "you already have {MAX_CONNECTIONS_PER_USER} requests open with the agent; \
                     close one and try again"
                ),
            ));
        }
        if counts.total >= MAX_CONNECTIONS {
            return Err(Failure::new(
                "busy",
                "the agent is serving too many connections; try again",
            ));
        }
        counts.total += 1;
        counts.per_uid.insert(uid, mine + 1);
        Ok(Slot {
            limits: Arc::clone(limits),
            uid,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.limits.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.total -= 1;
        if let Some(mine) = counts.per_uid.get_mut(&self.uid) {
            *mine -= 1;
            if *mine == 0 {
                counts.per_uid.remove(&self.uid);
            }
        }
    }
}

/// Tells an over-limit connection `busy` without resetting it: the line, then our side shut
/// down, then whatever the client sent is read until it closes (or [`BUSY_DRAIN_TIMEOUT`]).
/// Closing with the client's request unread would make its read fail with ECONNRESET, and
/// closing before it wrote would make its write fail with EPIPE.
async fn answer_busy(stream: UnixStream, failure: &Failure) {
    let (read, mut write) = stream.into_split();
    write_answer(&mut write, &answer_line(failure)).await;
    let mut sink = Vec::new();
    let limit = MAX_REQUEST_BYTES as u64 + 1;
    let _ = tokio::time::timeout(BUSY_DRAIN_TIMEOUT, read.take(limit).read_to_end(&mut sink)).await;
}

/// Binds the socket at `path`: creates its directory (0755) if missing, replaces a stale
/// socket left by an agent that did not stop cleanly, refuses to touch anything else.
/// Returns the listener and the socket file's (device, inode).
fn bind(path: &Path) -> anyhow::Result<(UnixListener, (u64, u64))> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(SOCKET_DIR_MODE)
            .create(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
        // The umask may have narrowed it; users must be able to reach the socket.
        std::fs::set_permissions(parent, std::fs::Permissions::from_mode(SOCKET_DIR_MODE))
            .with_context(|| format!("setting the mode of {}", parent.display()))?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                anyhow::bail!(
                    "another process is listening on {} (is a second agent running?)",
                    path.display()
                );
            }
            std::fs::remove_file(path)
                .with_context(|| format!("removing the stale socket {}", path.display()))?;
            tracing::info!(socket = %path.display(), "removed a stale bridge socket");
        }
        Ok(_) => anyhow::bail!(
            "{} exists and is not a socket; not replacing it",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("checking {}", path.display())),
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("binding {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(SOCKET_MODE))
        .with_context(|| format!("setting the mode of {}", path.display()))?;
    let meta = std::fs::symlink_metadata(path)?;
    Ok((listener, (meta.dev(), meta.ino())))
}

/// Removes the socket file at shutdown, unless something else has taken its place.
fn remove_if_ours(path: &Path, identity: (u64, u64)) {
    let ours = std::fs::symlink_metadata(path)
        .map(|meta| (meta.dev(), meta.ino()) == identity)
        .unwrap_or(false);
    if ours && let Err(error) = std::fs::remove_file(path) {
        tracing::warn!(socket = %path.display(), %error, "cannot remove the bridge socket");
    }
}

/// One connection of the peer `uid` (the kernel's word): read one request, answer, close.
async fn serve(stream: UnixStream, uid: u32, context: &Shared) {
    let (read, mut write) = stream.into_split();
    let request = match tokio::time::timeout(READ_TIMEOUT, read_request(read)).await {
        Ok(Ok(line)) => parse_request(&line),
        Ok(Err(failure)) => Err(failure),
        Err(_) => Err(Failure::bad_request(format!(
            "no request line within {} s",
            READ_TIMEOUT.as_secs()
        ))),
    };
    let request = match request {
        Ok(request) => request,
        Err(failure) => {
            tracing::debug!(uid, code = failure.code, "bridge: bad request");
            write_answer(&mut write, &answer_line(&failure)).await;
            return;
        }
    };
    let account = match tokio::task::spawn_blocking(move || accounts::lookup(uid)).await {
        Ok(Some(account)) => account,
        Ok(None) => {
            tracing::warn!(uid, "bridge: a process of an unknown uid connected");
            let failure = Failure::new(
                "unknown_user",
                format!("uid {uid} has no account on this machine"),
            );
            write_answer(&mut write, &answer_line(&failure)).await;
            return;
        }
        Err(error) => {
            tracing::error!(%error, "bridge: looking up the account failed");
            let failure = Failure::new("internal", "the agent could not look up your account");
            write_answer(&mut write, &answer_line(&failure)).await;
            return;
        }
    };
    match request {
        Request::UserSession => {
            let mut line = user_session(context, &account).await;
            write_answer(&mut write, &line).await;
            line.fill(0);
        }
        Request::PendingSecrets => pending_secrets(context, &account, &mut write).await,
        Request::SharingChoices { withheld } => {
            let line = sharing_choices(context, &account, withheld).await;
            write_answer(&mut write, &line).await;
        }
    }
}

/// Remembers which sections the account's user does not want the agent to send.
async fn sharing_choices(
    context: &Shared,
    account: &Account,
    withheld: std::collections::BTreeSet<deskside_diagnostics::SectionName>,
) -> Vec<u8> {
    let sharing = Arc::clone(&context.sharing);
    let (uid, name) = (account.uid, account.name.clone());
    let kept = withheld.clone();
    let stored =
        tokio::task::spawn_blocking(move || sharing.set(uid, &name, kept, chrono::Utc::now()))
            .await;
    match stored {
        Ok(Ok(())) => {
            let sections: Vec<&str> = withheld.iter().map(|s| s.as_str()).collect();
            tracing::info!(
                user = %account.name,
                withheld = %sections.join(", "),
                "bridge: remembered what the user does not share"
            );
            answer_line(&SharingAnswer {
                ok: true,
                local_user: &account.name,
                withheld: &withheld,
            })
        }
        Ok(Err(error)) => {
            tracing::error!(user = %account.name, %error, "bridge: cannot store sharing choices");
            answer_line(&Failure::new(
                "internal",
                "the agent could not store your choices",
            ))
        }
        Err(error) => {
            tracing::error!(%error, "bridge: storing sharing choices failed");
            answer_line(&Failure::new(
                "internal",
                "the agent could not store your choices",
            ))
        }
    }
}

/// Reads up to the first newline (or the end of the stream), at most
/// [`MAX_REQUEST_BYTES`].
async fn read_request(read: OwnedReadHalf) -> Result<Vec<u8>, Failure> {
    let mut line = Vec::new();
    let limit = MAX_REQUEST_BYTES as u64 + 1;
    let mut reader = BufReader::new(read.take(limit));
    reader
        .read_until(b'\n', &mut line)
        .await
        .map_err(|e| Failure::bad_request(format!("cannot read the request: {e}")))?;
    if line.len() > MAX_REQUEST_BYTES {
        return Err(Failure::bad_request(format!(
            "the request is larger than {MAX_REQUEST_BYTES} bytes"
        )));
    }
    Ok(line)
}

/// Writes the answer and closes the connection; true if the client got all of it.
async fn write_answer(write: &mut OwnedWriteHalf, line: &[u8]) -> bool {
    let written = tokio::time::timeout(WRITE_TIMEOUT, async {
        write.write_all(line).await?;
        write.flush().await?;
        write.shutdown().await
    })
    .await;
    match written {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tracing::debug!(%error, "bridge: the client left before the answer");
            false
        }
        Err(_) => {
            tracing::debug!("bridge: the client did not take the answer in time");
            false
        }
    }
}

async fn user_session(context: &Shared, account: &Account) -> Vec<u8> {
    // The server takes up to 200 characters; a longer GECOS name must not cost the session.
    let display_name: Option<String> = account
        .full_name
        .as_ref()
        .map(|name| name.chars().take(200).collect());
    let display_name = display_name.as_deref();
    match context
        .client
        .user_session(&account.name, display_name)
        .await
    {
        Ok(session) => {
            tracing::info!(user = %account.name, "bridge: issued a user session");
            answer_line(&SessionAnswer {
                ok: true,
                server: &context.server_url,
                local_user: &account.name,
                display_name,
                token: &session.token,
                expires_at: session.expires_at,
            })
        }
        Err(error) => {
            tracing::warn!(user = %account.name, "bridge: no user session: {error}");
            answer_line(&Failure::from_api(&error))
        }
    }
}

/// Hands out the account's waiting secrets, and deletes them once the answer is written.
async fn pending_secrets(context: &Shared, account: &Account, write: &mut OwnedWriteHalf) {
    let _once = context.secrets.lock().await;
    let dir = context.pending_secrets_dir.clone();
    let name = account.name.clone();
    let found = tokio::task::spawn_blocking(move || pending_secrets_for(&dir, &name)).await;
    let found = match found {
        Ok(Ok(found)) => found,
        Ok(Err(error)) => {
            tracing::error!(%error, "bridge: cannot read the pending secrets");
            let failure = Failure::new("internal", "the agent could not read its secrets");
            write_answer(write, &answer_line(&failure)).await;
            return;
        }
        Err(error) => {
            tracing::error!(%error, "bridge: reading the pending secrets failed");
            let failure = Failure::new("internal", "the agent could not read its secrets");
            write_answer(write, &answer_line(&failure)).await;
            return;
        }
    };
    let mut line = answer_line(&SecretsAnswer {
        ok: true,
        secrets: found.iter().map(|(_, secret)| secret).collect(),
    });
    let delivered = write_answer(write, &line).await;
    line.fill(0);
    if found.is_empty() {
        return;
    }
    if !delivered {
        tracing::warn!(
            user = %account.name,
            "bridge: the desktop app left before it got its temporary password; it stays waiting"
        );
        return;
    }
    let files: Vec<PathBuf> = found.into_iter().map(|(path, _)| path).collect();
    let count = files.len();
    let dir = context.pending_secrets_dir.clone();
    match tokio::task::spawn_blocking(move || remove_pending_secrets(&dir, &files)).await {
        Ok(Ok(())) => tracing::info!(
            user = %account.name,
            count,
            "bridge: handed temporary passwords to the user's desktop app and deleted them"
        ),
        Ok(Err(error)) => {
            tracing::error!(%error, "bridge: cannot delete temporary passwords handed out");
        }
        Err(error) => tracing::error!(%error, "bridge: deleting temporary passwords failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncBufReadExt;
    use tokio::sync::watch;

    /// A bridge whose server is unreachable, its socket in a temp dir.
    fn bridge(dir: &Path) -> (PathBuf, watch::Sender<bool>, tokio::task::JoinHandle<()>) {
        let socket = dir.join("run").join("agent.sock");
        let (stop, shutdown) = watch::channel(false);
        let task = start(BridgeSetup {
            socket: socket.clone(),
            // Port 9 on loopback: nothing listens there.
            client: ApiClient::new("http://127.0.0.1:9").unwrap(),
            server_url: "http://127.0.0.1:9".into(),
            pending_secrets_dir: dir.join("pending-secrets"),
            sharing: Arc::new(SharingChoices::load(dir.join("sharing"))),
            shutdown,
        })
        .expect("the bridge starts");
        (socket, stop, task)
    }

    async fn ask(socket: &Path, request: &[u8]) -> serde_json::Value {
        let mut stream = UnixStream::connect(socket).await.expect("connect");
        stream.write_all(request).await.unwrap();
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).await.unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    }

    #[tokio::test]
    async fn the_socket_is_open_to_all_and_answers_one_line_per_connection() {
        let temp = tempfile::tempdir().unwrap();
        let (socket, stop, task) = bridge(temp.path());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&socket), 0o666);
        assert_eq!(mode(socket.parent().unwrap()), 0o755);

        let answer = ask(&socket, b"nonsense\n").await;
        assert_eq!(answer["ok"], false);
        assert_eq!(answer["code"], "bad_request", "{answer}");
        let answer = ask(&socket, &vec![b'x'; MAX_REQUEST_BYTES * 2]).await;
        assert_eq!(answer["code"], "bad_request", "{answer}");
        assert!(answer["message"].as_str().unwrap().contains("larger"));
        // No newline, but the client closed its side: still one request.
        let mut stream = UnixStream::connect(&socket).await.unwrap();
        stream.write_all(br#"{"op":"userSession"}"#).await.unwrap();
        stream.shutdown().await.unwrap();
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).await.unwrap();
        let answer: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(answer["code"], "offline", "{answer}");

        // Nothing waits for this user.
        let answer = ask(&socket, b"{\"op\":\"pendingSecrets\"}\n").await;
        assert_eq!(answer, serde_json::json!({"ok": true, "secrets": []}));

        stop.send(true).unwrap();
        task.await.unwrap();
        assert!(!socket.exists(), "the socket is removed at shutdown");
    }

    /// Beyond its share, one uid is told `busy` as a JSON line and the connection ends
    /// cleanly (EOF, not a reset), whether the client wrote its request first or not.
    #[tokio::test]
    async fn one_user_beyond_its_share_is_told_busy_without_a_reset() {
        let temp = tempfile::tempdir().unwrap();
        let (socket, stop, task) = bridge(temp.path());
        let mut held = Vec::new();
        for _ in 0..MAX_CONNECTIONS_PER_USER {
            held.push(UnixStream::connect(&socket).await.unwrap());
        }
        // The agent accepts connections in the order they came: the held ones are served.
        let busy = ask(&socket, b"{\"op\":\"pendingSecrets\"}\n").await;
        assert_eq!(busy["code"], "busy", "{busy}");
        assert_eq!(busy["ok"], false);
        assert!(
            busy["message"].as_str().unwrap().contains("close one"),
            "{busy}"
        );

        for request in [&b"{\"op\":\"pendingSecrets\"}\n"[..], b""] {
            let mut stream = UnixStream::connect(&socket).await.unwrap();
            stream.write_all(request).await.unwrap();
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            reader.read_line(&mut line).await.unwrap();
            let answer: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(answer["code"], "busy", "{answer}");
            let mut rest = Vec::new();
            let read = reader.read_to_end(&mut rest).await;
            assert!(matches!(read, Ok(0)), "a clean end, not {read:?}");
        }

        // Once one is given back (the agent sees it end), this user is served again.
        drop(held.pop());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while ask(&socket, b"{\"op\":\"pendingSecrets\"}\n").await["ok"] != true {
            assert!(std::time::Instant::now() < deadline, "never served again");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        stop.send(true).unwrap();
        task.await.unwrap();
    }

    #[tokio::test]
    async fn a_stale_socket_is_replaced_but_a_live_one_or_a_file_is_not() {
        let temp = tempfile::tempdir().unwrap();
        let (socket, stop, task) = bridge(temp.path());
        // A live bridge: a second one refuses to take its place.
        let (_, second_shutdown) = watch::channel(false);
        let second = start(BridgeSetup {
            socket: socket.clone(),
            client: ApiClient::new("http://127.0.0.1:9").unwrap(),
            server_url: "http://127.0.0.1:9".into(),
            pending_secrets_dir: temp.path().join("pending-secrets"),
            sharing: Arc::new(SharingChoices::load(temp.path().join("sharing"))),
            shutdown: second_shutdown,
        });
        let error = second.expect_err("refused").to_string();
        assert!(error.contains("another process is listening"), "{error}");
        stop.send(true).unwrap();
        task.await.unwrap();

        // A socket file nobody listens on (an agent killed with SIGKILL) is stale.
        let stale = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        drop(stale);
        assert!(socket.exists());
        let (socket, stop, task) = bridge(temp.path());
        assert_eq!(
            ask(&socket, b"{\"op\":\"pendingSecrets\"}\n").await["ok"],
            true
        );
        stop.send(true).unwrap();
        task.await.unwrap();

        // Anything else at the path is left alone.
        std::fs::write(&socket, b"not a socket").unwrap();
        let (_, shutdown) = watch::channel(false);
        let refused = start(BridgeSetup {
            socket: socket.clone(),
            client: ApiClient::new("http://127.0.0.1:9").unwrap(),
            server_url: "http://127.0.0.1:9".into(),
            pending_secrets_dir: temp.path().join("pending-secrets"),
            sharing: Arc::new(SharingChoices::load(temp.path().join("sharing"))),
            shutdown,
        });
        assert!(refused.is_err());
        assert_eq!(std::fs::read(&socket).unwrap(), b"not a socket");
    }

    #[tokio::test]
    async fn pending_secrets_go_to_their_own_account_once() {
        let temp = tempfile::tempdir().unwrap();
        let me = accounts::lookup(rustix::process::getuid().as_raw()).expect("my account");
        let dir = temp.path().join("pending-secrets");
        let now = chrono::Utc::now();
        crate::orders::store_pending_secret(&dir, "ord_mine", &me.name, "Mine234abcDEFGH", now)
            .unwrap();
        crate::orders::store_pending_secret(
            &dir,
            "ord_other",
            "somebody-else",
            "Theirs234abcDEF",
            now,
        )
        .unwrap();
        let (socket, stop, task) = bridge(temp.path());

        let answer = ask(&socket, b"{\"op\":\"pendingSecrets\"}\n").await;
        assert_eq!(answer["ok"], true, "{answer}");
        let secrets = answer["secrets"].as_array().unwrap();
        assert_eq!(secrets.len(), 1, "{answer}");
        assert_eq!(secrets[0]["orderId"], "ord_mine");
        assert_eq!(secrets[0]["account"], me.name.as_str());
        assert_eq!(secrets[0]["password"], "Mine234abcDEFGH");
        assert!(secrets[0]["createdAt"].is_string());
        // Handed out once: gone now; somebody else's stays.
        let answer = ask(&socket, b"{\"op\":\"pendingSecrets\"}\n").await;
        assert_eq!(answer, serde_json::json!({"ok": true, "secrets": []}));
        assert!(!dir.join("ord_mine").exists());
        assert!(dir.join("ord_other").exists());

        stop.send(true).unwrap();
        task.await.unwrap();
    }
}
