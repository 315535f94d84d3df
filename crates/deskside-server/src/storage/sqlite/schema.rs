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
    // 6: requester accounts compare exactly. Migration 1 declared
    // tickets.requester_username COLLATE NOCASE, which made the accounts `DSK_U1` and
    // `dsk_u1` of one machine the same requester. SQLite cannot change a column's
    // collation, so the column is copied into a new one (BINARY, the default), the old one
    // dropped and the new one renamed; its index is rebuilt the same way. Rows, ids and the
    // full-text index (keyed by rowid) are untouched.
    r#"
    DROP INDEX tickets_by_device_user;
    ALTER TABLE tickets ADD COLUMN requester_account TEXT;
    UPDATE tickets SET requester_account = requester_username;
    ALTER TABLE tickets DROP COLUMN requester_username;
    ALTER TABLE tickets RENAME COLUMN requester_account TO requester_username;
    CREATE INDEX tickets_by_device_user ON tickets (device_id, requester_username, seq)
        WHERE device_id IS NOT NULL;
    "#,
    // 7: requester sessions are bounded per account and revocable; devices can be removed.
    // `seq` orders an account's sessions (timestamps can tie); a removed device keeps its
    // row for its history, with `removed_at` set and its credential hash replaced.
    r#"
    ALTER TABLE requester_sessions ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX requester_sessions_by_account ON requester_sessions (device_id, local_user, seq);
    ALTER TABLE devices ADD COLUMN removed_at TEXT;
    "#,
    // 8 (audit_keyed_chain): rows are HMAC-chained from here on (existing rows keep their
    // SHA-256 links: `keyed` 0), and the head is checkpointed, signed with the server key.
    r#"
    ALTER TABLE audit_log ADD COLUMN keyed INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE audit_checkpoints (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        rows INTEGER NOT NULL,
        head_hash TEXT NOT NULL,
        keyed_from INTEGER NOT NULL,
        key_id TEXT NOT NULL,
        signature TEXT NOT NULL
    );
    "#,
    // 9: snapshot sources: the agent's own upload, one an agent asked for, or one the
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requester_accounts_compare_exactly_after_migration_and_rows_survive() {
        let mut conn = Connection::open_in_memory().unwrap();
        // A database as the server left it before migration 6.
        let tx = conn.transaction().unwrap();
        for sql in &MIGRATIONS[..5] {
            tx.execute_batch(sql).unwrap();
        }
        tx.pragma_update(None, "user_version", 5).unwrap();
        tx.execute(
            "INSERT INTO tickets (id, number, status, priority, category, tier,
                                  requester_name, requester_username, device_id, risk_key,
                                  seq, version, doc)
             VALUES (7, 1007, 'new', 'P3', 'printer', 'L1', 'Dana', 'dsk_u1', 'dev_1', 0,
                     3, 1, '{}')",
            [],
        )
        .unwrap();
        tx.commit().unwrap();
        let matches = |conn: &Connection, name: &str| -> i64 {
            conn.query_row(
                "SELECT count(*) FROM tickets WHERE device_id = 'dev_1' AND requester_username = ?1",
                [name],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert_eq!(matches(&conn, "DSK_U1"), 1, "the old column ignores case");

        migrate(&mut conn).unwrap();
        assert_eq!(matches(&conn, "DSK_U1"), 0);
        assert_eq!(matches(&conn, "dsk_u1"), 1);
        let (id, seq, doc): (i64, i64, String) = conn
            .query_row("SELECT id, seq, doc FROM tickets", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!((id, seq, doc.as_str()), (7, 3, "{}"));
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT seq FROM tickets
                 WHERE device_id = 'dev_1' AND requester_username = 'dsk_u1' AND seq > 0",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("tickets_by_device_user"), "{plan}");
    }
}
