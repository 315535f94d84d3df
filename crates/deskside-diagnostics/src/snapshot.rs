//! The snapshot document: what one diagnostics run saw on one machine.
//!
//! Agents in the field run older versions than the server, so the format only ever grows:
//! unknown fields are ignored on read, missing ones take defaults, and `schema_version`
//! changes only if a field changes meaning.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::sections::hardware::Hardware;
use crate::sections::logs::Logs;
use crate::sections::network::Network;
use crate::sections::printers::Printers;
use crate::sections::processes::Processes;
use crate::sections::services::Services;
use crate::sections::software::Software;
use crate::sections::system::SystemInfo;

/// Bumped only for incompatible changes; additions keep version 1.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub schema_version: u32,
    pub collected_at: DateTime<Utc>,
    pub duration_ms: u64,
    #[serde(default)]
    pub agent_version: String,
    /// `std::env::consts::OS` of the agent: `linux`, `windows`, `macos`.
    #[serde(default)]
    pub platform: String,
    /// Sections served from the collector's cache, with the time they were really read.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cached_sections: BTreeMap<SectionName, DateTime<Utc>>,
    /// Sections deliberately kept out, and by whom. Each is also present as `Unavailable`
    /// with a plain reason, so a reader that predates this field still shows "not shared"
    /// rather than an empty section.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub withheld: BTreeMap<SectionName, WithheldBy>,
    // A section left out (not requested) is absent; a section that was requested or
    // withheld is always present, as data or as a reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<Probe<SystemInfo>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware: Option<Probe<Hardware>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Probe<Network>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<Probe<Processes>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Probe<Services>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printers: Option<Probe<Printers>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software: Option<Probe<Software>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<Probe<Logs>>,
}

impl Snapshot {
    /// An empty snapshot taken at `collected_at`: every section absent.
    pub fn empty(collected_at: DateTime<Utc>) -> Self {
        Snapshot {
            schema_version: SCHEMA_VERSION,
            collected_at,
            duration_ms: 0,
            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
            platform: std::env::consts::OS.to_owned(),
            cached_sections: BTreeMap::new(),
            withheld: BTreeMap::new(),
            system: None,
            hardware: None,
            network: None,
            processes: None,
            services: None,
            printers: None,
            software: None,
            logs: None,
        }
    }

    /// The state of one section: absent (`None`), or its data or unavailability reason.
    pub fn section_status(&self, name: SectionName) -> Option<Result<(), &str>> {
        fn status<T>(probe: &Option<Probe<T>>) -> Option<Result<(), &str>> {
            probe.as_ref().map(|p| match p {
                Probe::Available(_) => Ok(()),
                Probe::Unavailable { reason } => Err(reason.as_str()),
            })
        }
        match name {
            SectionName::System => status(&self.system),
            SectionName::Hardware => status(&self.hardware),
            SectionName::Network => status(&self.network),
            SectionName::Processes => status(&self.processes),
            SectionName::Services => status(&self.services),
            SectionName::Printers => status(&self.printers),
            SectionName::Software => status(&self.software),
            SectionName::Logs => status(&self.logs),
        }
    }

    /// Marks `section` as unavailable for `reason`, whatever it held.
    pub fn set_unavailable(&mut self, section: SectionName, reason: &str) {
        match section {
            SectionName::System => self.system = Some(Probe::unavailable(reason)),
            SectionName::Hardware => self.hardware = Some(Probe::unavailable(reason)),
            SectionName::Network => self.network = Some(Probe::unavailable(reason)),
            SectionName::Processes => self.processes = Some(Probe::unavailable(reason)),
            SectionName::Services => self.services = Some(Probe::unavailable(reason)),
            SectionName::Printers => self.printers = Some(Probe::unavailable(reason)),
            SectionName::Software => self.software = Some(Probe::unavailable(reason)),
            SectionName::Logs => self.logs = Some(Probe::unavailable(reason)),
        }
    }

    /// Keeps `section` out of this snapshot on `by`'s behalf: its data (if any) is dropped
    /// and it reads as withheld, never as empty.
    pub fn withhold(&mut self, section: SectionName, by: WithheldBy) {
        self.set_unavailable(section, by.reason());
        self.cached_sections.remove(&section);
        self.withheld.insert(section, by);
    }

    pub fn system(&self) -> Option<&SystemInfo> {
        available(&self.system)
    }
    pub fn hardware(&self) -> Option<&Hardware> {
        available(&self.hardware)
    }
    pub fn network(&self) -> Option<&Network> {
        available(&self.network)
    }
    pub fn processes(&self) -> Option<&Processes> {
        available(&self.processes)
    }
    pub fn services(&self) -> Option<&Services> {
        available(&self.services)
    }
    pub fn printers(&self) -> Option<&Printers> {
        available(&self.printers)
    }
    pub fn software(&self) -> Option<&Software> {
        available(&self.software)
    }
    pub fn logs(&self) -> Option<&Logs> {
        available(&self.logs)
    }
}

fn available<T>(probe: &Option<Probe<T>>) -> Option<&T> {
    probe.as_ref().and_then(Probe::as_available)
}

/// What a probe found, or why it could not look. Serialized as `{"available": …}` or
/// `{"unavailable": {"reason": "…"}}`, so a reader can never mistake "could not read" for
/// "nothing there".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Probe<T> {
    Available(T),
    Unavailable { reason: String },
}

impl<T> Probe<T> {
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Probe::Unavailable {
            reason: reason.into(),
        }
    }

    pub fn as_available(&self) -> Option<&T> {
        match self {
            Probe::Available(value) => Some(value),
            Probe::Unavailable { .. } => None,
        }
    }

    pub fn is_available(&self) -> bool {
        matches!(self, Probe::Available(_))
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Probe::Available(_) => None,
            Probe::Unavailable { reason } => Some(reason),
        }
    }
}

/// What a reader sees for a probe an older agent did not send.
impl<T> Default for Probe<T> {
    fn default() -> Self {
        Probe::unavailable("not reported by this agent version")
    }
}

impl<T> From<Result<T, String>> for Probe<T> {
    fn from(result: Result<T, String>) -> Self {
        match result {
            Ok(value) => Probe::Available(value),
            Err(reason) => Probe::Unavailable { reason },
        }
    }
}

/// Who kept a section out of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithheldBy {
    /// The signed-in user switched it off (in Get help, remembered for their machine).
    User,
    /// The endpoint's policy keeps it out of what the agent sends on its own.
    Policy,
}

impl WithheldBy {
    /// The unavailability reason a withheld section carries.
    pub fn reason(self) -> &'static str {
        match self {
            WithheldBy::User => "not shared by the user",
            WithheldBy::Policy => "not shared: this device's policy keeps it out of uploads",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionName {
    System,
    Hardware,
    Network,
    Processes,
    Services,
    Printers,
    Software,
    Logs,
}

impl SectionName {
    pub const ALL: [SectionName; 8] = [
        SectionName::System,
        SectionName::Hardware,
        SectionName::Network,
        SectionName::Processes,
        SectionName::Services,
        SectionName::Printers,
        SectionName::Software,
        SectionName::Logs,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SectionName::System => "system",
            SectionName::Hardware => "hardware",
            SectionName::Network => "network",
            SectionName::Processes => "processes",
            SectionName::Services => "services",
            SectionName::Printers => "printers",
            SectionName::Software => "software",
            SectionName::Logs => "logs",
        }
    }

    /// The section named exactly `name` (no case folding or trimming, unlike `FromStr`):
    /// for files and protocols where a near miss must be an error.
    pub fn exact(name: &str) -> Option<SectionName> {
        SectionName::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// `system, hardware, …`: for error messages and help texts.
    pub fn valid_names() -> String {
        SectionName::ALL.map(SectionName::as_str).join(", ")
    }
}

impl fmt::Display for SectionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSection(pub String);

impl fmt::Display for UnknownSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown section '{}' (valid sections: {})",
            self.0,
            SectionName::valid_names()
        )
    }
}

impl std::error::Error for UnknownSection {}

impl FromStr for SectionName {
    type Err = UnknownSection;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SectionName::ALL
            .into_iter()
            .find(|name| name.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownSection(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_names_round_trip_through_text_and_json() {
        for name in SectionName::ALL {
            assert_eq!(name.as_str().parse::<SectionName>(), Ok(name));
            let json = serde_json::to_string(&name).unwrap();
            assert_eq!(json, format!("\"{}\"", name.as_str()));
        }
        let err = "printer".parse::<SectionName>().unwrap_err().to_string();
        assert!(err.contains("printers") && err.contains("logs"), "{err}");
    }

    #[test]
    fn probe_serializes_as_available_or_unavailable_with_reason() {
        let ok: Probe<u32> = Probe::Available(3);
        assert_eq!(serde_json::to_string(&ok).unwrap(), r#"{"available":3}"#);
        let no: Probe<u32> = Probe::unavailable("no systemd");
        assert_eq!(
            serde_json::to_string(&no).unwrap(),
            r#"{"unavailable":{"reason":"no systemd"}}"#
        );
    }

    #[test]
    fn a_withheld_section_reads_as_unavailable_with_who_withheld_it() {
        let at = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut snapshot = Snapshot::empty(at);
        snapshot.cached_sections.insert(SectionName::Software, at);
        snapshot.withhold(SectionName::Software, WithheldBy::User);
        snapshot.withhold(SectionName::Logs, WithheldBy::Policy);
        assert_eq!(
            snapshot.section_status(SectionName::Software),
            Some(Err("not shared by the user"))
        );
        assert!(snapshot.cached_sections.is_empty());
        let json = serde_json::to_value(&snapshot).unwrap();
        assert_eq!(
            json["withheld"],
            serde_json::json!({"software": "user", "logs": "policy"})
        );
        assert_eq!(
            json["software"]["unavailable"]["reason"],
            "not shared by the user"
        );
        // An older agent's snapshot has no such field.
        let old: Snapshot = serde_json::from_str(
            r#"{"schemaVersion":1,"collectedAt":"2026-01-01T00:00:00Z","durationMs":5}"#,
        )
        .unwrap();
        assert!(old.withheld.is_empty());
    }

    #[test]
    fn a_snapshot_from_a_newer_agent_with_unknown_fields_still_reads() {
        let json = r#"{"schemaVersion":1,"collectedAt":"2026-01-01T00:00:00Z","durationMs":5,
            "someFutureSection":{"available":{}},"logs":{"available":{"source":"x","lines":[],"newField":1}}}"#;
        let snapshot: Snapshot = serde_json::from_str(json).unwrap();
        assert!(snapshot.logs().is_some());
        assert!(snapshot.system.is_none());
    }
}
