//! `process.kill` on Unix: SIGTERM, a grace period, then SIGKILL, through the `kill`
//! program with the numeric pid as its own argument.

use std::time::Duration;

use crate::catalog::Pid;
use crate::execute::{
    Ctx, Done, ExitStatus, Outcome, Stopped, Verification, command, poll_until, require_success,
};

/// How long a process has to die after SIGKILL before we call it stuck (uninterruptible
/// sleep in the kernel, typically).
const AFTER_KILL: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProcState {
    /// Running; `start` identifies this incarnation of the pid (its start time).
    Running {
        start: String,
    },
    /// Exited, not yet reaped by its parent: gone as far as the user is concerned.
    Zombie,
    Gone,
}

/// The state of `pid`: `/proc` on Linux, `ps` elsewhere.
pub(crate) fn proc_state(pid: u32) -> ProcState {
    if cfg!(target_os = "linux") {
        proc_state_linux(pid)
    } else {
        proc_state_ps(pid)
    }
}

fn proc_state_linux(pid: u32) -> ProcState {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return ProcState::Gone;
    };
    // `pid (comm) state … starttime(22nd)…`; comm may hold spaces and parentheses, so the
    // fields are counted from the last ')'.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return ProcState::Gone;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    match (fields.first(), fields.get(19)) {
        (Some(&"Z") | Some(&"X"), _) => ProcState::Zombie,
        (Some(_), Some(start)) => ProcState::Running {
            start: (*start).to_owned(),
        },
        _ => ProcState::Gone,
    }
}

fn proc_state_ps(pid: u32) -> ProcState {
    let Some(ps) = command::find_program("ps") else {
        return ProcState::Gone;
    };
    let pid = pid.to_string();
    let out = command::run(
        &ps,
        &["-o", "stat=", "-o", "lstart=", "-p", &pid],
        None,
        Duration::from_secs(5),
    );
    let text = out.stdout_text();
    let line = text.trim();
    if !out.success() || line.is_empty() {
        ProcState::Gone
    } else if line.starts_with('Z') {
        ProcState::Zombie
    } else {
        let start = line
            .split_once(char::is_whitespace)
            .map_or("", |(_, s)| s.trim());
        ProcState::Running {
            start: start.to_owned(),
        }
    }
}

pub(crate) fn kill_process(ctx: &mut Ctx, pid: Pid, grace: Duration) -> Outcome {
    let n = pid.get();
    if n == std::process::id() {
        return Err(Stopped::from(ExitStatus::Failed {
            code: None,
            message: "refusing to end the agent itself".into(),
        }));
    }
    let start = match proc_state(n) {
        ProcState::Running { start } => start,
        ProcState::Zombie => {
            return Ok(Done::new(
                format!("process {n} had already exited"),
                Verification::Verified {
                    detail: format!("process {n} is not running"),
                },
            ));
        }
        ProcState::Gone => {
            return Err(Stopped::from(ExitStatus::Failed {
                code: None,
                message: format!("no process with id {n}"),
            }));
        }
    };
    // The same pid with another start time is a new process: ours is gone.
    let gone = || match proc_state(n) {
        ProcState::Running { start: s } if s == start => None,
        _ => Some(()),
    };
    let arg = n.to_string();
    for (signal, wait) in [("TERM", grace), ("KILL", AFTER_KILL)] {
        let out = ctx.run("kill", &["-s", signal, &arg])?;
        // A failure because it exited just now is success; any other failure (EPERM) is not.
        if !out.success() && gone().is_none() {
            require_success(out, "kill")?;
        }
        if poll_until(ctx.check_deadline(wait), gone).is_some() {
            return Ok(Done::new(
                format!("process {n} ended after SIG{signal}"),
                Verification::Verified {
                    detail: format!("process {n} no longer exists"),
                },
            ));
        }
        ctx.log
            .note(&format!("process {n} still running after SIG{signal}"));
    }
    Ok(Done::new(
        format!("sent SIGTERM and SIGKILL to process {n}"),
        Verification::Failed {
            reason: format!("process {n} still exists"),
        },
    ))
}
