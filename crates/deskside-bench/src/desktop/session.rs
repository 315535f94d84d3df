//! A private desktop session for the app: an X display (Xvfb) and a D-Bus session bus with
//! GNOME Keyring's Secret Service unlocked on it, the credential store a Linux desktop
//! gives the app. Nothing is shared with the machine's own session, if it has one.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use rustix::process::{Pid, Signal, kill_process};

use super::processes::{Guarded, require};

/// The screen every desktop benchmark runs on; the app's window is 1280×800 on it.
pub const SCREEN: &str = "1440x900x24";

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

pub struct DesktopSession {
    /// `:N`, for `DISPLAY`.
    pub display: String,
    pub bus_address: String,
    bus_pid: u32,
    // Dropped in this order: the keyring, then the X server.
    _keyring: Guarded,
    _xvfb: Guarded,
}

impl DesktopSession {
    /// Starts Xvfb, a session bus and GNOME Keyring, with their logs and the keyring's
    /// files in `dir`.
    pub fn start(dir: &Path) -> anyhow::Result<DesktopSession> {
        require(&[
            ("Xvfb", "apt-get install xvfb"),
            ("dbus-daemon", "apt-get install dbus"),
            ("dbus-send", "apt-get install dbus"),
            ("gnome-keyring-daemon", "apt-get install gnome-keyring"),
            ("secret-tool", "apt-get install libsecret-tools"),
        ])?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let (display, xvfb) = start_xvfb(&dir.join("xvfb.log"))?;
        let keyring_home = dir.join("keyring");
        std::fs::create_dir_all(&keyring_home)?;
        let (bus_address, bus_pid) = start_bus(&keyring_home)?;
        // From here on a failure must stop the bus too: own it before anything can fail.
        let mut bus = BusGuard(Some(bus_pid));
        let keyring = start_keyring(&bus_address, &keyring_home, &dir.join("keyring.log"))?;
        bus.0 = None;
        Ok(DesktopSession {
            display,
            bus_address,
            bus_pid,
            _keyring: keyring,
            _xvfb: xvfb,
        })
    }

    /// Puts `command` in this session: its display and its bus.
    pub fn apply(&self, command: &mut Command) {
        command
            .env("DISPLAY", &self.display)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus_address);
    }
}

impl Drop for DesktopSession {
    fn drop(&mut self) {
        stop_bus(self.bus_pid);
    }
}

/// Stops a forked bus daemon if session start-up fails after it started.
struct BusGuard(Option<u32>);

impl Drop for BusGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            stop_bus(pid);
        }
    }
}

fn stop_bus(pid: u32) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = kill_process(pid, Signal::TERM);
    }
}

/// `-displayfd 1`: Xvfb picks a free display itself and writes its number to stdout once it
/// accepts connections, so no display number is guessed and none is waited for.
fn start_xvfb(log: &Path) -> anyhow::Result<(String, Guarded)> {
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            SCREEN,
            "-nolisten",
            "tcp",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log)?)
        .spawn()
        .context("starting Xvfb")?;
    let stdout = child.stdout.take().context("Xvfb's stdout was not piped")?;
    let xvfb = Guarded::adopt("Xvfb", child, log);
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = sender.send(line.trim().to_owned());
    });
    let number = receiver
        .recv_timeout(STARTUP_TIMEOUT)
        .context("Xvfb named no display in time")?;
    if number.is_empty() {
        bail!("Xvfb did not start{}", crate::child::log_tail(log));
    }
    Ok((format!(":{number}"), xvfb))
}

/// A session bus of its own; the bus hands its environment to services it activates, so a
/// Secret Service it started by itself would use the same private keyring directory.
fn start_bus(keyring_home: &Path) -> anyhow::Result<(String, u32)> {
    let out = Command::new("dbus-daemon")
        .args(["--session", "--fork", "--print-address=1", "--print-pid=1"])
        .env("XDG_DATA_HOME", keyring_home)
        .stdin(Stdio::null())
        .output()
        .context("starting dbus-daemon")?;
    if !out.status.success() {
        bail!(
            "dbus-daemon failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines().map(str::trim);
    let address = lines.next().filter(|a| !a.is_empty());
    let pid = lines.next().and_then(|pid| pid.parse().ok());
    match (address, pid) {
        (Some(address), Some(pid)) => Ok((address.to_owned(), pid)),
        _ => bail!("dbus-daemon printed no address and pid: {text:?}"),
    }
}

/// GNOME Keyring with its login keyring unlocked; the password comes on stdin (an empty one
/// would make it ask a prompter, which needs a display). Returns once a secret can be
/// stored.
fn start_keyring(bus_address: &str, keyring_home: &Path, log: &Path) -> anyhow::Result<Guarded> {
    let file = std::fs::File::create(log)?;
    let child = Command::new("gnome-keyring-daemon")
        .args(["--foreground", "--unlock", "--components=secrets"])
        .env("DBUS_SESSION_BUS_ADDRESS", bus_address)
        .env("XDG_DATA_HOME", keyring_home)
        .stdin(Stdio::piped())
        .stdout(file.try_clone()?)
        .stderr(file)
        .spawn()
        .context("starting gnome-keyring-daemon")?;
    let mut keyring = Guarded::adopt("gnome-keyring-daemon", child, log);
    if let Some(mut stdin) = keyring.child_mut().stdin.take() {
        stdin.write_all(b"deskside-bench")?;
    }
    // Asking whether the name has an owner activates nothing, unlike a call to the Secret
    // Service itself, which would race this daemon with one the bus starts.
    poll("gnome-keyring on the session bus", || {
        Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ])
            .env("DBUS_SESSION_BUS_ADDRESS", bus_address)
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("boolean true"))
    })?;
    poll("the Secret Service to store a secret", || {
        Command::new("secret-tool")
            .args(["store", "--label=probe", "deskside-bench", "probe"])
            .env("DBUS_SESSION_BUS_ADDRESS", bus_address)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    })?;
    keyring.ensure_running()?;
    Ok(keyring)
}

fn poll(what: &str, mut ready: impl FnMut() -> bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(10);
    while !ready() {
        if started.elapsed() > STARTUP_TIMEOUT {
            bail!("timed out waiting for {what}");
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(200));
    }
    Ok(())
}

/// A fresh directory per launch, holding everything the app and WebKit write: the app's
/// data (`DESKSIDE_DATA_DIR`) and WebKit's storage and caches (the XDG directories), so
/// every launch is a first launch.
pub struct FreshHome {
    pub root: PathBuf,
}

impl FreshHome {
    pub fn create(root: PathBuf) -> anyhow::Result<FreshHome> {
        if root.exists() {
            std::fs::remove_dir_all(&root)
                .with_context(|| format!("removing {}", root.display()))?;
        }
        for sub in ["data", "xdg-data", "xdg-cache", "xdg-config"] {
            std::fs::create_dir_all(root.join(sub))
                .with_context(|| format!("creating {}", root.display()))?;
        }
        Ok(FreshHome { root })
    }

    /// The XDG directories, for the app and for the baseline browser alike.
    pub fn apply_xdg(&self, command: &mut Command) {
        command
            .env("XDG_DATA_HOME", self.root.join("xdg-data"))
            .env("XDG_CACHE_HOME", self.root.join("xdg-cache"))
            .env("XDG_CONFIG_HOME", self.root.join("xdg-config"));
    }

    /// Everything the app reads from its environment: this home, the server, no agent (the
    /// socket path does not exist), and its log at info level, uncoloured.
    pub fn apply_app(&self, command: &mut Command, server_url: &str) {
        self.apply_xdg(command);
        command
            .env("DESKSIDE_DATA_DIR", self.root.join("data"))
            .env("DESKSIDE_SERVER_URL", server_url)
            .env("DESKSIDE_AGENT_SOCKET", self.root.join("no-agent.sock"))
            .env("DESKSIDE_LOG", "info")
            .env("NO_COLOR", "1");
    }
}
