//! Timeline events: the one record of everything that happened to a ticket.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::actor::Tier;
use crate::classification::Priority;
use crate::status::Status;

/// Who may see an event. Requesters never see internal ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Visibility {
    Public,
    Internal,
}

/// Which SLA clock an SLA event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum SlaTarget {
    FirstResponse,
    Resolution,
}

/// What happened. Serialised with a `type` tag so clients can branch on it and new kinds can
/// be added without breaking older readers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum EventKind {
    Created,
    PublicReply {
        body: String,
    },
    InternalNote {
        body: String,
    },
    /// A plain field edit; values are wire strings so any field fits one shape.
    FieldChanged {
        field: String,
        from: Option<String>,
        to: Option<String>,
    },
    Assigned {
        #[cfg_attr(feature = "ts", ts(type = "number | null"))]
        from: Option<i64>,
        #[cfg_attr(feature = "ts", ts(type = "number | null"))]
        to: Option<i64>,
    },
    Escalated {
        from: Tier,
        to: Tier,
        reason: String,
        automatic: bool,
    },
    StatusChanged {
        from: Status,
        to: Status,
    },
    PriorityOverridden {
        from: Priority,
        to: Priority,
        reason: String,
    },
    AttachmentAdded {
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        attachment_id: i64,
        file_name: String,
        content_type: String,
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        size_bytes: i64,
    },
    SlaAtRisk {
        target: SlaTarget,
    },
    /// A remediation action moved: requested, approved, denied, consented, queued, started,
    /// succeeded, failed, rejected by the endpoint.
    Action {
        request_id: String,
        action: String,
        state: String,
        detail: Option<String>,
    },
    SlaBreached {
        target: SlaTarget,
    },
}

impl EventKind {
    pub fn visibility(&self) -> Visibility {
        match self {
            EventKind::InternalNote { .. }
            | EventKind::SlaAtRisk { .. }
            | EventKind::SlaBreached { .. }
            | EventKind::Assigned { .. } => Visibility::Internal,
            // The requester hears of outcomes and of what waits for their consent; the
            // approval traffic between agents stays internal.
            EventKind::Action { state, .. } => match state.as_str() {
                "succeeded" | "failed" | "awaiting_consent" => Visibility::Public,
                _ => Visibility::Internal,
            },
            _ => Visibility::Public,
        }
    }

    /// Short name stored beside the JSON for filtering.
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::PublicReply { .. } => "public_reply",
            EventKind::InternalNote { .. } => "internal_note",
            EventKind::FieldChanged { .. } => "field_changed",
            EventKind::Assigned { .. } => "assigned",
            EventKind::Escalated { .. } => "escalated",
            EventKind::StatusChanged { .. } => "status_changed",
            EventKind::PriorityOverridden { .. } => "priority_overridden",
            EventKind::AttachmentAdded { .. } => "attachment_added",
            EventKind::SlaAtRisk { .. } => "sla_at_risk",
            EventKind::SlaBreached { .. } => "sla_breached",
            EventKind::Action { .. } => "action",
        }
    }
}
