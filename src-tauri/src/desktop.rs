//! The app's state, shared by every command and the background loop.
//!
//! Two identities live side by side: the person signed in on this computer (filing tickets
//! through the endpoint agent's local bridge, which vouches for them) and, optionally, an
//! agent signed in to the console with a staff account.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use deskside_client::views::{AppStatus, CommandError, Connection, EndUserProfile, StaffProfile};
use deskside_client::{ApiError, Auth, Client, LocalStore, agent_bridge};
use deskside_diagnostics::{SectionName, Snapshot};

use crate::credentials;
use crate::settings::Settings;

/// Where the endpoint agent listens for this computer's users (the agent's own setting).
const AGENT_SOCKET_ENV: &str = "DESKSIDE_AGENT_SOCKET";

pub struct Desktop {
    settings: Mutex<Settings>,
    /// One HTTP client (connection pool, TLS setup) per server address, built on first use.
    http: Mutex<Option<Client>>,
    pub store: LocalStore,
    data_dir: PathBuf,
    agent_socket: PathBuf,
    sessions: Mutex<Sessions>,
    connection: Mutex<ConnectionState>,
    /// The last local snapshot shown in "Get help", trimmed and attached on submit.
    pub diagnostics: Mutex<Option<Snapshot>>,
    /// Screenshots taken and not yet sent or discarded, by id (PNG bytes).
    pub screenshots: Mutex<HashMap<String, Vec<u8>>>,
    /// Pokes the background loop to sync and deliver now.
    pub wake: tokio::sync::Notify,
    /// One outbox delivery at a time: a submit and the background loop would otherwise
    /// race (harmless for the server, which deduplicates, but each would report less).
    pub delivering: tokio::sync::Mutex<()>,
    /// The endpoint agent has the user's remembered sharing choices (told once per run
    /// and after every change; the agent keeps them across its restarts).
    agent_knows_sharing: AtomicBool,
}

#[derive(Default)]
struct Sessions {
    staff: Option<StaffSession>,
    requester: Option<RequesterSession>,
}

#[derive(Clone)]
struct StaffSession {
    token: String,
    profile: StaffProfile,
}

#[derive(Clone)]
struct RequesterSession {
    token: String,
    expires_at: DateTime<Utc>,
    local_user: String,
    display_name: String,
}

struct ConnectionState {
    connection: Connection,
    last_synced_at: Option<DateTime<Utc>>,
}

impl Desktop {
    pub fn open(data_dir: &Path) -> Result<Desktop, Box<dyn std::error::Error>> {
        std::fs::create_dir_all(data_dir)?;
        let store = LocalStore::open(&data_dir.join("desktop.db"))?;
        let agent_socket = std::env::var_os(AGENT_SOCKET_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(agent_bridge::default_socket);
        Ok(Desktop {
            settings: Mutex::new(Settings::load(data_dir)),
            http: Mutex::new(None),
            store,
            data_dir: data_dir.to_owned(),
            agent_socket,
            sessions: Mutex::new(Sessions::default()),
            connection: Mutex::new(ConnectionState {
                connection: Connection::Unknown,
                last_synced_at: None,
            }),
            diagnostics: Mutex::new(None),
            screenshots: Mutex::new(HashMap::new()),
            wake: tokio::sync::Notify::new(),
            delivering: tokio::sync::Mutex::new(()),
            agent_knows_sharing: AtomicBool::new(false),
        })
    }

    pub fn server_url(&self) -> String {
        lock(&self.settings).server_url()
    }

    pub fn set_server_url(&self, url: &str) -> Result<(), CommandError> {
        lock(&self.settings).set_server_url(url)?;
        // Sessions belong to a server: a new address starts signed out of the console.
        *lock(&self.sessions) = Sessions::default();
        self.set_connection(Connection::Unknown);
        Ok(())
    }

    fn client(&self) -> Result<Client, CommandError> {
        let url = self.server_url();
        let mut http = lock(&self.http);
        match http.as_ref() {
            Some(client) if client.base_url() == url.trim_end_matches('/') => Ok(client.clone()),
            _ => {
                let client = Client::new(&url).map_err(CommandError::from)?;
                *http = Some(client.clone());
                Ok(client)
            }
        }
    }

    pub fn status(&self) -> AppStatus {
        let settings = lock(&self.settings);
        let connection = lock(&self.connection);
        let sessions = lock(&self.sessions);
        let outbox = self.store.outbox_counts().unwrap_or_default();
        let local_user = local_user_name();
        AppStatus {
            server_url: settings.server_url(),
            server_url_locked: settings.server_url_locked(),
            connection: connection.connection,
            last_synced_at: connection.last_synced_at,
            outbox_waiting: outbox.pending,
            outbox_failed: outbox.failed,
            staff: sessions.staff.as_ref().map(|s| s.profile.clone()),
            end_user: match &sessions.requester {
                Some(session) => EndUserProfile {
                    local_user: session.local_user.clone(),
                    display_name: session.display_name.clone(),
                    device_linked: true,
                },
                None => EndUserProfile {
                    display_name: local_user.clone(),
                    local_user,
                    device_linked: false,
                },
            },
        }
    }

    /// Records what a server call said about the connection: any answer means online.
    pub fn observe<T>(&self, result: &Result<T, ApiError>) {
        match result {
            Err(ApiError::Offline(_)) => self.set_connection(Connection::Offline),
            Ok(_) | Err(ApiError::Server { .. }) => self.set_connection(Connection::Online),
            Err(_) => {}
        }
    }

    pub fn set_connection(&self, connection: Connection) {
        lock(&self.connection).connection = connection;
    }

    pub fn mark_synced(&self, at: DateTime<Utc>) {
        let mut state = lock(&self.connection);
        state.connection = Connection::Online;
        state.last_synced_at = Some(at);
    }

    // ------------------------------------------------------------ console (staff) session

    /// Signs in to the console; the token goes to the credential store, never to the UI.
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<(), CommandError> {
        let url = self.server_url();
        let client = self.client()?;
        let login = client.login(username, password).await;
        self.observe(&login);
        let token = login?.token;
        let profile = staff_profile(&client.with_auth(Auth::Staff {
            token: token.clone(),
        }))
        .await?;
        credentials::save(&url, &token).await;
        self.save_profile(&profile);
        lock(&self.sessions).staff = Some(StaffSession { token, profile });
        Ok(())
    }

    /// Signs out: ends the session on the server when reachable and forgets the token.
    pub async fn sign_out(&self) -> Result<(), CommandError> {
        let url = self.server_url();
        let session = lock(&self.sessions).staff.take();
        if let Some(session) = session {
            let client = self.client()?.with_auth(Auth::Staff {
                token: session.token,
            });
            // Offline: the token is forgotten here and expires on the server by itself.
            let _ = client.logout().await;
        }
        std::fs::remove_file(self.profile_path()).ok();
        credentials::clear(&url).await
    }

    /// At start: a token saved in the credential store signs the agent back in.
    pub async fn restore_staff_session(&self) {
        let url = self.server_url();
        let Some(token) = credentials::load(&url).await else {
            return;
        };
        let client = match self.client() {
            Ok(client) => client.with_auth(Auth::Staff {
                token: token.clone(),
            }),
            Err(_) => return,
        };
        let profile = match staff_profile(&client).await {
            Ok(profile) => {
                self.save_profile(&profile);
                profile
            }
            Err(error) if error.code == "offline" => {
                self.set_connection(Connection::Offline);
                // Offline at start: the cached queue stays readable with the last profile.
                match self.load_profile() {
                    Some(profile) => profile,
                    None => return,
                }
            }
            Err(_) => {
                // Expired or revoked: forget it.
                let _ = credentials::clear(&url).await;
                return;
            }
        };
        lock(&self.sessions).staff = Some(StaffSession { token, profile });
    }

    /// A client speaking as the signed-in agent.
    pub fn staff_client(&self) -> Result<Client, CommandError> {
        let token = lock(&self.sessions)
            .staff
            .as_ref()
            .map(|s| s.token.clone())
            .ok_or_else(|| CommandError::new("not_signed_in", "Sign in to the console first."))?;
        Ok(self.client()?.with_auth(Auth::Staff { token }))
    }

    /// A staff call: the result also tells the status bar whether the server answered, and
    /// an expired session signs the agent out.
    pub async fn staff_call<T, F>(&self, call: impl FnOnce(Client) -> F) -> Result<T, CommandError>
    where
        F: std::future::Future<Output = Result<T, ApiError>>,
    {
        let result = call(self.staff_client()?).await;
        self.observe(&result);
        if matches!(&result, Err(error) if error.status() == Some(401)) {
            lock(&self.sessions).staff = None;
            let _ = credentials::clear(&self.server_url()).await;
        }
        result.map_err(CommandError::from)
    }

    fn profile_path(&self) -> PathBuf {
        self.data_dir.join("staff-profile.json")
    }

    fn save_profile(&self, profile: &StaffProfile) {
        if let Ok(text) = serde_json::to_vec(profile) {
            std::fs::write(self.profile_path(), text).ok();
        }
    }

    fn load_profile(&self) -> Option<StaffProfile> {
        let bytes = std::fs::read(self.profile_path()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    // ------------------------------------------------------------ end user (requester)

    /// A client filing as the person signed in on this computer. The endpoint agent vouches
    /// for them over its local socket (it knows who connected from the kernel).
    pub async fn requester_client(&self) -> Result<Client, CommandError> {
        let existing = lock(&self.sessions).requester.clone();
        let session = match existing {
            Some(session) if session.expires_at > Utc::now() + chrono::Duration::minutes(5) => {
                session
            }
            _ => self.open_requester_session().await?,
        };
        Ok(self.client()?.with_auth(Auth::Requester {
            token: session.token,
        }))
    }

    async fn open_requester_session(&self) -> Result<RequesterSession, CommandError> {
        let answer = agent_bridge::user_session(&self.agent_socket)
            .await
            .map_err(|error| {
                let code = error.code().to_owned();
                if code == "offline" {
                    self.set_connection(Connection::Offline);
                }
                CommandError::new(&code, bridge_message(&code, &error.to_string()))
            })?;
        let session = RequesterSession {
            token: answer.token.clone(),
            expires_at: answer.expires_at,
            local_user: answer.local_user.clone(),
            display_name: answer
                .display_name
                .clone()
                .unwrap_or(answer.local_user.clone()),
        };
        lock(&self.sessions).requester = Some(session.clone());
        Ok(session)
    }

    /// A requester call; an expired session is renewed once through the agent.
    pub async fn requester_call<T, F>(&self, call: impl Fn(Client) -> F) -> Result<T, CommandError>
    where
        F: std::future::Future<Output = Result<T, ApiError>>,
    {
        let result = call(self.requester_client().await?).await;
        self.observe(&result);
        let result = match result {
            Err(error) if error.status() == Some(401) => {
                lock(&self.sessions).requester = None;
                let retried = call(self.requester_client().await?).await;
                self.observe(&retried);
                retried
            }
            other => other,
        };
        result.map_err(CommandError::from)
    }

    pub fn agent_socket(&self) -> &Path {
        &self.agent_socket
    }

    // ------------------------------------------------------------ sharing choices

    /// The sections the user switched off in Get help last time, if they have chosen.
    pub fn withheld_sections(&self) -> Option<BTreeSet<SectionName>> {
        lock(&self.settings).withheld_sections().cloned()
    }

    /// Remembers what the user switched off; the agent is told next (see
    /// [`Desktop::tell_agent_sharing`]).
    pub fn remember_withheld_sections(
        &self,
        withheld: BTreeSet<SectionName>,
    ) -> Result<(), CommandError> {
        let mut settings = lock(&self.settings);
        if settings.withheld_sections() != Some(&withheld) {
            settings.remember_withheld_sections(withheld)?;
            self.agent_knows_sharing.store(false, Ordering::SeqCst);
        }
        Ok(())
    }

    /// Tells the endpoint agent what the user does not want it to send on its own, unless
    /// it already knows; an agent out of reach is told on a later round.
    pub async fn tell_agent_sharing(&self) {
        if self.agent_knows_sharing.load(Ordering::SeqCst) {
            return;
        }
        let Some(withheld) = self.withheld_sections() else {
            return;
        };
        match agent_bridge::sharing_choices(&self.agent_socket, &withheld).await {
            Ok(_) => {
                // Only if nothing changed meanwhile; otherwise the next round tells again.
                if self.withheld_sections().as_ref() == Some(&withheld) {
                    self.agent_knows_sharing.store(true, Ordering::SeqCst);
                }
            }
            Err(error) => {
                tracing::info!("the agent does not have the user's sharing choices yet: {error}");
            }
        }
    }
}

async fn staff_profile(client: &Client) -> Result<StaffProfile, CommandError> {
    match client.me().await.map_err(CommandError::from)? {
        deskside_client::api::Me::Staff { user } => Ok(StaffProfile {
            user_id: user.id,
            username: user.username,
            display_name: user.display_name,
            role: user.role,
            tier: user.tier,
        }),
        deskside_client::api::Me::Requester { .. } => Err(CommandError::new(
            "not_staff",
            "This account is not a help desk agent account.",
        )),
    }
}

fn bridge_message(code: &str, detail: &str) -> String {
    match code {
        "agent_unavailable" => "The Deskside service on this computer is not running, so the \
             help desk cannot know who you are yet. Your ticket is kept and sent when it is."
            .to_owned(),
        "not_enrolled" => "This computer is not set up with the help desk yet. Ask IT to \
             enroll it; your ticket is kept until then."
            .to_owned(),
        "offline" => "The help desk server cannot be reached right now.".to_owned(),
        _ => format!("The Deskside service on this computer refused: {detail}"),
    }
}

/// The operating-system account running the app, before the agent confirms it.
fn local_user_name() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "you".to_owned())
}

/// Nothing here is left half-updated by a panic, so a poisoned lock is still usable.
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
