//! `cargo xtask run`: the server with demo data, one command from a fresh clone.

use std::path::Path;
use std::process::Command;

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
    build.args(["build", "-p", "deskside-server", &cmd::jobs_flag()]);
    if release {
        build.arg("--release");
    }
    cmd::run(&mut build)?;
    let server = cmd::target_dir()?.join(profile).join("deskside-server");

    let deskside_dir = cmd::repo_root().join(".deskside");
    let data_dir = deskside_dir.join("demo");
    if fresh && data_dir.exists() {
        std::fs::remove_dir_all(&data_dir)
            .map_err(|error| format!("removing {}: {error}", data_dir.display()))?;
    }
    if !data_dir.exists() {
        seed_demo_data(&server, &deskside_dir, &data_dir)?;
    }

    print_welcome(&listen, &data_dir);
    serve(
        Command::new(&server)
            .args(["serve", "--listen", &listen, "--data-dir"])
            .arg(&data_dir),
    )
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

fn print_welcome(listen: &str, data_dir: &Path) {
    // A wildcard address is where the server listens, not where a browser can go.
    let url_host = match listen.rsplit_once(':') {
        Some(("0.0.0.0" | "[::]", port)) => format!("127.0.0.1:{port}"),
        _ => listen.to_owned(),
    };
    let url = format!("http://{url_host}");
    println!();
    println!("Deskside demo server");
    println!("  URL      {url}");
    println!("  API      {url}/api/v1");
    println!("  OpenAPI  {url}/api/v1/openapi.json");
    println!(
        "  data     {} (start over with `cargo xtask run --fresh`)",
        data_dir.display()
    );
    println!();
    println!("Demo logins, all with password `{DEMO_PASSWORD}`:");
    for (username, role) in DEMO_LOGINS {
        println!("  {username:<6} {role}");
    }
    println!();
    println!("Ctrl-C stops the server.");
    println!();
}

/// Hands the terminal to the server: on Unix xtask becomes the server process, so Ctrl-C
/// reaches it directly and its exit status is ours, with no process left behind.
#[cfg(unix)]
fn serve(command: &mut Command) -> Result {
    use std::os::unix::process::CommandExt as _;
    println!("$ {}", cmd::describe(command));
    let error = command.exec();
    Err(format!("could not start `{}`: {error}", cmd::describe(command)).into())
}

#[cfg(not(unix))]
fn serve(command: &mut Command) -> Result {
    cmd::run(command)
}
