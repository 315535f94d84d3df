//! Row helpers shared by the store: time encoding, idempotency records and audit rows.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::connections::internal;
use crate::audit::{AuditEntry, AuditRecord, GENESIS_HASH, chain_hash};
use crate::storage::{Idempotency, StorageError, StorageResult, Written};

/// Timestamps are stored as RFC 3339 text with microseconds: readable, sortable, exact.
pub fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Reads what [`time_text`] wrote. Rows are only written by this store, so a bad value
/// means a damaged file; it reads as the epoch rather than failing the whole query.
pub fn parse_time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// Runs `op` at most once per idempotency key: a retry gets the stored first answer.
/// Runs inside the writer's transaction, so the answer is stored atomically with the change.
pub fn store_idempotent<T: Serialize>(
    conn: &Connection,
    idempotency: Option<&Idempotency>,
    status: u16,
    now: DateTime<Utc>,
    op: impl FnOnce(&Connection) -> StorageResult<T>,
) -> StorageResult<Written<T>> {
    let Some(key) = idempotency else {
        return op(conn).map(Written::Fresh);
    };
    if let Some(earlier) = earlier_answer(conn, key)? {
        return Ok(earlier);
    }
    let value = op(conn)?;
    let body = serde_json::to_string(&value).map_err(internal)?;
    conn.prepare_cached(
        "INSERT INTO idempotency (principal, key, fingerprint, status, body, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| {
        s.execute(params![
            key.principal,
            key.key,
            key.fingerprint,
            status,
            body,
            time_text(now)
        ])
    })
    .map_err(internal)?;
    Ok(Written::Fresh(value))
}

/// The stored answer to an earlier request with `key`; `IdempotencyKeyReused` when that
/// request was a different one.
pub fn earlier_answer<T>(
    conn: &Connection,
    key: &Idempotency,
) -> StorageResult<Option<Written<T>>> {
    let earlier: Option<(String, u16, String)> = conn
        .prepare_cached(
            "SELECT fingerprint, status, body FROM idempotency WHERE principal = ?1 AND key = ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![key.principal, key.key], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
        })
        .map_err(internal)?;
    if let Some((fingerprint, status, body)) = earlier {
        if fingerprint != key.fingerprint {
            return Err(StorageError::IdempotencyKeyReused);
        }
        let body = serde_json::from_str(&body).map_err(internal)?;
        return Ok(Some(Written::Replayed { status, body }));
    }
    Ok(None)
}

/// Appends one row to the hash chain. Called only from the single writer, so reading the
/// last hash and appending cannot interleave with another append.
pub fn append_audit(
    conn: &Connection,
    entry: &AuditEntry,
    now: DateTime<Utc>,
) -> StorageResult<()> {
    let last: Option<(i64, String)> = conn
        .prepare_cached("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
        .and_then(|mut s| s.query_row([], |r| Ok((r.get(0)?, r.get(1)?))).optional())
        .map_err(internal)?;
    let (id, prev_hash) = match last {
        Some((id, hash)) => (id + 1, hash),
        None => (1, GENESIS_HASH.to_owned()),
    };
    let details = entry.details.to_string();
    // Hash the time exactly as stored, so verification reproduces it.
    let at = parse_time(&time_text(now));
    let hash = chain_hash(
        &prev_hash,
        id,
        at,
        &entry.actor,
        &entry.action,
        &entry.subject,
        &details,
    );
    conn.prepare_cached(
        "INSERT INTO audit_log (id, at, actor, action, subject, details, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut s| {
        s.execute(params![
            id,
            time_text(at),
            entry.actor,
            entry.action,
            entry.subject,
            details,
            prev_hash,
            hash
        ])
    })
    .map_err(internal)?;
    Ok(())
}

pub fn audit_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRecord> {
    let at: String = row.get(1)?;
    let details: String = row.get(5)?;
    Ok(AuditRecord {
        id: row.get(0)?,
        at: parse_time(&at),
        actor: row.get(2)?,
        action: row.get(3)?,
        subject: row.get(4)?,
        // A row whose details are not JSON any more was tampered with: keep the text so
        // the hash check fails on it rather than the read.
        details: serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details)),
        prev_hash: row.get(6)?,
        hash: row.get(7)?,
    })
}

pub fn audit_records(
    conn: &Connection,
    after_id: i64,
    limit: u32,
) -> StorageResult<Vec<AuditRecord>> {
    let mut statement = conn
        .prepare_cached(
            "SELECT id, at, actor, action, subject, details, prev_hash, hash FROM audit_log
             WHERE id > ?1 ORDER BY id LIMIT ?2",
        )
        .map_err(internal)?;
    let rows = statement
        .query_map(params![after_id, limit], audit_from_row)
        .map_err(internal)?;
    rows.collect::<Result<_, _>>().map_err(internal)
}
