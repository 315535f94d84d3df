//! Findings: known problems spotted in a snapshot, worded for the person at the machine,
//! each with a severity and, where there is one, a fix (a catalog action and/or advice).
//!
//! Pure rules: no I/O, no clock. The reference time for clock skew is passed in (the
//! server's time when it received the snapshot).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::snapshot::Snapshot;

mod network;
mod printing;
mod resources;
mod services;
mod time;

/// Stable finding ids: what the server groups, counts and links KB articles to.
pub mod ids {
    pub const DISK_ALMOST_FULL: &str = "disk_almost_full";
    pub const MEMORY_PRESSURE: &str = "memory_pressure";
    pub const PRINT_QUEUE_STUCK: &str = "print_queue_stuck";
    pub const SERVICE_STOPPED: &str = "service_stopped";
    pub const DNS_FAILURE: &str = "dns_failure";
    pub const GATEWAY_UNREACHABLE: &str = "gateway_unreachable";
    pub const SERVER_UNREACHABLE: &str = "server_unreachable";
    pub const CLOCK_SKEW: &str = "clock_skew";
    pub const LONG_UPTIME: &str = "long_uptime";
    pub const REBOOT_PENDING: &str = "reboot_pending";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// One of [`ids`].
    pub id: String,
    /// What the finding is about when a rule can fire more than once: a mount point, a
    /// printer, a service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub severity: Severity,
    /// Plain language for end users: "Disk / is 97 % full".
    pub title: String,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggested_fix: Option<SuggestedFix>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuggestedFix {
    /// A remediation catalog action id, e.g. `disk.clean_temp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The action's parameters, e.g. `{"printer": "office"}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
    pub advice: String,
}

impl SuggestedFix {
    fn advice(advice: impl Into<String>) -> Self {
        SuggestedFix {
            action: None,
            params: BTreeMap::new(),
            advice: advice.into(),
        }
    }

    fn action(action: &str, params: &[(&str, &str)], advice: impl Into<String>) -> Self {
        SuggestedFix {
            action: Some(action.to_owned()),
            params: params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            advice: advice.into(),
        }
    }
}

/// Thresholds, with defaults a desk can override.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FindingRules {
    pub disk_warning_percent: f64,
    pub disk_critical_percent: f64,
    pub memory_available_warning_percent: f64,
    pub memory_available_critical_percent: f64,
    pub swap_used_warning_percent: f64,
    pub print_job_stuck_after_secs: u64,
    /// Services that should run, each as alternative names across platforms and
    /// distributions; flagged only when one is installed and none runs.
    pub expected_services: Vec<Vec<String>>,
    pub clock_skew_warning_secs: u64,
    pub long_uptime_days: u64,
}

impl Default for FindingRules {
    fn default() -> Self {
        let names = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect();
        FindingRules {
            disk_warning_percent: 90.0,
            disk_critical_percent: 97.0,
            memory_available_warning_percent: 10.0,
            memory_available_critical_percent: 5.0,
            swap_used_warning_percent: 80.0,
            print_job_stuck_after_secs: 15 * 60,
            expected_services: vec![
                names(&["cups", "org.cups.cupsd", "Spooler"]),
                names(&["ssh", "sshd", "com.openssh.sshd"]),
                names(&["cron", "crond", "cronie", "com.vix.cron"]),
            ],
            clock_skew_warning_secs: 2 * 60,
            long_uptime_days: 30,
        }
    }
}

/// Every finding in `snapshot`, most severe first. `reference_time` is a trusted clock
/// (the server's) to compare the snapshot's own time with; without one, clock skew is not
/// judged.
pub fn findings(
    snapshot: &Snapshot,
    rules: &FindingRules,
    reference_time: Option<DateTime<Utc>>,
) -> Vec<Finding> {
    let mut found = Vec::new();
    resources::disks(snapshot, rules, &mut found);
    resources::memory(snapshot, rules, &mut found);
    printing::print_queues(snapshot, rules, &mut found);
    services::stopped_services(snapshot, rules, &mut found);
    network::network(snapshot, &mut found);
    time::clock(snapshot, rules, reference_time, &mut found);
    time::uptime(snapshot, rules, &mut found);
    found.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.id.cmp(&b.id))
            .then_with(|| a.subject.cmp(&b.subject))
    });
    found
}

fn finding(
    id: &str,
    subject: Option<&str>,
    severity: Severity,
    title: String,
    detail: String,
) -> Finding {
    Finding {
        id: id.to_owned(),
        subject: subject.map(str::to_owned),
        severity,
        title,
        detail,
        suggested_fix: None,
    }
}

fn with_fix(mut finding: Finding, fix: SuggestedFix) -> Finding {
    finding.suggested_fix = Some(fix);
    finding
}

fn detail_or_unknown(detail: &Option<String>) -> &str {
    detail.as_deref().unwrap_or("no reason given")
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

fn minutes_words(secs: u64) -> String {
    if secs < 60 {
        "less than a minute".to_owned()
    } else {
        plural(secs / 60, "minute")
    }
}

fn duration_words(secs: u64) -> String {
    match secs {
        s if s < 3600 => plural(s / 60, "minute"),
        s if s < 2 * 86_400 => plural(s / 3600, "hour"),
        s => plural(s / 86_400, "day"),
    }
}
