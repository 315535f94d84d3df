//! How a ticket is classified: what kind of problem, how many people it hits, how badly,
//! and the priority that follows from those.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What the problem is about; drives routing, reports and the icons end users pick from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Category {
    Hardware,
    Printer,
    Network,
    Software,
    AccountPassword,
    Email,
    Other,
}

/// Criticality: who else is affected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Impact {
    OneUser,
    Team,
    WholeOffice,
}

/// How much the problem stops the requester from working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Urgency {
    CanWork,
    Degraded,
    Blocked,
}

/// P1 is the most urgent. Ordered so that `P1 < P2`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Priority {
    P1,
    P2,
    P3,
    P4,
}

/// Whom the requester is to us; SLA policies differ per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum UserKind {
    InternalStaff,
    BusinessCustomer,
    PrivateCustomer,
}

/// The ITIL impact × urgency matrix, folded onto four priorities.
///
/// | impact \ urgency | can work | degraded | blocked |
/// |---|---|---|---|
/// | whole office | P3 | P2 | P1 |
/// | team         | P4 | P3 | P2 |
/// | one user     | P4 | P4 | P3 |
pub fn priority_matrix(impact: Impact, urgency: Urgency) -> Priority {
    use Impact::*;
    use Priority::*;
    use Urgency::*;
    match (impact, urgency) {
        (WholeOffice, Blocked) => P1,
        (WholeOffice, Degraded) | (Team, Blocked) => P2,
        (WholeOffice, CanWork) | (Team, Degraded) | (OneUser, Blocked) => P3,
        (Team, CanWork) | (OneUser, Degraded) | (OneUser, CanWork) => P4,
    }
}

macro_rules! wire_names {
    ($($ty:ty => [$($variant:ident = $name:literal),* $(,)?]),* $(,)?) => {$(
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$(<$ty>::$variant),*];

            /// The name used on the wire and in storage.
            pub fn as_str(self) -> &'static str {
                match self { $(<$ty>::$variant => $name),* }
            }

            /// Parses a wire name; `None` for anything else.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($name => Some(<$ty>::$variant),)* _ => None }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
pub(crate) use wire_names;

wire_names! {
    Category => [
        Hardware = "hardware", Printer = "printer", Network = "network", Software = "software",
        AccountPassword = "account_password", Email = "email", Other = "other",
    ],
    Impact => [OneUser = "one_user", Team = "team", WholeOffice = "whole_office"],
    Urgency => [CanWork = "can_work", Degraded = "degraded", Blocked = "blocked"],
    Priority => [P1 = "P1", P2 = "P2", P3 = "P3", P4 = "P4"],
    UserKind => [
        InternalStaff = "internal_staff", BusinessCustomer = "business_customer",
        PrivateCustomer = "private_customer",
    ],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_covers_every_cell() {
        use Impact::*;
        use Priority::*;
        use Urgency::*;
        let table = [
            (WholeOffice, Blocked, P1),
            (WholeOffice, Degraded, P2),
            (WholeOffice, CanWork, P3),
            (Team, Blocked, P2),
            (Team, Degraded, P3),
            (Team, CanWork, P4),
            (OneUser, Blocked, P3),
            (OneUser, Degraded, P4),
            (OneUser, CanWork, P4),
        ];
        assert_eq!(table.len(), Impact::ALL.len() * Urgency::ALL.len());
        for (impact, urgency, expected) in table {
            assert_eq!(
                priority_matrix(impact, urgency),
                expected,
                "{impact} × {urgency}"
            );
        }
    }

    #[test]
    fn wire_names_match_serde() {
        for category in Category::ALL {
            let json = serde_json::to_string(category).unwrap();
            assert_eq!(json, format!("\"{}\"", category.as_str()));
            assert_eq!(Category::parse(category.as_str()), Some(*category));
        }
        for priority in Priority::ALL {
            let json = serde_json::to_string(priority).unwrap();
            assert_eq!(json, format!("\"{}\"", priority.as_str()));
        }
        for kind in UserKind::ALL {
            let json = serde_json::to_string(kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
    }
}
