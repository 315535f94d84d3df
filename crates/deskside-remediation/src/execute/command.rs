//! The one way executors start programs: a fixed program path, arguments as separate
//! strings, optional stdin, a deadline, and bounded capture of the output. There is no
//! shell anywhere, so no argument is ever re-parsed: `foo; rm -rf /` would reach `service`
//! as one (invalid) name, had validation not refused it first.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Output kept per stream: the tail, where the error usually is.
const CAPTURE_LIMIT: usize = 64 * 1024;

/// How long to wait for output pipes to close after the program exited. A daemon started
/// by a `restart` may inherit them and hold them open for its whole life.
const PIPE_GRACE: Duration = Duration::from_secs(2);

/// Programs are looked up only in these system directories, never through the caller's
/// PATH, so nothing earlier on a PATH can stand in for `chpasswd`.
#[cfg(unix)]
const SYSTEM_DIRS: &[&str] = &["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/// The absolute path of a system program, if installed.
#[cfg(unix)]
pub(crate) fn find_program(name: &str) -> Option<PathBuf> {
    SYSTEM_DIRS
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// Windows programs live under the system root; nothing else is looked up.
#[cfg(not(unix))]
pub(crate) fn find_program(name: &str) -> Option<PathBuf> {
    let root = std::env::var_os("SystemRoot").unwrap_or_else(|| "C:\\Windows".into());
    let system32 = Path::new(&root).join("System32");
    [
        system32.join(name),
        system32.join("WindowsPowerShell\\v1.0").join(name),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

#[derive(Debug)]
pub(crate) struct CmdOutput {
    pub status: Option<ExitStatus>,
    pub timed_out: bool,
    /// Set when the program could not be started at all.
    pub spawn_error: Option<String>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl CmdOutput {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// A one-line description of how it ended, for reports.
    pub fn describe(&self, what: &str) -> String {
        if let Some(e) = &self.spawn_error {
            return format!("{what}: could not start: {e}");
        }
        if self.timed_out {
            return format!("{what}: timed out and was killed");
        }
        match self.status {
            Some(s) if s.success() => format!("{what}: succeeded"),
            Some(s) => match s.code() {
                Some(code) => format!("{what}: exited with status {code}"),
                None => format!("{what}: killed by a signal"),
            },
            None => format!("{what}: did not finish"),
        }
    }
}

/// Keeps the last `CAPTURE_LIMIT` bytes written to it.
#[derive(Default)]
struct Tail(Vec<u8>);

impl Tail {
    fn push(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
        if self.0.len() > CAPTURE_LIMIT {
            let cut = self.0.len() - CAPTURE_LIMIT;
            self.0.drain(..cut);
        }
    }
}

/// Runs `program` with `args`, feeding `stdin` (then closing it), killing it (and, on Unix,
/// its process group) if it outlives `timeout`.
pub(crate) fn run(
    program: &Path,
    args: &[&str],
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> CmdOutput {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    isolate(&mut cmd);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return CmdOutput {
                status: None,
                timed_out: false,
                spawn_error: Some(e.to_string()),
                stdout: Vec::new(),
                stderr: Vec::new(),
            };
        }
    };
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // Our inputs are a line or two, far below a pipe buffer: this cannot block. A
        // program that exits without reading gives EPIPE, which its exit status reports.
        let _ = pipe.write_all(input);
    }
    let (done_tx, done_rx) = channel();
    let stdout = Arc::new(Mutex::new(Tail::default()));
    let stderr = Arc::new(Mutex::new(Tail::default()));
    let mut readers = 0;
    for (pipe, tail) in [
        (
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            &stdout,
        ),
        (
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            &stderr,
        ),
    ] {
        let Some(mut pipe) = pipe else { continue };
        let tail = Arc::clone(tail);
        let done = done_tx.clone();
        readers += 1;
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                tail.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(&buf[..n]);
            }
            let _ = done.send(());
        });
    }
    drop(done_tx);

    let deadline = Instant::now() + timeout;
    let (status, timed_out) = wait_until(&mut child, deadline);
    let pipes_deadline = Instant::now() + PIPE_GRACE;
    for _ in 0..readers {
        let left = pipes_deadline.saturating_duration_since(Instant::now());
        if done_rx.recv_timeout(left).is_err() {
            break;
        }
    }
    let take = |t: &Arc<Mutex<Tail>>| t.lock().unwrap_or_else(|e| e.into_inner()).0.clone();
    CmdOutput {
        status,
        timed_out,
        spawn_error: None,
        stdout: take(&stdout),
        stderr: take(&stderr),
    }
}

/// Waits for the child until `deadline`, then kills it. Polls `try_wait` (with a short,
/// growing interval) because we own the `Child`: killing through it can never hit a
/// recycled pid, which a separate waiter thread plus `kill(pid)` could.
fn wait_until(child: &mut Child, deadline: Instant) -> (Option<ExitStatus>, bool) {
    let mut interval = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return (Some(status), false),
            Ok(None) => {}
            Err(_) => break,
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        std::thread::sleep(interval.min(deadline - now));
        interval = (interval * 2).min(Duration::from_millis(25));
    }
    kill_tree(child);
    (child.wait().ok(), true)
}

#[cfg(unix)]
fn isolate(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // A known environment: no inherited LD_PRELOAD, IFS or locale surprises, and C-locale
    // output that the verification steps can parse.
    cmd.env_clear()
        .env("PATH", SYSTEM_DIRS.join(":"))
        .env("LC_ALL", "C")
        .env("LANG", "C");
    // Its own process group, so a timeout can kill what it started too.
    cmd.process_group(0);
}

#[cfg(not(unix))]
fn isolate(_cmd: &mut Command) {
    // Windows programs need SystemRoot, ComSpec and friends: keep the service's environment.
}

#[cfg(unix)]
fn kill_tree(child: &mut Child) {
    // The group id is the child's pid (process_group(0)), and the group cannot be reused
    // while the un-reaped child is still its member.
    if let Some(kill) = find_program("kill") {
        let group = format!("-{}", child.id());
        let _ = Command::new(kill)
            .args(["-s", "KILL", "--", &group])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
}

#[cfg(not(unix))]
fn kill_tree(child: &mut Child) {
    let _ = child.kill();
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn sh() -> PathBuf {
        find_program("sh").expect("sh")
    }

    #[test]
    fn arguments_are_not_reparsed_by_any_shell() {
        let echo = find_program("echo").expect("echo");
        let out = run(
            &echo,
            &["foo; rm -rf /", "$(reboot)"],
            None,
            Duration::from_secs(5),
        );
        assert!(out.success());
        assert_eq!(out.stdout_text(), "foo; rm -rf / $(reboot)\n");
    }

    #[test]
    fn stdin_is_fed_and_closed() {
        let cat = find_program("cat").expect("cat");
        let out = run(&cat, &[], Some(b"secret\n"), Duration::from_secs(5));
        assert!(out.success());
        assert_eq!(out.stdout, b"secret\n");
    }

    #[test]
    fn the_environment_is_clean() {
        let env = find_program("env").expect("env");
        let out = run(&env, &[], None, Duration::from_secs(5));
        let text = out.stdout_text();
        let mut names: Vec<&str> = text.lines().filter_map(|l| l.split('=').next()).collect();
        names.sort_unstable();
        assert_eq!(names, ["LANG", "LC_ALL", "PATH"]);
    }

    #[test]
    fn a_hung_program_and_its_children_are_killed_at_the_deadline() {
        let started = Instant::now();
        // The grandchild holds stdout open, and reports its pid first.
        let out = run(
            &sh(),
            &["-c", "sleep 30 & echo $!; sleep 30"],
            None,
            Duration::from_millis(300),
        );
        assert!(out.timed_out);
        assert!(!out.success());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let grandchild: u32 = out.stdout_text().trim().parse().unwrap();
        // Killed with the group, not left running for 30 s (its reaper may take a moment).
        let gone = crate::execute::poll_until(Instant::now() + Duration::from_secs(5), || {
            let stat = std::fs::read_to_string(format!("/proc/{grandchild}/stat")).ok();
            let running = stat.is_some_and(|s| !s.contains(") Z") && !s.contains(") X"));
            (!running).then_some(())
        });
        assert!(
            gone.is_some(),
            "grandchild {grandchild} survived the timeout"
        );
    }

    #[test]
    fn output_is_bounded_to_its_tail() {
        let out = run(
            &sh(),
            &[
                "-c",
                "i=0; while [ $i -lt 20000 ]; do echo line$i; i=$((i+1)); done",
            ],
            None,
            Duration::from_secs(20),
        );
        assert!(out.success());
        assert!(out.stdout.len() <= CAPTURE_LIMIT);
        assert!(out.stdout_text().ends_with("line19999\n"));
    }

    #[test]
    fn a_missing_program_is_reported() {
        let out = run(
            Path::new("/nonexistent/program"),
            &[],
            None,
            Duration::from_secs(1),
        );
        assert!(out.spawn_error.is_some());
        assert!(out.describe("x").contains("could not start"));
    }
}
