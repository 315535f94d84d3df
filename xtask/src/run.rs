//! `cargo xtask run`: the server with demo data, an enrolled endpoint agent on this machine,
//! and the desktop app connected to both, one command from a fresh clone.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::cmd::{self, Result};
use crate::{debian, ui};

const USAGE: &str = "usage: cargo xtask run [--fresh] [--release] [--listen ADDR] [--no-desktop]";
const DEFAULT_LISTEN: &str = "127.0.0.1:7300";

/// Created by `deskside-server demo seed`; all share one password.
const DEMO_PASSWORD: &str = "deskside-demo";
const DEMO_LOGINS: &[(&str, &str)] = &[
    ("admin", "admin"),
    ("sam", "supervisor"),
    ("alice", "agent, tier L1"),
    ("bob", "agent, tier L2"),
    ("carol", "agent, tier L3"),
];

pub fn run(mut args: Vec<String>) -> Result {
    let fresh = cmd::take_flag(&mut args, "--fresh");
    let release = cmd::take_flag(&mut args, "--release");
    let listen = cmd::take_value(&mut args, "--listen")?.unwrap_or_else(|| DEFAULT_LISTEN.into());
    let desktop = !cmd::take_flag(&mut args, "--no-desktop");
    cmd::reject_leftovers(&args, USAGE)?;
    if desktop {
        // The desktop crate embeds ui/dist and links GTK/WebKit.
        debian::ensure_packages(ui::DEBIAN_PACKAGES)?;
        ui::build()?;
    }

    // Debug by default: a cold release build takes several minutes on two cores.
    let profile = if release { "release" } else { "debug" };
    let mut build = cmd::cargo();
    build.args([
        "build",
        "-p",
        "deskside-server",
        "-p",
        "deskside-agent",
        &cmd::jobs_flag(),
    ]);
    if desktop {
        build.args(["-p", "deskside"]);
    }
    if release {
        build.arg("--release");
    }
    cmd::run(&mut build)?;
    let binaries = cmd::target_dir()?.join(profile);
    let server = binaries.join("deskside-server");
    let agent = binaries.join("deskside-agent");

    let deskside_dir = cmd::repo_root().join(".deskside");
    let data_dir = deskside_dir.join("demo");
    // The agent's enrollment belongs to the demo database: both go, or neither.
    let agent_dir = deskside_dir.join("agent");
    if fresh {
        for dir in [&data_dir, &agent_dir] {
            if dir.exists() {
                std::fs::remove_dir_all(dir)
                    .map_err(|error| format!("removing {}: {error}", dir.display()))?;
            }
        }
    }
    if !data_dir.exists() {
        seed_demo_data(&server, &deskside_dir, &data_dir)?;
    }

    let mut server_process = Guard(spawn(
        Command::new(&server)
            .args(["serve", "--listen", &listen, "--data-dir"])
            .arg(&data_dir),
    )?);
    wait_until_listening(&listen, &mut server_process.0)?;
    let url = format!("http://{}", browsable(&listen));
    if !agent_dir.join("agent.json").exists() {
        enroll_agent(&server, &agent, &data_dir, &agent_dir, &url)?;
    }
    // The local bridge socket lives beside the demo's state, not in /run: the demo needs
    // no system-wide setup.
    let agent_socket = deskside_dir.join("agent.sock");
    let _agent_process = Guard(spawn(
        Command::new(&agent)
            .args(["run", "--state-dir"])
            .arg(&agent_dir)
            .arg("--socket")
            .arg(&agent_socket),
    )?);

    print_welcome(&url, &data_dir, &agent_dir);
    let _desktop_process = if desktop {
        start_desktop(
            &binaries.join("deskside"),
            &url,
            &agent_socket,
            &deskside_dir,
        )?
    } else {
        None
    };
    let status = server_process
        .0
        .wait()
        .map_err(|error| format!("waiting for the server: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the server stopped: {status}").into())
    }
}

/// The desktop app as this machine's user sees it, filing through the demo agent and
/// signing agents in to the demo server. Without a display it says how to start it.
fn start_desktop(
    app: &Path,
    url: &str,
    agent_socket: &Path,
    deskside_dir: &Path,
) -> cmd::Result<Option<Guard>> {
    let mut command = Command::new(app);
    command
        .env("DESKSIDE_SERVER_URL", url)
        .env("DESKSIDE_AGENT_SOCKET", agent_socket)
        .env("DESKSIDE_DATA_DIR", deskside_dir.join("desktop"));
    let has_display = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
    if !has_display && cfg!(target_os = "linux") {
        let with_env: Vec<String> = command
            .get_envs()
            .filter_map(|(name, value)| Some(format!("{}={}", name.to_str()?, value?.to_str()?)))
            .chain([app.display().to_string()])
            .collect();
        println!(
            "No display here, so the desktop app is not started. On a machine with one, or under \
             Xvfb (`Xvfb :99 &` then DISPLAY=:99):\n  {}",
            with_env.join(" ")
        );
        return Ok(None);
    }
    Ok(Some(Guard(spawn(&mut command)?)))
}

/// Kills its process when dropped, so neither server nor agent outlives `cargo xtask run`.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(command: &mut Command) -> cmd::Result<Child> {
    println!("$ {}", cmd::describe(command));
    command
        .spawn()
        .map_err(|error| format!("could not start `{}`: {error}", cmd::describe(command)).into())
}

/// Polls until the server accepts connections, with a deadline; fails early if it exits.
fn wait_until_listening(listen: &str, server: &mut Child) -> Result {
    let addresses: Vec<SocketAddr> = browsable(listen)
        .to_socket_addrs()
        .map_err(|error| format!("{listen} is not an address: {error}"))?
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = server.try_wait() {
            return Err(format!("the server exited at start ({status}); see its log above").into());
        }
        if addresses
            .iter()
            .any(|a| TcpStream::connect_timeout(a, Duration::from_millis(200)).is_ok())
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("the server did not listen on {listen} within 30 s").into())
}

/// Enrolls this machine's agent against the demo server with a fresh one-time token.
fn enroll_agent(
    server: &Path,
    agent: &Path,
    data_dir: &Path,
    agent_dir: &Path,
    url: &str,
) -> Result {
    let token = cmd::read(
        Command::new(server)
            .args(["enroll-token", "create", "--data-dir"])
            .arg(data_dir),
    )?;
    cmd::run(
        Command::new(agent)
            .args([
                "enroll",
                "--server",
                url,
                "--token",
                token.trim(),
                "--state-dir",
            ])
            .arg(agent_dir),
    )
}

/// A wildcard address is where the server listens, not where a client can go.
fn browsable(listen: &str) -> String {
    match listen.rsplit_once(':') {
        Some(("0.0.0.0" | "[::]", port)) => format!("127.0.0.1:{port}"),
        _ => listen.to_owned(),
    }
}

/// Seeds into a scratch folder and renames it into place, so a seed that fails halfway
/// is redone next time instead of leaving a half-filled demo that looks finished.
fn seed_demo_data(server: &Path, deskside_dir: &Path, data_dir: &Path) -> Result {
    let partial = deskside_dir.join("demo.partial");
    if partial.exists() {
        std::fs::remove_dir_all(&partial)
            .map_err(|error| format!("removing {}: {error}", partial.display()))?;
    }
    std::fs::create_dir_all(&partial)
        .map_err(|error| format!("creating {}: {error}", partial.display()))?;
    cmd::run(
        Command::new(server)
            .args(["demo", "seed", "--data-dir"])
            .arg(&partial),
    )?;
    std::fs::rename(&partial, data_dir).map_err(|error| {
        format!(
            "moving {} to {}: {error}",
            partial.display(),
            data_dir.display()
        )
    })?;
    Ok(())
}

fn print_welcome(url: &str, data_dir: &Path, agent_dir: &Path) {
    println!();
    println!("Deskside demo server");
    println!("  URL      {url}");
    println!("  API      {url}/api/v1");
    println!("  OpenAPI  {url}/api/v1/openapi.json");
    println!(
        "  data     {} (start over with `cargo xtask run --fresh`)",
        data_dir.display()
    );
    println!(
        "  agent    this machine, enrolled; state in {}",
        agent_dir.display()
    );
    println!();
    println!("Demo logins, all with password `{DEMO_PASSWORD}`:");
    for (username, role) in DEMO_LOGINS {
        println!("  {username:<6} {role}");
    }
    println!();
    println!("The desktop app opens on \"Get help\" as you; \"Console\" signs in a demo agent.");
    println!("Ctrl-C stops the server, the agent and the app.");
    println!();
}
