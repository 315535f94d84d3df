//! Row helpers shared by the store: time encoding, idempotency records and audit rows.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::connections::internal;
use crate::audit::{
    AuditCheckpoint, AuditEntry, AuditHead, AuditKey, AuditRecord, GENESIS_HASH, keyed_chain_hash,
};
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

thread_local! {
    /// The chain key, held by the writer thread only (see [`install_chain_key`]).
    static CHAIN_KEY: std::cell::RefCell<Option<AuditKey>> = const { std::cell::RefCell::new(None) };
}

/// Gives the current thread the chain key. The store calls it on its writer thread as that
/// thread starts: audit rows are appended there and nowhere else.
pub fn install_chain_key(key: AuditKey) {
    CHAIN_KEY.with(|slot| *slot.borrow_mut() = Some(key));
}

/// Appends one row to the keyed hash chain. Called only from the single writer, so reading
/// the last hash and appending cannot interleave with another append.
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
    let hash = CHAIN_KEY
        .with(|slot| {
            slot.borrow().as_ref().map(|key| {
                keyed_chain_hash(
                    key,
                    &prev_hash,
                    id,
                    at,
                    &entry.actor,
                    &entry.action,
                    &entry.subject,
                    &details,
                )
            })
        })
        .ok_or_else(|| internal("an audit row can only be appended by the writer"))?;
    conn.prepare_cached(
        "INSERT INTO audit_log (id, at, actor, action, subject, details, prev_hash, hash, keyed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1)",
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
        keyed: row.get(8)?,
    })
}

/// The columns [`audit_from_row`] reads, in its order.
pub const AUDIT_COLUMNS: &str = "id, at, actor, action, subject, details, prev_hash, hash, keyed";

pub fn audit_records(
    conn: &Connection,
    after_id: i64,
    limit: u32,
) -> StorageResult<Vec<AuditRecord>> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE id > ?1 ORDER BY id LIMIT ?2"
        ))
        .map_err(internal)?;
    let rows = statement
        .query_map(params![after_id, limit], audit_from_row)
        .map_err(internal)?;
    rows.collect::<Result<_, _>>().map_err(internal)
}

/// Every checkpoint stored in the database, oldest first.
pub fn audit_checkpoints(conn: &Connection) -> StorageResult<Vec<AuditCheckpoint>> {
    let mut statement = conn
        .prepare_cached(
            "SELECT at, rows, head_hash, keyed_from, key_id, signature FROM audit_checkpoints
             ORDER BY id",
        )
        .map_err(internal)?;
    let rows = statement
        .query_map([], |r| {
            let at: String = r.get(0)?;
            Ok(AuditCheckpoint {
                at: parse_time(&at),
                rows: r.get(1)?,
                head_hash: r.get(2)?,
                keyed_from: r.get(3)?,
                key_id: r.get(4)?,
                signature: r.get(5)?,
            })
        })
        .map_err(internal)?;
    rows.collect::<Result<_, _>>().map_err(internal)
}

/// The hash of row `id` now (the genesis hash for row 0), if it exists.
pub fn audit_hash_at(conn: &Connection, id: i64) -> StorageResult<Option<String>> {
    if id == 0 {
        return Ok(Some(GENESIS_HASH.to_owned()));
    }
    conn.prepare_cached("SELECT hash FROM audit_log WHERE id = ?1")
        .and_then(|mut s| s.query_row([id], |r| r.get(0)).optional())
        .map_err(internal)
}

/// The log's head, against `newest` (the newest checkpoint known, from wherever).
pub fn audit_head(conn: &Connection, newest: Option<AuditCheckpoint>) -> StorageResult<AuditHead> {
    let (rows, first_keyed): (Option<i64>, Option<i64>) = conn
        .query_row(
            "SELECT max(id), (SELECT min(id) FROM audit_log WHERE keyed = 1) FROM audit_log",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(internal)?;
    let rows = rows.unwrap_or(0);
    let head_hash = audit_hash_at(conn, rows)?.unwrap_or_else(|| GENESIS_HASH.to_owned());
    let hash_at_newest = match &newest {
        Some(checkpoint) => audit_hash_at(conn, checkpoint.rows)?,
        None => None,
    };
    Ok(AuditHead {
        rows,
        head_hash,
        first_keyed,
        newest,
        hash_at_newest,
    })
}

/// Stores a signed checkpoint, if the log still has the head it attests.
pub fn save_audit_checkpoint(conn: &Connection, checkpoint: &AuditCheckpoint) -> StorageResult<()> {
    if audit_hash_at(conn, checkpoint.rows)?.as_deref() != Some(checkpoint.head_hash.as_str()) {
        return Err(StorageError::Conflict(
            "the audit log changed under the checkpoint".into(),
        ));
    }
    conn.prepare_cached(
        "INSERT INTO audit_checkpoints (at, rows, head_hash, keyed_from, key_id, signature)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| {
        s.execute(params![
            time_text(checkpoint.at),
            checkpoint.rows,
            checkpoint.head_hash,
            checkpoint.keyed_from,
            checkpoint.key_id,
            checkpoint.signature
        ])
    })
    .map_err(internal)?;
    Ok(())
}
