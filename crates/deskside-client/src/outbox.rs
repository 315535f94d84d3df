//! Mutations made while the server may be unreachable, kept on disk until delivered.
//!
//! Each item gets a random idempotency key when it is enqueued and is always sent with that
//! key and the exact body stored with it, so however often a send is retried (lost answer,
//! crash mid-flush, two flushes racing) the server acts on it once.

use deskside_core::FieldError;
use deskside_core::ticket::NewTicket;
use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::api::{ApiError, Client, Created};
use crate::cache::upsert_ticket;
use crate::store::{LocalStore, StoreError};

const CREATE_TICKET: &str = "create_ticket";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    /// Waiting to be sent ("waiting to send" in the UI).
    Pending,
    /// The server refused it; it waits for the user to fix or discard it.
    Failed,
}

/// Why the last attempt did not deliver an item, as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxError {
    pub code: String,
    pub message: String,
    pub status: Option<u16>,
    pub fields: Vec<FieldError>,
}

impl From<&ApiError> for OutboxError {
    fn from(error: &ApiError) -> OutboxError {
        let message = match error {
            ApiError::Server { message, .. } => message.clone(),
            other => other.to_string(),
        };
        OutboxError {
            code: error.code().to_owned(),
            message,
            status: error.status(),
            fields: error.fields().to_vec(),
        }
    }
}

/// A ticket waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: i64,
    pub idempotency_key: String,
    pub ticket: NewTicket,
    pub state: OutboxState,
    pub attempts: i64,
    pub last_error: Option<OutboxError>,
    pub created_at: String,
}

/// What one [`LocalStore::flush`] did.
#[derive(Debug, Clone, Default)]
pub struct FlushReport {
    /// Tickets the server now has, in sending order; `replayed` marks a send the server had
    /// already acted on (an earlier answer was lost).
    pub delivered: Vec<Created>,
    /// Items the server refused, now in [`OutboxState::Failed`].
    pub failed: Vec<i64>,
    /// Why the flush stopped early, leaving items pending.
    pub stopped: Option<ApiError>,
}

impl LocalStore {
    /// Queues a new ticket for sending; returns the stored item.
    pub fn enqueue_ticket(&self, ticket: &NewTicket) -> Result<OutboxItem, StoreError> {
        let payload = serde_json::to_string(ticket)?;
        let key = format!("{:032x}", rand::random::<u128>());
        let created_at = chrono::Utc::now().to_rfc3339();
        let connection = self.lock();
        connection.execute(
            "INSERT INTO outbox (kind, idempotency_key, payload, created_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![CREATE_TICKET, key, payload, created_at],
        )?;
        Ok(OutboxItem {
            id: connection.last_insert_rowid(),
            idempotency_key: key,
            ticket: ticket.clone(),
            state: OutboxState::Pending,
            attempts: 0,
            last_error: None,
            created_at,
        })
    }

    /// Every item, pending and failed, oldest first.
    pub fn outbox(&self) -> Result<Vec<OutboxItem>, StoreError> {
        let connection = self.lock();
        let mut statement = connection.prepare(
            "SELECT id, idempotency_key, payload, state, attempts, last_error, created_at
             FROM outbox ORDER BY id",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, i64>(4)?,
                row.get::<_, Option<String>>(5)?,
                row.get::<_, String>(6)?,
            ))
        })?;
        let mut items = Vec::new();
        for row in rows {
            let (id, idempotency_key, payload, state, attempts, last_error, created_at) = row?;
            items.push(OutboxItem {
                id,
                idempotency_key,
                ticket: serde_json::from_str(&payload)?,
                state: if state == "failed" {
                    OutboxState::Failed
                } else {
                    OutboxState::Pending
                },
                attempts,
                last_error: last_error.map(|e| serde_json::from_str(&e)).transpose()?,
                created_at,
            });
        }
        Ok(items)
    }

    /// Removes an item the user gave up on; `false` if there was none.
    pub fn discard(&self, id: i64) -> Result<bool, StoreError> {
        Ok(self
            .lock()
            .execute("DELETE FROM outbox WHERE id = ?1", [id])?
            > 0)
    }

    /// Sends pending items oldest first. A delivered item leaves the outbox and its ticket
    /// enters the cache in one transaction; a transient failure (offline, server error)
    /// keeps it pending and stops, since later items would fail the same way; a refusal
    /// moves it to failed with the server's error and goes on with the next.
    pub async fn flush(&self, client: &Client) -> Result<FlushReport, StoreError> {
        let mut report = FlushReport::default();
        while let Some((id, key, payload)) = self.next_pending(&report.failed)? {
            match client.create_ticket_raw(payload, Some(&key)).await {
                Ok(created) => {
                    let mut connection = self.lock();
                    let transaction = connection.transaction()?;
                    transaction.execute("DELETE FROM outbox WHERE id = ?1", [id])?;
                    upsert_ticket(&transaction, &created.ticket)?;
                    transaction.commit()?;
                    report.delivered.push(created);
                }
                Err(error) if error.is_transient() => {
                    self.record_attempt(id, &error, OutboxState::Pending)?;
                    report.stopped = Some(error);
                    break;
                }
                Err(error) => {
                    self.record_attempt(id, &error, OutboxState::Failed)?;
                    report.failed.push(id);
                }
            }
        }
        Ok(report)
    }

    /// The oldest pending item (id, key, body).
    fn next_pending(&self, skip: &[i64]) -> Result<Option<(i64, String, String)>, StoreError> {
        // `skip` guards against an item that could not be marked failed being sent forever.
        let connection = self.lock();
        let mut statement = connection.prepare(
            "SELECT id, idempotency_key, payload FROM outbox
             WHERE state = 'pending' AND kind = ?1 ORDER BY id",
        )?;
        let mut rows = statement.query_map([CREATE_TICKET], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?;
        for row in rows.by_ref() {
            let row: (i64, String, String) = row?;
            if !skip.contains(&row.0) {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }

    fn record_attempt(
        &self,
        id: i64,
        error: &ApiError,
        state: OutboxState,
    ) -> Result<(), StoreError> {
        let state = match state {
            OutboxState::Pending => "pending",
            OutboxState::Failed => "failed",
        };
        let error = serde_json::to_string(&OutboxError::from(error))?;
        self.lock().execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, state = ?3 WHERE id = ?1",
            params![id, error, state],
        )?;
        Ok(())
    }
}
