//! Wire types the client needs that are not in `deskside-core` (the server crate is too
//! heavy to link into the desktop app). Field names follow the server's camelCase JSON.

use deskside_core::Ticket;
use serde::{Deserialize, Serialize};

/// `POST /api/v1/auth/login` answer; only what the client keeps.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Filters of the staff queue, `GET /api/v1/tickets`. Lists are sent comma-separated, as
/// the server reads them; empty filters are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketFilter {
    /// e.g. `["new", "open"]`.
    pub status: Vec<String>,
    /// e.g. `["P1", "P2"]`.
    pub priority: Vec<String>,
    pub category: Vec<String>,
    pub tier: Vec<String>,
    pub sla_state: Vec<String>,
    /// A staff user id, `me`, or `none`.
    pub assignee: Option<String>,
    pub requester: Option<String>,
    /// Full-text search.
    pub q: Option<String>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
    /// 1–200; the server's default when absent.
    pub limit: Option<u32>,
}

impl TicketFilter {
    pub(crate) fn query_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        let lists = [
            ("status", &self.status),
            ("priority", &self.priority),
            ("category", &self.category),
            ("tier", &self.tier),
            ("slaState", &self.sla_state),
        ];
        for (key, values) in lists {
            if !values.is_empty() {
                pairs.push((key, values.join(",")));
            }
        }
        let texts = [
            ("assignee", &self.assignee),
            ("requester", &self.requester),
            ("q", &self.q),
            ("cursor", &self.cursor),
        ];
        for (key, value) in texts {
            if let Some(value) = value {
                pairs.push((key, value.clone()));
            }
        }
        if let Some(limit) = self.limit {
            pairs.push(("limit", limit.to_string()));
        }
        pairs
    }
}

/// One page of the queue.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketPage {
    pub items: Vec<Ticket>,
    /// Absent on the last page.
    pub next_cursor: Option<String>,
}

/// `GET /api/v1/sync` answer. Timeline events are kept as JSON until the client has a use
/// for them (the conversation view); tickets are typed because the cache indexes them.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeSet {
    pub tickets: Vec<Ticket>,
    #[serde(default)]
    pub events: Vec<serde_json::Value>,
    pub cursor: i64,
    pub has_more: bool,
}

/// A successful create: the ticket, and whether the server replayed an earlier answer to
/// the same idempotency key instead of creating it now.
#[derive(Debug, Clone)]
pub struct Created {
    pub ticket: Ticket,
    pub replayed: bool,
}
