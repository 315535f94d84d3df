//! `cargo xtask bench`: release builds, the benchmark driver, then BENCHMARKS.md.

use std::process::Command;

use crate::bench_report;
use crate::cmd::{self, Result};

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

    let results = std::fs::read_to_string(&results_path)
        .map_err(|error| format!("reading {}: {error}", results_path.display()))?;
    let results: serde_json::Value = serde_json::from_str(&results)
        .map_err(|error| format!("{} is not JSON: {error}", results_path.display()))?;
    let report = bench_report::render(&results, &invocation, load_before.as_deref());
    let out = cmd::repo_root().join("BENCHMARKS.md");
    std::fs::write(&out, &report.markdown)
        .map_err(|error| format!("writing {}: {error}", out.display()))?;
    println!(
        "wrote {} (raw figures: {})",
        out.display(),
        results_path.display()
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

/// Never fatal: a missing comparison is reported in BENCHMARKS.md with its reason.
fn ensure_bench_packages() {
    if let Err(error) = crate::debian::ensure_packages(BENCH_DEBIAN_PACKAGES) {
        println!("warning: could not install the benchmark packages: {error}");
    }
}
