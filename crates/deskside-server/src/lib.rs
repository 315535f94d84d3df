//! The Deskside central server: HTTP API over the domain core, with auth, storage, SLA
//! sweeps and the audit log. The binary in `main.rs` is a thin CLI over this library; tests
//! start the same [`Server`] on a loopback port.

pub mod audit;
pub mod clock;
pub mod demo;
pub mod error;
pub mod http;
pub mod order_keys;
pub mod order_wakeups;
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
    sweeper: Option<JoinHandle<()>>,
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
    let storage: Arc<dyn Storage> = Arc::new(SqliteStorage::open(data_dir)?);
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
                .save_sla_settings(settings.clone(), entry, clock.now())
                .await?;
            settings
        }
    };
    Ok(Arc::new(AppState {
        storage,
        clock,
        sla: RwLock::new(Arc::new(sla)),
        login_throttle: http::auth::LoginThrottle::default(),
        credentials: http::credential_cache::CredentialCache::default(),
        password_cost,
        order_signer: order_keys::load_or_create(data_dir)?,
        order_wakeups: order_wakeups::OrderWakeups::default(),
    }))
}

impl Server {
    pub async fn start(config: ServerConfig) -> anyhow::Result<Server> {
        let state = open_state(&config.data_dir, config.clock, config.password_cost).await?;
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
        let serve = tokio::spawn(async move {
            let service = router.into_make_service_with_connect_info::<SocketAddr>();
            if let Err(error) = axum::serve(listener, service).await {
                tracing::error!(%error, "server stopped");
            }
        });
        let sweeper = config
            .sla_sweep_every
            .map(|every| tokio::spawn(sla_sweeper::run_every(state.clone(), every)));
        Ok(Server {
            address,
            state,
            serve,
            sweeper,
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

    /// Stops accepting requests and background work.
    pub fn stop(self) {
        self.serve.abort();
        if let Some(sweeper) = self.sweeper {
            sweeper.abort();
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
