//! The ticket status machine: which moves exist and who may make them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::actor::Actor;
use crate::classification::wire_names;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Status {
    New,
    Open,
    PendingUser,
    Resolved,
    Closed,
}

wire_names! {
    Status => [
        New = "new", Open = "open", PendingUser = "pending_user", Resolved = "resolved",
        Closed = "closed",
    ],
}

/// Who asks for a status move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mover {
    Agent,
    SupervisorOrAdmin,
    Requester,
    System,
}

impl Status {
    /// Whether the ticket still needs work (counts in queues and SLA sweeps).
    pub fn is_active(self) -> bool {
        matches!(self, Status::New | Status::Open | Status::PendingUser)
    }

    /// Whether `actor` may move a ticket from `self` to `to`.
    ///
    /// Staff run the ticket; a requester may confirm a fix (resolved → closed) or say it is
    /// not fixed (resolved → open); the system closes resolved tickets after a quiet period.
    /// Closing without resolving and reopening a closed ticket need a supervisor or admin,
    /// because both hide or revive work outside the normal flow.
    pub fn may_move(self, to: Status, actor: &Actor) -> bool {
        use Status::*;
        let mover = if actor.is_supervisor_or_admin() {
            Mover::SupervisorOrAdmin
        } else if actor.is_staff() {
            Mover::Agent
        } else if actor.is_requester() {
            Mover::Requester
        } else {
            Mover::System
        };
        let staff = matches!(mover, Mover::Agent | Mover::SupervisorOrAdmin);
        match (self, to) {
            (New, Open) | (New | Open, PendingUser) | (PendingUser, Open) => staff,
            (New | Open | PendingUser, Resolved) => staff,
            (Resolved, Open) => staff || mover == Mover::Requester,
            (Resolved, Closed) => true,
            (New | Open | PendingUser, Closed) | (Closed, Open) => {
                mover == Mover::SupervisorOrAdmin
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::{ActorKind, Role, Tier};

    fn staff(role: Role) -> Actor {
        Actor {
            kind: ActorKind::Staff {
                user_id: 1,
                role,
                tier: Some(Tier::L1),
            },
            display_name: "x".into(),
        }
    }

    fn requester() -> Actor {
        Actor {
            kind: ActorKind::Requester {
                device_id: "d".into(),
                username: "u".into(),
            },
            display_name: "u".into(),
        }
    }

    /// Every (from, to) pair for every kind of mover, written out: a change to the machine
    /// must change this table.
    #[test]
    fn transition_table() {
        use Status::*;
        let agent = staff(Role::Agent);
        let supervisor = staff(Role::Supervisor);
        let user = requester();
        let system = Actor::system();
        // (from, to, agent, supervisor, requester, system)
        let table = [
            (New, Open, true, true, false, false),
            (New, PendingUser, true, true, false, false),
            (New, Resolved, true, true, false, false),
            (New, Closed, false, true, false, false),
            (Open, New, false, false, false, false),
            (Open, PendingUser, true, true, false, false),
            (Open, Resolved, true, true, false, false),
            (Open, Closed, false, true, false, false),
            (PendingUser, Open, true, true, false, false),
            (PendingUser, Resolved, true, true, false, false),
            (PendingUser, Closed, false, true, false, false),
            (Resolved, Open, true, true, true, false),
            (Resolved, Closed, true, true, true, true),
            (Resolved, New, false, false, false, false),
            (Closed, Open, false, true, false, false),
            (Closed, Resolved, false, false, false, false),
            (Open, Open, false, false, false, false),
        ];
        for (from, to, by_agent, by_supervisor, by_requester, by_system) in table {
            assert_eq!(from.may_move(to, &agent), by_agent, "{from}→{to} agent");
            assert_eq!(
                from.may_move(to, &supervisor),
                by_supervisor,
                "{from}→{to} sup"
            );
            assert_eq!(
                from.may_move(to, &user),
                by_requester,
                "{from}→{to} requester"
            );
            assert_eq!(from.may_move(to, &system), by_system, "{from}→{to} system");
        }
    }
}
