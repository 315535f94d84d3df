//! Remediation requests: one JSON document per request plus the columns the inboxes and
//! the order queue look up by.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::connections::internal;
use super::records::time_text;
use crate::storage::{ActionRequest, ActionState, StorageError, StorageResult};

pub fn save(
    conn: &Connection,
    request: &ActionRequest,
    expected_state: Option<ActionState>,
) -> StorageResult<()> {
    let doc = serde_json::to_string(request).map_err(internal)?;
    match expected_state {
        None => {
            conn.prepare_cached(
                "INSERT INTO action_requests (id, ticket_id, device_id, state, expires_at,
                    created_at, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    request.id,
                    request.ticket_id,
                    request.device_id,
                    request.state.as_str(),
                    request.expires_at.timestamp_millis(),
                    time_text(request.created_at),
                    doc
                ])
            })
            .map_err(internal)?;
        }
        Some(expected) => {
            let changed = conn
                .prepare_cached(
                    "UPDATE action_requests SET state = ?3, doc = ?4 WHERE id = ?1 AND state = ?2",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        request.id,
                        expected.as_str(),
                        request.state.as_str(),
                        doc
                    ])
                })
                .map_err(internal)?;
            if changed == 0 {
                return Err(StorageError::Conflict(format!(
                    "the request is no longer {}; reload it",
                    expected.as_str().replace('_', " ")
                )));
            }
        }
    }
    Ok(())
}

fn collect(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> StorageResult<Vec<ActionRequest>> {
    let mut statement = conn.prepare_cached(sql).map_err(internal)?;
    let rows = statement
        .query_map(args, |r| r.get::<_, String>(0))
        .map_err(internal)?;
    rows.map(|doc| {
        let doc = doc.map_err(internal)?;
        serde_json::from_str(&doc).map_err(internal)
    })
    .collect()
}

pub fn by_id(conn: &Connection, id: &str) -> StorageResult<Option<ActionRequest>> {
    let doc: Option<String> = conn
        .prepare_cached("SELECT doc FROM action_requests WHERE id = ?1")
        .and_then(|mut s| s.query_row([id], |r| r.get(0)).optional())
        .map_err(internal)?;
    doc.map(|d| serde_json::from_str(&d).map_err(internal))
        .transpose()
}

pub fn for_ticket(conn: &Connection, ticket_id: i64) -> StorageResult<Vec<ActionRequest>> {
    collect(
        conn,
        "SELECT doc FROM action_requests WHERE ticket_id = ?1 ORDER BY created_at, id",
        [ticket_id],
    )
}

pub fn in_state(
    conn: &Connection,
    state: ActionState,
    limit: u32,
) -> StorageResult<Vec<ActionRequest>> {
    collect(
        conn,
        "SELECT doc FROM action_requests WHERE state = ?1 ORDER BY created_at, id LIMIT ?2",
        params![state.as_str(), limit],
    )
}

pub fn queued(
    conn: &Connection,
    device_id: &str,
    now: DateTime<Utc>,
) -> StorageResult<Vec<ActionRequest>> {
    collect(
        conn,
        "SELECT doc FROM action_requests WHERE device_id = ?1 AND state = 'queued'
            AND expires_at > ?2 ORDER BY created_at, id",
        params![device_id, now.timestamp_millis()],
    )
}
