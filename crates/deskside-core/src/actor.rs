//! Who acts: staff with a role (and a support tier for agents), a requester speaking
//! through an enrolled device, or the system itself (SLA sweeps, auto-close).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::classification::wire_names;

/// Support tier. Escalation moves a ticket up one tier.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Tier {
    L1,
    L2,
    L3,
}

impl Tier {
    /// The tier a ticket escalates to, or `None` from the top tier.
    pub fn next(self) -> Option<Tier> {
        match self {
            Tier::L1 => Some(Tier::L2),
            Tier::L2 => Some(Tier::L3),
            Tier::L3 => None,
        }
    }
}

/// A staff account's role. Requesters have no account: they act through a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
}

wire_names! {
    Tier => [L1 = "L1", L2 = "L2", L3 = "L3"],
    Role => [Agent = "agent", Supervisor = "supervisor", Admin = "admin"],
}

/// What kind of principal is acting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ActorKind {
    Staff {
        user_id: i64,
        role: Role,
        tier: Option<Tier>,
    },
    /// The local user of an enrolled device.
    Requester { device_id: String, username: String },
    /// Background rules: SLA sweep, auto-close.
    System,
}

/// A principal plus the display name written into timeline events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub kind: ActorKind,
    pub display_name: String,
}

impl Actor {
    pub fn system() -> Actor {
        Actor {
            kind: ActorKind::System,
            display_name: "Deskside".to_owned(),
        }
    }

    pub fn is_staff(&self) -> bool {
        matches!(self.kind, ActorKind::Staff { .. })
    }

    pub fn is_requester(&self) -> bool {
        matches!(self.kind, ActorKind::Requester { .. })
    }

    pub fn role(&self) -> Option<Role> {
        match self.kind {
            ActorKind::Staff { role, .. } => Some(role),
            _ => None,
        }
    }

    /// Supervisors and admins stand above every tier.
    pub fn is_supervisor_or_admin(&self) -> bool {
        matches!(self.role(), Some(Role::Supervisor | Role::Admin))
    }

    pub fn staff_user_id(&self) -> Option<i64> {
        match self.kind {
            ActorKind::Staff { user_id, .. } => Some(user_id),
            _ => None,
        }
    }
}
