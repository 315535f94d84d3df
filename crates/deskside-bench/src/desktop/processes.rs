//! Process trees under /proc: the desktop app and the WebKit processes it starts, their
//! memory and CPU time, and stopping them as a desktop session does (SIGTERM, then wait).

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rustix::process::{Pid, Signal, kill_process};
use serde::Serialize;

/// How long a process gets to exit on SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A child process, stopped with SIGTERM (then SIGKILL after a grace period) when dropped,
/// with every process it started that is still running; its output goes to a log file.
pub struct Guarded {
    name: &'static str,
    child: Child,
    pub log: PathBuf,
}

impl Guarded {
    /// Spawns `command` with stdin closed and stdout and stderr in `log`.
    pub fn spawn(name: &'static str, command: &mut Command, log: &Path) -> anyhow::Result<Self> {
        let file = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        Ok(Self::adopt(name, child, log))
    }

    /// Takes charge of a child spawned with other pipes.
    pub fn adopt(name: &'static str, child: Child, log: &Path) -> Self {
        Guarded {
            name,
            child,
            log: log.to_owned(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Fails with the log's tail if the process has exited.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            anyhow::bail!(
                "{} exited ({status}){}",
                self.name,
                crate::child::log_tail(&self.log)
            );
        }
        Ok(())
    }

    /// SIGTERM, then waits; SIGKILL after the grace period. Processes it started that
    /// outlive it (WebKit's helpers, WebKitWebDriver) are stopped the same way.
    pub fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let below: Vec<Stat> = tree(self.pid())
            .into_iter()
            .skip(1)
            .filter_map(stat)
            .collect();
        signal(self.pid(), Signal::TERM);
        let started = Instant::now();
        while started.elapsed() < STOP_GRACE {
            if self.child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if self.child.try_wait().ok().flatten().is_none() {
            eprintln!("[bench]   {} ignored SIGTERM; killing it", self.name);
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        stop_leftovers(&below);
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Processes that were below a stopped one: they normally exit with it (WebKit's helpers
/// watch their parent's connection); any still there, and still the same process (same
/// start time), get SIGTERM, then SIGKILL.
fn stop_leftovers(processes: &[Stat]) {
    let alive =
        |process: &Stat| stat(process.pid).is_some_and(|now| now.started == process.started);
    let started = Instant::now();
    let mut terminated = false;
    loop {
        let remaining: Vec<&Stat> = processes.iter().filter(|p| alive(p)).collect();
        if remaining.is_empty() {
            return;
        }
        let waited = started.elapsed();
        if waited >= STOP_GRACE * 2 {
            for process in remaining {
                eprintln!(
                    "[bench]   {} (pid {}) outlived its parent; killing it",
                    process.name, process.pid
                );
                signal(process.pid, Signal::KILL);
            }
            return;
        }
        if !terminated && waited >= STOP_GRACE / 5 {
            for process in &remaining {
                signal(process.pid, Signal::TERM);
            }
            terminated = true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(pid: u32, signal: Signal) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = kill_process(pid, signal);
    }
}

/// What /proc/PID/stat says about a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    pub pid: u32,
    /// The command name (at most 15 bytes, as the kernel keeps it).
    pub name: String,
    pub ppid: u32,
    /// User plus system CPU time, in clock ticks.
    pub cpu_ticks: u64,
    /// Start time after boot in clock ticks: with the pid, it names one process for good.
    pub started: u64,
}

pub fn stat(pid: u32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text[..open].trim().parse().ok()?;
    let name = text[open + 1..close].to_owned();
    // Fields from the third on (state, ppid, …), numbered from 3 as in proc(5).
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    let field = |number: usize| fields.get(number - 3)?.parse::<u64>().ok();
    Some(Stat {
        pid,
        name,
        ppid: u32::try_from(field(4)?).ok()?,
        cpu_ticks: field(14)? + field(15)?,
        started: field(22)?,
    })
}

/// `root` and every process below it, parents before their children.
pub fn tree(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            if let Some(process) = stat(pid) {
                children.entry(process.ppid).or_default().push(pid);
            }
        }
    }
    let mut found = vec![root];
    let mut next = 0;
    while next < found.len() {
        let mut below = children.remove(&found[next]).unwrap_or_default();
        below.sort_unstable();
        found.extend(below);
        next += 1;
    }
    found
}

/// One process's memory: resident (VmRSS, shared pages counted in every process that maps
/// them) and proportional (Pss, shared pages divided among their users, so a sum over
/// processes counts each page once).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessMemory {
    pub pid: u32,
    pub name: String,
    pub rss_kib: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pss_kib: Option<u64>,
}

pub fn memory(pid: u32) -> Option<ProcessMemory> {
    let name = stat(pid)?.name;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok();
    Some(ProcessMemory {
        pid,
        name,
        rss_kib: kib_field(&status, "VmRSS")?,
        pss_kib: rollup.as_deref().and_then(|text| kib_field(text, "Pss")),
    })
}

/// `Field:   1234 kB` → 1234.
fn kib_field(text: &str, field: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Memory of `root` and every process below it; processes gone meanwhile are left out.
pub fn tree_memory(root: u32) -> Vec<ProcessMemory> {
    tree(root).into_iter().filter_map(memory).collect()
}

/// CPU time of every process in the trees below `roots`, in clock ticks.
fn trees_cpu_ticks(roots: &[u32]) -> u64 {
    roots
        .iter()
        .flat_map(|&root| tree(root))
        .filter_map(stat)
        .map(|process| process.cpu_ticks)
        .sum()
}

/// How a wait for quiet ended.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Quiet {
    pub waited_seconds: f64,
    /// False when `max_wait` passed while they were still busy.
    pub settled: bool,
}

/// Waits until the processes in the trees below `roots` use next to no CPU for two
/// intervals in a row (at most 3 % of one core), or `max_wait` passes.
pub fn wait_until_quiet(roots: &[u32], max_wait: Duration) -> Quiet {
    const INTERVAL: Duration = Duration::from_millis(500);
    /// Clock ticks are normally 10 ms: 1.5 ticks per 500 ms is 3 % of a core.
    const QUIET_TICKS: u64 = 1;
    let started = Instant::now();
    let mut previous = trees_cpu_ticks(roots);
    let mut quiet_intervals = 0;
    loop {
        std::thread::sleep(INTERVAL);
        let now = trees_cpu_ticks(roots);
        quiet_intervals = if now.saturating_sub(previous) <= QUIET_TICKS {
            quiet_intervals + 1
        } else {
            0
        };
        previous = now;
        let waited = started.elapsed();
        if quiet_intervals >= 2 || waited >= max_wait {
            return Quiet {
                waited_seconds: waited.as_secs_f64(),
                settled: quiet_intervals >= 2,
            };
        }
    }
}

/// A program on PATH, or in ~/.cargo/bin where `cargo install` puts tauri-driver.
pub fn which(program: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cargo/bin"));
    }
    dirs.into_iter()
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

/// Fails naming every program missing and the package that brings it.
pub fn require(programs: &[(&str, &str)]) -> anyhow::Result<()> {
    let missing: Vec<String> = programs
        .iter()
        .filter(|(program, _)| which(program).is_none() && !Path::new(program).is_file())
        .map(|(program, install)| format!("{program} ({install})"))
        .collect();
    if !missing.is_empty() {
        anyhow::bail!("not run: missing {}", missing.join(", "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_an_awkward_name() {
        let text = "4242 (Web (x) y) S 17 4242 4242 0 -1 4194560 1000 0 0 0 150 25 0 0 20 0 9 0 \
                    98765 0 0";
        assert_eq!(
            parse_stat(text),
            Some(Stat {
                pid: 4242,
                name: "Web (x) y".into(),
                ppid: 17,
                cpu_ticks: 175,
                started: 98765,
            })
        );
        assert_eq!(parse_stat("4242 (short) S 1"), None);
    }

    #[test]
    fn kib_fields() {
        let status = "Name:\tdeskside\nVmRSS:\t   32768 kB\nRssAnon:\t1 kB\n";
        assert_eq!(kib_field(status, "VmRSS"), Some(32768));
        assert_eq!(kib_field("Rss: 10 kB\nPss:  7 kB\n", "Pss"), Some(7));
        assert_eq!(kib_field(status, "Pss"), None);
    }

    #[test]
    fn this_process_is_the_root_of_its_tree() {
        let me = std::process::id();
        assert_eq!(tree(me).first(), Some(&me));
        assert!(memory(me).is_some_and(|memory| memory.rss_kib > 0));
    }
}
