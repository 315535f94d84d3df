//! Baseline servers: the same HTTP stack as deskside-server (axum on a multi-threaded
//! tokio runtime) doing the least possible work, so the real server's figures can be read
//! as a fraction of what this machine allows.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use anyhow::Context as _;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// Every baseline serves this path, so its requests are byte for byte those sent to
/// deskside-server.
pub const TICKETS_PATH: &str = "/api/v1/tickets";

/// Most requests waiting for one group commit; bounds the latency a batch adds.
const MAX_GROUP_COMMIT_BATCH: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BaselineKind {
    /// `GET` answered with the two bytes "ok": the cost of HTTP alone.
    Bare,
    /// `POST` of a JSON ticket, parsed and serialised back.
    Echo,
    /// `POST` of a JSON ticket stored by one durable transaction per request
    /// (WAL, synchronous=FULL): each request waits for its own disk flush.
    SqliteInsert,
    /// As `sqlite-insert`, but one writer thread commits every waiting request in a single
    /// durable transaction (group commit): the design the server's target assumes.
    SqliteGroupCommit,
}

impl BaselineKind {
    pub const ALL: [BaselineKind; 4] = [
        BaselineKind::Bare,
        BaselineKind::Echo,
        BaselineKind::SqliteInsert,
        BaselineKind::SqliteGroupCommit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BaselineKind::Bare => "bare",
            BaselineKind::Echo => "echo",
            BaselineKind::SqliteInsert => "sqlite-insert",
            BaselineKind::SqliteGroupCommit => "sqlite-group-commit",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            BaselineKind::Bare => "axum GET handler returning \"ok\"",
            BaselineKind::Echo => "axum POST handler parsing the JSON ticket and echoing it",
            BaselineKind::SqliteInsert => {
                "one durable SQLite insert per request (WAL, synchronous=FULL, one transaction each)"
            }
            BaselineKind::SqliteGroupCommit => {
                "one writer thread commits all waiting inserts in one durable transaction (group commit)"
            }
        }
    }

    pub fn method(self) -> &'static str {
        match self {
            BaselineKind::Bare => "GET",
            _ => "POST",
        }
    }

    pub fn expected_status(self) -> u16 {
        match self {
            BaselineKind::Bare | BaselineKind::Echo => 200,
            BaselineKind::SqliteInsert | BaselineKind::SqliteGroupCommit => 201,
        }
    }
}

/// Runs a baseline server until its stdin closes (the driver exited) or it is killed.
pub fn serve(kind: BaselineKind, listen: SocketAddr, data_dir: &Path) -> anyhow::Result<()> {
    std::thread::spawn(|| {
        // Orphaned baselines would skew every later measurement on this machine.
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });

    let router = match kind {
        BaselineKind::Bare => axum::Router::new().route(TICKETS_PATH, get(bare)),
        BaselineKind::Echo => axum::Router::new().route(TICKETS_PATH, post(echo)),
        BaselineKind::SqliteInsert => {
            let connection = open_database(data_dir)?;
            axum::Router::new()
                .route(TICKETS_PATH, post(insert_one_transaction_each))
                .with_state(Arc::new(Mutex::new(connection)))
        }
        BaselineKind::SqliteGroupCommit => {
            let connection = open_database(data_dir)?;
            let (sender, receiver) = mpsc::channel();
            std::thread::spawn(move || group_commit_writer(connection, receiver));
            axum::Router::new()
                .route(TICKETS_PATH, post(insert_group_commit))
                .with_state(sender)
        }
    };

    // Same runtime shape as `#[tokio::main]` in deskside-server: one worker per core.
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    runtime.block_on(async move {
        let socket = if listen.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(listen)?;
        // tokio's default backlog (1024) overflows when thousands connect at once.
        let listener = socket.listen(4096)?;
        println!("listening on http://{}", listener.local_addr()?);
        axum::serve(listener, router).await?;
        anyhow::Ok(())
    })
}

async fn bare() -> &'static str {
    "ok"
}

async fn echo(Json(ticket): Json<Value>) -> Json<Value> {
    Json(ticket)
}

fn open_database(data_dir: &Path) -> anyhow::Result<rusqlite::Connection> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let path: PathBuf = data_dir.join("baseline.db");
    let connection =
        rusqlite::Connection::open(&path).with_context(|| format!("opening {}", path.display()))?;
    connection.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         CREATE TABLE IF NOT EXISTS tickets (
             id INTEGER PRIMARY KEY,
             title TEXT NOT NULL,
             document TEXT NOT NULL
         );",
    )?;
    Ok(connection)
}

fn insert_row(connection: &rusqlite::Connection, ticket: &Value) -> rusqlite::Result<i64> {
    let title = ticket.get("title").and_then(Value::as_str).unwrap_or("");
    connection
        .prepare_cached("INSERT INTO tickets (title, document) VALUES (?1, ?2)")?
        .execute((title, ticket.to_string()))?;
    Ok(connection.last_insert_rowid())
}

type Created = Result<(StatusCode, Json<Value>), StatusCode>;

fn created(id: i64) -> (StatusCode, Json<Value>) {
    (StatusCode::CREATED, Json(json!({ "id": id })))
}

async fn insert_one_transaction_each(
    State(connection): State<Arc<Mutex<rusqlite::Connection>>>,
    Json(ticket): Json<Value>,
) -> Created {
    let id = tokio::task::spawn_blocking(move || {
        let mut connection = connection
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let transaction = connection.transaction()?;
        let id = insert_row(&transaction, &ticket)?;
        transaction.commit()?;
        Ok::<_, rusqlite::Error>(id)
    })
    .await
    .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
    .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(created(id))
}

/// The ticket to store and where to send its id or the commit's error.
type PendingInsert = (Value, oneshot::Sender<Result<i64, String>>);

async fn insert_group_commit(
    State(writer): State<mpsc::Sender<PendingInsert>>,
    Json(ticket): Json<Value>,
) -> Created {
    let (reply, answer) = oneshot::channel();
    writer
        .send((ticket, reply))
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    let id = answer
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(created(id))
}

/// Takes whatever requests are waiting, commits them in one transaction, then answers
/// each: the disk flush is paid once per batch instead of once per request.
fn group_commit_writer(
    mut connection: rusqlite::Connection,
    receiver: mpsc::Receiver<PendingInsert>,
) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_GROUP_COMMIT_BATCH {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let outcome = (|| {
            let transaction = connection.transaction()?;
            let mut ids = Vec::with_capacity(batch.len());
            for (ticket, _) in &batch {
                ids.push(insert_row(&transaction, ticket)?);
            }
            transaction.commit()?;
            Ok::<_, rusqlite::Error>(ids)
        })();
        match outcome {
            Ok(ids) => {
                for ((_, reply), id) in batch.into_iter().zip(ids) {
                    let _ = reply.send(Ok(id));
                }
            }
            Err(error) => {
                let message = error.to_string();
                for (_, reply) in batch {
                    let _ = reply.send(Err(message.clone()));
                }
            }
        }
    }
}
