//! The device registry: contact times, inventory summary and bounded snapshot history.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::connections::internal;
use super::records::{parse_time, time_text};
use crate::storage::{
    DeviceRecord, NewSnapshot, SnapshotMeta, SnapshotSource, StorageError, StorageResult,
};

pub fn record_contact(
    conn: &Connection,
    device_id: &str,
    agent_version: Option<&str>,
    now: DateTime<Utc>,
) -> StorageResult<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE devices SET last_seen_at = ?2, agent_version = coalesce(?3, agent_version)
             WHERE id = ?1",
        )
        .and_then(|mut s| s.execute(params![device_id, time_text(now), agent_version]))
        .map_err(internal)?;
    if changed == 0 {
        return Err(StorageError::NotFound("device"));
    }
    Ok(())
}

pub fn store_snapshot(
    conn: &Connection,
    device_id: &str,
    snapshot: &NewSnapshot,
    keep: u32,
    now: DateTime<Utc>,
) -> StorageResult<SnapshotMeta> {
    // Only the agent speaks for the machine: a snapshot a user attached does not rename the
    // device or count as the agent's contact.
    if snapshot.source != SnapshotSource::Ticket {
        record_contact(conn, device_id, Some(&snapshot.agent_version), now)?;
        conn.prepare_cached(
            "UPDATE devices SET platform = ?2, os = coalesce(?3, os), hostname = coalesce(?4, hostname)
             WHERE id = ?1",
        )
        .and_then(|mut s| {
            s.execute(params![
                device_id,
                snapshot.platform,
                snapshot.os,
                snapshot.hostname
            ])
        })
        .map_err(internal)?;
    }
    let size_bytes = snapshot.document.len() as i64;
    let (ticket_id, ticket_number) = snapshot.ticket.clone().unzip();
    conn.prepare_cached(
        "INSERT INTO device_snapshots
            (device_id, collected_at, received_at, size_bytes, doc, source, ticket_id, ticket_number)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut s| {
        s.execute(params![
            device_id,
            time_text(snapshot.collected_at),
            time_text(now),
            size_bytes,
            snapshot.document,
            snapshot.source.as_str(),
            ticket_id,
            ticket_number,
        ])
    })
    .map_err(internal)?;
    let id = conn.last_insert_rowid();
    // History stays bounded: drop everything older than the newest `keep`.
    conn.prepare_cached(
        "DELETE FROM device_snapshots WHERE device_id = ?1 AND id <= (
            SELECT id FROM device_snapshots WHERE device_id = ?1
            ORDER BY id DESC LIMIT 1 OFFSET ?2)",
    )
    .and_then(|mut s| s.execute(params![device_id, keep]))
    .map_err(internal)?;
    Ok(SnapshotMeta {
        id,
        device_id: device_id.to_owned(),
        collected_at: snapshot.collected_at,
        received_at: now,
        size_bytes,
        source: snapshot.source,
        ticket_id,
        ticket_number,
    })
}

const META_COLUMNS: &str =
    "id, device_id, collected_at, received_at, size_bytes, source, ticket_id, ticket_number";
/// The column after [`META_COLUMNS`].
const DOC_COLUMN: usize = 8;

fn meta_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SnapshotMeta> {
    let collected_at: String = row.get(2)?;
    let received_at: String = row.get(3)?;
    let source: String = row.get(5)?;
    Ok(SnapshotMeta {
        id: row.get(0)?,
        device_id: row.get(1)?,
        collected_at: parse_time(&collected_at),
        received_at: parse_time(&received_at),
        size_bytes: row.get(4)?,
        // Only this file writes the column; an unknown value would be a newer server's.
        source: SnapshotSource::parse(&source).unwrap_or(SnapshotSource::Background),
        ticket_id: row.get(6)?,
        ticket_number: row.get(7)?,
    })
}

fn latest_snapshot(conn: &Connection, device_id: &str) -> StorageResult<Option<SnapshotMeta>> {
    conn.prepare_cached(&format!(
        "SELECT {META_COLUMNS} FROM device_snapshots WHERE device_id = ?1
         ORDER BY id DESC LIMIT 1"
    ))
    .and_then(|mut s| s.query_row([device_id], meta_from_row).optional())
    .map_err(internal)
}

fn device_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRecord> {
    let enrolled_at: String = row.get(2)?;
    let last_seen_at: Option<String> = row.get(3)?;
    Ok(DeviceRecord {
        id: row.get(0)?,
        hostname: row.get(1)?,
        enrolled_at: parse_time(&enrolled_at),
        last_seen_at: last_seen_at.as_deref().map(parse_time),
        agent_version: row.get(4)?,
        platform: row.get(5)?,
        os: row.get(6)?,
        latest_snapshot: None,
    })
}

const DEVICE_COLUMNS: &str = "id, hostname, enrolled_at, last_seen_at, agent_version, platform, os";

pub fn devices(conn: &Connection) -> StorageResult<Vec<DeviceRecord>> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE removed_at IS NULL
             ORDER BY hostname COLLATE NOCASE, id"
        ))
        .map_err(internal)?;
    let rows = statement.query_map([], device_from_row).map_err(internal)?;
    let mut devices: Vec<DeviceRecord> = rows.collect::<Result<_, _>>().map_err(internal)?;
    for device in &mut devices {
        device.latest_snapshot = latest_snapshot(conn, &device.id)?;
    }
    Ok(devices)
}

pub fn device(conn: &Connection, id: &str) -> StorageResult<Option<DeviceRecord>> {
    let device = conn
        .prepare_cached(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?1 AND removed_at IS NULL"
        ))
        .and_then(|mut s| s.query_row([id], device_from_row).optional())
        .map_err(internal)?;
    match device {
        None => Ok(None),
        Some(mut device) => {
            device.latest_snapshot = latest_snapshot(conn, id)?;
            Ok(Some(device))
        }
    }
}

pub fn snapshots(
    conn: &Connection,
    device_id: &str,
    limit: u32,
) -> StorageResult<Vec<SnapshotMeta>> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {META_COLUMNS} FROM device_snapshots WHERE device_id = ?1
             ORDER BY id DESC LIMIT ?2"
        ))
        .map_err(internal)?;
    let rows = statement
        .query_map(params![device_id, limit], meta_from_row)
        .map_err(internal)?;
    rows.collect::<Result<_, _>>().map_err(internal)
}

pub fn snapshot(
    conn: &Connection,
    device_id: &str,
    snapshot_id: i64,
) -> StorageResult<Option<(SnapshotMeta, String)>> {
    conn.prepare_cached(&format!(
        "SELECT {META_COLUMNS}, doc FROM device_snapshots WHERE device_id = ?1 AND id = ?2"
    ))
    .and_then(|mut s| {
        s.query_row(params![device_id, snapshot_id], |row| {
            Ok((meta_from_row(row)?, row.get(DOC_COLUMN)?))
        })
        .optional()
    })
    .map_err(internal)
}
