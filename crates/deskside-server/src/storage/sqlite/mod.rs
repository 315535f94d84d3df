//! The embedded SQLite store: WAL, FTS5, group commit. See `connections` for the write path.

mod actions;
mod connections;
mod devices;
mod records;
mod schema;
mod tickets;

pub use tickets::number_for;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deskside_core::sla::SlaSettings;
use deskside_core::ticket::{Ticket, TicketDecision};
use deskside_core::{Actor, Role, Tier};
use rusqlite::{OptionalExtension, params};

use self::connections::{Connections, internal};
use self::records::{append_audit, parse_time, store_idempotent, time_text};
use super::{
    ActionRequest, ActionState, AttachmentDecider, AttachmentMeta, AuditIntent, ChangeSet, Device,
    DeviceRecord, Idempotency, NewAttachment, NewDevice, NewRequesterSession, NewSnapshot,
    NewStaffUser, NewTicketDecider, RequesterScope, RequesterSession, SnapshotMeta, StaffUser,
    Storage, StorageError, StorageResult, TicketDecider, TicketPage, TicketQuery, TimelineEvent,
    Written,
};
use crate::audit::{
    AuditCheckpoint, AuditEntry, AuditHead, AuditKey, AuditRecord, AuditReport, verify_chain,
};

pub struct SqliteStorage {
    db: Connections,
    /// The chain key, for verification (the writer thread holds its own copy).
    audit_key: AuditKey,
    /// Whether this open created the chain key: the moment the log becomes keyed.
    audit_key_created: bool,
    /// The newest checkpoint's copy outside the database; writes of it are serialised.
    checkpoint_file: std::sync::Mutex<std::path::PathBuf>,
}

const DATABASE_FILE: &str = "deskside.db";
const CHECKPOINT_FILE: &str = "audit-checkpoint.json";
const SLA_SETTINGS_KEY: &str = "sla";

/// Largest the write-ahead log may grow before the writer checkpoints it and truncates it
/// (it may overshoot by the one batch committed after the check).
pub const DEFAULT_WAL_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

impl SqliteStorage {
    /// Opens the store in `data_dir`, creating the folder and database as needed.
    pub fn open(data_dir: &Path) -> anyhow::Result<SqliteStorage> {
        SqliteStorage::open_with_wal_limit(data_dir, DEFAULT_WAL_LIMIT_BYTES)
    }

    /// [`SqliteStorage::open`] with the bound on the write-ahead log's size.
    pub fn open_with_wal_limit(data_dir: &Path, wal_limit: u64) -> anyhow::Result<SqliteStorage> {
        use anyhow::Context;
        crate::private_files::prepare_data_dir(data_dir)?;
        let path = data_dir.join(DATABASE_FILE);
        // SQLite creates the database with 0644 less the umask, and its -wal and -shm files
        // with the database's mode: create it private first, and they follow.
        if !path.exists() {
            crate::private_files::write_new(&path, "")?;
        }
        let (audit_key, audit_key_created) = AuditKey::load_or_create(data_dir)?;
        let writer_key = audit_key.clone();
        let db = Connections::open(&path, wal_limit, move || {
            records::install_chain_key(writer_key)
        })
        .with_context(|| format!("opening database {}", path.display()))?;
        Ok(SqliteStorage {
            db,
            audit_key,
            audit_key_created,
            checkpoint_file: std::sync::Mutex::new(data_dir.join(CHECKPOINT_FILE)),
        })
    }

    /// Whether opening created the audit chain key (first start of a keyed version).
    pub fn audit_key_created(&self) -> bool {
        self.audit_key_created
    }

    /// The checkpoint kept in the file beside the database, if any. One that cannot be read
    /// is reported, not skipped: verification must not pass because a file was damaged.
    fn file_checkpoint(&self) -> StorageResult<Option<AuditCheckpoint>> {
        let path = self
            .checkpoint_file
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| internal(format!("{}: {e}", path.display()))),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(internal(format!("{}: {error}", path.display()))),
        }
    }

    /// Writes many already-decided tickets in one transaction: demo data and benchmark
    /// seeding, where going through the API one by one would take minutes.
    pub async fn import_tickets(
        &self,
        decisions: Vec<TicketDecision>,
        actor: Actor,
        sla: Arc<SlaSettings>,
        now: DateTime<Utc>,
    ) -> StorageResult<()> {
        self.db
            .write(move |conn| {
                for decision in decisions {
                    tickets::insert_decided(conn, &decision, &actor, &sla, now)?;
                }
                Ok(())
            })
            .await
    }

    /// Copies the WAL into the database file and truncates it: after a bulk import, so the
    /// next start does not replay gigabytes of log.
    pub fn checkpoint(&self) -> StorageResult<()> {
        self.db.checkpoint_truncate()
    }

    /// The next ticket id, for callers that build tickets outside the API (demo, import).
    pub async fn next_ticket_id(&self) -> StorageResult<i64> {
        self.db.read(tickets::next_ticket_id).await
    }
}

fn staff_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StaffUser> {
    let role: String = row.get("role")?;
    let tier: Option<String> = row.get("tier")?;
    let created_at: String = row.get("created_at")?;
    Ok(StaffUser {
        id: row.get("id")?,
        username: row.get("username")?,
        display_name: row.get("display_name")?,
        role: Role::parse(&role).unwrap_or(Role::Agent),
        tier: tier.as_deref().and_then(Tier::parse),
        active: row.get("active")?,
        created_at: parse_time(&created_at),
    })
}

const STAFF_COLUMNS: &str = "id, username, display_name, role, tier, active, created_at";

#[async_trait]
impl Storage for SqliteStorage {
    async fn staff_count(&self) -> StorageResult<i64> {
        self.db
            .read(|conn| {
                conn.query_row("SELECT count(*) FROM users WHERE active = 1", [], |r| {
                    r.get(0)
                })
                .map_err(internal)
            })
            .await
    }

    async fn create_staff(
        &self,
        user: NewStaffUser,
        idempotency: Option<Idempotency>,
        audit: AuditEntry,
        now: DateTime<Utc>,
    ) -> StorageResult<Written<StaffUser>> {
        self.db
            .write(move |conn| store_idempotent(conn, idempotency.as_ref(), 201, now, |conn| {
                let taken: bool = conn
                    .query_row(
                        "SELECT count(*) > 0 FROM users WHERE username = ?1",
                        [&user.username],
                        |r| r.get(0),
                    )
                    .map_err(internal)?;
                if taken {
                    return Err(StorageError::Conflict(format!(
                        "the username {} is taken",
                        user.username
                    )));
                }
                conn.execute(
                    "INSERT INTO users (username, display_name, role, tier, password_hash, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        user.username,
                        user.display_name,
                        user.role.as_str(),
                        user.tier.map(Tier::as_str),
                        user.password_hash,
                        time_text(now)
                    ],
                )
                .map_err(internal)?;
                let id = conn.last_insert_rowid();
                append_audit(conn, &audit, now)?;
                conn.query_row(
                    &format!("SELECT {STAFF_COLUMNS} FROM users WHERE id = ?1"),
                    [id],
                    staff_from_row,
                )
                .map_err(internal)
            }))
            .await
    }

    async fn staff_credentials(
        &self,
        username: &str,
    ) -> StorageResult<Option<(StaffUser, String)>> {
        let username = username.to_owned();
        self.db
            .read(move |conn| {
                conn.query_row(
                    &format!(
                        "SELECT {STAFF_COLUMNS}, password_hash FROM users
                         WHERE username = ?1 AND active = 1"
                    ),
                    [username],
                    |row| Ok((staff_from_row(row)?, row.get("password_hash")?)),
                )
                .optional()
                .map_err(internal)
            })
            .await
    }

    async fn staff_by_id(&self, id: i64) -> StorageResult<Option<StaffUser>> {
        self.db
            .read(move |conn| {
                conn.query_row(
                    &format!("SELECT {STAFF_COLUMNS} FROM users WHERE id = ?1"),
                    [id],
                    staff_from_row,
                )
                .optional()
                .map_err(internal)
            })
            .await
    }

    async fn list_staff(&self) -> StorageResult<Vec<StaffUser>> {
        self.db
            .read(|conn| {
                let mut statement = conn
                    .prepare_cached(&format!(
                        "SELECT {STAFF_COLUMNS} FROM users ORDER BY tier IS NULL, tier, display_name"
                    ))
                    .map_err(internal)?;
                let rows = statement.query_map([], staff_from_row).map_err(internal)?;
                rows.collect::<Result<_, _>>().map_err(internal)
            })
            .await
    }

    async fn create_session(
        &self,
        token_hash: String,
        user_id: i64,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StorageResult<()> {
        self.db
            .write(move |conn| {
                // Sweep expired sessions as new ones are made: the table stays small
                // without a separate job.
                conn.execute(
                    "DELETE FROM sessions WHERE expires_at <= ?1",
                    [now.timestamp_millis()],
                )
                .map_err(internal)?;
                conn.execute(
                    "INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![
                        token_hash,
                        user_id,
                        time_text(now),
                        expires_at.timestamp_millis()
                    ],
                )
                .map_err(internal)?;
                Ok(())
            })
            .await
    }

    async fn session_user(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StorageResult<Option<(StaffUser, DateTime<Utc>)>> {
        let token_hash = token_hash.to_owned();
        self.db
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT u.id, u.username, u.display_name, u.role, u.tier, u.active,
                                u.created_at, s.expires_at
                         FROM sessions s JOIN users u ON u.id = s.user_id
                         WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.active = 1",
                    )
                    .map_err(internal)?;
                statement
                    .query_row(params![token_hash, now.timestamp_millis()], |row| {
                        let expires_at: i64 = row.get("expires_at")?;
                        Ok((
                            staff_from_row(row)?,
                            DateTime::from_timestamp_millis(expires_at).unwrap_or_default(),
                        ))
                    })
                    .optional()
                    .map_err(internal)
            })
            .await
    }

    async fn delete_session(&self, token_hash: String) -> StorageResult<()> {
        self.db
            .write(move |conn| {
                conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])
                    .map_err(internal)?;
                Ok(())
            })
            .await
    }

    async fn create_enrollment_token(
        &self,
        token_hash: String,
        expires_at: DateTime<Utc>,
        audit: AuditEntry,
        now: DateTime<Utc>,
    ) -> StorageResult<()> {
        self.db
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO enrollment_tokens (token_hash, created_at, expires_at)
                     VALUES (?1, ?2, ?3)",
                    params![token_hash, time_text(now), expires_at.timestamp_millis()],
                )
                .map_err(internal)?;
                append_audit(conn, &audit, now)
            })
            .await
    }

    async fn enroll_device(
        &self,
        token_hash: String,
        device: NewDevice,
        audit: AuditEntry,
        now: DateTime<Utc>,
    ) -> StorageResult<Device> {
        self.db
            .write(move |conn| {
                let token: Option<(i64, Option<String>)> = conn
                    .query_row(
                        "SELECT expires_at, used_at FROM enrollment_tokens WHERE token_hash = ?1",
                        [&token_hash],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()
                    .map_err(internal)?;
                let Some((expires_at, used_at)) = token else {
                    return Err(StorageError::NotFound("enrollment token"));
                };
                if used_at.is_some() {
                    return Err(StorageError::Conflict(
                        "this enrollment token was already used".into(),
                    ));
                }
                if expires_at <= now.timestamp_millis() {
                    return Err(StorageError::Conflict("this enrollment token has expired".into()));
                }
                conn.execute(
                    "UPDATE enrollment_tokens SET used_at = ?2, device_id = ?3 WHERE token_hash = ?1",
                    params![token_hash, time_text(now), device.id],
                )
                .map_err(internal)?;
                conn.execute(
                    "INSERT INTO devices (id, hostname, credential_hash, enrolled_at)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![device.id, device.hostname, device.credential_hash, time_text(now)],
                )
                .map_err(internal)?;
                append_audit(conn, &audit, now)?;
                Ok(Device {
                    id: device.id,
                    hostname: device.hostname,
                    enrolled_at: now,
                })
            })
            .await
    }

    async fn device_for_credential(&self, credential_hash: &str) -> StorageResult<Option<Device>> {
        let credential_hash = credential_hash.to_owned();
        self.db
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT id, hostname, enrolled_at FROM devices WHERE credential_hash = ?1",
                    )
                    .map_err(internal)?;
                statement
                    .query_row([credential_hash], |r| {
                        let enrolled_at: String = r.get(2)?;
                        Ok(Device {
                            id: r.get(0)?,
                            hostname: r.get(1)?,
                            enrolled_at: parse_time(&enrolled_at),
                        })
                    })
                    .optional()
                    .map_err(internal)
            })
            .await
    }

    async fn create_requester_session(
        &self,
        session: NewRequesterSession,
        keep_live: u32,
        audit: AuditEntry,
        now: DateTime<Utc>,
    ) -> StorageResult<Vec<String>> {
        self.db
            .write(move |conn| {
                // Sweep expired sessions as new ones are made, as for staff sessions.
                conn.prepare_cached("DELETE FROM requester_sessions WHERE expires_at <= ?1")
                    .and_then(|mut s| s.execute([now.timestamp_millis()]))
                    .map_err(internal)?;
                let inserted = conn
                    .prepare_cached(
                        "INSERT INTO requester_sessions
                         (token_hash, device_id, local_user, display_name, created_at, expires_at,
                          seq)
                         SELECT ?1, id, ?3, ?4, ?5, ?6,
                                (SELECT coalesce(max(seq), 0) + 1 FROM requester_sessions
                                 WHERE device_id = ?2 AND local_user = ?3)
                         FROM devices WHERE id = ?2 AND removed_at IS NULL",
                    )
                    .and_then(|mut s| {
                        s.execute(params![
                            session.token_hash,
                            session.device_id,
                            session.local_user,
                            session.display_name,
                            time_text(now),
                            session.expires_at.timestamp_millis()
                        ])
                    })
                    .map_err(internal)?;
                if inserted == 0 {
                    return Err(StorageError::NotFound("device"));
                }
                let revoked: Vec<String> = conn
                    .prepare_cached(
                        "DELETE FROM requester_sessions
                         WHERE device_id = ?1 AND local_user = ?2 AND seq <= (
                             SELECT max(seq) FROM requester_sessions
                             WHERE device_id = ?1 AND local_user = ?2) - ?3
                         RETURNING token_hash",
                    )
                    .and_then(|mut s| {
                        s.query_map(
                            params![session.device_id, session.local_user, keep_live],
                            |r| r.get(0),
                        )?
                        .collect()
                    })
                    .map_err(internal)?;
                let mut audit = audit;
                audit.details["revokedOlder"] = revoked.len().into();
                append_audit(conn, &audit, now)?;
                Ok(revoked)
            })
            .await
    }

    async fn delete_requester_session(&self, token_hash: String) -> StorageResult<()> {
        self.db
            .write(move |conn| {
                conn.prepare_cached("DELETE FROM requester_sessions WHERE token_hash = ?1")
                    .and_then(|mut s| s.execute([token_hash]))
                    .map_err(internal)?;
                Ok(())
            })
            .await
    }

    async fn remove_device(
        &self,
        device_id: String,
        audit: AuditEntry,
        idempotency: Option<Idempotency>,
        now: DateTime<Utc>,
    ) -> StorageResult<Written<()>> {
        self.db
            .write(move |conn| {
                store_idempotent(conn, idempotency.as_ref(), 204, now, |conn| {
                    // The replacement is no SHA-256 in hex, so no credential can ever match it.
                    let removed = conn
                        .prepare_cached(
                            "UPDATE devices SET removed_at = ?2, credential_hash = 'removed:' || id
                         WHERE id = ?1 AND removed_at IS NULL",
                        )
                        .and_then(|mut s| s.execute(params![device_id, time_text(now)]))
                        .map_err(internal)?;
                    if removed == 0 {
                        return Err(StorageError::NotFound("device"));
                    }
                    let sessions = conn
                        .prepare_cached("DELETE FROM requester_sessions WHERE device_id = ?1")
                        .and_then(|mut s| s.execute([&device_id]))
                        .map_err(internal)?;
                    let mut audit = audit;
                    audit.details["revokedSessions"] = sessions.into();
                    append_audit(conn, &audit, now)
                })
            })
            .await
    }

    async fn requester_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StorageResult<Option<RequesterSession>> {
        let token_hash = token_hash.to_owned();
        self.db
            .read(move |conn| {
                conn.prepare_cached(
                    "SELECT d.id, d.hostname, d.enrolled_at, s.local_user, s.display_name,
                            s.expires_at
                     FROM requester_sessions s JOIN devices d ON d.id = s.device_id
                     WHERE s.token_hash = ?1 AND s.expires_at > ?2",
                )
                .and_then(|mut s| {
                    s.query_row(params![token_hash, now.timestamp_millis()], |r| {
                        let enrolled_at: String = r.get(2)?;
                        let expires_at: i64 = r.get(5)?;
                        Ok(RequesterSession {
                            device: Device {
                                id: r.get(0)?,
                                hostname: r.get(1)?,
                                enrolled_at: parse_time(&enrolled_at),
                            },
                            local_user: r.get(3)?,
                            display_name: r.get(4)?,
                            expires_at: DateTime::from_timestamp_millis(expires_at)
                                .unwrap_or_default(),
                        })
                    })
                    .optional()
                })
                .map_err(internal)
            })
            .await
    }

    async fn record_device_contact(
        &self,
        device_id: &str,
        agent_version: Option<String>,
        now: DateTime<Utc>,
    ) -> StorageResult<()> {
        let device_id = device_id.to_owned();
        self.db
            .write(move |conn| {
                devices::record_contact(conn, &device_id, agent_version.as_deref(), now)
            })
            .await
    }

    async fn store_snapshot(
        &self,
        device_id: &str,
        snapshot: NewSnapshot,
        keep: u32,
        idempotency: Option<Idempotency>,
        now: DateTime<Utc>,
    ) -> StorageResult<Written<SnapshotMeta>> {
        let device_id = device_id.to_owned();
        self.db
            .write(move |conn| {
                store_idempotent(conn, idempotency.as_ref(), 201, now, |conn| {
                    devices::store_snapshot(conn, &device_id, &snapshot, keep, now)
                })
            })
            .await
    }

    async fn devices(&self) -> StorageResult<Vec<DeviceRecord>> {
        self.db.read(devices::devices).await
    }

    async fn device_record(&self, id: &str) -> StorageResult<Option<DeviceRecord>> {
        let id = id.to_owned();
        self.db.read(move |conn| devices::device(conn, &id)).await
    }

    async fn device_snapshots(
        &self,
        device_id: &str,
        limit: u32,
    ) -> StorageResult<Vec<SnapshotMeta>> {
        let device_id = device_id.to_owned();
        self.db
            .read(move |conn| devices::snapshots(conn, &device_id, limit))
            .await
    }

    async fn device_snapshot(
        &self,
        device_id: &str,
        snapshot_id: i64,
    ) -> StorageResult<Option<(SnapshotMeta, String)>> {
        let device_id = device_id.to_owned();
        self.db
            .read(move |conn| devices::snapshot(conn, &device_id, snapshot_id))
            .await
    }

    async fn save_action_request(
        &self,
        request: ActionRequest,
        expected_state: Option<ActionState>,
        idempotency: Option<Idempotency>,
        actor: Actor,
        decide: TicketDecider,
        sla: Arc<SlaSettings>,
        audit: AuditEntry,
        now: DateTime<Utc>,
    ) -> StorageResult<Written<ActionRequest>> {
        // A new request answers 201, a move of an existing one 200.
        let status = if expected_state.is_none() { 201 } else { 200 };
        self.db
            .write(move |conn| {
                store_idempotent(conn, idempotency.as_ref(), status, now, |conn| {
                    actions::save(conn, &request, expected_state)?;
                    let ticket = tickets::load(conn, request.ticket_id)?;
                    let decision = decide(&ticket)?;
                    tickets::apply_decision(conn, &decision, &actor, &sla, now)?;
                    append_audit(conn, &audit, now)?;
                    Ok(request)
                })
            })
            .await
    }

    async fn action_request(&self, id: &str) -> StorageResult<Option<ActionRequest>> {
        let id = id.to_owned();
        self.db.read(move |conn| actions::by_id(conn, &id)).await
    }

    async fn action_requests_for_ticket(
        &self,
        ticket_id: i64,
    ) -> StorageResult<Vec<ActionRequest>> {
        self.db
            .read(move |conn| actions::for_ticket(conn, ticket_id))
            .await
    }

    async fn action_requests_in_state(
        &self,
        state: ActionState,
        limit: u32,
    ) -> StorageResult<Vec<ActionRequest>> {
        self.db
            .read(move |conn| actions::in_state(conn, state, limit))
            .await
    }

    async fn queued_orders(
        &self,
        device_id: &str,
        now: DateTime<Utc>,
    ) -> StorageResult<Vec<ActionRequest>> {
        let device_id = device_id.to_owned();
        self.db
            .read(move |conn| actions::queued(conn, &device_id, now))
            .await
    }

    async fn create_ticket(
        &self,
        actor: Actor,
        idempotency: Option<Idempotency>,
        decide: NewTicketDecider,
        sla: Arc<SlaSettings>,
        audit: Option<AuditIntent>,
        now: DateTime<Utc>,
    ) -> StorageResult<Written<Ticket>> {
        self.db
            .write(move |conn| {
                store_idempotent(conn, idempotency.as_ref(), 201, now, |conn| {
                    let id = tickets::next_ticket_id(conn)?;
                    let decision = decide(id, tickets::number_for(id))?;
                    tickets::insert_decided(conn, &decision, &actor, &sla, now)?;
                    if let Some(intent) = &audit {
                        tickets::audit_ticket_change(conn, intent, &decision, now)?;
                    }
                    Ok(decision.ticket)
                })
            })
            .await
    }

    async fn update_ticket(
        &self,
        id: i64,
        expected_version: Option<i64>,
        actor: Actor,
        idempotency: Option<Idempotency>,
        decide: TicketDecider,
        sla: Arc<SlaSettings>,
        audit: Option<AuditIntent>,
        now: DateTime<Utc>,
    ) -> StorageResult<Written<Ticket>> {
        self.db
            .write(move |conn| {
                store_idempotent(conn, idempotency.as_ref(), 200, now, |conn| {
                    let current = tickets::load(conn, id)?;
                    if let Some(expected) = expected_version
                        && expected != current.version
                    {
                        return Err(StorageError::Stale(
                            serde_json::to_value(&current).map_err(internal)?,
                        ));
                    }
                    let decision = decide(&current)?;
                    tickets::apply_decision(conn, &decision, &actor, &sla, now)?;
                    if let Some(intent) = &audit {
                        tickets::audit_ticket_change(conn, intent, &decision, now)?;
                    }
                    Ok(decision.ticket)
                })
            })
            .await
    }

    async fn add_attachment(
        &self,
        ticket_id: i64,
        attachment: NewAttachment,
        actor: Actor,
        idempotency: Option<Idempotency>,
        decide: AttachmentDecider,
        sla: Arc<SlaSettings>,
        now: DateTime<Utc>,
    ) -> StorageResult<Written<AttachmentMeta>> {
        self.db
            .write(move |conn| {
                store_idempotent(conn, idempotency.as_ref(), 201, now, |conn| {
                    let current = tickets::load(conn, ticket_id)?;
                    let meta = tickets::insert_attachment(conn, ticket_id, &attachment, now)?;
                    if let Some((device_id, snapshot, keep)) = &attachment.device_snapshot {
                        devices::store_snapshot(conn, device_id, snapshot, *keep, now)?;
                    }
                    let decision = decide(&current, meta.id)?;
                    tickets::apply_decision(conn, &decision, &actor, &sla, now)?;
                    Ok(meta)
                })
            })
            .await
    }

    async fn ticket(&self, id: i64) -> StorageResult<Option<Ticket>> {
        self.db
            .read(move |conn| match tickets::load(conn, id) {
                Ok(ticket) => Ok(Some(ticket)),
                Err(StorageError::NotFound(_)) => Ok(None),
                Err(other) => Err(other),
            })
            .await
    }

    async fn list_tickets(&self, query: TicketQuery) -> StorageResult<TicketPage> {
        self.db.read(move |conn| tickets::list(conn, &query)).await
    }

    async fn timeline(
        &self,
        ticket_id: i64,
        include_internal: bool,
    ) -> StorageResult<Vec<TimelineEvent>> {
        self.db
            .read(move |conn| tickets::timeline(conn, ticket_id, include_internal))
            .await
    }

    async fn attachment(
        &self,
        ticket_id: i64,
        attachment_id: i64,
    ) -> StorageResult<Option<(AttachmentMeta, Vec<u8>)>> {
        self.db
            .read(move |conn| tickets::attachment(conn, ticket_id, attachment_id))
            .await
    }

    async fn changes_since(
        &self,
        cursor: i64,
        scope: Option<RequesterScope>,
        limit: u32,
    ) -> StorageResult<ChangeSet> {
        self.db
            .read(move |conn| tickets::changes_since(conn, cursor, scope.as_ref(), limit))
            .await
    }

    async fn tickets_due_for_sweep(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StorageResult<Vec<i64>> {
        self.db
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT id FROM tickets WHERE next_sweep_at <= ?1
                         ORDER BY next_sweep_at LIMIT ?2",
                    )
                    .map_err(internal)?;
                let rows = statement
                    .query_map(params![now.timestamp_millis(), limit], |r| r.get(0))
                    .map_err(internal)?;
                rows.collect::<Result<_, _>>().map_err(internal)
            })
            .await
    }

    async fn sla_settings(&self) -> StorageResult<Option<SlaSettings>> {
        self.db
            .read(|conn| {
                let text: Option<String> = conn
                    .query_row(
                        "SELECT value FROM settings WHERE key = ?1",
                        [SLA_SETTINGS_KEY],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(internal)?;
                text.map(|t| serde_json::from_str(&t).map_err(internal))
                    .transpose()
            })
            .await
    }

    async fn save_sla_settings(
        &self,
        settings: SlaSettings,
        idempotency: Option<Idempotency>,
        audit: AuditEntry,
        now: DateTime<Utc>,
    ) -> StorageResult<Written<SlaSettings>> {
        self.db
            .write(move |conn| {
                store_idempotent(conn, idempotency.as_ref(), 200, now, |conn| {
                    let text = serde_json::to_string(&settings).map_err(internal)?;
                    conn.execute(
                        "INSERT INTO settings (key, value) VALUES (?1, ?2)
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        params![SLA_SETTINGS_KEY, text],
                    )
                    .map_err(internal)?;
                    append_audit(conn, &audit, now)?;
                    Ok(settings)
                })
            })
            .await
    }

    async fn idempotent_answer(
        &self,
        idempotency: &Idempotency,
    ) -> StorageResult<Option<Written<serde_json::Value>>> {
        let idempotency = idempotency.clone();
        self.db
            .read(move |conn| records::earlier_answer(conn, &idempotency))
            .await
    }

    async fn purge_idempotency(&self, before: DateTime<Utc>) -> StorageResult<u64> {
        self.db
            .write(move |conn| {
                conn.execute(
                    "DELETE FROM idempotency WHERE created_at < ?1",
                    [time_text(before)],
                )
                .map(|n| n as u64)
                .map_err(internal)
            })
            .await
    }

    async fn append_audit(&self, entry: AuditEntry, now: DateTime<Utc>) -> StorageResult<()> {
        self.db
            .write(move |conn| append_audit(conn, &entry, now))
            .await
    }

    async fn audit_records(&self, after_id: i64, limit: u32) -> StorageResult<Vec<AuditRecord>> {
        self.db
            .read(move |conn| records::audit_records(conn, after_id, limit))
            .await
    }

    async fn verify_audit(
        &self,
        checkpoint_key: &ed25519_dalek::VerifyingKey,
    ) -> StorageResult<AuditReport> {
        let file_checkpoint = self.file_checkpoint()?;
        let key = self.audit_key.clone();
        let checkpoint_key = *checkpoint_key;
        self.db
            .read(move |conn| {
                let mut statement = conn
                    .prepare(&format!(
                        "SELECT {} FROM audit_log ORDER BY id",
                        records::AUDIT_COLUMNS
                    ))
                    .map_err(internal)?;
                let rows = statement
                    .query_map([], records::audit_from_row)
                    .map_err(internal)?;
                let records: Vec<AuditRecord> = rows.collect::<Result<_, _>>().map_err(internal)?;
                let mut checkpoints = records::audit_checkpoints(conn)?;
                checkpoints.extend(file_checkpoint);
                Ok(verify_chain(records, &checkpoints, &key, &checkpoint_key))
            })
            .await
    }

    async fn audit_head(&self) -> StorageResult<AuditHead> {
        let file_checkpoint = self.file_checkpoint()?;
        self.db
            .read(move |conn| {
                let newest = records::audit_checkpoints(conn)?
                    .into_iter()
                    .chain(file_checkpoint)
                    .max_by_key(|c| (c.rows, c.at));
                records::audit_head(conn, newest)
            })
            .await
    }

    async fn save_audit_checkpoint(&self, checkpoint: AuditCheckpoint) -> StorageResult<()> {
        let stored = checkpoint.clone();
        self.db
            .write(move |conn| records::save_audit_checkpoint(conn, &stored))
            .await?;
        // The copy outside the database, newest only: one that already covers more rows
        // (a later checkpoint that overtook this one) stays.
        let path = self
            .checkpoint_file
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let covered = match std::fs::read_to_string(&*path) {
            Ok(text) => serde_json::from_str::<AuditCheckpoint>(&text).map_or(-1, |c| c.rows),
            Err(_) => -1,
        };
        if covered < checkpoint.rows {
            let text = serde_json::to_string(&checkpoint).map_err(internal)?;
            crate::private_files::replace(&path, &text).map_err(internal)?;
        }
        Ok(())
    }
}
