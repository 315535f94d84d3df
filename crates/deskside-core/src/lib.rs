//! The Deskside help desk domain.
//!
//! Everything here is pure: no I/O, no clock reads, no randomness. Callers pass the current
//! time in, and storage layers persist what the functions here decide. That keeps the rules
//! of the help desk (who may do what, how priority is derived, how SLA clocks run) testable
//! with plain tables of inputs and expected outputs.

pub mod actor;
pub mod classification;
pub mod event;
pub mod sla;
pub mod status;
pub mod ticket;
pub mod validation;

pub use actor::{Actor, ActorKind, Role, Tier};
pub use classification::{Category, Impact, Priority, Urgency, UserKind, priority_matrix};
pub use event::{EventKind, Visibility};
pub use sla::{BusinessCalendar, SlaPolicy, SlaSettings, SlaState, SlaTimer};
pub use status::Status;
pub use ticket::{Ticket, TicketCommand, TicketDecision};
pub use validation::{FieldError, ValidationErrors};
