//! The Deskside central server: HTTP API over the domain core, with auth, storage, SLA
//! sweeps and the audit log. The binary in `main.rs` is a thin CLI over this library; tests
//! start the same [`Server`] on a loopback port.

pub mod audit;
pub mod audit_checkpoints;
pub mod clock;
pub mod demo;
pub mod error;
pub mod http;
pub mod net;
pub mod order_keys;
pub mod order_wakeups;
pub mod private_files;
pub mod secrets;
pub mod sla_sweeper;
pub mod storage;
pub mod testing;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use anyhow::Context;
use deskside_core::sla::SlaSettings;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::clock::{Clock, SystemClock};
use crate::secrets::HashCost;
use crate::storage::{SqliteStorage, Storage};

/// How a server instance is set up.
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub clock: Arc<dyn Clock>,
    /// How often the SLA sweep runs; `None` runs it only when asked (tests).
    pub sla_sweep_every: Option<std::time::Duration>,
    pub password_cost: HashCost,
    /// Refuse to start without an admin account, so a fresh install is never left open.
    pub require_admin: bool,
    /// Timeouts and caps for connections still sending their request (`net.rs`).
    pub connections: net::ConnectionLimits,
    /// Reverse proxies whose `X-Forwarded-For` names the client (none by default).
    pub trusted_proxies: http::client_addr::TrustedProxies,
    /// Bound on the database's write-ahead log, in bytes (`--wal-limit-mb`).
    pub wal_limit_bytes: u64,
    /// How often the audit log's head is checkpointed while it moves; `None`: only at
    /// start and when asked (tests).
    pub audit_checkpoint_every: Option<std::time::Duration>,
}

impl ServerConfig {
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> ServerConfig {
        ServerConfig {
            listen,
            data_dir,
            clock: Arc::new(SystemClock),
            sla_sweep_every: Some(std::time::Duration::from_secs(5)),
            password_cost: HashCost::Strong,
            require_admin: true,
            connections: net::ConnectionLimits::default(),
            trusted_proxies: http::client_addr::TrustedProxies::default(),
            wal_limit_bytes: storage::DEFAULT_WAL_LIMIT_BYTES,
            audit_checkpoint_every: Some(audit_checkpoints::CHECKPOINT_EVERY),
        }
    }
}

/// Shared by every request.
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    pub clock: Arc<dyn Clock>,
    /// Read on every ticket write; replaced whole when an admin saves new settings.
    pub sla: RwLock<Arc<SlaSettings>>,
    pub login_throttle: http::auth::LoginThrottle,
    pub requester_session_limiter: http::issuance_limit::IssuanceLimiter,
    pub credentials: http::credential_cache::CredentialCache,
    pub password_cost: HashCost,
    pub order_signer: deskside_remediation::OrderSigner,
    pub order_wakeups: order_wakeups::OrderWakeups,
}

impl AppState {
    pub fn sla(&self) -> Arc<SlaSettings> {
        self.sla.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A running server.
pub struct Server {
    pub address: SocketAddr,
    pub state: Arc<AppState>,
    serve: JoinHandle<()>,
    /// Set to true to stop: the accept loop ends and every connection is closed.
    stop: tokio::sync::watch::Sender<bool>,
    sweeper: Option<JoinHandle<()>>,
    checkpointer: Option<JoinHandle<()>>,
}

/// The default SLA settings for a new install: the desk's own time zone is set by an admin.
pub fn default_sla_settings() -> SlaSettings {
    SlaSettings::standard(chrono_tz::Tz::UTC)
}

/// Opens storage and loads settings, writing the defaults on first start.
pub async fn open_state(
    data_dir: &std::path::Path,
    clock: Arc<dyn Clock>,
    password_cost: HashCost,
) -> anyhow::Result<Arc<AppState>> {
    open_state_with_wal_limit(
        data_dir,
        clock,
        password_cost,
        storage::DEFAULT_WAL_LIMIT_BYTES,
    )
    .await
}

/// [`open_state`] with the bound on the database's write-ahead log.
pub async fn open_state_with_wal_limit(
    data_dir: &std::path::Path,
    clock: Arc<dyn Clock>,
    password_cost: HashCost,
    wal_limit: u64,
) -> anyhow::Result<Arc<AppState>> {
    private_files::prepare_data_dir(data_dir)?;
    // The signing key first: the data folder's first checkpoint is signed with it.
    let order_signer = order_keys::load_or_create(data_dir)?;
    let sqlite = SqliteStorage::open_with_wal_limit(data_dir, wal_limit)?;
    let audit_key_created = sqlite.audit_key_created();
    let storage: Arc<dyn Storage> = Arc::new(sqlite);
    let sla = match storage.sla_settings().await? {
        Some(settings) => settings,
        None => {
            let settings = default_sla_settings();
            let entry = audit::AuditEntry {
                actor: "system".into(),
                action: "sla.initialise".into(),
                subject: "sla".into(),
                details: serde_json::json!({ "reason": "first start: standard settings" }),
            };
            storage
                .save_sla_settings(settings.clone(), None, entry, clock.now())
                .await?;
            settings
        }
    };
    let state = Arc::new(AppState {
        storage,
        clock,
        sla: RwLock::new(Arc::new(sla)),
        login_throttle: http::auth::LoginThrottle::default(),
        requester_session_limiter: http::issuance_limit::IssuanceLimiter::default(),
        credentials: http::credential_cache::CredentialCache::default(),
        password_cost,
        order_signer,
        order_wakeups: order_wakeups::OrderWakeups::default(),
    });
    // A log becoming keyed now (new install, or the first start after an upgrade) gets its
    // first checkpoint at once, anchoring the older version's unkeyed rows.
    if audit_key_created && let Err(error) = audit_checkpoints::checkpoint(&state, true).await {
        tracing::error!(%error, "first audit checkpoint refused: run `deskside-server audit verify`");
    }
    Ok(state)
}

impl Server {
    pub async fn start(config: ServerConfig) -> anyhow::Result<Server> {
        let state = open_state_with_wal_limit(
            &config.data_dir,
            config.clock,
            config.password_cost,
            config.wal_limit_bytes,
        )
        .await?;
        if config.require_admin {
            let admins = state
                .storage
                .list_staff()
                .await?
                .into_iter()
                .filter(|u| u.active && u.role == deskside_core::Role::Admin)
                .count();
            anyhow::ensure!(
                admins > 0,
                "no admin account exists in {}: create one first with \
                 `deskside-server user add --data-dir {} --username NAME --role admin --password-stdin`",
                config.data_dir.display(),
                config.data_dir.display()
            );
        }
        let listener =
            bind(config.listen).with_context(|| format!("listening on {}", config.listen))?;
        let address = listener.local_addr()?;
        let router = http::router(state.clone());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let serve = tokio::spawn(net::serve(
            listener,
            router,
            config.connections,
            Arc::new(config.trusted_proxies),
            stopped,
        ));
        let sweeper = config
            .sla_sweep_every
            .map(|every| tokio::spawn(sla_sweeper::run_every(state.clone(), every)));
        audit_checkpoints::checkpoint_logged(&state).await;
        let checkpointer = config
            .audit_checkpoint_every
            .map(|every| tokio::spawn(audit_checkpoints::run_every(state.clone(), every)));
        Ok(Server {
            address,
            state,
            serve,
            stop,
            sweeper,
            checkpointer,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Runs one SLA sweep now; returns how many tickets changed.
    pub async fn sweep_sla(&self) -> anyhow::Result<usize> {
        sla_sweeper::sweep_once(&self.state).await
    }

    /// Runs one action sweep now (requests `running` with no report past their deadline
    /// fail); returns how many failed.
    pub async fn sweep_actions(&self) -> anyhow::Result<usize> {
        http::actions::fail_unreported(&self.state).await
    }

    /// Waits until the server stops (it runs until the process ends).
    pub async fn wait(self) {
        let _ = self.serve.await;
    }

    /// Stops accepting requests and background work, and closes every open connection
    /// (kept-alive ones and long-polls included).
    pub fn stop(self) {
        let _ = self.stop.send(true);
        self.serve.abort();
        for task in [self.sweeper, self.checkpointer].into_iter().flatten() {
            task.abort();
        }
    }
}

/// Binds with a listen backlog above tokio's default 1024, which overflows when thousands of
/// clients reconnect at once after an outage.
fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(address)?;
    socket.listen(4096)
}
