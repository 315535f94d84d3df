//! `cargo xtask run`: the server with demo data and an enrolled endpoint agent on this
//! machine, one command from a fresh clone.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::cmd::{self, Result};

const USAGE: &str = "usage: cargo xtask run [--fresh] [--release] [--listen ADDR]";
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
    cmd::reject_leftovers(&args, USAGE)?;

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
    let _agent_process = Guard(spawn(
        Command::new(&agent)
            .args(["run", "--state-dir"])
            .arg(&agent_dir),
    )?);

    print_welcome(&url, &data_dir, &agent_dir);
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
    println!("Ctrl-C stops the server and the agent.");
    println!();
}
