//! Real OS fixtures for the end-to-end remediation tests: an init.d service, a local
//! account, a paused CUPS printer with queued jobs. Each is removed by a guard when dropped,
//! whatever happened in the test. (Small copies of `deskside-remediation`'s test fixtures:
//! the agent's tests do not depend on that crate's test code.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Whether this process runs with effective uid 0 (read from /proc).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// The full path of a system tool, if installed.
pub fn tool(name: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// `None` when a root test needing `tools` can run here; otherwise why not.
pub fn requires_root_and(tools: &[&str]) -> Option<String> {
    if !is_root() {
        return Some("needs root (CI runs as root)".into());
    }
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| tool(t).is_none())
        .collect();
    (!missing.is_empty()).then(|| format!("missing tools: {}", missing.join(", ")))
}

/// Says why a test did not run, on the real stderr (past the harness's capture), so the
/// reason shows in CI logs even though the test passes.
pub fn skip(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// Runs a tool (fixed arguments, no shell).
pub fn sh(program: &str, args: &[&str]) -> Output {
    let path = tool(program).unwrap_or_else(|| panic!("{program} is not installed"));
    Command::new(path)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

pub fn sh_ok(program: &str, args: &[&str]) -> String {
    let out = sh(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn sh_stdin(program: &str, args: &[&str], input: &[u8]) {
    use std::io::Write;
    let mut child = Command::new(tool(program).expect(program))
        .args(args)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    assert!(child.wait().unwrap().success(), "{program} {args:?}");
}

/// Whether `pid` is a live (non-zombie) process.
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.split_whitespace().next().map(str::to_owned))
        })
        .flatten()
        .is_some_and(|state| state != "Z" && state != "X")
}

// ---- init.d service ----

/// A real init.d service `/etc/init.d/<name>` running `sleep 1000` under start-stop-daemon
/// with its pidfile in /run; stopped and removed when dropped.
pub struct InitService {
    pub name: String,
}

impl InitService {
    /// Installs and starts it.
    pub fn install(name: &str) -> InitService {
        let service = InitService {
            name: name.to_owned(),
        };
        let script = service.script();
        std::fs::write(&script, init_script(name)).unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        sh_ok("service", &[name, "start"]);
        service
    }

    fn script(&self) -> PathBuf {
        PathBuf::from(format!("/etc/init.d/{}", self.name))
    }

    fn pidfile(&self) -> PathBuf {
        PathBuf::from(format!("/run/{}.pid", self.name))
    }

    /// The running process's PID, per its pidfile.
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.pidfile())
            .ok()?
            .trim()
            .parse()
            .ok()
            .filter(|p| alive(*p))
    }
}

impl Drop for InitService {
    fn drop(&mut self) {
        if self.script().exists() {
            let _ = sh("service", &[&self.name, "stop"]);
            let _ = std::fs::remove_file(self.script());
        }
        let _ = std::fs::remove_file(self.pidfile());
    }
}

fn init_script(name: &str) -> String {
    format!(
        r#"#!/bin/sh
### BEGIN INIT INFO
# Provides:          {name}
# Required-Start:
# Required-Stop:
# Default-Start:
# Default-Stop:
# Short-Description: Deskside agent end-to-end test service
### END INIT INFO
PIDFILE=/run/{name}.pid
case "$1" in
  start)
    start-stop-daemon --start --quiet --background --make-pidfile --pidfile "$PIDFILE" --exec /usr/bin/sleep -- 1000
    ;;
  stop)
    # No --retry (it polls for seconds); removing the pidfile is enough for the next start.
    start-stop-daemon --stop --quiet --oknodo --pidfile "$PIDFILE" --remove-pidfile
    ;;
  restart)
    "$0" stop
    "$0" start
    ;;
  status)
    start-stop-daemon --status --pidfile "$PIDFILE"
    ;;
  *)
    echo "Usage: $0 {{start|stop|restart|status}}" >&2
    exit 3
    ;;
esac
"#
    )
}

/// An init.d script `/etc/init.d/<name>` whose `restart` hangs until the test releases it:
/// an order that is still running when the test wants it to be. Released and removed when
/// dropped (the hung script then exits at once, even if its agent was killed).
pub struct HangingService {
    pub name: String,
}

impl HangingService {
    pub fn install(name: &str) -> HangingService {
        let service = HangingService {
            name: name.to_owned(),
        };
        let script = format!(
            r#"#!/bin/sh
### BEGIN INIT INFO
# Provides:          {name}
# Short-Description: Deskside agent test service whose restart hangs
### END INIT INFO
case "$1" in
  restart)
    touch "{waiting}"
    while [ ! -e "{release}" ]; do sleep 0.1; done
    rm -f "{release}" "{waiting}"
    ;;
  *)
    exit 0
    ;;
esac
"#,
            waiting = service.marker("waiting").display(),
            release = service.marker("release").display(),
        );
        std::fs::write(service.script(), script).unwrap();
        std::fs::set_permissions(
            service.script(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        service
    }

    fn script(&self) -> PathBuf {
        PathBuf::from(format!("/etc/init.d/{}", self.name))
    }

    fn marker(&self, what: &str) -> PathBuf {
        PathBuf::from(format!("/run/{}.{what}", self.name))
    }

    /// Whether a restart is hanging in it now.
    pub fn restarting(&self) -> bool {
        self.marker("waiting").exists()
    }
}

impl Drop for HangingService {
    fn drop(&mut self) {
        // A hung restart (its agent killed, say) sees the release, removes both markers and
        // exits within 0.1 s.
        if self.restarting() {
            let _ = std::fs::write(self.marker("release"), b"");
        }
        let _ = std::fs::remove_file(self.script());
    }
}

// ---- local account ----

/// A real local account (with a home and a known password); removed with its home when
/// dropped.
pub struct LocalAccount {
    pub name: String,
}

impl LocalAccount {
    pub fn create(name: &str) -> LocalAccount {
        sh_ok("useradd", &["-m", name]);
        let account = LocalAccount {
            name: name.to_owned(),
        };
        sh_stdin(
            "chpasswd",
            &[],
            format!("{name}:Initial-Passw0rd-For-Test\n").as_bytes(),
        );
        account
    }

    /// The account's /etc/shadow fields.
    pub fn shadow(&self) -> Vec<String> {
        std::fs::read_to_string("/etc/shadow")
            .unwrap()
            .lines()
            .map(|l| l.split(':').map(str::to_owned).collect::<Vec<_>>())
            .find(|f| f[0] == self.name)
            .unwrap_or_else(|| panic!("{} not in /etc/shadow", self.name))
    }
}

impl Drop for LocalAccount {
    fn drop(&mut self) {
        let _ = sh("userdel", &["-r", &self.name]);
    }
}

// ---- CUPS ----

pub const CUPS_TOOLS: &[&str] = &[
    "lpadmin",
    "lpstat",
    "lp",
    "cancel",
    "cupsenable",
    "cupsdisable",
];

/// `None` when root, the CUPS tools installed and cupsd running; otherwise why not.
pub fn cups_ready() -> Option<String> {
    if let Some(why) = requires_root_and(CUPS_TOOLS) {
        return Some(format!(
            "{why} (CI: apt-get install cups cups-client cups-bsd && service cups start)"
        ));
    }
    let status = sh("lpstat", &["-r"]);
    (!String::from_utf8_lossy(&status.stdout).contains("scheduler is running"))
        .then(|| "cupsd is not running (CI: service cups start)".to_owned())
}

/// A file-backed (`file:/dev/null`) CUPS printer, paused so jobs stay queued; removed
/// (with its jobs) when dropped.
pub struct TestPrinter {
    pub name: String,
}

impl TestPrinter {
    pub fn add_paused(name: &str) -> TestPrinter {
        let printer = TestPrinter {
            name: name.to_owned(),
        };
        sh_ok("lpadmin", &["-p", name, "-E", "-v", "file:/dev/null"]);
        sh_ok("cupsdisable", &[name]);
        printer
    }

    /// Queues a one-line text job.
    pub fn print(&self, doc: &Path) {
        sh_ok("lp", &["-d", &self.name, doc.to_str().unwrap()]);
    }

    /// Jobs still in the queue.
    pub fn queued(&self) -> usize {
        String::from_utf8_lossy(&sh("lpstat", &["-o", &self.name]).stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count()
    }
}

impl Drop for TestPrinter {
    fn drop(&mut self) {
        let _ = sh("cancel", &["-a", &self.name]);
        let _ = sh("lpadmin", &["-x", &self.name]);
    }
}
