//! `cargo xtask bench`: release builds, the benchmark driver, then BENCHMARKS.md.

use std::process::Command;

use crate::bench_report;
use crate::cmd::{self, Result};

const USAGE: &str = "usage: cargo xtask bench [--quick] [-- <deskside-bench run options>]";

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

    cmd::run(cmd::cargo().args([
        "build",
        "--release",
        "-p",
        "deskside-bench",
        &cmd::jobs_flag(),
    ]))?;
    // Built separately so a server that does not compile yet still leaves the baselines
    // to measure; the driver then reports the server benchmarks as not run.
    let server_built = cmd::run(cmd::cargo().args([
        "build",
        "--release",
        "-p",
        "deskside-server",
        &cmd::jobs_flag(),
    ]));
    if let Err(error) = &server_built {
        println!("warning: {error}; measuring the baselines only");
    }

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
    if server_built.is_ok() {
        driver
            .arg("--server")
            .arg(release_dir.join("deskside-server"));
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
