//! Versioned schema migrations. Each step runs once, in order, inside one transaction with
//! the bump of `PRAGMA user_version`; a database newer than this binary is refused.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: the foundation.
    r#"
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL,
        tier TEXT,
        password_hash TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL
    );
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        created_at TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE enrollment_tokens (
        token_hash TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at TEXT,
        device_id TEXT
    ) WITHOUT ROWID;
    CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        hostname TEXT NOT NULL,
        credential_hash TEXT NOT NULL UNIQUE,
        enrolled_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE tickets (
        id INTEGER PRIMARY KEY,
        number INTEGER NOT NULL,
        status TEXT NOT NULL,
        priority TEXT NOT NULL,
        category TEXT NOT NULL,
        tier TEXT NOT NULL,
        assignee_id INTEGER,
        requester_name TEXT NOT NULL COLLATE NOCASE,
        requester_username TEXT COLLATE NOCASE,
        device_id TEXT,
        sla_state TEXT,
        risk_key INTEGER NOT NULL,
        next_sweep_at INTEGER,
        seq INTEGER NOT NULL,
        version INTEGER NOT NULL,
        doc TEXT NOT NULL
    );
    -- The queue is read in SLA-risk order. Filters on status, tier, assignee and requester
    -- have indexes in that order; priority, category and SLA state are common enough that
    -- walking the risk order and skipping non-matching rows finds a page quickly, and each
    -- index costs every ticket write.
    CREATE INDEX tickets_by_risk ON tickets (risk_key, id);
    CREATE INDEX tickets_by_status ON tickets (status, risk_key, id);
    CREATE INDEX tickets_by_tier ON tickets (tier, risk_key, id);
    -- Partial where most new tickets have no value: a ticket costs these only once it has one.
    CREATE INDEX tickets_by_assignee ON tickets (assignee_id, risk_key, id)
        WHERE assignee_id IS NOT NULL;
    CREATE INDEX tickets_by_requester ON tickets (requester_name, risk_key, id);
    CREATE INDEX tickets_by_device_user ON tickets (device_id, requester_username, seq)
        WHERE device_id IS NOT NULL;
    CREATE INDEX tickets_by_seq ON tickets (seq);
    CREATE INDEX tickets_by_sweep ON tickets (next_sweep_at) WHERE next_sweep_at IS NOT NULL;
    CREATE VIRTUAL TABLE tickets_fts USING fts5 (
        title, description, tags, requester,
        content = '', contentless_delete = 1,
        tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ticket_id INTEGER NOT NULL REFERENCES tickets(id),
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        visibility TEXT NOT NULL,
        kind TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX events_by_ticket ON events (ticket_id, id);
    CREATE TABLE attachments (
        id INTEGER PRIMARY KEY,
        ticket_id INTEGER NOT NULL REFERENCES tickets(id),
        file_name TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        data BLOB NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX attachments_by_ticket ON attachments (ticket_id);
    CREATE TABLE idempotency (
        principal TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        status INTEGER NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (principal, key)
    ) WITHOUT ROWID;
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    "#,
    // 2: the device registry: contact times and bounded diagnostics history.
    r#"
    ALTER TABLE devices ADD COLUMN last_seen_at TEXT;
    ALTER TABLE devices ADD COLUMN agent_version TEXT;
    ALTER TABLE devices ADD COLUMN platform TEXT;
    ALTER TABLE devices ADD COLUMN os TEXT;
    CREATE TABLE device_snapshots (
        id INTEGER PRIMARY KEY,
        device_id TEXT NOT NULL REFERENCES devices(id),
        collected_at TEXT NOT NULL,
        received_at TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX device_snapshots_by_device ON device_snapshots (device_id, id);
    "#,
    // 3: remediation action requests and the signed orders they become.
    r#"
    CREATE TABLE action_requests (
        id TEXT PRIMARY KEY,
        ticket_id INTEGER NOT NULL REFERENCES tickets(id),
        device_id TEXT NOT NULL REFERENCES devices(id),
        state TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        doc TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX action_requests_by_ticket ON action_requests (ticket_id);
    CREATE INDEX action_requests_by_state ON action_requests (state, created_at);
    CREATE INDEX action_requests_by_device ON action_requests (device_id, state);
    "#,
    // 4: idempotency records are purged once no client would still retry.
    r#"
    CREATE INDEX idempotency_by_age ON idempotency (created_at);
    "#,
    // 5: requester sessions: a device's agent vouches for its signed-in local user.
    r#"
    CREATE TABLE requester_sessions (
        token_hash TEXT PRIMARY KEY,
        device_id TEXT NOT NULL REFERENCES devices(id),
        local_user TEXT NOT NULL,
        display_name TEXT,
        created_at TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX requester_sessions_by_expiry ON requester_sessions (expires_at);
    "#,
    // 6: snapshot sources: the agent's own upload, one an agent asked for, or one the
    // device's user attached to a ticket. Snapshots stored before are the agent's own.
    r#"
    ALTER TABLE device_snapshots ADD COLUMN source TEXT NOT NULL DEFAULT 'background';
    ALTER TABLE device_snapshots ADD COLUMN ticket_id INTEGER;
    ALTER TABLE device_snapshots ADD COLUMN ticket_number TEXT;
    "#,
];

/// Brings the database to the newest schema.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: usize = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if current > MIGRATIONS.len() {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "the database schema is version {current}, newer than this server knows ({}); \
             upgrade the server",
            MIGRATIONS.len()
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
    }
    Ok(())
}
