//! Deskside endpoint diagnostics.
//!
//! - [`collect`] / [`Collector`]: read a [`Snapshot`] of this machine (system, hardware,
//!   network, processes, services, printers, software, logs), each section either data or
//!   the reason it could not be read.
//! - [`findings`]: pure rules over a snapshot that flag known problems and suggest fixes.
//! - [`diff`]: what changed between two snapshots of the same machine.
//!
//! Findings and diffs do no I/O and read no clock, so the server can run them on stored
//! snapshots.

mod collector;
mod command;
pub mod diff;
pub mod findings;
pub mod sections;
mod snapshot;
mod text;

pub use text::format_bytes;

pub use collector::{CacheTtls, Collector, CollectorOptions, SnapshotRequest, collect};
pub use diff::{SnapshotDiff, diff};
pub use findings::{Finding, FindingRules, Severity, SuggestedFix, findings};
pub use sections::network::NetworkChecks;
pub use snapshot::{Probe, SCHEMA_VERSION, SectionName, Snapshot, UnknownSection, WithheldBy};
