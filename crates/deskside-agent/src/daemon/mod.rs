//! `deskside-agent run [--state-dir DIR] [--policy PATH] [--socket PATH]`: the daemon.
//!
//! Three loops share one HTTP client and talk to the server over outbound HTTP(S) only:
//! - **heartbeat**: `POST /agent/heartbeat` every `heartbeatSeconds` (the server says how
//!   often); also starts a new CPU sampling window for the warm collector;
//! - **snapshots**: a warm-collector snapshot uploaded at start, every `snapshotSeconds`,
//!   and at once when a local user changes what they share; only the sections the policy
//!   and every user's choices let the agent send ([`crate::sharing`]);
//! - **orders**: a long poll (`GET /agent/orders?waitSeconds=25`) that the server answers at
//!   once when an order is pending, so an approved order starts within about a second; each
//!   order goes through [`crate::orders`].
//!
//! Every loop backs off on its own (exponential, full jitter, 1 s → 60 s, reset on success;
//! a rejected credential waits the maximum) and all wake up as soon as any of them reaches
//! the server again. The policy file is watched and reloaded live; an invalid file, or one
//! that anyone but root and the agent's account could change (`Policy::load`), is logged and
//! the last good policy stays in force (at start: none, so every order is refused). SIGTERM
//! or Ctrl-C stops the loops, lets a running order finish and report, and writes the final
//! status.
//!
//! Beside the loops, the local bridge ([`crate::bridge`]) serves the signed-in users'
//! desktop apps on a Unix socket; if it cannot start, the daemon logs why and runs without
//! it.

mod contact;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use deskside_diagnostics::{Collector, CollectorOptions, NetworkChecks, SnapshotRequest};
use deskside_remediation::PolicyHandle;
use deskside_remediation::order::{NonceStatus, ReplayStoreError};
use deskside_remediation::policy::DEFAULT_POLICY_TOML;
use deskside_remediation::{FileReplayGuard, Policy, PolicyEvent, PolicyWatcher, ReplayGuard};
use tokio::sync::watch;

use crate::backoff::Backoff;
use crate::bridge::{self, BridgeSetup};
use crate::client::{AGENT_VERSION, ApiClient, ApiError, UploadSource};
use crate::orders::{Orders, OrdersSetup};
use crate::sharing::{self, SharingChoices};
use crate::state::{
    CredentialStore, DaemonStatus, Enrollment, PolicySummary, StateDir, StateDirArg, Visibility,
};
use contact::{Contact, StatusBoard};

/// How long the server may hold a long poll.
const LONG_POLL_WAIT: Duration = Duration::from_secs(25);
/// An empty answer sooner than this is followed by a pause, so a server that does not hold
/// polls cannot make the agent spin.
const MIN_EMPTY_POLL: Duration = Duration::from_secs(1);
/// Until the server says otherwise (its default).
const DEFAULT_SNAPSHOT: Duration = Duration::from_secs(15 * 60);
/// Intervals the server asks for are kept within these bounds.
const HEARTBEAT_BOUNDS: (u64, u64) = (5, 3600);
const SNAPSHOT_BOUNDS: (u64, u64) = (60, 7 * 24 * 3600);
/// Clock difference with the server beyond which orders risk being refused as expired.
const SKEW_WARNING: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    state_dir: StateDirArg,
    /// The endpoint policy file (admin-owned TOML: which actions this machine accepts)
    /// [default: policy.toml in the state directory; written with the defaults if missing].
    #[arg(long, value_name = "PATH", env = "DESKSIDE_AGENT_POLICY")]
    policy: Option<PathBuf>,
    /// The local bridge socket the signed-in users' desktop apps connect to (Linux and
    /// macOS; not served on Windows yet) [default: /run/deskside/agent.sock;
    /// /var/run/deskside/agent.sock on macOS].
    #[arg(long, value_name = "PATH", env = bridge::SOCKET_ENV)]
    socket: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let state = args.state_dir.resolve();
    let policy_path = args
        .policy
        .clone()
        .unwrap_or_else(|| state.default_policy_file());
    let socket = args.socket.unwrap_or_else(bridge::default_socket_path);
    let setup = Setup::load(state, policy_path, socket)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("deskside-agent")
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(daemon(setup))
}

/// What the daemon reads before it starts; any failure here stops it with a clear message.
struct Setup {
    state: StateDir,
    enrollment: Enrollment,
    client: ApiClient,
    policy_path: PathBuf,
    socket: PathBuf,
}

impl Setup {
    fn load(state: StateDir, policy_path: PathBuf, socket: PathBuf) -> anyhow::Result<Setup> {
        state.prepare()?;
        let enrollment = state.load_enrollment()?.ok_or_else(|| {
            anyhow::anyhow!(
                "this machine is not enrolled (no {}): run `deskside-agent enroll --server URL \
                 --token TOKEN` first",
                state.enrollment_file().display()
            )
        })?;
        // Fail now, not at the first order, if the pinned key is damaged.
        enrollment.verifier()?;
        let store = CredentialStore::new(&state);
        let credential = store
            .load()
            .with_context(|| format!("reading the device credential ({})", store.describe()))?
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "the device credential is missing ({}); enroll again with --force",
                    store.describe()
                )
            })?;
        let client = ApiClient::new(&enrollment.server_url)?.with_credential(credential);
        Ok(Setup {
            state,
            enrollment,
            client,
            policy_path,
            socket,
        })
    }
}

/// Writes the default policy if there is no policy file yet: readable by all (0644),
/// owned by the account the daemon runs as (root: the administrator).
fn ensure_policy_file(path: &Path) -> anyhow::Result<()> {
    if path.exists() {
        return Ok(());
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    crate::state::files::write_atomic(path, DEFAULT_POLICY_TOML.as_bytes(), Visibility::Public)
        .with_context(|| format!("writing the default policy to {}", path.display()))?;
    tracing::info!(
        path = %path.display(),
        "wrote the default policy; edit it to choose which actions this endpoint accepts"
    );
    Ok(())
}

/// Stands in for the replay store when it cannot be opened: every order is refused
/// (`replay_store_unavailable`), while heartbeats and diagnostics go on.
struct UnavailableReplayStore(String);

impl ReplayGuard for UnavailableReplayStore {
    fn contains(&self, _: &str, _: chrono::DateTime<Utc>) -> Result<bool, ReplayStoreError> {
        Err(ReplayStoreError(self.0.clone()))
    }

    fn check_and_record(
        &self,
        _: &str,
        _: chrono::DateTime<Utc>,
        _: chrono::DateTime<Utc>,
    ) -> Result<NonceStatus, ReplayStoreError> {
        Err(ReplayStoreError(self.0.clone()))
    }
}

/// What the loops share.
struct Shared {
    client: ApiClient,
    contact: Contact,
    board: StatusBoard,
    collector: Arc<Mutex<Collector>>,
    /// The policy in force: its `[diagnostics]` bounds what the snapshot loop sends.
    policy: PolicyHandle,
    sharing: Arc<SharingChoices>,
    snapshot_every: watch::Sender<Duration>,
    shutdown: watch::Receiver<bool>,
}

async fn daemon(setup: Setup) -> anyhow::Result<()> {
    let Setup {
        state,
        enrollment,
        client,
        policy_path,
        socket,
    } = setup;
    tracing::info!(
        version = AGENT_VERSION,
        server = %enrollment.server_url,
        device = %enrollment.device_id,
        state_dir = %state.root().display(),
        "deskside-agent starting"
    );

    ensure_policy_file(&policy_path)?;
    if let Err(error) = Policy::load(&policy_path) {
        tracing::error!(
            %error,
            "the policy file is invalid or others can change it: every order is refused until \
             it is fixed"
        );
    }
    let (board, status_rx) = StatusBoard::new(DaemonStatus {
        pid: std::process::id(),
        agent_version: AGENT_VERSION.to_owned(),
        started_at: Utc::now(),
        stopped_at: None,
        last_contact_at: None,
        last_error: None,
        last_error_at: None,
        last_snapshot_at: None,
        policy: PolicySummary::of(&policy_path, &Policy::deny_all()),
    });
    let status_writer = tokio::spawn(contact::write_status(state.clone(), status_rx));

    // Deny everything until the file has been read: an unreadable policy must not widen
    // what this endpoint accepts.
    let watcher = {
        let board = board.clone();
        let path = policy_path.clone();
        PolicyWatcher::start(&policy_path, Policy::deny_all(), move |event| match event {
            PolicyEvent::Reloaded(policy) => {
                board.update(|s| s.policy = PolicySummary::of(&path, policy));
            }
            PolicyEvent::Rejected(error) => {
                board.update(|s| s.policy.error = Some(error.to_string()));
            }
        })
        .with_context(|| format!("watching the policy file {}", policy_path.display()))?
    };
    board.update(|s| {
        let error = s.policy.error.take();
        s.policy = PolicySummary::of(&policy_path, &watcher.current());
        s.policy.error = error;
    });

    let replay_guard: Arc<dyn ReplayGuard> = match FileReplayGuard::open(state.replay_file()) {
        Ok(guard) => Arc::new(guard),
        Err(error) => {
            tracing::error!(
                %error,
                "the replay-protection store cannot be opened: every order is refused until it \
                 is repaired or removed"
            );
            Arc::new(UnavailableReplayStore(error.0))
        }
    };

    let collector = Arc::new(Mutex::new(Collector::new(CollectorOptions {
        network: NetworkChecks {
            server_url: Some(enrollment.server_url.clone()),
            ..NetworkChecks::default()
        },
        ..CollectorOptions::default()
    })));

    let sharing = Arc::new(SharingChoices::load(state.sharing_dir()));

    let (shutdown_tx, shutdown) = watch::channel(false);
    tokio::spawn(async move {
        let signal = shutdown_signal().await;
        tracing::info!("{signal}: shutting down");
        let _ = shutdown_tx.send(true);
    });

    let orders = Orders::new(OrdersSetup {
        verifier: enrollment.verifier()?,
        device_id: enrollment.device_id.clone(),
        replay_guard,
        policy: watcher.handle(),
        executor: Arc::from(deskside_remediation::execute::platform_executor()),
        take_snapshot: {
            let collector = Arc::clone(&collector);
            Arc::new(move |request: &SnapshotRequest| {
                collector
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .snapshot(request)
            })
        },
        sharing: Arc::clone(&sharing),
        pending_secrets_dir: state.pending_secrets_dir(),
        journal_dir: state.orders_journal_dir(),
        shutdown: shutdown.clone(),
    });
    let bridge = bridge::start(BridgeSetup {
        socket,
        client: client.clone(),
        server_url: enrollment.server_url.clone(),
        pending_secrets_dir: state.pending_secrets_dir(),
        sharing: Arc::clone(&sharing),
        shutdown: shutdown.clone(),
    })
    .inspect_err(|error| {
        tracing::warn!("the local bridge for desktop apps is off: {error:#}");
    })
    .ok();
    let (snapshot_every, _) = watch::channel(DEFAULT_SNAPSHOT);
    let shared = Arc::new(Shared {
        contact: Contact::new(board.clone(), enrollment.server_url.clone()),
        client,
        board: board.clone(),
        collector,
        policy: watcher.handle(),
        sharing,
        snapshot_every,
        shutdown,
    });

    tokio::join!(
        heartbeat_loop(&shared),
        snapshot_loop(&shared),
        orders_loop(&shared, &orders),
    );

    if let Some(bridge) = bridge {
        let _ = bridge.await;
    }
    drop(watcher);
    board.update(|s| s.stopped_at = Some(Utc::now()));
    drop(orders);
    drop(shared);
    drop(board);
    let _ = status_writer.await;
    tracing::info!("deskside-agent stopped");
    Ok(())
}

/// Resolves on Ctrl-C, or SIGTERM on Unix (what `service stop` and systemd send); names it.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "interrupted",
                _ = term.recv() => "SIGTERM received",
            },
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the agent");
                let _ = tokio::signal::ctrl_c().await;
                "interrupted"
            }
        }
    }
    #[cfg(not(unix))]
    {
        // Ctrl-C, and Ctrl-Break or console close. (Running under the Windows service
        // control manager needs its own stop handler, added with the Windows installer.)
        let _ = tokio::signal::ctrl_c().await;
        "interrupted"
    }
}

/// How long to wait after `error`: the usual backoff, or the maximum for errors that
/// retrying soon will not fix (a rejected credential, a refused request).
fn retry_delay(backoff: &mut Backoff, error: &ApiError) -> Duration {
    if error.is_transient() {
        backoff.next_delay(rand::random::<f64>())
    } else {
        backoff.at_max()
    }
}

/// Sleeps `delay`; returns false when the daemon is shutting down. With `wake_on_reconnect`
/// the sleep also ends when another loop reaches the server again.
async fn pause(shared: &Shared, delay: Duration, wake_on_reconnect: bool) -> bool {
    let mut shutdown = shared.shutdown.clone();
    if *shutdown.borrow_and_update() {
        return false;
    }
    let reconnected = shared.contact.reconnected();
    tokio::select! {
        () = tokio::time::sleep(delay) => true,
        () = reconnected, if wake_on_reconnect => true,
        _ = shutdown.changed() => false,
    }
}

fn clamp_seconds(seconds: u64, (min, max): (u64, u64)) -> Duration {
    Duration::from_secs(seconds.clamp(min, max))
}

async fn heartbeat_loop(shared: &Shared) {
    let mut backoff = Backoff::default();
    let mut warned_skew = false;
    loop {
        let answer = tokio::select! {
            answer = shared.client.heartbeat() => answer,
            _ = stopped(shared) => return,
        };
        let delay = match answer {
            Ok(answer) => {
                backoff.reset();
                shared.contact.succeeded();
                let skew = answer.server_time - Utc::now();
                if skew.abs() > SKEW_WARNING && !warned_skew {
                    tracing::warn!(
                        "this machine's clock is {} s off the server's: orders may be refused as \
                         expired or not yet valid",
                        skew.num_seconds()
                    );
                }
                warned_skew = skew.abs() > SKEW_WARNING;
                let snapshot_every = clamp_seconds(answer.snapshot_seconds, SNAPSHOT_BOUNDS);
                shared.snapshot_every.send_if_modified(|current| {
                    std::mem::replace(current, snapshot_every) != snapshot_every
                });
                // A warm snapshot then shows usage since this heartbeat, not since the last
                // snapshot minutes ago.
                let collector = Arc::clone(&shared.collector);
                let _ = tokio::task::spawn_blocking(move || {
                    collector
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .sample_cpu();
                })
                .await;
                clamp_seconds(answer.heartbeat_seconds, HEARTBEAT_BOUNDS)
            }
            Err(error) => {
                shared.contact.failed(&error);
                let delay = retry_delay(&mut backoff, &error);
                tracing::info!("heartbeat: {error}; retrying in {delay:.1?}");
                delay
            }
        };
        if !pause(shared, delay, backoff.failures() > 0).await {
            return;
        }
    }
}

async fn snapshot_loop(shared: &Shared) {
    let mut backoff = Backoff::default();
    let mut snapshot_every = shared.snapshot_every.subscribe();
    let mut sharing_changed = shared.sharing.changed();
    loop {
        sharing_changed.mark_unchanged();
        let collector = Arc::clone(&shared.collector);
        let withheld = shared
            .sharing
            .withheld(&shared.policy.current().diagnostics);
        let snapshot = tokio::task::spawn_blocking(move || {
            sharing::snapshot_without(&withheld, false, |request| {
                collector
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .snapshot(request)
            })
        });
        let snapshot = tokio::select! {
            snapshot = snapshot => snapshot,
            _ = stopped(shared) => return,
        };
        let snapshot = match snapshot {
            Ok(snapshot) => snapshot,
            Err(error) => {
                tracing::error!("taking a snapshot failed: {error}");
                if !pause(shared, backoff.at_max(), false).await {
                    return;
                }
                continue;
            }
        };
        let uploaded = tokio::select! {
            uploaded = shared.client.upload_snapshot(&snapshot, UploadSource::Background) => uploaded,
            _ = stopped(shared) => return,
        };
        let delay = match uploaded {
            Ok(()) => {
                backoff.reset();
                shared.contact.succeeded();
                shared
                    .board
                    .update(|s| s.last_snapshot_at = Some(snapshot.collected_at));
                tracing::debug!(duration_ms = snapshot.duration_ms, "snapshot uploaded");
                *snapshot_every.borrow_and_update()
            }
            Err(error @ ApiError::Refused { .. }) => {
                // This snapshot will not be taken (too large, say); the next one may be.
                shared.contact.failed(&error);
                let delay = *snapshot_every.borrow_and_update();
                tracing::warn!("snapshot upload: {error}; next snapshot in {delay:.0?}");
                delay
            }
            Err(error) => {
                shared.contact.failed(&error);
                let delay = retry_delay(&mut backoff, &error);
                tracing::info!("snapshot upload: {error}; retrying in {delay:.1?}");
                delay
            }
        };
        let carry_on = tokio::select! {
            carry_on = pause(shared, delay, backoff.failures() > 0) => carry_on,
            // A user just switched something off (or on): the device view should show
            // their choice now, not in a quarter of an hour.
            _ = sharing_changed.changed() => true,
        };
        if !carry_on {
            return;
        }
    }
}

async fn orders_loop(shared: &Shared, orders: &Orders) {
    // What a crash left unreported goes first, so the server hears how those orders ended
    // before it is asked for new ones.
    tokio::select! {
        () = orders.recover(&shared.client) => {}
        _ = stopped(shared) => return,
    }
    let mut backoff = Backoff::default();
    loop {
        let asked_at = tokio::time::Instant::now();
        // After a failure, ask without waiting: the answer says at once that the server is
        // back (and wakes the other loops), rather than when a long poll ends.
        let wait = if backoff.failures() > 0 {
            Duration::ZERO
        } else {
            LONG_POLL_WAIT
        };
        let polled = tokio::select! {
            polled = shared.client.poll_orders(wait) => polled,
            _ = stopped(shared) => return,
        };
        match polled {
            Ok(delivered) => {
                backoff.reset();
                shared.contact.succeeded();
                if delivered.is_empty() {
                    let quick = MIN_EMPTY_POLL.saturating_sub(asked_at.elapsed());
                    if !quick.is_zero() && !pause(shared, quick, false).await {
                        return;
                    }
                }
                // One at a time, in the order the server sent them; a shutdown lets the
                // running order finish and report, and leaves the rest for next time.
                for raw in delivered {
                    if *shared.shutdown.borrow() {
                        return;
                    }
                    orders.handle(&shared.client, raw).await;
                }
            }
            Err(error) => {
                shared.contact.failed(&error);
                let delay = retry_delay(&mut backoff, &error);
                tracing::info!("orders: {error}; retrying in {delay:.1?}");
                if !pause(shared, delay, true).await {
                    return;
                }
            }
        }
    }
}

/// Resolves once the daemon is shutting down.
async fn stopped(shared: &Shared) {
    let mut shutdown = shared.shutdown.clone();
    let _ = shutdown.wait_for(|stop| *stop).await;
}
