//! Running the few external programs the probes rely on.
//!
//! Only fixed program names with fixed arguments, never a shell; every run has a deadline
//! and a cap on what it may print, so a hung or chatty tool cannot stall or bloat a
//! snapshot.

use std::io::{self, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Enough for any listing we keep (package lists are the largest).
pub(crate) const DEFAULT_MAX_OUTPUT: usize = 4 * 1024 * 1024;

#[derive(Debug)]
pub(crate) struct CommandOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl CommandOutput {
    /// Both streams, for tools that print part of their answer on stderr.
    #[cfg(target_os = "linux")]
    pub fn combined(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The first line of stderr (or stdout), for a short unavailability reason.
    pub fn first_error_line(&self) -> String {
        let line = self
            .stderr
            .lines()
            .chain(self.stdout.lines())
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("no output");
        crate::text::truncate_chars(line, 200)
    }
}

#[derive(Debug)]
pub(crate) enum CommandError {
    NotInstalled { program: String },
    TimedOut { program: String, after: Duration },
    Io { program: String, error: io::Error },
}

impl CommandError {
    /// A reason fit for `Probe::Unavailable`: `lpstat not installed`.
    pub fn reason(&self) -> String {
        match self {
            CommandError::NotInstalled { program } => format!("{program} not installed"),
            CommandError::TimedOut { program, after } => {
                format!("{program} did not answer within {} ms", after.as_millis())
            }
            CommandError::Io { program, error } => format!("{program} could not run: {error}"),
        }
    }
}

pub(crate) fn run(
    program: &str,
    args: &[&str],
    timeout: Duration,
) -> Result<CommandOutput, CommandError> {
    run_capped(program, args, timeout, DEFAULT_MAX_OUTPUT)
}

pub(crate) fn run_capped(
    program: &str,
    args: &[&str],
    timeout: Duration,
    max_output: usize,
) -> Result<CommandOutput, CommandError> {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Parsers expect untranslated messages and C-locale dates.
        .env("LC_ALL", "C")
        .env("LANG", "C");
    // Dates printed by lpstat and friends are then UTC, so no time zone guessing.
    #[cfg(unix)]
    command.env("TZ", "UTC");

    let mut child = command.spawn().map_err(|error| match error.kind() {
        io::ErrorKind::NotFound => CommandError::NotInstalled {
            program: program.to_owned(),
        },
        _ => CommandError::Io {
            program: program.to_owned(),
            error,
        },
    })?;
    let deadline = Instant::now() + timeout;
    let timed_out = || CommandError::TimedOut {
        program: program.to_owned(),
        after: timeout,
    };

    // One reader per pipe: reading both from one thread could deadlock on a full pipe.
    let (sender, receiver) = mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        spawn_reader(stdout, true, max_output, sender.clone());
    }
    if let Some(stderr) = child.stderr.take() {
        spawn_reader(stderr, false, max_output, sender);
    }
    let (mut stdout, mut stderr) = (None, None);
    while stdout.is_none() || stderr.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        match receiver.recv_timeout(left) {
            Ok((true, text)) => stdout = Some(text),
            Ok((false, text)) => stderr = Some(text),
            Err(_) => {
                kill(&mut child);
                return Err(timed_out());
            }
        }
    }
    let status = wait_until(&mut child, deadline)
        .map_err(|error| CommandError::Io {
            program: program.to_owned(),
            error,
        })?
        .ok_or_else(timed_out)?;
    Ok(CommandOutput {
        status,
        stdout: stdout.unwrap_or_default(),
        stderr: stderr.unwrap_or_default(),
    })
}

fn spawn_reader(
    mut pipe: impl Read + Send + 'static,
    is_stdout: bool,
    max_output: usize,
    sender: mpsc::Sender<(bool, String)>,
) {
    thread::spawn(move || {
        let mut kept = Vec::new();
        let _ = (&mut pipe).take(max_output as u64).read_to_end(&mut kept);
        // Drain the rest so the child is not blocked on a full pipe before it exits.
        let _ = io::copy(&mut pipe, &mut io::sink());
        let _ = sender.send((is_stdout, String::from_utf8_lossy(&kept).into_owned()));
    });
}

/// Both pipes are closed, so the child has almost always exited already; polling only
/// covers a child that closed its outputs and lingers.
fn wait_until(child: &mut Child, deadline: Instant) -> io::Result<Option<ExitStatus>> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            kill(child);
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(1));
    }
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_is_reported_as_not_installed() {
        let err = run("deskside-no-such-tool", &[], Duration::from_secs(1)).unwrap_err();
        assert_eq!(err.reason(), "deskside-no-such-tool not installed");
    }

    #[test]
    fn a_program_that_outlives_its_deadline_is_killed() {
        let started = Instant::now();
        let err = run("sleep", &["5"], Duration::from_millis(100)).unwrap_err();
        assert!(matches!(err, CommandError::TimedOut { .. }), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn output_beyond_the_cap_is_cut_and_the_program_still_finishes() {
        // `yes | head` would need a shell; `seq` prints ~590 KB for 100000 numbers.
        let out = run_capped("seq", &["100000"], Duration::from_secs(5), 1000).unwrap();
        assert_eq!(out.stdout.len(), 1000);
        assert!(out.status.success());
    }

    #[test]
    fn messages_are_untranslated() {
        let out = run("sh", &["-c", "echo $LC_ALL $TZ"], Duration::from_secs(2)).unwrap();
        assert_eq!(out.stdout.trim(), "C UTC");
    }
}
