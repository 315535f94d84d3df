//! The local SQLite file: opening it, its schema, and the lock around its connection.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

use crate::api::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("local database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("local data is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// The desktop app's local database: the outbox ([`crate::outbox`]) and the ticket cache
/// ([`crate::cache`]).
pub struct LocalStore {
    // One connection: the app is the only writer, and a mutex is simpler than a pool.
    // Never held across an `.await` (see the crate docs).
    connection: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- What to send; only 'create_ticket' so far.
    kind TEXT NOT NULL,
    -- Generated at enqueue time and never changed, so every retry is the same request.
    idempotency_key TEXT NOT NULL UNIQUE,
    -- The exact JSON body to send (the server fingerprints these bytes with the key).
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    -- The last error as JSON {code, message, status?, fields}.
    last_error TEXT,
    created_at TEXT NOT NULL,
    -- Set once the server created the ticket while attachments still wait to be uploaded.
    ticket_id INTEGER
);
-- Files to attach once the outbox item's ticket exists (diagnostics, a screenshot).
CREATE TABLE IF NOT EXISTS outbox_attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    outbox_id INTEGER NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY,
    number INTEGER NOT NULL,
    version INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    -- The whole ticket as the server sent it.
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sync_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    cursor INTEGER NOT NULL
);
";

impl LocalStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<LocalStore, StoreError> {
        let connection = Connection::open(path)?;
        // WAL: the UI can read the cache while sync writes it.
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.busy_timeout(Duration::from_secs(5))?;
        connection.execute_batch(SCHEMA)?;
        Ok(LocalStore {
            connection: Mutex::new(connection),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions
        // roll back on drop), so a poisoned lock is still usable.
        self.connection.lock().unwrap_or_else(|p| p.into_inner())
    }
}
