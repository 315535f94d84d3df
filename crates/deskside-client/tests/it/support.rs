//! The real server on its own thread and runtime (as in the agent's and server's tests),
//! plus helpers to talk to it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use deskside_client::api::TicketFilter;
use deskside_client::{Auth, Client, LocalStore};
use deskside_core::ticket::{NewTicket, Requester};
use deskside_core::{Category, Impact, Urgency, UserKind};
use deskside_server::clock::SystemClock;
use deskside_server::secrets::HashCost;
use deskside_server::{Server, ServerConfig, demo};

/// A `deskside-server` with the demo staff. Stopping it drops its runtime, which closes
/// every connection (an aborted `axum::serve` alone would leave keep-alive connections
/// answering).
pub struct TestServer {
    pub address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Starts on `listen` (port 0: any free port) with the data in `data_dir`.
    pub fn start(data_dir: &Path, listen: SocketAddr) -> TestServer {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let data_dir = data_dir.to_owned();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("server runtime");
            runtime.block_on(async move {
                let started = async {
                    let state = deskside_server::open_state(
                        &data_dir,
                        Arc::new(SystemClock),
                        HashCost::Fast,
                    )
                    .await?;
                    demo::seed_staff(&state).await?;
                    drop(state);
                    let mut config = ServerConfig::new(listen, data_dir);
                    config.sla_sweep_every = None;
                    config.password_cost = HashCost::Fast;
                    Server::start(config).await
                };
                match started.await {
                    Ok(server) => {
                        let _ = ready_tx.send(Ok(server.address));
                        let _ = stop_rx.await;
                        server.stop();
                    }
                    Err(error) => {
                        let _ = ready_tx.send(Err(format!("{error:#}")));
                    }
                }
            });
        });
        let address = ready_rx
            .recv()
            .expect("the server thread answers")
            .unwrap_or_else(|e| panic!("the server starts: {e}"));
        TestServer {
            address,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Stops the server; its port is closed when this returns.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// A server, its data, and a local store for the client.
pub struct Desk {
    pub server: Option<TestServer>,
    pub address: SocketAddr,
    pub data: tempfile::TempDir,
    pub local: tempfile::TempDir,
    pub store: LocalStore,
}

impl Desk {
    pub fn start() -> Desk {
        let data = tempfile::tempdir().expect("temp dir");
        let local = tempfile::tempdir().expect("temp dir");
        let server = TestServer::start(data.path(), SocketAddr::from(([127, 0, 0, 1], 0)));
        let store = LocalStore::open(&local.path().join("client.db")).expect("local store");
        Desk {
            address: server.address,
            server: Some(server),
            data,
            local,
            store,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn stop_server(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
    }

    /// Starts the server again on the same address and data.
    pub fn restart_server(&mut self) {
        self.stop_server();
        self.server = Some(TestServer::start(self.data.path(), self.address));
    }

    /// A client signed in as the demo user `username`.
    pub async fn staff(&self, username: &str) -> Client {
        let client = Client::new(&self.url()).expect("client");
        let login = client
            .login(username, demo::DEMO_PASSWORD)
            .await
            .expect("login");
        client.with_auth(Auth::Staff { token: login.token })
    }

    /// The path of the client's SQLite file.
    pub fn db_path(&self) -> std::path::PathBuf {
        self.local.path().join("client.db")
    }
}

pub fn new_ticket(title: &str) -> NewTicket {
    NewTicket {
        title: title.to_owned(),
        description: "The printer on floor 2 shows a paper jam that is not there.".into(),
        category: Category::Printer,
        impact: Impact::Team,
        urgency: Urgency::Degraded,
        requester: Requester {
            name: "Test User".into(),
            email: None,
            user_kind: UserKind::InternalStaff,
            username: None,
        },
        device_id: None,
        tags: Vec::new(),
    }
}

/// How many tickets titled `title` the server has.
pub async fn count_titled(client: &Client, title: &str) -> usize {
    let filter = TicketFilter {
        limit: Some(200),
        ..TicketFilter::default()
    };
    let page = client.list_tickets(&filter).await.expect("list");
    assert!(page.next_cursor.is_none(), "fits one page");
    page.items.iter().filter(|t| t.title == title).count()
}
