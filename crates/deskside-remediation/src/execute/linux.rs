//! The Linux backend: systemd when it is PID 1, else the `service` command over init.d
//! scripts; shadow-utils for passwords; CUPS for printing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::unix::process::{ProcState, proc_state};
use super::unix::{cups, process, temp};
use super::{
    Ctx, Done, Execution, Executor, ExitStatus, LocalSecret, Outcome, Stopped, Verification,
    command, execute, generate_temporary_password, poll_until, require_success, skipped,
};
use crate::catalog::{ActionParams, Username};
use crate::order::VerifiedOrder;

/// How long a restarted service has to show up with its new PID.
const SERVICE_SETTLE: Duration = Duration::from_secs(15);

/// Linux executor. The fields exist so tests can point it at their own directories.
#[derive(Debug, Clone)]
pub struct LinuxExecutor {
    /// Cleaned by `disk.clean_temp`.
    pub temp_roots: Vec<PathBuf>,
    pub temp_max_age: Duration,
    /// Between SIGTERM and SIGKILL for `process.kill`.
    pub kill_grace: Duration,
    /// `/etc/passwd` and `/etc/shadow`, read to check accounts before and after a reset.
    pub passwd_file: PathBuf,
    pub shadow_file: PathBuf,
}

impl Default for LinuxExecutor {
    fn default() -> Self {
        Self {
            temp_roots: vec![PathBuf::from("/tmp"), PathBuf::from("/var/tmp")],
            temp_max_age: temp::DEFAULT_TEMP_MAX_AGE,
            kill_grace: Duration::from_secs(5),
            passwd_file: PathBuf::from("/etc/passwd"),
            shadow_file: PathBuf::from("/etc/shadow"),
        }
    }
}

impl Executor for LinuxExecutor {
    fn run(&self, order: &VerifiedOrder, timeout: Duration) -> Execution {
        execute(order, timeout, |ctx| match order.action() {
            ActionParams::ServiceRestart { name } => restart_service(ctx, name.as_str(), None),
            ActionParams::AccountResetPassword { username } => self.reset_password(ctx, username),
            ActionParams::PrintClearQueue { printer } => cups::clear_queue(ctx, printer),
            ActionParams::PrintRestartSpooler => {
                if command::find_program("cupsd").is_none() {
                    return skipped("CUPS is not installed");
                }
                restart_service(ctx, "cups", Some("cupsd"))
            }
            ActionParams::NetworkFlushDns => flush_dns(ctx),
            ActionParams::DiskCleanTemp => {
                temp::clean_temp_action(ctx, &self.temp_roots, self.temp_max_age)
            }
            ActionParams::ProcessKill { pid } => process::kill_process(ctx, *pid, self.kill_grace),
            ActionParams::DiagnosticsCollect => {
                skipped("diagnostics are collected by the agent, not by an executor")
            }
        })
    }
}

/// The standard test for "booted with systemd" (what `sd_booted()` checks).
fn systemd_is_init() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

/// Where a service's main process was found.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ServicePid {
    pid: u32,
    source: String,
}

/// The main PID of a service. Under systemd, its `MainPID`. Otherwise, in order: a pidfile
/// (`/run/NAME.pid`, `/var/run/NAME.pid`, `/run/NAME/NAME.pid`, and the same with the
/// daemon's process name, like `/run/cups/cupsd.pid`) naming a live process; else the
/// oldest live process whose name (`/proc/PID/comm`, 15 characters) is the daemon's.
fn service_pid(name: &str, process_name: Option<&str>) -> Option<ServicePid> {
    if systemd_is_init() {
        let systemctl = command::find_program("systemctl")?;
        let out = command::run(
            &systemctl,
            &["show", "--property=MainPID", "--value", "--", name],
            None,
            Duration::from_secs(10),
        );
        let pid: u32 = out.stdout_text().trim().parse().ok()?;
        return (pid != 0).then(|| ServicePid {
            pid,
            source: "systemd MainPID".into(),
        });
    }
    let names: Vec<&str> = std::iter::once(name).chain(process_name).collect();
    for n in &names {
        for file in [
            format!("/run/{n}.pid"),
            format!("/var/run/{n}.pid"),
            format!("/run/{name}/{n}.pid"),
        ] {
            let pid = std::fs::read_to_string(&file)
                .ok()
                .and_then(|t| t.trim().parse::<u32>().ok());
            if let Some(pid) = pid
                && matches!(proc_state(pid), ProcState::Running { .. })
            {
                return Some(ServicePid { pid, source: file });
            }
        }
    }
    let comm = process_name.unwrap_or(name);
    oldest_process_named(comm).map(|pid| ServicePid {
        pid,
        source: format!("oldest process named {comm}"),
    })
}

fn oldest_process_named(name: &str) -> Option<u32> {
    // The kernel keeps 15 bytes of a process name.
    let wanted = &name.as_bytes()[..name.len().min(15)];
    let mut best: Option<(u64, u32)> = None;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(comm) = std::fs::read(format!("/proc/{pid}/comm")) else {
            continue;
        };
        if comm.strip_suffix(b"\n").unwrap_or(&comm) != wanted {
            continue;
        }
        if let ProcState::Running { start } = proc_state(pid) {
            let start: u64 = start.parse().unwrap_or(u64::MAX);
            if best.is_none_or(|(s, _)| start < s) {
                best = Some((start, pid));
            }
        }
    }
    best.map(|(_, pid)| pid)
}

/// Restarts a service and checks it came back with a new main PID.
fn restart_service(ctx: &mut Ctx, name: &str, process_name: Option<&str>) -> Outcome {
    let old = service_pid(name, process_name);
    match &old {
        Some(o) => ctx
            .log
            .note(&format!("{name} runs as PID {} ({})", o.pid, o.source)),
        None => ctx.log.note(&format!("{name} is not running")),
    }
    if systemd_is_init() {
        ctx.run_ok("systemctl", &["restart", "--", name])?;
    } else {
        ctx.run_ok("service", &[name, "restart"])?;
    }
    let old_pid = old.as_ref().map(|o| o.pid);
    let new = poll_until(ctx.check_deadline(SERVICE_SETTLE), || {
        service_pid(name, process_name).filter(|n| Some(n.pid) != old_pid)
    });
    let verification = match (new, old_pid) {
        (Some(n), Some(o)) => Verification::Verified {
            detail: format!("{name} is running with new PID {} (was {o})", n.pid),
        },
        (Some(n), None) => Verification::Verified {
            detail: format!("{name} is running, PID {}", n.pid),
        },
        (None, _) => match service_pid(name, process_name) {
            Some(same) => Verification::Failed {
                reason: format!("{name} still runs as PID {}: it did not restart", same.pid),
            },
            None => Verification::Failed {
                reason: format!("{name} is not running after the restart"),
            },
        },
    };
    Ok(Done::new(format!("restarted service {name}"), verification))
}

/// `resolvectl flush-caches` when systemd-resolved runs; else restarting nscd (its cache
/// lives in the process); else nothing caches DNS on this machine.
fn flush_dns(ctx: &mut Ctx) -> Outcome {
    if command::find_program("resolvectl").is_some() && Path::new("/run/systemd/resolve").is_dir() {
        ctx.run_ok("resolvectl", &["flush-caches"])?;
        let stats = ctx.run("resolvectl", &["statistics"])?;
        let size = stats.stdout_text().lines().find_map(|l| {
            l.trim()
                .strip_prefix("Current Cache Size:")
                .and_then(|v| v.trim().parse::<u64>().ok())
        });
        let verification = match size {
            Some(0) => Verification::Verified {
                detail: "systemd-resolved reports an empty cache".into(),
            },
            Some(n) => Verification::Failed {
                reason: format!("systemd-resolved still caches {n} entries"),
            },
            None => Verification::NotApplicable {
                reason: "systemd-resolved did not report its cache size".into(),
            },
        };
        return Ok(Done::new(
            "flushed the systemd-resolved cache",
            verification,
        ));
    }
    if command::find_program("nscd").is_some() {
        let done = restart_service(ctx, "nscd", None)?;
        return Ok(Done::new(
            "restarted nscd, emptying its cache",
            done.verification,
        ));
    }
    skipped("no local DNS cache on this machine: neither systemd-resolved nor nscd runs here")
}

#[derive(Debug, PartialEq, Eq)]
struct ShadowEntry {
    hash: String,
    last_change: String,
}

fn shadow_entry(shadow: &Path, user: &str) -> Result<ShadowEntry, String> {
    let text = std::fs::read_to_string(shadow)
        .map_err(|e| format!("cannot read {}: {e}", shadow.display()))?;
    text.lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 3 && f[0] == user)
        .map(|f| ShadowEntry {
            hash: f[1].to_owned(),
            last_change: f[2].to_owned(),
        })
        .ok_or_else(|| format!("`{user}` has no entry in {}", shadow.display()))
}

impl LinuxExecutor {
    /// Sets a generated password with `chpasswd` (on stdin), forces a change at next logon
    /// with `chage -d 0`, and verifies in `/etc/shadow` that the hash changed and the last
    /// change date is 0 ("must change"). Only local accounts: a directory (LDAP) account is
    /// refused rather than shadowed by a local password.
    fn reset_password(&self, ctx: &mut Ctx, username: &Username) -> Outcome {
        let user = username.as_str();
        let passwd = std::fs::read_to_string(&self.passwd_file).map_err(|e| {
            Stopped::from(ExitStatus::Failed {
                code: None,
                message: format!("cannot read {}: {e}", self.passwd_file.display()),
            })
        })?;
        if !passwd.lines().any(|l| l.split(':').next() == Some(user)) {
            return Err(Stopped::from(ExitStatus::Failed {
                code: None,
                message: format!("no local account named `{user}`"),
            }));
        }
        let before = shadow_entry(&self.shadow_file, user).map_err(|message| {
            Stopped::from(ExitStatus::Failed {
                code: None,
                message,
            })
        })?;
        let password = generate_temporary_password();
        ctx.log.secret(&password);
        let mut input = format!("{user}:{password}\n").into_bytes();
        let out = ctx.run_with_stdin(
            "chpasswd",
            &[],
            Some(&input),
            Some("account:password on stdin, not shown"),
        );
        input.fill(0);
        require_success(out?, "chpasswd")?;
        // The password has changed: from here on the user must get it, whatever else fails.
        let secret = LocalSecret::new(user, password);
        if let Err(exit) = ctx.run_ok("chage", &["-d", "0", user]) {
            return Err(Stopped {
                exit,
                secret: Some(secret),
            });
        }
        let verification = match shadow_entry(&self.shadow_file, user) {
            Ok(after) if after.hash == before.hash => Verification::Failed {
                reason: "the password hash did not change".into(),
            },
            Ok(after) if after.last_change != "0" => Verification::Failed {
                reason: format!(
                    "the last-change date is {}, not 0: no change will be required",
                    after.last_change
                ),
            },
            Ok(_) => Verification::Verified {
                detail: format!("{user}'s password changed and must be changed at next logon"),
            },
            Err(reason) => Verification::Failed { reason },
        };
        Ok(Done {
            summary: format!(
                "set a temporary password for {user} (shown only to the user) and required a \
                 change at next logon"
            ),
            verification,
            secret: Some(secret),
        })
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn shadow_entries_are_read_by_account() {
        let dir = tempfile::tempdir().unwrap();
        let shadow = dir.path().join("shadow");
        std::fs::write(
            &shadow,
            "root:*:19000:0:99999:7:::\nalice:$y$abc:0:0:99999:7:::\n",
        )
        .unwrap();
        assert_eq!(
            shadow_entry(&shadow, "alice").unwrap(),
            ShadowEntry {
                hash: "$y$abc".into(),
                last_change: "0".into()
            }
        );
        assert!(shadow_entry(&shadow, "bob").is_err());
        assert!(shadow_entry(&dir.path().join("missing"), "alice").is_err());
    }

    #[test]
    fn our_own_process_is_found_by_name() {
        let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
        let comm = comm.trim();
        // Some process of that name exists (us, or an older one): the lookup finds one.
        assert!(oldest_process_named(comm).is_some());
        assert!(oldest_process_named("no-such-daemon-xyz").is_none());
    }
}
