//! `services`: installed services and whether they run.
//!
//! Linux asks systemd when it is PID 1 and the `service` command otherwise; Windows asks the
//! service control manager (`sc`); macOS asks launchd. The parsers are plain functions over
//! text, compiled everywhere under test so every platform's format is checked here.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::command;
use crate::snapshot::Probe;

/// Windows has about 300 services; more than this is not a workstation we can help with.
const MAX_SERVICES: usize = 600;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Services {
    pub manager: ServiceManager,
    pub services: Vec<Service>,
    /// Entries dropped to keep the snapshot bounded.
    #[serde(skip_serializing_if = "is_zero")]
    pub omitted: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Services {
    pub fn get(&self, name: &str) -> Option<&Service> {
        self.services
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceManager {
    Systemd,
    /// init.d scripts driven by the `service` command.
    SysvInit,
    WindowsScm,
    Launchd,
    #[default]
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Service {
    pub name: String,
    pub state: ServiceState,
    /// The manager's own words (`active/exited`, `STOP_PENDING`, exit status), when useful.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceState {
    Running,
    Stopped,
    Failed,
    /// The manager could not tell (an init script without `status`), or a state this
    /// version does not know.
    #[default]
    #[serde(other)]
    Unknown,
}

impl ServiceState {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceState::Running => "running",
            ServiceState::Stopped => "stopped",
            ServiceState::Failed => "failed",
            ServiceState::Unknown => "unknown",
        }
    }
}

fn bounded(manager: ServiceManager, mut services: Vec<Service>) -> Services {
    services.sort_by(|a, b| a.name.cmp(&b.name));
    services.dedup_by(|a, b| a.name == b.name);
    let omitted = services.len().saturating_sub(MAX_SERVICES);
    services.truncate(MAX_SERVICES);
    Services {
        manager,
        services,
        omitted,
    }
}

#[cfg(target_os = "linux")]
pub(crate) fn collect(timeout: Duration) -> Probe<Services> {
    // sd_booted(3): this directory exists only when systemd is PID 1.
    if std::path::Path::new("/run/systemd/system").exists() {
        let args = [
            "list-units",
            "--type=service",
            "--all",
            "--no-pager",
            "--plain",
            "--no-legend",
        ];
        return match command::run("systemctl", &args, timeout) {
            Ok(out) if out.status.success() => Probe::Available(bounded(
                ServiceManager::Systemd,
                parse_systemctl(&out.stdout),
            )),
            Ok(out) => Probe::unavailable(format!("systemctl failed: {}", out.first_error_line())),
            Err(err) => Probe::unavailable(err.reason()),
        };
    }
    match command::run("service", &["--status-all"], timeout) {
        // Scripts without a `status` action report `[ ? ]` on stderr, so read both streams;
        // the exit code is that of the last script and says nothing about the listing.
        Ok(out) => {
            let services = parse_service_status_all(&out.combined());
            if services.is_empty() && !out.status.success() {
                return Probe::unavailable(format!(
                    "no systemd; service --status-all failed: {}",
                    out.first_error_line()
                ));
            }
            Probe::Available(bounded(ServiceManager::SysvInit, services))
        }
        Err(command::CommandError::NotInstalled { .. }) => {
            Probe::unavailable("no systemd and no service command")
        }
        Err(err) => Probe::unavailable(format!("no systemd; {}", err.reason())),
    }
}

#[cfg(windows)]
pub(crate) fn collect(timeout: Duration) -> Probe<Services> {
    // `state=` and `all` are two arguments: sc's odd syntax wants the space.
    match command::run("sc", &["query", "state=", "all"], timeout) {
        Ok(out) if out.status.success() => Probe::Available(bounded(
            ServiceManager::WindowsScm,
            parse_sc_query(&out.stdout),
        )),
        Ok(out) => Probe::unavailable(format!("sc query failed: {}", out.first_error_line())),
        Err(err) => Probe::unavailable(err.reason()),
    }
}

#[cfg(target_os = "macos")]
pub(crate) fn collect(timeout: Duration) -> Probe<Services> {
    match command::run("launchctl", &["list"], timeout) {
        Ok(out) if out.status.success() => Probe::Available(bounded(
            ServiceManager::Launchd,
            parse_launchctl_list(&out.stdout),
        )),
        Ok(out) => Probe::unavailable(format!("launchctl list failed: {}", out.first_error_line())),
        Err(err) => Probe::unavailable(err.reason()),
    }
}

#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
pub(crate) fn collect(_timeout: Duration) -> Probe<Services> {
    Probe::unavailable("services are not read on this platform")
}

/// `systemctl list-units --type=service --all --plain --no-legend`:
/// `cron.service loaded active running Regular background program processing daemon`.
#[cfg(any(target_os = "linux", test))]
pub(crate) fn parse_systemctl(text: &str) -> Vec<Service> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let unit = fields.next()?;
            let load = fields.next()?;
            let active = fields.next()?;
            let sub = fields.next()?;
            // Units that are merely referenced (load state `not-found`) are not installed.
            if load != "loaded" {
                return None;
            }
            let name = unit.strip_suffix(".service")?;
            let state = match active {
                "active" | "reloading" => ServiceState::Running,
                "inactive" => ServiceState::Stopped,
                "failed" => ServiceState::Failed,
                _ => ServiceState::Unknown,
            };
            Some(Service {
                name: name.to_owned(),
                state,
                detail: Some(format!("{active}/{sub}")),
            })
        })
        .collect()
}

/// `service --status-all`: ` [ + ]  cron`, ` [ - ]  cups`, ` [ ? ]  hwclock.sh`.
#[cfg(any(target_os = "linux", test))]
pub(crate) fn parse_service_status_all(text: &str) -> Vec<Service> {
    text.lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix('[')?;
            let (mark, name) = rest.split_once(']')?;
            let name = name.trim();
            if name.is_empty() {
                return None;
            }
            let state = match mark.trim() {
                "+" => ServiceState::Running,
                "-" => ServiceState::Stopped,
                _ => ServiceState::Unknown,
            };
            Some(Service {
                name: name.to_owned(),
                state,
                detail: None,
            })
        })
        .collect()
}

/// `sc query state= all`: blocks of `SERVICE_NAME: Spooler` … `STATE : 4  RUNNING`.
#[cfg(any(windows, test))]
pub(crate) fn parse_sc_query(text: &str) -> Vec<Service> {
    let mut services = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("SERVICE_NAME:") {
            current = Some(name.trim().to_owned());
        } else if let Some(state) = line.strip_prefix("STATE") {
            let Some(name) = current.take() else { continue };
            // `: 4  RUNNING` followed on the same line by nothing, or by flags on the next.
            let word = state
                .trim_start_matches([' ', ':'])
                .split_whitespace()
                .nth(1)
                .unwrap_or("");
            let state = match word {
                "RUNNING" | "START_PENDING" | "CONTINUE_PENDING" => ServiceState::Running,
                "STOPPED" | "STOP_PENDING" | "PAUSED" | "PAUSE_PENDING" => ServiceState::Stopped,
                _ => ServiceState::Unknown,
            };
            let detail = (word != "RUNNING" && word != "STOPPED").then(|| word.to_owned());
            services.push(Service {
                name,
                state,
                detail,
            });
        }
    }
    services
}

/// `launchctl list`: `PID\tStatus\tLabel`, PID `-` when not running; a non-zero status
/// of a job that is not running is its last exit status (or signal), i.e. a failure.
#[cfg(any(target_os = "macos", test))]
pub(crate) fn parse_launchctl_list(text: &str) -> Vec<Service> {
    text.lines()
        .skip_while(|l| l.starts_with("PID"))
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let pid = fields.next()?.trim();
            let status = fields.next()?.trim();
            let label = fields.next()?.trim();
            if label.is_empty() {
                return None;
            }
            let (state, detail) = if pid != "-" {
                (ServiceState::Running, None)
            } else if status == "0" {
                (ServiceState::Stopped, None)
            } else {
                (
                    ServiceState::Failed,
                    Some(crate::text::truncate_chars(
                        &format!("last exit status {status}"),
                        40,
                    )),
                )
            };
            Some(Service {
                name: label.to_owned(),
                state,
                detail,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn states(services: &[Service]) -> Vec<(&str, ServiceState)> {
        services
            .iter()
            .map(|s| (s.name.as_str(), s.state))
            .collect()
    }

    #[test]
    fn service_status_all_marks_map_to_states() {
        // Captured on this Debian machine (no systemd), plus a running service.
        let text = " [ - ]  cups\n [ + ]  cron\n [ - ]  dbus\n\n [ ? ]  hwclock.sh\n";
        assert_eq!(
            states(&parse_service_status_all(text)),
            [
                ("cups", ServiceState::Stopped),
                ("cron", ServiceState::Running),
                ("dbus", ServiceState::Stopped),
                ("hwclock.sh", ServiceState::Unknown),
            ]
        );
    }

    #[test]
    fn systemctl_units_skip_the_not_found_ones() {
        let text = "\
cron.service loaded active running Regular background program processing daemon
cups.service loaded inactive dead CUPS Scheduler
ssh.service loaded failed failed OpenBSD Secure Shell server
plymouth-quit.service not-found inactive dead plymouth-quit.service
systemd-fsck-root.service loaded active exited File System Check on Root Device
";
        let services = parse_systemctl(text);
        assert_eq!(
            states(&services),
            [
                ("cron", ServiceState::Running),
                ("cups", ServiceState::Stopped),
                ("ssh", ServiceState::Failed),
                ("systemd-fsck-root", ServiceState::Running),
            ]
        );
        assert_eq!(services[3].detail.as_deref(), Some("active/exited"));
    }

    #[test]
    fn sc_query_blocks_give_name_and_state() {
        let text = "\r
SERVICE_NAME: Spooler\r
DISPLAY_NAME: Print Spooler\r
        TYPE               : 110  WIN32_OWN_PROCESS  (interactive)\r
        STATE              : 4  RUNNING\r
                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)\r
        WIN32_EXIT_CODE    : 0  (0x0)\r
\r
SERVICE_NAME: wuauserv\r
DISPLAY_NAME: Windows Update\r
        TYPE               : 30  WIN32\r
        STATE              : 1  STOPPED\r
\r
SERVICE_NAME: BITS\r
        STATE              : 3  STOP_PENDING\r
";
        let services = parse_sc_query(text);
        assert_eq!(
            states(&services),
            [
                ("Spooler", ServiceState::Running),
                ("wuauserv", ServiceState::Stopped),
                ("BITS", ServiceState::Stopped),
            ]
        );
        assert_eq!(services[2].detail.as_deref(), Some("STOP_PENDING"));
    }

    #[test]
    fn launchctl_list_distinguishes_running_stopped_and_failed() {
        let text = "PID\tStatus\tLabel\n312\t0\tcom.apple.cupsd\n-\t0\tcom.openssh.sshd\n-\t78\tcom.example.broken\n";
        assert_eq!(
            states(&parse_launchctl_list(text)),
            [
                ("com.apple.cupsd", ServiceState::Running),
                ("com.openssh.sshd", ServiceState::Stopped),
                ("com.example.broken", ServiceState::Failed),
            ]
        );
    }

    #[test]
    fn unknown_states_from_newer_agents_read_as_unknown() {
        let service: Service =
            serde_json::from_str(r#"{"name":"x","state":"hibernating"}"#).unwrap();
        assert_eq!(service.state, ServiceState::Unknown);
    }
}
