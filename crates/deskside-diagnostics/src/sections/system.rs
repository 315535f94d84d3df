//! `system`: which OS this is, how long it has run, whether it waits for a reboot.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sysinfo::System;

use crate::snapshot::Probe;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SystemInfo {
    pub os_name: Option<String>,
    pub os_version: Option<String>,
    pub long_os_version: Option<String>,
    pub kernel: Option<String>,
    pub hostname: Option<String>,
    pub arch: String,
    pub uptime_secs: u64,
    pub boot_time: Option<DateTime<Utc>>,
    pub pending_reboot: Probe<PendingReboot>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PendingReboot {
    pub required: bool,
    /// What asked for the reboot, when the OS says (Debian lists packages).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub because_of: Vec<String>,
}

pub(crate) fn collect(timeout: Duration) -> Probe<SystemInfo> {
    Probe::Available(SystemInfo {
        os_name: System::name().ok(),
        os_version: System::os_version().ok(),
        long_os_version: System::long_os_version().ok(),
        kernel: System::kernel_version().ok(),
        hostname: System::host_name().ok(),
        arch: System::cpu_arch(),
        uptime_secs: System::uptime().unwrap_or(0),
        boot_time: System::boot_time()
            .ok()
            .and_then(|secs| DateTime::from_timestamp(i64::try_from(secs).ok()?, 0)),
        pending_reboot: pending_reboot(timeout),
    })
}

#[cfg(target_os = "linux")]
fn pending_reboot(_timeout: Duration) -> Probe<PendingReboot> {
    use std::path::Path;
    // Debian and Ubuntu package hooks drop this marker; other distributions have no
    // equivalent file, and "no marker" there would be a guess, not an answer.
    let marker = Path::new("/var/run/reboot-required");
    if marker.exists() {
        let because_of = std::fs::read_to_string("/var/run/reboot-required.pkgs")
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .take(20)
            .map(str::to_owned)
            .collect();
        return Probe::Available(PendingReboot {
            required: true,
            because_of,
        });
    }
    if Path::new("/var/lib/dpkg/status").exists() {
        return Probe::Available(PendingReboot::default());
    }
    Probe::unavailable("no reboot-required marker on this distribution")
}

#[cfg(windows)]
fn pending_reboot(timeout: Duration) -> Probe<PendingReboot> {
    // Windows Update and component servicing each create one of these keys while a reboot
    // is pending; `reg query` exits 0 when the key exists and 1 when it does not.
    const KEYS: [&str; 2] = [
        r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired",
        r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending",
    ];
    let mut because_of = Vec::new();
    for key in KEYS {
        match crate::command::run("reg", &["query", key], timeout) {
            Ok(out) if out.status.success() => because_of.push(key.to_owned()),
            Ok(_) => {}
            Err(err) => return Probe::unavailable(err.reason()),
        }
    }
    Probe::Available(PendingReboot {
        required: !because_of.is_empty(),
        because_of,
    })
}

#[cfg(not(any(target_os = "linux", windows)))]
fn pending_reboot(_timeout: Duration) -> Probe<PendingReboot> {
    Probe::unavailable("pending reboot is not detectable on this platform")
}
