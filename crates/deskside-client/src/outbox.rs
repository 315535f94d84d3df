//! Mutations made while the server may be unreachable, kept on disk until delivered.
//!
//! Each item gets a random idempotency key when it is enqueued and is always sent with that
//! key and the exact body stored with it, so however often a send is retried (lost answer,
//! crash mid-flush, two flushes racing) the server acts on it once.

use deskside_core::FieldError;
use deskside_core::ticket::NewTicket;
use rusqlite::{OptionalExtension, params};
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

/// The outbox by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: u32,
    pub failed: u32,
}

/// A file sent after its outbox ticket is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingAttachment {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// What one [`LocalStore::flush`] did.
#[derive(Debug, Clone, Default)]
pub struct FlushReport {
    /// Tickets the server now has, in sending order; `replayed` marks a send the server had
    /// already acted on (an earlier answer was lost).
    pub delivered: Vec<Created>,
    /// Items that left the outbox (ticket and attachments delivered): outbox id and the
    /// ticket as the server created it.
    pub completed: Vec<(i64, deskside_core::Ticket)>,
    /// Items the server refused, now in [`OutboxState::Failed`].
    pub failed: Vec<i64>,
    /// Why the flush stopped early, leaving items pending.
    pub stopped: Option<ApiError>,
}

struct PendingItem {
    id: i64,
    key: String,
    payload: String,
    /// Created on the server already; only attachments are left.
    ticket_id: Option<i64>,
}

enum UploadError {
    Store(StoreError),
    Api(ApiError),
}

impl LocalStore {
    /// Queues a new ticket for sending; returns the stored item.
    pub fn enqueue_ticket(&self, ticket: &NewTicket) -> Result<OutboxItem, StoreError> {
        self.enqueue_ticket_with_attachments(ticket, &[])
    }

    /// Queues a new ticket and the files to attach to it once it exists, in one transaction.
    pub fn enqueue_ticket_with_attachments(
        &self,
        ticket: &NewTicket,
        attachments: &[OutgoingAttachment],
    ) -> Result<OutboxItem, StoreError> {
        let payload = serde_json::to_string(ticket)?;
        let key = format!("{:032x}", rand::random::<u128>());
        let created_at = chrono::Utc::now().to_rfc3339();
        let mut connection = self.lock();
        let transaction = connection.transaction()?;
        transaction.execute(
            "INSERT INTO outbox (kind, idempotency_key, payload, created_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![CREATE_TICKET, key, payload, created_at],
        )?;
        let id = transaction.last_insert_rowid();
        for attachment in attachments {
            transaction.execute(
                "INSERT INTO outbox_attachments (outbox_id, file_name, content_type, bytes)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    id,
                    attachment.file_name,
                    attachment.content_type,
                    attachment.bytes
                ],
            )?;
        }
        transaction.commit()?;
        Ok(OutboxItem {
            id,
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

    /// How many items wait to be sent and how many the server refused, counted in SQL: the
    /// status bar asks often, and the items hold whole ticket bodies and attachments.
    pub fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let connection = self.lock();
        let (pending, failed) = connection.query_row(
            "SELECT COUNT(*) FILTER (WHERE state = 'pending'),
                    COUNT(*) FILTER (WHERE state = 'failed')
             FROM outbox",
            [],
            |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)),
        )?;
        Ok(OutboxCounts {
            pending: u32::try_from(pending).unwrap_or(u32::MAX),
            failed: u32::try_from(failed).unwrap_or(u32::MAX),
        })
    }

    /// Removes an item the user gave up on; `false` if there was none.
    pub fn discard(&self, id: i64) -> Result<bool, StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction()?;
        transaction.execute("DELETE FROM outbox_attachments WHERE outbox_id = ?1", [id])?;
        let removed = transaction.execute("DELETE FROM outbox WHERE id = ?1", [id])? > 0;
        transaction.commit()?;
        Ok(removed)
    }

    /// Sends pending items oldest first. A delivered item leaves the outbox and its ticket
    /// enters the cache in one transaction; a transient failure (offline, server error)
    /// keeps it pending and stops, since later items would fail the same way; a refusal
    /// moves it to failed with the server's error and goes on with the next.
    pub async fn flush(&self, client: &Client) -> Result<FlushReport, StoreError> {
        let mut report = FlushReport::default();
        while let Some(item) = self.next_pending(&report.failed)? {
            let (ticket_id, ticket) = match item.ticket_id {
                Some(ticket_id) => (ticket_id, self.cached_ticket(ticket_id)?),
                None => match client
                    .create_ticket_raw(item.payload, Some(&item.key))
                    .await
                {
                    Ok(created) => {
                        let ticket_id = created.ticket.id;
                        let ticket = created.ticket.clone();
                        let mut connection = self.lock();
                        let transaction = connection.transaction()?;
                        transaction.execute(
                            "UPDATE outbox SET ticket_id = ?2 WHERE id = ?1",
                            params![item.id, ticket_id],
                        )?;
                        upsert_ticket(&transaction, &created.ticket)?;
                        transaction.commit()?;
                        drop(connection);
                        report.delivered.push(created);
                        (ticket_id, Some(ticket))
                    }
                    Err(error) => {
                        if self.give_up_or_stop(item.id, error, &mut report)? {
                            break;
                        }
                        continue;
                    }
                },
            };
            match self
                .upload_attachments(client, item.id, &item.key, ticket_id)
                .await
            {
                Ok(()) => {
                    self.lock()
                        .execute("DELETE FROM outbox WHERE id = ?1", [item.id])?;
                    if let Some(ticket) = ticket {
                        report.completed.push((item.id, ticket));
                    }
                }
                Err(UploadError::Store(error)) => return Err(error),
                Err(UploadError::Api(error)) => {
                    if self.give_up_or_stop(item.id, error, &mut report)? {
                        break;
                    }
                }
            }
        }
        Ok(report)
    }

    /// Records a failed send: a transient one keeps the item pending and says to stop (later
    /// items would fail the same way); a refusal marks it failed and says to go on.
    fn give_up_or_stop(
        &self,
        id: i64,
        error: ApiError,
        report: &mut FlushReport,
    ) -> Result<bool, StoreError> {
        if error.is_transient() {
            self.record_attempt(id, &error, OutboxState::Pending)?;
            report.stopped = Some(error);
            Ok(true)
        } else {
            self.record_attempt(id, &error, OutboxState::Failed)?;
            report.failed.push(id);
            Ok(false)
        }
    }

    /// Uploads the item's attachments in order, each with a key derived from the item's, and
    /// forgets each one the server has.
    async fn upload_attachments(
        &self,
        client: &Client,
        outbox_id: i64,
        key: &str,
        ticket_id: i64,
    ) -> Result<(), UploadError> {
        loop {
            let next = {
                let connection = self.lock();
                connection
                    .query_row(
                        "SELECT id, file_name, content_type, bytes FROM outbox_attachments
                         WHERE outbox_id = ?1 ORDER BY id LIMIT 1",
                        [outbox_id],
                        |row| {
                            Ok((
                                row.get::<_, i64>(0)?,
                                row.get::<_, String>(1)?,
                                row.get::<_, String>(2)?,
                                row.get::<_, Vec<u8>>(3)?,
                            ))
                        },
                    )
                    .optional()
                    .map_err(|e| UploadError::Store(e.into()))?
            };
            let Some((id, file_name, content_type, bytes)) = next else {
                return Ok(());
            };
            let attachment_key = format!("{key}-attachment-{id}");
            client
                .add_attachment(
                    ticket_id,
                    &file_name,
                    &content_type,
                    bytes,
                    Some(&attachment_key),
                )
                .await
                .map_err(UploadError::Api)?;
            self.lock()
                .execute("DELETE FROM outbox_attachments WHERE id = ?1", [id])
                .map_err(|e| UploadError::Store(e.into()))?;
        }
    }

    /// The oldest pending item.
    fn next_pending(&self, skip: &[i64]) -> Result<Option<PendingItem>, StoreError> {
        // `skip` guards against an item that could not be marked failed being sent forever.
        let connection = self.lock();
        let mut statement = connection.prepare(
            "SELECT id, idempotency_key, payload, ticket_id FROM outbox
             WHERE state = 'pending' AND kind = ?1 ORDER BY id",
        )?;
        let mut rows = statement.query_map([CREATE_TICKET], |row| {
            Ok(PendingItem {
                id: row.get(0)?,
                key: row.get(1)?,
                payload: row.get(2)?,
                ticket_id: row.get(3)?,
            })
        })?;
        for row in rows.by_ref() {
            let item = row?;
            if !skip.contains(&item.id) {
                return Ok(Some(item));
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
