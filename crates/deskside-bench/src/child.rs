//! Servers under test run as child processes: their CPU time, memory and file descriptors
//! are their own, as in production, and the driver can tell their figures apart.

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use serde::Serialize;

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

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident memory (VmHWM) so far, from /proc; `None` where there is no /proc.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        proc_status_value(self.pid(), "VmHWM")
    }

    /// Resident memory (VmRSS) now, from /proc.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        self.status_value("VmRSS")
    }

    /// Threads of the server now (tokio workers and blocking threads included).
    pub fn threads(&self) -> anyhow::Result<u64> {
        self.status_value("Threads")
    }

    fn status_value(&self, field: &str) -> anyhow::Result<u64> {
        proc_status_value(self.pid(), field)
            .with_context(|| format!("reading {field} of the server (pid {})", self.pid()))
    }

    /// File descriptors the server holds now: all of them, and how many are sockets.
    pub fn open_files(&self) -> anyhow::Result<OpenFiles> {
        let dir = format!("/proc/{}/fd", self.pid());
        let mut files = OpenFiles::default();
        for entry in std::fs::read_dir(&dir).with_context(|| format!("listing {dir}"))? {
            // A descriptor closed since the listing has no link any more: skip it.
            let Ok(target) = std::fs::read_link(entry?.path()) else {
                continue;
            };
            files.total += 1;
            if target.to_string_lossy().starts_with("socket:") {
                files.sockets += 1;
            }
        }
        Ok(files)
    }

    /// Waits until the server is quiet: CPU time and resident memory both stop moving for
    /// two consecutive intervals, or `max_wait` passes. A benchmark reads memory only once
    /// the server has finished handling what it was sent.
    pub fn wait_until_quiet(&mut self, max_wait: Duration) -> anyhow::Result<Quiet> {
        const INTERVAL: Duration = Duration::from_millis(500);
        /// Clock ticks (normally 10 ms each) a quiet server may use per interval: 4 %.
        const QUIET_TICKS: u64 = 2;
        const QUIET_RSS_KIB: u64 = 256;
        let started = Instant::now();
        let mut previous = (self.cpu_ticks()?, self.rss_kib()?);
        let mut quiet_intervals = 0;
        loop {
            std::thread::sleep(INTERVAL);
            self.ensure_running()?;
            let now = (self.cpu_ticks()?, self.rss_kib()?);
            let quiet = now.0.saturating_sub(previous.0) <= QUIET_TICKS
                && now.1.abs_diff(previous.1) <= QUIET_RSS_KIB;
            quiet_intervals = if quiet { quiet_intervals + 1 } else { 0 };
            previous = now;
            let waited = started.elapsed();
            if quiet_intervals >= 2 || waited >= max_wait {
                return Ok(Quiet {
                    rss_kib: now.1,
                    waited,
                    settled: quiet_intervals >= 2,
                });
            }
        }
    }

    /// User plus system CPU time the server used so far, in clock ticks.
    fn cpu_ticks(&self) -> anyhow::Result<u64> {
        let path = format!("/proc/{}/stat", self.pid());
        let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        parse_stat_cpu_ticks(&stat).with_context(|| format!("{path}: no utime/stime fields"))
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

/// What [`ServerProcess::wait_until_quiet`] saw last.
#[derive(Debug, Clone, Copy)]
pub struct Quiet {
    pub rss_kib: u64,
    pub waited: Duration,
    /// False if `max_wait` passed while the server was still busy.
    pub settled: bool,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenFiles {
    pub total: usize,
    pub sockets: usize,
}

/// A number of /proc/PID/status, e.g. `VmRSS` (in kB, the unit dropped) or `Threads`.
fn proc_status_value(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_value(&status, field)
}

fn parse_status_value(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

/// utime + stime (fields 14 and 15) of /proc/PID/stat. The command name in field 2 may hold
/// spaces and parentheses, so fields are counted from the last `)`.
fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

/// The soft limit on open files (`ulimit -n`) of a process, this one if `pid` is `None`.
pub fn open_files_limit(pid: Option<u32>) -> anyhow::Result<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/limits"),
        None => "/proc/self/limits".to_owned(),
    };
    let limits = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_open_files_limit(&limits)
        .with_context(|| format!("{path} has no readable `Max open files`"))
}

fn parse_open_files_limit(limits: &str) -> Option<u64> {
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    let soft = line["Max open files".len()..].split_whitespace().next()?;
    // "unlimited" does not happen for files on Linux; treat it as no useful answer.
    soft.parse().ok()
}

/// File descriptors this process holds now.
pub fn own_open_files() -> anyhow::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/fd")
        .context("listing /proc/self/fd")?
        .count())
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

    #[test]
    fn status_values() {
        let status =
            "Name:\tdeskside-server\nVmHWM:\t   40960 kB\nVmRSS:\t   32768 kB\nThreads:\t9\n";
        assert_eq!(parse_status_value(status, "VmRSS"), Some(32768));
        assert_eq!(parse_status_value(status, "VmHWM"), Some(40960));
        assert_eq!(parse_status_value(status, "Threads"), Some(9));
        assert_eq!(parse_status_value(status, "VmSwap"), None);
        // A field whose name is a prefix of another is not confused with it.
        assert_eq!(parse_status_value("VmRSSX:\t1 kB\n", "VmRSS"), None);
    }

    #[test]
    fn cpu_ticks_from_stat_with_awkward_name() {
        let stat = "4242 (deskside (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 150 25 0 0 20 0 9 0 100 0 0";
        assert_eq!(parse_stat_cpu_ticks(stat), Some(175));
        assert_eq!(parse_stat_cpu_ticks("4242 (short) S 1"), None);
    }

    #[test]
    fn open_files_soft_limit() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max processes             95000                95000                processes \n\
                      Max open files            20000                40000                files     \n";
        assert_eq!(parse_open_files_limit(limits), Some(20000));
        assert_eq!(parse_open_files_limit("Limit Soft Hard\n"), None);
    }
}
