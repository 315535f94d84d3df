//! `cargo xtask bench`: release builds, the benchmark driver, then BENCHMARKS.md.
//!
//! Each run's raw figures go to `target/bench/results.json`, and are merged into the
//! record of earlier runs on this machine (`target/bench/record.json`, quick runs in
//! `record-quick.json`): a run of a few benchmarks (`-- --only NAME,…`) replaces their
//! sections in BENCHMARKS.md and keeps the others', which name the run they come from.

use std::process::Command;

use crate::bench_report::{self, RunInfo};
use crate::cmd::{self, Result};
use crate::{machine, ui};

const USAGE: &str = "usage: cargo xtask bench [--quick] [-- <deskside-bench run options>]";

/// Debian packages only the benchmarks need: FusionInventory's local inventory is the
/// comparison for the agent's diagnostics snapshot. Installed when running as root;
/// without it that one comparison fails and says why, the rest still runs.
const BENCH_DEBIAN_PACKAGES: &[&str] = &["fusioninventory-agent"];

pub fn bench(mut args: Vec<String>) -> Result {
    let driver_args = match args.iter().position(|arg| arg == "--") {
        Some(separator) => args.split_off(separator).split_off(1),
        None => Vec::new(),
    };
    let quick = cmd::take_flag(&mut args, "--quick");
    cmd::reject_leftovers(&args, USAGE)?;
    let mut invocation = vec!["cargo", "xtask", "bench"];
    if quick {
        invocation.push("--quick");
    }
    if !driver_args.is_empty() {
        invocation.push("--");
        invocation.extend(driver_args.iter().map(String::as_str));
    }
    let invocation = invocation.join(" ");

    ensure_bench_packages();
    cmd::run(cmd::cargo().args([
        "build",
        "--release",
        "-p",
        "deskside-bench",
        &cmd::jobs_flag(),
    ]))?;
    // Built separately so a server or agent that does not compile yet still leaves the
    // other benchmarks to measure; the driver then reports its benchmarks as not run.
    let build = |package: &str| {
        let built =
            cmd::run(cmd::cargo().args(["build", "--release", "-p", package, &cmd::jobs_flag()]));
        if let Err(error) = &built {
            println!("warning: {error}; the benchmarks that need {package} will not run");
        }
        built.is_ok()
    };
    let server_built = build("deskside-server");
    let agent_built = build("deskside-agent");
    let app_built = wants_desktop(&driver_args) && build_app();

    let target_dir = cmd::target_dir()?;
    let release_dir = target_dir.join("release");
    let work_dir = target_dir.join("bench");
    let results_path = work_dir.join("results.json");
    std::fs::create_dir_all(&work_dir)
        .map_err(|error| format!("creating {}: {error}", work_dir.display()))?;

    let mut driver = Command::new(release_dir.join("deskside-bench"));
    driver
        .arg("run")
        .arg("--work-dir")
        .arg(&work_dir)
        .arg("--out")
        .arg(&results_path)
        .current_dir(cmd::repo_root());
    if server_built {
        driver
            .arg("--server")
            .arg(release_dir.join("deskside-server"));
    }
    if agent_built {
        driver
            .arg("--agent")
            .arg(release_dir.join("deskside-agent"));
    }
    if app_built {
        driver.arg("--app").arg(release_dir.join("deskside"));
    }
    if quick {
        driver.arg("--quick");
    }
    driver.args(&driver_args);
    let load_before = std::fs::read_to_string("/proc/loadavg").ok().map(|load| {
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(", ")
    });
    cmd::run(&mut driver)?;

    let results = read_json(&results_path)?;
    let record_path = work_dir.join(if results["settings"]["quick"] == true {
        "record-quick.json"
    } else {
        "record.json"
    });
    // A missing or unreadable record only means nothing earlier to keep.
    let record = read_json(&record_path).ok();
    let record = bench_report::merge(
        record,
        results,
        RunInfo {
            date: machine::utc_now(),
            command: &invocation,
            commit: machine::commit(),
            load_before: load_before.as_deref(),
        },
    );
    let record_json = serde_json::to_string_pretty(&record)
        .map_err(|error| format!("encoding the record: {error}"))?;
    std::fs::write(&record_path, record_json + "\n")
        .map_err(|error| format!("writing {}: {error}", record_path.display()))?;
    let report = bench_report::render(&record);
    let out = cmd::repo_root().join("BENCHMARKS.md");
    std::fs::write(&out, &report.markdown)
        .map_err(|error| format!("writing {}: {error}", out.display()))?;
    println!(
        "wrote {} (raw figures: {}; every run kept: {})",
        out.display(),
        results_path.display(),
        record_path.display()
    );

    if report.failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} benchmark(s) failed: {} (details in BENCHMARKS.md)",
            report.failures.len(),
            report.failures.join(", ")
        )
        .into())
    }
}

fn read_json(path: &std::path::Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("reading {}: {error}", path.display()))?;
    Ok(serde_json::from_str(&text)
        .map_err(|error| format!("{} is not JSON: {error}", path.display()))?)
}

/// Whether the driver's options ask for a desktop benchmark: all do without `--only`.
fn wants_desktop(driver_args: &[String]) -> bool {
    let mut only: Vec<&str> = Vec::new();
    let mut args = driver_args.iter();
    while let Some(arg) = args.next() {
        if arg == "--only" {
            only.extend(args.next().map(String::as_str));
        } else if let Some(names) = arg.strip_prefix("--only=") {
            only.push(names);
        }
    }
    only.is_empty()
        || only
            .iter()
            .flat_map(|names| names.split(','))
            .any(|name| name.starts_with("desktop-"))
}

/// The desktop app in release with the UI built in (the UI first: the app embeds
/// `ui/dist`), and tauri-driver for the queue benchmark. Not fatal: without the app the
/// desktop benchmarks say they did not run.
fn build_app() -> bool {
    if let Err(error) = ui::ensure_tauri_driver() {
        println!("warning: {error}; the console queue benchmark will not run");
    }
    let built = ui::build().and_then(|()| {
        cmd::run(cmd::cargo().args(["build", "--release", "-p", "deskside", &cmd::jobs_flag()]))
    });
    if let Err(error) = &built {
        println!("warning: {error}; the desktop benchmarks will not run");
    }
    built.is_ok()
}

/// Never fatal: a missing comparison is reported in BENCHMARKS.md with its reason.
fn ensure_bench_packages() {
    // The desktop app's: GTK/WebKit to build it, Xvfb, D-Bus, GNOME Keyring and
    // WebKitWebDriver to run it.
    let packages: Vec<&str> = BENCH_DEBIAN_PACKAGES
        .iter()
        .chain(ui::DEBIAN_PACKAGES)
        .copied()
        .collect();
    if let Err(error) = crate::debian::ensure_packages(&packages) {
        println!("warning: could not install the benchmark packages: {error}");
    }
}
