//! The real server on its own thread and runtime (as in the agent's and server's tests),
//! plus helpers to talk to it.

use std::net::SocketAddr;

use deskside_client::api::TicketFilter;
use deskside_client::{Auth, Client, LocalStore};
use deskside_core::ticket::{NewTicket, Requester};
use deskside_core::{Category, Impact, Urgency, UserKind};
use deskside_server::demo;
use deskside_server::testing::TestServer;

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
