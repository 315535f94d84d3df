//! Ticket rows: the full ticket as a JSON document plus the columns queues filter and sort
//! on, its timeline events, its full-text index entry and its attachments.

use chrono::{DateTime, Utc};
use deskside_core::event::{EventKind, Visibility};
use deskside_core::sla::SlaSettings;
use deskside_core::ticket::{Ticket, TicketDecision};
use deskside_core::{Actor, SlaState};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use sha2::{Digest, Sha256};

use super::connections::{defer_to_commit, internal};
use super::records::{append_audit, parse_time, time_text};
use crate::audit::AuditEntry;
use crate::storage::{
    AssigneeFilter, AttachmentMeta, AuditIntent, ChangeSet, EventActor, NewAttachment, QueueCursor,
    RequesterScope, StorageError, StorageResult, TicketPage, TicketQuery, TimelineEvent,
};

/// Human numbers start above 1000 so they never look like a count.
const FIRST_NUMBER_OFFSET: i64 = 1000;
/// Sort keys after every real deadline: active tickets with no running clock, then the done.
const RISK_KEY_NO_DEADLINE: i64 = 8_000_000_000_000_000;
const RISK_KEY_DONE: i64 = 9_000_000_000_000_000;

pub fn next_ticket_id(conn: &Connection) -> StorageResult<i64> {
    conn.query_row("SELECT coalesce(max(id), 0) + 1 FROM tickets", [], |r| {
        r.get(0)
    })
    .map_err(internal)
}

pub fn number_for(id: i64) -> i64 {
    id + FIRST_NUMBER_OFFSET
}

fn risk_key(ticket: &Ticket) -> i64 {
    if !ticket.status.is_active() {
        return RISK_KEY_DONE;
    }
    ticket
        .risk_due_at()
        .map_or(RISK_KEY_NO_DEADLINE, |due| due.timestamp_millis())
}

pub fn load(conn: &Connection, id: i64) -> StorageResult<Ticket> {
    let doc: Option<String> = conn
        .prepare_cached("SELECT doc FROM tickets WHERE id = ?1")
        .and_then(|mut s| s.query_row([id], |r| r.get(0)).optional())
        .map_err(internal)?;
    let doc = doc.ok_or(StorageError::NotFound("ticket"))?;
    serde_json::from_str(&doc).map_err(internal)
}

/// Inserts a new ticket with its events. Event ids are assigned here rather than by
/// AUTOINCREMENT so the ticket row can be written once, complete with its change sequence.
pub fn insert_decided(
    conn: &Connection,
    decision: &TicketDecision,
    actor: &Actor,
    sla: &SlaSettings,
    now: DateTime<Utc>,
) -> StorageResult<()> {
    let ticket = &decision.ticket;
    let first_event_id: i64 = conn
        .prepare_cached("SELECT coalesce(max(id), 0) + 1 FROM events")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(internal)?;
    let seq = first_event_id + decision.events.len() as i64 - 1;
    write_ticket_row(conn, ticket, seq, sla, now)?;
    write_search_entry(ticket, false);
    insert_events(
        conn,
        ticket.id,
        &decision.events,
        actor,
        now,
        Some(first_event_id),
    )?;
    Ok(())
}

/// Appends events; returns the last event's id (the ticket's new change sequence).
fn insert_events(
    conn: &Connection,
    ticket_id: i64,
    events: &[EventKind],
    actor: &Actor,
    now: DateTime<Utc>,
    first_id: Option<i64>,
) -> StorageResult<i64> {
    let actor_json = serde_json::to_string(&EventActor::of(actor)).map_err(internal)?;
    let mut insert_event = conn
        .prepare_cached(
            "INSERT INTO events (id, ticket_id, at, actor, visibility, kind, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(internal)?;
    let at = time_text(now);
    let mut seq = 0;
    for (index, event) in events.iter().enumerate() {
        let visibility = match event.visibility() {
            Visibility::Public => "public",
            Visibility::Internal => "internal",
        };
        let data = serde_json::to_string(event).map_err(internal)?;
        let id = first_id.map(|first| first + index as i64);
        insert_event
            .execute(params![
                id,
                ticket_id,
                at,
                actor_json,
                visibility,
                event.type_name(),
                data
            ])
            .map_err(internal)?;
        seq = conn.last_insert_rowid();
    }
    Ok(seq)
}

/// Writes the decided ticket and its events; a decision with no events changes nothing.
pub fn apply_decision(
    conn: &Connection,
    decision: &TicketDecision,
    actor: &Actor,
    sla: &SlaSettings,
    now: DateTime<Utc>,
) -> StorageResult<()> {
    if decision.events.is_empty() {
        return Ok(());
    }
    let ticket = &decision.ticket;
    let seq = insert_events(conn, ticket.id, &decision.events, actor, now, None)?;
    let search_changed = decision.events.iter().any(|event| {
        matches!(event, EventKind::FieldChanged { field, .. }
            if matches!(field.as_str(), "title" | "description" | "tags"))
    });
    if search_changed {
        write_search_entry(ticket, true);
    }
    write_ticket_row(conn, ticket, seq, sla, now)
}

/// Inserts or replaces the ticket's row: the JSON document plus the columns queues filter
/// and sort on, derived from it.
fn write_ticket_row(
    conn: &Connection,
    ticket: &Ticket,
    seq: i64,
    sla: &SlaSettings,
    now: DateTime<Utc>,
) -> StorageResult<()> {
    let doc = serde_json::to_string(ticket).map_err(internal)?;
    let sla_state = ticket.sla_state(sla, now).map(SlaState::as_str);
    conn.prepare_cached(
        "INSERT INTO tickets (id, number, status, priority, category, tier, assignee_id,
            requester_name, requester_username, device_id, sla_state, risk_key, next_sweep_at,
            seq, version, doc)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status,
            priority = excluded.priority, category = excluded.category, tier = excluded.tier,
            assignee_id = excluded.assignee_id, requester_name = excluded.requester_name,
            requester_username = excluded.requester_username, device_id = excluded.device_id,
            sla_state = excluded.sla_state, risk_key = excluded.risk_key,
            next_sweep_at = excluded.next_sweep_at, seq = excluded.seq,
            version = excluded.version, doc = excluded.doc",
    )
    .and_then(|mut s| {
        s.execute(params![
            ticket.id,
            ticket.number,
            ticket.status.as_str(),
            ticket.priority.as_str(),
            ticket.category.as_str(),
            ticket.tier.as_str(),
            ticket.assignee_id,
            ticket.requester.name,
            ticket.requester.username,
            ticket.device_id,
            sla_state,
            risk_key(ticket),
            ticket.next_sweep_at(sla).map(|at| at.timestamp_millis()),
            seq,
            ticket.version,
            doc
        ])
    })
    .map_err(internal)?;
    Ok(())
}

/// Indexes the ticket for full-text search, at the end of the write batch (see
/// `defer_to_commit`).
fn write_search_entry(ticket: &Ticket, replace: bool) {
    let (id, title, description, tags, requester) = (
        ticket.id,
        ticket.title.clone(),
        ticket.description.clone(),
        ticket.tags.join(" "),
        ticket.requester.name.clone(),
    );
    defer_to_commit(move |conn| {
        if replace {
            conn.prepare_cached("DELETE FROM tickets_fts WHERE rowid = ?1")?
                .execute([id])?;
        }
        conn.prepare_cached(
            "INSERT INTO tickets_fts (rowid, title, description, tags, requester)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![id, title, description, tags, requester])?;
        Ok(())
    });
}

pub fn audit_ticket_change(
    conn: &Connection,
    intent: &AuditIntent,
    decision: &TicketDecision,
    now: DateTime<Utc>,
) -> StorageResult<()> {
    if decision.events.is_empty() {
        return Ok(());
    }
    let entry = AuditEntry {
        actor: intent.actor.clone(),
        action: intent.action.to_owned(),
        subject: format!("ticket:{}", decision.ticket.display_number()),
        details: serde_json::json!({ "events": decision.events }),
    };
    append_audit(conn, &entry, now)
}

pub fn insert_attachment(
    conn: &Connection,
    ticket_id: i64,
    attachment: &NewAttachment,
    now: DateTime<Utc>,
) -> StorageResult<AttachmentMeta> {
    let sha256 = hex::encode(Sha256::digest(&attachment.bytes));
    conn.prepare_cached(
        "INSERT INTO attachments (ticket_id, file_name, content_type, size_bytes, sha256, data,
            created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![
            ticket_id,
            attachment.file_name,
            attachment.content_type,
            attachment.bytes.len() as i64,
            sha256,
            attachment.bytes,
            time_text(now)
        ])
    })
    .map_err(internal)?;
    Ok(AttachmentMeta {
        id: conn.last_insert_rowid(),
        ticket_id,
        file_name: attachment.file_name.clone(),
        content_type: attachment.content_type.clone(),
        size_bytes: attachment.bytes.len() as i64,
        sha256,
        created_at: now,
    })
}

pub fn attachment(
    conn: &Connection,
    ticket_id: i64,
    attachment_id: i64,
) -> StorageResult<Option<(AttachmentMeta, Vec<u8>)>> {
    conn.prepare_cached(
        "SELECT id, ticket_id, file_name, content_type, size_bytes, sha256, created_at, data
         FROM attachments WHERE id = ?1 AND ticket_id = ?2",
    )
    .and_then(|mut s| {
        s.query_row(params![attachment_id, ticket_id], |r| {
            let created_at: String = r.get(6)?;
            Ok((
                AttachmentMeta {
                    id: r.get(0)?,
                    ticket_id: r.get(1)?,
                    file_name: r.get(2)?,
                    content_type: r.get(3)?,
                    size_bytes: r.get(4)?,
                    sha256: r.get(5)?,
                    created_at: parse_time(&created_at),
                },
                r.get(7)?,
            ))
        })
        .optional()
    })
    .map_err(internal)
}

/// Turns what a person typed into an FTS5 query that cannot be a syntax error: each word
/// becomes a quoted term (all must match), the last one a prefix so results follow typing.
pub fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("\"{w}\""))
        .collect();
    let last = words.len().checked_sub(1)?;
    let mut query = words.join(" ");
    if words[last].chars().count() >= 3 {
        query.push('*');
    }
    Some(query)
}

fn push_in<T>(
    sql: &mut String,
    args: &mut Vec<Value>,
    column: &str,
    values: &[T],
    name: impl Fn(&T) -> &'static str,
) {
    if values.is_empty() {
        return;
    }
    let marks = vec!["?"; values.len()].join(", ");
    sql.push_str(&format!(" AND {column} IN ({marks})"));
    args.extend(values.iter().map(|v| Value::Text(name(v).to_owned())));
}

/// The queue: filtered and keyset-paginated. Without search text it is ordered by SLA risk
/// (soonest deadline first). With search text it is ordered newest first: ordering every
/// match by risk would read each matching ticket (a common word matches a large share of a
/// million tickets), while walking the index newest first stops after one page.
pub fn list(conn: &Connection, query: &TicketQuery) -> StorageResult<TicketPage> {
    let mut args: Vec<Value> = Vec::new();
    let search = match &query.text {
        None => None,
        Some(text) => match fts_query(text) {
            Some(fts) => Some(fts),
            None => {
                return Ok(TicketPage {
                    items: Vec::new(),
                    next_cursor: None,
                });
            }
        },
    };
    let mut sql = match &search {
        None => String::from("SELECT t.id, t.risk_key, t.doc FROM tickets t WHERE 1 = 1"),
        Some(fts) => {
            args.push(Value::Text(fts.clone()));
            String::from(
                "SELECT t.id, t.risk_key, t.doc FROM tickets_fts f
                 JOIN tickets t ON t.id = f.rowid WHERE tickets_fts MATCH ?",
            )
        }
    };
    push_in(&mut sql, &mut args, "t.status", &query.statuses, |s| {
        s.as_str()
    });
    push_in(&mut sql, &mut args, "t.priority", &query.priorities, |s| {
        s.as_str()
    });
    push_in(&mut sql, &mut args, "t.category", &query.categories, |s| {
        s.as_str()
    });
    push_in(&mut sql, &mut args, "t.tier", &query.tiers, |s| s.as_str());
    push_in(&mut sql, &mut args, "t.sla_state", &query.sla_states, |s| {
        s.as_str()
    });
    match &query.assignee {
        Some(AssigneeFilter::Unassigned) => sql.push_str(" AND t.assignee_id IS NULL"),
        Some(AssigneeFilter::User(id)) => {
            sql.push_str(" AND t.assignee_id = ?");
            args.push(Value::Integer(*id));
        }
        None => {}
    }
    if let Some(requester) = &query.requester {
        // A staff search: letter case does not matter here. Requester scopes below compare
        // the account exactly (the column's collation is BINARY).
        sql.push_str(" AND (t.requester_name = ? OR t.requester_username = ? COLLATE NOCASE)");
        args.push(Value::Text(requester.clone()));
        args.push(Value::Text(requester.clone()));
    }
    if let Some(scope) = &query.scope {
        sql.push_str(" AND t.device_id = ? AND t.requester_username = ?");
        args.push(Value::Text(scope.device_id.clone()));
        args.push(Value::Text(scope.username.clone()));
    }
    match (&search, query.after) {
        (None, Some(after)) => {
            sql.push_str(" AND (t.risk_key, t.id) > (?, ?)");
            args.push(Value::Integer(after.risk_key));
            args.push(Value::Integer(after.id));
        }
        // The bound goes on the index's rowid so the search resumes where it stopped.
        (Some(_), Some(after)) => {
            sql.push_str(" AND f.rowid < ?");
            args.push(Value::Integer(after.id));
        }
        _ => {}
    }
    sql.push_str(match search {
        None => " ORDER BY t.risk_key, t.id LIMIT ?",
        Some(_) => " ORDER BY f.rowid DESC LIMIT ?",
    });
    args.push(Value::Integer(i64::from(query.limit) + 1));

    let mut statement = conn.prepare_cached(&sql).map_err(internal)?;
    let rows = statement
        .query_map(params_from_iter(args), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .map_err(internal)?;
    let mut items = Vec::with_capacity(query.limit as usize);
    let mut last = None;
    let mut more = false;
    for row in rows {
        let (id, risk_key, doc) = row.map_err(internal)?;
        if items.len() == query.limit as usize {
            more = true;
            break;
        }
        items.push(serde_json::from_str(&doc).map_err(internal)?);
        last = Some(QueueCursor { risk_key, id });
    }
    Ok(TicketPage {
        items,
        next_cursor: if more {
            last.map(QueueCursor::encode)
        } else {
            None
        },
    })
}

fn event_from_row(
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<(i64, i64, String, String, String, String)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

fn decode_event(
    (id, ticket_id, at, actor, visibility, data): (i64, i64, String, String, String, String),
) -> StorageResult<TimelineEvent> {
    Ok(TimelineEvent {
        id,
        ticket_id,
        at: parse_time(&at),
        actor: serde_json::from_str(&actor).map_err(internal)?,
        visibility: if visibility == "internal" {
            Visibility::Internal
        } else {
            Visibility::Public
        },
        event: serde_json::from_str(&data).map_err(internal)?,
    })
}

pub fn timeline(
    conn: &Connection,
    ticket_id: i64,
    include_internal: bool,
) -> StorageResult<Vec<TimelineEvent>> {
    let mut statement = conn
        .prepare_cached(
            "SELECT id, ticket_id, at, actor, visibility, data FROM events
             WHERE ticket_id = ?1 AND (?2 OR visibility = 'public') ORDER BY id",
        )
        .map_err(internal)?;
    let rows = statement
        .query_map(params![ticket_id, include_internal], event_from_row)
        .map_err(internal)?;
    rows.map(|r| r.map_err(internal).and_then(decode_event))
        .collect()
}

/// Changed tickets after `cursor` in change order, each with all its events after `cursor`.
/// Cost follows the number of changes, not the size of the history.
pub fn changes_since(
    conn: &Connection,
    cursor: i64,
    scope: Option<&RequesterScope>,
    limit: u32,
) -> StorageResult<ChangeSet> {
    // One snapshot for every statement below: a commit between them must not move the
    // cursor past a change this answer does not carry.
    let _snapshot = conn.unchecked_transaction().map_err(internal)?;
    let (sql, args): (&str, Vec<Value>) = match scope {
        None => (
            "SELECT seq, doc FROM tickets WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            vec![Value::Integer(cursor), Value::Integer(i64::from(limit) + 1)],
        ),
        Some(scope) => (
            "SELECT seq, doc FROM tickets
             WHERE device_id = ?3 AND requester_username = ?4 AND seq > ?1
             ORDER BY seq LIMIT ?2",
            vec![
                Value::Integer(cursor),
                Value::Integer(i64::from(limit) + 1),
                Value::Text(scope.device_id.clone()),
                Value::Text(scope.username.clone()),
            ],
        ),
    };
    let mut statement = conn.prepare_cached(sql).map_err(internal)?;
    let rows = statement
        .query_map(params_from_iter(args), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(internal)?;
    let mut tickets: Vec<Ticket> = Vec::new();
    let mut next_cursor = cursor;
    let mut has_more = false;
    for row in rows {
        let (seq, doc) = row.map_err(internal)?;
        if tickets.len() == limit as usize {
            has_more = true;
            break;
        }
        tickets.push(serde_json::from_str(&doc).map_err(internal)?);
        next_cursor = seq;
    }
    if !has_more && scope.is_none() {
        // Nothing newer exists: the caller's cursor can jump to the newest change.
        next_cursor = next_cursor.max(
            conn.query_row("SELECT coalesce(max(seq), 0) FROM tickets", [], |r| {
                r.get(0)
            })
            .map_err(internal)?,
        );
    }
    // Every visible event up to the new cursor, not only those of this page's tickets: a
    // ticket whose latest change comes in a later page may have older events in this range,
    // and the cursor is about to move past them.
    let (events_sql, events_args): (&str, Vec<Value>) = match scope {
        None => (
            "SELECT id, ticket_id, at, actor, visibility, data FROM events
             WHERE id > ?1 AND id <= ?2 ORDER BY id",
            vec![Value::Integer(cursor), Value::Integer(next_cursor)],
        ),
        Some(scope) => (
            "SELECT e.id, e.ticket_id, e.at, e.actor, e.visibility, e.data
             FROM tickets t JOIN events e ON e.ticket_id = t.id
             WHERE t.device_id = ?3 AND t.requester_username = ?4 AND t.seq > ?1
               AND e.id > ?1 AND e.id <= ?2 AND e.visibility = 'public'
             ORDER BY e.id",
            vec![
                Value::Integer(cursor),
                Value::Integer(next_cursor),
                Value::Text(scope.device_id.clone()),
                Value::Text(scope.username.clone()),
            ],
        ),
    };
    let mut events_statement = conn.prepare_cached(events_sql).map_err(internal)?;
    let rows = events_statement
        .query_map(params_from_iter(events_args), event_from_row)
        .map_err(internal)?;
    let events = rows
        .map(|row| row.map_err(internal).and_then(decode_event))
        .collect::<StorageResult<Vec<_>>>()?;
    Ok(ChangeSet {
        tickets,
        events,
        cursor: next_cursor,
        has_more,
    })
}
