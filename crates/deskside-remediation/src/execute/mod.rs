//! Platform executors: how each catalog action is carried out, checked and reported.
//!
//! Rules every backend keeps:
//! - Programs are started by absolute path with separate arguments (`command::run`): never a
//!   shell, never a command line assembled from strings. Data that must reach a script
//!   (Windows PowerShell) travels on stdin, and the script itself is a constant.
//! - Everything has a deadline; a program outliving it is killed with its process group.
//! - The report's output excerpt is bounded and secret-free; a temporary password leaves
//!   only as a [`LocalSecret`], beside the report, never inside it.
//! - After acting, the executor checks the effect (new PID, empty queue, shadow entry) and
//!   says so in [`Verification`]; "the command exited 0" is not proof.
//!
//! The Linux and macOS backends compile on every Unix and the Windows one everywhere, so this
//! machine's build, clippy and unit tests cover all three; [`platform_executor`] picks the one
//! for the running system.

mod command;
mod excerpt;
#[cfg(unix)]
mod linux;
#[cfg(unix)]
mod macos;
mod password;
#[cfg(unix)]
mod unix;
mod windows;

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::ActionId;
use crate::order::VerifiedOrder;

use command::CmdOutput;
use excerpt::OutputLog;

pub use excerpt::OUTPUT_EXCERPT_MAX;
#[cfg(unix)]
pub use linux::LinuxExecutor;
#[cfg(unix)]
pub use macos::MacosExecutor;
pub use password::{LocalSecret, TEMPORARY_PASSWORD_LEN, generate_temporary_password};
#[cfg(unix)]
pub use unix::temp::{CleanStats, DEFAULT_TEMP_MAX_AGE, clean_temp};
pub use windows::WindowsExecutor;

/// Carries out verified orders on this machine.
pub trait Executor: Send + Sync {
    /// Runs the order's action, within `timeout` overall, and checks its effect. Never
    /// panics on failure: every outcome is a report.
    fn run(&self, order: &VerifiedOrder, timeout: Duration) -> Execution;
}

/// What running an order produced.
#[derive(Debug)]
pub struct Execution {
    /// For the server, the ticket timeline and the audit log.
    pub report: ExecutionReport,
    /// Only for the local user's window (a temporary password); never sent anywhere.
    pub local_secret: Option<LocalSecret>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionReport {
    pub order_id: String,
    pub action: ActionId,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub exit_status: ExitStatus,
    /// One human sentence: what was done ("freed 12 MB in 40 files").
    pub summary: String,
    /// The last few KiB of the commands run and their output; never a secret.
    pub output_excerpt: String,
    pub verification: Verification,
}

impl ExecutionReport {
    /// Done and, where checkable, checked.
    pub fn succeeded(&self) -> bool {
        self.exit_status == ExitStatus::Success
            && !matches!(self.verification, Verification::Failed { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExitStatus {
    Success,
    Failed {
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<i32>,
        message: String,
    },
    TimedOut {
        message: String,
    },
    /// Nothing to do here (no DNS cache on this machine) or not this executor's job.
    Skipped {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Verification {
    Verified { detail: String },
    Failed { reason: String },
    NotApplicable { reason: String },
}

/// The executor for the running platform.
pub fn platform_executor() -> Box<dyn Executor> {
    #[cfg(target_os = "macos")]
    return Box::new(MacosExecutor::default());
    #[cfg(windows)]
    return Box::new(WindowsExecutor::default());
    #[cfg(all(unix, not(target_os = "macos")))]
    return Box::new(LinuxExecutor::default());
}

/// What an action body returns when it got to the end.
pub(crate) struct Done {
    pub summary: String,
    pub verification: Verification,
    pub secret: Option<LocalSecret>,
}

impl Done {
    pub fn new(summary: impl Into<String>, verification: Verification) -> Self {
        Self {
            summary: summary.into(),
            verification,
            secret: None,
        }
    }
}

/// An action body stopped early: how, and the secret if one was already set (a password
/// that was changed must reach the user even when a later step failed).
pub(crate) struct Stopped {
    pub exit: ExitStatus,
    pub secret: Option<LocalSecret>,
}

impl From<ExitStatus> for Stopped {
    fn from(exit: ExitStatus) -> Self {
        Self { exit, secret: None }
    }
}

pub(crate) type Outcome = Result<Done, Stopped>;

/// Per-run state: the deadline and the transcript.
pub(crate) struct Ctx {
    deadline: Instant,
    pub log: OutputLog,
}

impl Ctx {
    pub fn new(timeout: Duration) -> Self {
        Self {
            deadline: Instant::now() + timeout,
            log: OutputLog::default(),
        }
    }

    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// A deadline for a follow-up check: at most `cap` from now, never past the run's.
    pub fn check_deadline(&self, cap: Duration) -> Instant {
        (Instant::now() + cap).min(self.deadline)
    }

    /// Runs a program found by [`command::find_program`]; a missing program is a failed
    /// step with a clear message.
    pub fn run(&mut self, program: &str, args: &[&str]) -> Result<CmdOutput, ExitStatus> {
        self.run_with_stdin(program, args, None, None)
    }

    /// Like [`Ctx::run`], feeding `stdin`; `stdin_note` describes the input for the
    /// transcript (the input itself is never logged).
    pub fn run_with_stdin(
        &mut self,
        program: &str,
        args: &[&str],
        stdin: Option<&[u8]>,
        stdin_note: Option<&str>,
    ) -> Result<CmdOutput, ExitStatus> {
        let path = command::find_program(program).ok_or_else(|| ExitStatus::Failed {
            code: None,
            message: format!("`{program}` is not installed"),
        })?;
        let display = std::iter::once(program)
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(self.run_path(&path, &display, args, stdin, stdin_note))
    }

    /// Runs `path`, showing `display` for it in the transcript.
    pub fn run_path(
        &mut self,
        path: &Path,
        display: &str,
        args: &[&str],
        stdin: Option<&[u8]>,
        stdin_note: Option<&str>,
    ) -> CmdOutput {
        let out = command::run(path, args, stdin, self.remaining());
        self.log.command(display, stdin_note, &out);
        out
    }

    /// Runs and requires success; the failure becomes the step's exit status.
    pub fn run_ok(&mut self, program: &str, args: &[&str]) -> Result<CmdOutput, ExitStatus> {
        let out = self.run(program, args)?;
        require_success(out, program)
    }
}

/// Turns an unsuccessful command into the matching exit status.
pub(crate) fn require_success(out: CmdOutput, what: &str) -> Result<CmdOutput, ExitStatus> {
    if out.success() {
        Ok(out)
    } else if out.timed_out {
        Err(ExitStatus::TimedOut {
            message: out.describe(what),
        })
    } else {
        Err(ExitStatus::Failed {
            code: out.code(),
            message: out.describe(what),
        })
    }
}

pub(crate) fn skipped(reason: impl Into<String>) -> Outcome {
    let reason = reason.into();
    Err(Stopped::from(ExitStatus::Skipped { reason }))
}

/// Wraps an action body into the full [`Execution`].
pub(crate) fn execute(
    order: &VerifiedOrder,
    timeout: Duration,
    body: impl FnOnce(&mut Ctx) -> Outcome,
) -> Execution {
    let started_at = Utc::now();
    let mut ctx = Ctx::new(timeout);
    let outcome = body(&mut ctx);
    let (exit_status, summary, verification, local_secret) = match outcome {
        Ok(done) => (
            ExitStatus::Success,
            done.summary,
            done.verification,
            done.secret,
        ),
        Err(Stopped { exit, secret }) => {
            let (summary, verification) = match &exit {
                ExitStatus::Skipped { reason } => (
                    format!("not run: {reason}"),
                    Verification::NotApplicable {
                        reason: reason.clone(),
                    },
                ),
                ExitStatus::Failed { message, .. } | ExitStatus::TimedOut { message } => (
                    message.clone(),
                    Verification::NotApplicable {
                        reason: "the action did not complete".into(),
                    },
                ),
                ExitStatus::Success => (
                    String::new(),
                    Verification::NotApplicable {
                        reason: "the action did not complete".into(),
                    },
                ),
            };
            (exit, summary, verification, secret)
        }
    };
    if let Some(secret) = &local_secret {
        ctx.log.secret(secret.expose_password());
    }
    Execution {
        report: ExecutionReport {
            order_id: order.order_id().to_owned(),
            action: order.action().id(),
            started_at,
            finished_at: Utc::now(),
            exit_status,
            summary,
            output_excerpt: ctx.log.excerpt(),
            verification,
        },
        local_secret,
    }
}

/// Polls `probe` until it returns `Some` or `deadline` passes; returns the last answer.
/// For effects that settle asynchronously (a daemon writing its pidfile).
pub(crate) fn poll_until<T>(deadline: Instant, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let mut interval = Duration::from_millis(5);
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        std::thread::sleep(interval.min(deadline - now));
        interval = (interval * 2).min(Duration::from_millis(100));
    }
}
