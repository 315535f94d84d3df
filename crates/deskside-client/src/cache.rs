//! The local copy of the tickets the signed-in user may see, kept fresh by cursor-based
//! sync so the app opens instantly and stays readable offline.

use deskside_core::Ticket;
use rusqlite::{Connection, OptionalExtension, params};

use crate::api::Client;
use crate::store::{LocalStore, StoreError};

/// What one [`LocalStore::sync`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Ids of the tickets the server sent, in the order it sent them.
    pub fetched: Vec<i64>,
    /// The cursor stored at the end.
    pub cursor: i64,
    /// Answers it took.
    pub pages: u32,
}

impl LocalStore {
    /// The cursor of the last completed sync page (0 before the first sync).
    pub fn sync_cursor(&self) -> Result<i64, StoreError> {
        cursor(&self.lock())
    }

    pub fn cached_ticket(&self, id: i64) -> Result<Option<Ticket>, StoreError> {
        let connection = self.lock();
        let data: Option<String> = connection
            .query_row("SELECT data FROM tickets WHERE id = ?1", [id], |row| {
                row.get(0)
            })
            .optional()?;
        Ok(data.map(|d| serde_json::from_str(&d)).transpose()?)
    }

    /// Every cached ticket, most recently updated first.
    pub fn cached_tickets(&self) -> Result<Vec<Ticket>, StoreError> {
        let connection = self.lock();
        let mut statement =
            connection.prepare("SELECT data FROM tickets ORDER BY updated_at DESC, id DESC")?;
        let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
        let mut tickets = Vec::new();
        for data in rows {
            tickets.push(serde_json::from_str(&data?)?);
        }
        Ok(tickets)
    }

    /// Pulls every change since the stored cursor, one answer at a time until the server
    /// has no more. Each answer's tickets and its cursor are committed in one transaction,
    /// so an interrupted sync resumes where it stopped and never skips a change.
    pub async fn sync(&self, client: &Client) -> Result<SyncReport, StoreError> {
        let mut report = SyncReport {
            cursor: self.sync_cursor()?,
            ..SyncReport::default()
        };
        loop {
            let changes = client.sync(report.cursor).await?;
            {
                let mut connection = self.lock();
                let transaction = connection.transaction()?;
                for ticket in &changes.tickets {
                    upsert_ticket(&transaction, ticket)?;
                }
                transaction.execute(
                    "INSERT INTO sync_state (id, cursor) VALUES (1, ?1)
                     ON CONFLICT (id) DO UPDATE SET cursor = excluded.cursor",
                    [changes.cursor],
                )?;
                transaction.commit()?;
            }
            report.pages += 1;
            report.fetched.extend(changes.tickets.iter().map(|t| t.id));
            report.cursor = changes.cursor;
            if !changes.has_more {
                return Ok(report);
            }
        }
    }
}

fn cursor(connection: &Connection) -> Result<i64, StoreError> {
    Ok(connection
        .query_row("SELECT cursor FROM sync_state WHERE id = 1", [], |row| {
            row.get(0)
        })
        .optional()?
        .unwrap_or(0))
}

/// Stores `ticket` unless the cache already holds a newer version: a create answer from the
/// outbox can arrive after a sync that already brought a later change.
pub(crate) fn upsert_ticket(connection: &Connection, ticket: &Ticket) -> Result<(), StoreError> {
    connection.execute(
        "INSERT INTO tickets (id, number, version, updated_at, data) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET number = excluded.number, version = excluded.version,
             updated_at = excluded.updated_at, data = excluded.data
         WHERE excluded.version >= tickets.version",
        params![
            ticket.id,
            ticket.number,
            ticket.version,
            // Fixed width, so the text sorts as the time does.
            ticket
                .updated_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            serde_json::to_string(ticket)?,
        ],
    )?;
    Ok(())
}
