//! `deskside-agent status [--state-dir DIR] [--policy PATH] [--json]`: is this machine
//! enrolled, with which server, when did the daemon last reach it, and which policy is in
//! force. Reads the state directory only; never contacts the server.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use deskside_remediation::Policy;
use serde::Serialize;

use crate::state::{CredentialStore, DaemonStatus, PolicySummary, StateDir, StateDirArg};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Read this policy file instead of showing the running daemon's policy
    /// [default: the daemon's; without a running daemon, policy.toml in the state directory].
    #[arg(long, value_name = "PATH", env = "DESKSIDE_AGENT_POLICY")]
    policy: Option<PathBuf>,
    #[command(flatten)]
    state_dir: StateDirArg,
}

/// Everything `status` reports (the `--json` form).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub enrolled: bool,
    pub state_dir: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enrolled_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Where the credential is kept, and whether it is there (never the credential).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<CredentialReport>,
    /// What the daemon last wrote; `None` if it never ran since enrollment.
    pub daemon: Option<DaemonStatus>,
    /// Whether that daemon is running now: it did not record a clean stop and (on Unix) its
    /// process still exists.
    pub daemon_running: bool,
    pub policy: PolicyReport,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialReport {
    pub store: String,
    pub stored: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyReport {
    /// `daemon`: the policy the running daemon has in force; `file`: read from the file now
    /// (no daemon running); `default`: no file yet, the daemon will write the default.
    pub source: &'static str,
    #[serde(flatten)]
    pub summary: PolicySummary,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let state = args.state_dir.resolve();
    let report = gather(&state, args.policy)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", render(&report, Utc::now()))?;
    }
    out.flush()?;
    Ok(())
}

pub fn gather(state: &StateDir, policy_flag: Option<PathBuf>) -> anyhow::Result<StatusReport> {
    let enrollment = state.load_enrollment()?;
    let daemon = match &enrollment {
        Some(_) => state.load_status()?,
        None => None,
    };
    let credential = enrollment.as_ref().map(|_| {
        let store = CredentialStore::new(state);
        let loaded = store.load();
        CredentialReport {
            store: store.describe(),
            stored: matches!(loaded, Ok(Some(_))),
            error: loaded.err().map(|e| e.to_string()),
        }
    });
    let running = daemon
        .as_ref()
        .filter(|d| d.stopped_at.is_none() && process_exists(d.pid));
    let policy = match (running, policy_flag) {
        (Some(daemon), None) => PolicyReport {
            source: "daemon",
            summary: daemon.policy.clone(),
        },
        (running, flag) => {
            let path = flag
                .or_else(|| running.map(|d| d.policy.path.clone()))
                .or_else(|| daemon.as_ref().map(|d| d.policy.path.clone()))
                .unwrap_or_else(|| state.default_policy_file());
            policy_from_file(path)
        }
    };
    Ok(StatusReport {
        enrolled: enrollment.is_some(),
        state_dir: state.root().to_owned(),
        server: enrollment.as_ref().map(|e| e.server_url.clone()),
        device_id: enrollment.as_ref().map(|e| e.device_id.clone()),
        hostname: enrollment.as_ref().map(|e| e.hostname.clone()),
        enrolled_at: enrollment.as_ref().map(|e| e.enrolled_at),
        key_id: enrollment.as_ref().map(|e| e.order_key_id.clone()),
        daemon_running: running.is_some(),
        credential,
        daemon,
        policy,
    })
}

/// Whether process `pid` exists (a daemon killed without a chance to record its stop).
#[cfg(unix)]
fn process_exists(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        // It exists but belongs to someone else (status run without root).
        Err(e) => e == rustix::io::Errno::PERM,
    }
}

/// Elsewhere the recorded state is all we know.
#[cfg(not(unix))]
fn process_exists(_pid: u32) -> bool {
    true
}

fn policy_from_file(path: PathBuf) -> PolicyReport {
    if !path.exists() {
        return PolicyReport {
            source: "default",
            summary: PolicySummary::of(&path, &Policy::default()),
        };
    }
    match Policy::load(&path) {
        Ok(policy) => PolicyReport {
            source: "file",
            summary: PolicySummary::of(&path, &policy),
        },
        Err(error) => PolicyReport {
            source: "file",
            summary: PolicySummary {
                error: Some(format!(
                    "{error}; a daemon starting now refuses every order"
                )),
                ..PolicySummary::of(&path, &Policy::deny_all())
            },
        },
    }
}

fn when(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let ago = (now - at).num_seconds();
    let stamp = at.format("%Y-%m-%d %H:%M:%S UTC");
    match ago {
        ..0 => format!("{stamp}"),
        0..120 => format!("{stamp} ({ago} s ago)"),
        120..7200 => format!("{stamp} ({} min ago)", ago / 60),
        _ => format!("{stamp} ({} h ago)", ago / 3600),
    }
}

pub fn render(report: &StatusReport, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: &str| {
        let _ = writeln!(out, "{:<14}{value}", format!("{label}:"));
    };
    if !report.enrolled {
        line("enrolled", "no");
        line("state dir", &report.state_dir.display().to_string());
        line(
            "next step",
            "deskside-agent enroll --server URL --token TOKEN",
        );
    } else {
        line("enrolled", "yes");
        line("server", report.server.as_deref().unwrap_or(""));
        line("device id", report.device_id.as_deref().unwrap_or(""));
        line("hostname", report.hostname.as_deref().unwrap_or(""));
        line("key id", report.key_id.as_deref().unwrap_or(""));
        if let Some(credential) = &report.credential {
            let state = match (&credential.error, credential.stored) {
                (Some(error), _) => format!("unreadable: {error}"),
                (None, true) => "stored".to_owned(),
                (None, false) => "MISSING: enroll again with --force".to_owned(),
            };
            line("credential", &format!("{} ({state})", credential.store));
        }
        line("state dir", &report.state_dir.display().to_string());
        match &report.daemon {
            None => line("daemon", "has not run since enrollment"),
            Some(daemon) => {
                match daemon.stopped_at {
                    Some(at) => line("daemon", &format!("stopped {}", when(at, now))),
                    None if !report.daemon_running => line(
                        "daemon",
                        &format!(
                            "not running (pid {} ended without recording a stop; it started {})",
                            daemon.pid,
                            when(daemon.started_at, now)
                        ),
                    ),
                    None => line(
                        "daemon",
                        &format!(
                            "started {} (pid {}, version {})",
                            when(daemon.started_at, now),
                            daemon.pid,
                            daemon.agent_version
                        ),
                    ),
                }
                line(
                    "last contact",
                    &daemon
                        .last_contact_at
                        .map_or_else(|| "never".to_owned(), |at| when(at, now)),
                );
                if let Some(at) = daemon.last_snapshot_at {
                    line("last snapshot", &when(at, now));
                }
                if let Some(error) = &daemon.last_error {
                    let at = daemon
                        .last_error_at
                        .map(|at| format!(" ({})", when(at, now)))
                        .unwrap_or_default();
                    line("last error", &format!("{error}{at}"));
                }
            }
        }
    }
    let policy = &report.policy;
    let source = match policy.source {
        "daemon" => "in force in the daemon",
        "default" => "not written yet: the daemon writes the default at first run",
        _ => "as the file reads now",
    };
    line(
        "policy",
        &format!("{} ({source})", policy.summary.path.display()),
    );
    let accepted: Vec<String> = policy
        .summary
        .actions
        .iter()
        .map(|a| {
            if a.require_consent {
                format!("{} (with the user's consent)", a.action)
            } else {
                a.action.clone()
            }
        })
        .collect();
    line(
        "  accepts",
        &if accepted.is_empty() {
            "nothing".to_owned()
        } else {
            accepted.join(", ")
        },
    );
    let sections = &policy.summary.background_sections;
    line(
        "  sends",
        &if sections.is_empty() {
            "no diagnostics".to_owned()
        } else {
            format!(
                "{} diagnostics, less what local users switched off",
                sections.join(", ")
            )
        },
    );
    if let Some(error) = &policy.summary.error {
        line("  error", error);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::AcceptedAction;

    #[test]
    fn an_unenrolled_machine_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let report = gather(&StateDir::new(dir.path()), None).unwrap();
        assert!(!report.enrolled);
        assert_eq!(report.policy.source, "default");
        let text = render(&report, Utc::now());
        assert!(text.contains("enrolled:     no"), "{text}");
        assert!(text.contains("deskside-agent enroll"), "{text}");
        assert!(text.contains("diagnostics.collect"), "{text}");
    }

    #[test]
    fn an_invalid_policy_file_is_shown_with_its_error() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        std::fs::write(
            state.default_policy_file(),
            "version = 1\n[actions.\"x\"]\n",
        )
        .unwrap();
        let report = gather(&state, None).unwrap();
        assert_eq!(report.policy.source, "file");
        assert!(report.policy.summary.actions.is_empty());
        let error = report.policy.summary.error.as_deref().unwrap();
        assert!(error.contains("unknown action"), "{error}");
    }

    #[test]
    fn consent_and_times_read_plainly() {
        let now = Utc::now();
        let report = StatusReport {
            enrolled: true,
            state_dir: "/var/lib/deskside-agent".into(),
            server: Some("https://desk.example.org".into()),
            device_id: Some("dev_1".into()),
            hostname: Some("ws-1".into()),
            enrolled_at: Some(now),
            key_id: Some("0011223344556677".into()),
            credential: Some(CredentialReport {
                store: "root-only file /var/lib/deskside-agent/credential".into(),
                stored: true,
                error: None,
            }),
            daemon_running: true,
            daemon: Some(DaemonStatus {
                pid: 42,
                agent_version: "0.0.0".into(),
                started_at: now - chrono::TimeDelta::minutes(10),
                stopped_at: None,
                last_contact_at: Some(now - chrono::TimeDelta::seconds(5)),
                last_error: None,
                last_error_at: None,
                last_snapshot_at: None,
                policy: PolicySummary {
                    path: "/var/lib/deskside-agent/policy.toml".into(),
                    actions: vec![
                        AcceptedAction {
                            action: "network.flush_dns".into(),
                            require_consent: false,
                        },
                        AcceptedAction {
                            action: "account.reset_password".into(),
                            require_consent: true,
                        },
                    ],
                    background_sections: vec!["system".into()],
                    error: None,
                },
            }),
            policy: PolicyReport {
                source: "daemon",
                summary: PolicySummary {
                    path: "/var/lib/deskside-agent/policy.toml".into(),
                    actions: vec![AcceptedAction {
                        action: "account.reset_password".into(),
                        require_consent: true,
                    }],
                    background_sections: vec!["system".into(), "network".into()],
                    error: None,
                },
            },
        };
        let text = render(&report, now);
        assert!(text.contains("(5 s ago)"), "{text}");
        assert!(text.contains("(10 min ago)"), "{text}");
        assert!(text.contains("(pid 42"), "{text}");
        assert!(
            text.contains("account.reset_password (with the user's consent)"),
            "{text}"
        );
        assert!(text.contains("in force in the daemon"), "{text}");
        assert!(
            text.contains("sends:      system, network diagnostics"),
            "{text}"
        );
    }
}
