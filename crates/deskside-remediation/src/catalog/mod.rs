//! The fixed catalog of remediation actions: what exists, how risky it is, who must approve
//! it, where it runs and how its success is checked. Nothing outside this list can ever be
//! ordered; there is deliberately no "run command" action.

mod approval;
mod params;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use approval::Approval;
pub use params::{
    ActionParams, PID_MAX, PID_MIN, PRINTER_NAME_PATTERN, Pid, PrinterName, SERVICE_NAME_PATTERN,
    ServiceName, USERNAME_PATTERN, Username,
};

/// The identifier of a catalog action, as it appears on the wire (`service.restart`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ActionId {
    #[serde(rename = "service.restart")]
    ServiceRestart,
    #[serde(rename = "account.reset_password")]
    AccountResetPassword,
    #[serde(rename = "print.clear_queue")]
    PrintClearQueue,
    #[serde(rename = "print.restart_spooler")]
    PrintRestartSpooler,
    #[serde(rename = "network.flush_dns")]
    NetworkFlushDns,
    #[serde(rename = "disk.clean_temp")]
    DiskCleanTemp,
    #[serde(rename = "process.kill")]
    ProcessKill,
    #[serde(rename = "diagnostics.collect")]
    DiagnosticsCollect,
}

impl ActionId {
    pub const ALL: [ActionId; 8] = [
        ActionId::ServiceRestart,
        ActionId::AccountResetPassword,
        ActionId::PrintClearQueue,
        ActionId::PrintRestartSpooler,
        ActionId::NetworkFlushDns,
        ActionId::DiskCleanTemp,
        ActionId::ProcessKill,
        ActionId::DiagnosticsCollect,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionId::ServiceRestart => "service.restart",
            ActionId::AccountResetPassword => "account.reset_password",
            ActionId::PrintClearQueue => "print.clear_queue",
            ActionId::PrintRestartSpooler => "print.restart_spooler",
            ActionId::NetworkFlushDns => "network.flush_dns",
            ActionId::DiskCleanTemp => "disk.clean_temp",
            ActionId::ProcessKill => "process.kill",
            ActionId::DiagnosticsCollect => "diagnostics.collect",
        }
    }

    /// Exact, case-sensitive lookup: `Service.Restart` is not an action.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|id| id.as_str() == s)
    }

    /// This action's catalog entry.
    pub fn entry(self) -> &'static CatalogEntry {
        CATALOG
            .iter()
            .find(|e| e.id == self)
            .expect("every ActionId has a catalog entry (checked by a test)")
    }
}

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ActionId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| format!("unknown action `{}`", truncate_for_message(s)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Linux,
    Windows,
    Macos,
}

impl Platform {
    /// The platform this binary was built for, if it is one we support.
    pub fn current() -> Option<Platform> {
        if cfg!(target_os = "linux") {
            Some(Platform::Linux)
        } else if cfg!(windows) {
            Some(Platform::Windows)
        } else if cfg!(target_os = "macos") {
            Some(Platform::Macos)
        } else {
            None
        }
    }
}

/// Who must agree, on the server side, before an order is signed. The endpoint's own
/// policy may add a local user-consent step on top (see `policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalPolicy {
    /// The requesting agent's own request is enough.
    None,
    /// A second agent of equal or higher tier must approve.
    SecondAgent,
    /// The end user of the device must consent.
    UserConsent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamType {
    String,
    Integer,
}

/// One parameter of an action, described simply enough for a UI to build a form from it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParamSpec {
    pub name: &'static str,
    #[serde(rename = "type")]
    pub kind: ParamType,
    pub description: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum: Option<u64>,
    /// Rules a pattern cannot say (`must not start with '-'`, `not root`).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub also: &'static [&'static str],
}

/// Everything the server and the UI need to know about one action.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogEntry {
    pub id: ActionId,
    pub title: &'static str,
    pub description: &'static str,
    pub risk: RiskLevel,
    pub platforms: &'static [Platform],
    pub approval: ApprovalPolicy,
    /// How the endpoint checks that the action worked.
    pub verification: &'static str,
    pub params: &'static [ParamSpec],
}

impl CatalogEntry {
    pub fn supports(&self, platform: Platform) -> bool {
        self.platforms.contains(&platform)
    }

    /// The parameters as a JSON Schema object (draft 2020-12 subset), for clients that want
    /// to validate a form before sending it. The endpoint and server validate regardless.
    pub fn params_schema(&self) -> Value {
        let mut properties = serde_json::Map::new();
        for p in self.params {
            let mut prop = serde_json::Map::new();
            let kind = match p.kind {
                ParamType::String => "string",
                ParamType::Integer => "integer",
            };
            prop.insert("type".into(), json!(kind));
            prop.insert("description".into(), json!(p.description));
            if let Some(pattern) = p.pattern {
                prop.insert("pattern".into(), json!(pattern));
            }
            if let Some(max) = p.max_length {
                prop.insert("maxLength".into(), json!(max));
            }
            if let Some(min) = p.minimum {
                prop.insert("minimum".into(), json!(min));
            }
            if let Some(max) = p.maximum {
                prop.insert("maximum".into(), json!(max));
            }
            properties.insert(p.name.into(), Value::Object(prop));
        }
        let required: Vec<&str> = self.params.iter().map(|p| p.name).collect();
        json!({
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        })
    }
}

/// The whole catalog, in a stable order, for the server's API and the UI.
pub fn catalog() -> &'static [CatalogEntry] {
    CATALOG
}

const ALL_PLATFORMS: &[Platform] = &[Platform::Linux, Platform::Windows, Platform::Macos];

const SERVICE_NAME_SPEC: ParamSpec = ParamSpec {
    name: "name",
    kind: ParamType::String,
    description: "Service name: a systemd unit or init.d script (Linux), a service name \
                  (Windows) or a launchd label (macOS).",
    pattern: Some(SERVICE_NAME_PATTERN),
    max_length: Some(128),
    minimum: None,
    maximum: None,
    also: &["must not start with '-'", "must contain a letter or digit"],
};

const USERNAME_SPEC: ParamSpec = ParamSpec {
    name: "username",
    kind: ParamType::String,
    description: "Local account name.",
    pattern: Some(USERNAME_PATTERN),
    max_length: Some(32),
    minimum: None,
    maximum: None,
    also: &["must not be root"],
};

const PRINTER_SPEC: ParamSpec = ParamSpec {
    name: "printer",
    kind: ParamType::String,
    description: "Printer (queue) name as CUPS or Windows knows it.",
    pattern: Some(PRINTER_NAME_PATTERN),
    max_length: Some(127),
    minimum: None,
    maximum: None,
    also: &["must not start with '-'", "must contain a letter or digit"],
};

const PID_SPEC: ParamSpec = ParamSpec {
    name: "pid",
    kind: ParamType::Integer,
    description: "Process id. Never 1 (init).",
    pattern: None,
    max_length: None,
    minimum: Some(PID_MIN as u64),
    maximum: Some(PID_MAX as u64),
    also: &[],
};

static CATALOG: &[CatalogEntry] = &[
    CatalogEntry {
        id: ActionId::ServiceRestart,
        title: "Restart a service",
        description: "Restarts one system service by name: a systemd unit or init.d script \
                      on Linux, a service on Windows, a launchd job on macOS.",
        risk: RiskLevel::Medium,
        platforms: ALL_PLATFORMS,
        approval: ApprovalPolicy::None,
        verification: "The service is running again, with a new process id.",
        params: &[SERVICE_NAME_SPEC],
    },
    CatalogEntry {
        id: ActionId::AccountResetPassword,
        title: "Reset a local account's password",
        description: "Sets a strong temporary password generated on the endpoint and forces a \
                      change at next logon. Only the user at that machine is shown the \
                      password; the server and the agents never see it.",
        risk: RiskLevel::High,
        platforms: ALL_PLATFORMS,
        approval: ApprovalPolicy::UserConsent,
        verification: "The account's password changed and must be changed at next logon.",
        params: &[USERNAME_SPEC],
    },
    CatalogEntry {
        id: ActionId::PrintClearQueue,
        title: "Clear a print queue",
        description: "Cancels every job waiting on one printer and re-enables the printer.",
        risk: RiskLevel::Low,
        platforms: ALL_PLATFORMS,
        approval: ApprovalPolicy::None,
        verification: "The printer's queue is empty.",
        params: &[PRINTER_SPEC],
    },
    CatalogEntry {
        id: ActionId::PrintRestartSpooler,
        title: "Restart the print spooler",
        description: "Restarts CUPS (Linux, macOS) or the Print Spooler service (Windows).",
        risk: RiskLevel::Low,
        platforms: ALL_PLATFORMS,
        approval: ApprovalPolicy::None,
        verification: "The spooler is running again, with a new process id.",
        params: &[],
    },
    CatalogEntry {
        id: ActionId::NetworkFlushDns,
        title: "Flush the DNS cache",
        description: "Empties the local resolver cache (systemd-resolved or nscd on Linux, \
                      the DNS Client on Windows, mDNSResponder on macOS).",
        risk: RiskLevel::Low,
        platforms: ALL_PLATFORMS,
        approval: ApprovalPolicy::None,
        verification: "The resolver reports an empty cache, where it can tell; otherwise the \
                       flush command succeeded.",
        params: &[],
    },
    CatalogEntry {
        id: ActionId::DiskCleanTemp,
        title: "Clean temporary files",
        description: "Deletes files untouched for 7 days from the system temporary \
                      directories, never following symbolic links, never leaving their file \
                      system, and skipping sockets and other special files.",
        risk: RiskLevel::Low,
        // Windows has no backend yet: its temp directories belong to each user profile.
        platforms: &[Platform::Linux, Platform::Macos],
        approval: ApprovalPolicy::None,
        verification: "No deletable file older than 7 days is left behind.",
        params: &[],
    },
    CatalogEntry {
        id: ActionId::ProcessKill,
        title: "End a process",
        description: "Asks a process to exit, then forces it if it has not after a grace \
                      period. The user may lose unsaved work.",
        risk: RiskLevel::High,
        platforms: ALL_PLATFORMS,
        approval: ApprovalPolicy::SecondAgent,
        verification: "The process no longer exists.",
        params: &[PID_SPEC],
    },
    CatalogEntry {
        id: ActionId::DiagnosticsCollect,
        title: "Collect diagnostics",
        description: "Takes a fresh diagnostics snapshot and uploads it to the server.",
        risk: RiskLevel::Low,
        platforms: ALL_PLATFORMS,
        approval: ApprovalPolicy::None,
        verification: "A new snapshot reached the server.",
        params: &[],
    },
];

/// Echoing attacker-chosen text back in an error is fine; echoing a megabyte of it is not.
pub(crate) fn truncate_for_message(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(MAX).collect();
        t.push('…');
        t
    }
}
