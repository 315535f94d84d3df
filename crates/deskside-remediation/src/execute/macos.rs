//! The macOS backend: launchd for services, Directory Services for passwords, CUPS for
//! printing. Written against Apple's documented tools; it compiles and its command plans are
//! unit-tested on Linux, but it has not run on a Mac in this project's CI.

use std::path::PathBuf;
use std::time::Duration;

use super::unix::{cups, process, temp};
use super::{
    Ctx, Done, Execution, Executor, ExitStatus, LocalSecret, Outcome, Stopped, Verification,
    command, execute, generate_temporary_password, poll_until, require_success, skipped,
};
use crate::catalog::{ActionParams, Username};
use crate::order::VerifiedOrder;

const SERVICE_SETTLE: Duration = Duration::from_secs(15);

/// The CUPS daemon's launchd label.
const CUPS_LABEL: &str = "org.cups.cupsd";

#[derive(Debug, Clone)]
pub struct MacosExecutor {
    /// `/tmp` is a symlink to `/private/tmp` on macOS; the walker refuses symlinked roots.
    pub temp_roots: Vec<PathBuf>,
    pub temp_max_age: Duration,
    pub kill_grace: Duration,
}

impl Default for MacosExecutor {
    fn default() -> Self {
        Self {
            temp_roots: vec![
                PathBuf::from("/private/tmp"),
                PathBuf::from("/private/var/tmp"),
            ],
            temp_max_age: temp::DEFAULT_TEMP_MAX_AGE,
            kill_grace: Duration::from_secs(5),
        }
    }
}

impl Executor for MacosExecutor {
    fn run(&self, order: &VerifiedOrder, timeout: Duration) -> Execution {
        execute(order, timeout, |ctx| match order.action() {
            ActionParams::ServiceRestart { name } => restart_job(ctx, name.as_str()),
            ActionParams::AccountResetPassword { username } => reset_password(ctx, username),
            ActionParams::PrintClearQueue { printer } => cups::clear_queue(ctx, printer),
            ActionParams::PrintRestartSpooler => restart_job(ctx, CUPS_LABEL),
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

/// The launchd domain target of a system job: `system/LABEL`.
pub(crate) fn job_target(label: &str) -> String {
    format!("system/{label}")
}

/// The `pid = N` line of `launchctl print system/LABEL`.
pub(crate) fn parse_launchctl_pid(print_output: &str) -> Option<u32> {
    print_output.lines().find_map(|l| {
        l.trim()
            .strip_prefix("pid = ")
            .and_then(|v| v.trim().parse().ok())
    })
}

fn job_pid(label: &str) -> Option<u32> {
    let launchctl = command::find_program("launchctl")?;
    let out = command::run(
        &launchctl,
        &["print", &job_target(label)],
        None,
        Duration::from_secs(10),
    );
    out.success()
        .then(|| parse_launchctl_pid(&out.stdout_text()))
        .flatten()
}

/// `launchctl kickstart -k system/LABEL` kills the running instance and starts a new one.
fn restart_job(ctx: &mut Ctx, label: &str) -> Outcome {
    let old = job_pid(label);
    ctx.run_ok("launchctl", &["kickstart", "-k", &job_target(label)])?;
    let new = poll_until(ctx.check_deadline(SERVICE_SETTLE), || {
        job_pid(label).filter(|p| Some(*p) != old)
    });
    let verification = match (new, old) {
        (Some(n), Some(o)) => Verification::Verified {
            detail: format!("{label} is running with new PID {n} (was {o})"),
        },
        (Some(n), None) => Verification::Verified {
            detail: format!("{label} is running, PID {n}"),
        },
        (None, _) => Verification::Failed {
            reason: format!("{label} did not come back with a new PID"),
        },
    };
    Ok(Done::new(
        format!("restarted launchd job {label}"),
        verification,
    ))
}

/// `dscacheutil -flushcache` and a HUP to mDNSResponder, Apple's documented recipe. macOS
/// does not report its cache size, so there is nothing to verify.
fn flush_dns(ctx: &mut Ctx) -> Outcome {
    ctx.run_ok("dscacheutil", &["-flushcache"])?;
    ctx.run_ok("killall", &["-HUP", "mDNSResponder"])?;
    Ok(Done::new(
        "flushed the DNS cache",
        Verification::NotApplicable {
            reason: "macOS does not report its DNS cache contents".into(),
        },
    ))
}

/// The stdin script for `dscl .`: in interactive mode dscl reads commands from standard
/// input (leading dashes optional), which keeps the password off the command line where
/// `ps` would show it. Username and password are from fixed alphabets with no spaces or
/// quotes, so dscl's word splitting cannot misread them.
pub(crate) fn dscl_passwd_script(user: &str, password: &str) -> String {
    format!("-passwd /Users/{user} {password}\nquit\n")
}

/// Sets the password through `dscl`, then `pwpolicy -u USER -setpolicy
/// newPasswordRequired=1` to force a change at next logon, read back with `-getpolicy`.
fn reset_password(ctx: &mut Ctx, username: &Username) -> Outcome {
    let user = username.as_str();
    let record = format!("/Users/{user}");
    ctx.run_ok("dscl", &[".", "-read", &record, "UniqueID"])
        .map_err(|_| {
            Stopped::from(ExitStatus::Failed {
                code: None,
                message: format!("no local account named `{user}`"),
            })
        })?;
    let password = generate_temporary_password();
    ctx.log.secret(&password);
    let mut script = dscl_passwd_script(user, &password).into_bytes();
    let out = ctx.run_with_stdin(
        "dscl",
        &["."],
        Some(&script),
        Some("passwd command on stdin, not shown"),
    );
    script.fill(0);
    let out = require_success(out?, "dscl")?;
    // Interactive dscl reports a failed command on its output and still exits 0.
    let text =
        String::from_utf8_lossy(&out.stderr).to_lowercase() + &out.stdout_text().to_lowercase();
    if text.contains("error") || text.contains("invalid") {
        return Err(Stopped::from(ExitStatus::Failed {
            code: None,
            message: "dscl refused the new password".into(),
        }));
    }
    let secret = LocalSecret::new(user, password);
    if let Err(exit) = ctx.run_ok(
        "pwpolicy",
        &["-u", user, "-setpolicy", "newPasswordRequired=1"],
    ) {
        return Err(Stopped {
            exit,
            secret: Some(secret),
        });
    }
    let verification = match ctx.run_ok("pwpolicy", &["-u", user, "-getpolicy"]) {
        Ok(out) if out.stdout_text().contains("newPasswordRequired=1") => Verification::Verified {
            detail: format!("{user} must change the password at next logon"),
        },
        Ok(_) => Verification::Failed {
            reason: "pwpolicy does not show newPasswordRequired=1".into(),
        },
        Err(e) => Verification::Failed {
            reason: format!("cannot read the password policy: {}", exit_message(&e)),
        },
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

/// A step's failure as one line, for verification messages.
fn exit_message(exit: &ExitStatus) -> String {
    match exit {
        ExitStatus::Success => "succeeded".into(),
        ExitStatus::Failed { message, .. } | ExitStatus::TimedOut { message } => message.clone(),
        ExitStatus::Skipped { reason } => reason.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launchctl_print_pid_is_parsed() {
        let out = "system/org.cups.cupsd = {\n\tactive count = 1\n\tpath = /System/Library/LaunchDaemons/org.cups.cupsd.plist\n\tstate = running\n\tpid = 4242\n}\n";
        assert_eq!(parse_launchctl_pid(out), Some(4242));
        assert_eq!(parse_launchctl_pid("state = waiting\n"), None);
        assert_eq!(job_target("org.cups.cupsd"), "system/org.cups.cupsd");
    }

    #[test]
    fn the_dscl_script_is_one_command_and_quit() {
        let s = dscl_passwd_script("alice", "Abc23456789Defghjkmn");
        assert_eq!(s, "-passwd /Users/alice Abc23456789Defghjkmn\nquit\n");
    }
}
