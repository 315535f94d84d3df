//! Servers under test run as child processes: their CPU time, memory and file descriptors
//! are their own, as in production, and the driver can tell their figures apart.

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};

/// Both the baselines and deskside-server announce themselves with this line on stdout.
const LISTENING_PREFIX: &str = "listening on http://";

/// A running server; killed and reaped when dropped, so no benchmark leaves one behind.
pub struct ServerProcess {
    child: Child,
    pub address: SocketAddr,
    pub log_path: PathBuf,
}

impl ServerProcess {
    /// Starts `command` and waits until it prints `listening on http://ADDR`. Its stderr and
    /// the rest of its stdout go to `log_path`.
    pub fn start(
        mut command: Command,
        log_path: &Path,
        startup_timeout: Duration,
    ) -> anyhow::Result<ServerProcess> {
        let log = File::create(log_path)
            .with_context(|| format!("creating log file {}", log_path.display()))?;
        command
            // A baseline server exits when its stdin closes, so it dies with the driver
            // even if the driver is killed before it can clean up.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log);
        let program = command.get_program().to_string_lossy().into_owned();
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {program}"))?;
        let stdout = child.stdout.take().context("child stdout was not piped")?;

        let (address_sender, address_receiver) = mpsc::channel();
        let mut stdout_copy = OpenOptions::new()
            .append(true)
            .open(log_path)
            .with_context(|| format!("opening log file {}", log_path.display()))?;
        std::thread::spawn(move || {
            let mut announced = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !announced && let Some(address) = parse_listening_line(&line) {
                    announced = true;
                    let _ = address_sender.send(address);
                }
                // Keep draining: a full pipe would block the server mid-benchmark.
                let _ = writeln!(stdout_copy, "{line}");
            }
        });

        // Owned from here on, so every early return below kills the child.
        let mut server = ServerProcess {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            log_path: log_path.to_owned(),
        };
        match address_receiver.recv_timeout(startup_timeout) {
            Ok(address) => {
                server.address = address;
                Ok(server)
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // Stdout closed, so the child is exiting; give it a moment to finish.
                let mut status = None;
                for _ in 0..20 {
                    status = server.child.try_wait().ok().flatten();
                    if status.is_some() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(anyhow!(
                    "{program} closed its stdout ({}) without printing `{LISTENING_PREFIX}ADDR`{}",
                    status.map_or_else(|| "still running".to_owned(), |s| s.to_string()),
                    log_tail(log_path)
                ))
            }
            Err(mpsc::RecvTimeoutError::Timeout) => Err(anyhow!(
                "{program} printed no `{LISTENING_PREFIX}ADDR` line within {}s{}",
                startup_timeout.as_secs(),
                log_tail(log_path)
            )),
        }
    }

    /// Peak resident memory (VmHWM) so far, from /proc; `None` where there is no /proc.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Fails with the log tail if the server died, e.g. crashed under load.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "the server exited during the benchmark ({status}){}",
                log_tail(&self.log_path)
            );
        }
        Ok(())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse_listening_line(line: &str) -> Option<SocketAddr> {
    let rest = &line[line.find(LISTENING_PREFIX)? + LISTENING_PREFIX.len()..];
    let authority = rest.split(['/', ' ', '\t']).next()?;
    authority.parse().ok()
}

/// Runs a command to completion with its output in `log_path`; errors carry the log tail.
pub fn run_logged(mut command: Command, log_path: &Path) -> anyhow::Result<()> {
    let log = File::create(log_path)
        .with_context(|| format!("creating log file {}", log_path.display()))?;
    let log_for_stderr = log.try_clone()?;
    let program = command.get_program().to_string_lossy().into_owned();
    let status = command
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_for_stderr)
        .status()
        .with_context(|| format!("starting {program}"))?;
    if !status.success() {
        bail!(
            "`{}` failed ({status}){}",
            describe(&command),
            log_tail(log_path)
        );
    }
    Ok(())
}

pub fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last lines of a log, formatted to append to an error message.
pub fn log_tail(log_path: &Path) -> String {
    let text = std::fs::read_to_string(log_path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(15)..].join("\n    ");
    if tail.trim().is_empty() {
        format!(" (its log {} is empty)", log_path.display())
    } else {
        format!("; last lines of {}:\n    {tail}", log_path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_line_forms() {
        let expected: SocketAddr = "127.0.0.1:7300".parse().unwrap();
        for line in [
            "listening on http://127.0.0.1:7300",
            "listening on http://127.0.0.1:7300/",
            "2026-01-01T00:00:00Z INFO deskside: listening on http://127.0.0.1:7300 (api /api/v1)",
        ] {
            assert_eq!(parse_listening_line(line), Some(expected), "{line}");
        }
        assert_eq!(parse_listening_line("listening on port 7300"), None);
    }
}
