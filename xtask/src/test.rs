//! `cargo xtask test`: everything CI checks, in the order that fails cheapest first.

use std::process::Command;
use std::time::Instant;

use crate::cmd::{self, Result};
use crate::debian::{self, running_as_root};
use crate::ui;

const USAGE: &str = "usage: cargo xtask test";

/// Debian packages the tests need besides the desktop app's (`ui::DEBIAN_PACKAGES`). The C
/// compiler builds the bundled SQLite; CUPS gives the remediation tests a real print
/// spooler to clear.
const DEBIAN_PACKAGES: &[&str] = &["build-essential", "cups", "cups-client", "cups-bsd"];

/// Rust components the checks call.
const RUST_COMPONENTS: &[(&str, &str)] = &[("rustfmt", "fmt"), ("clippy", "clippy")];

struct Step {
    name: &'static str,
    run: fn() -> Result,
}

/// The steps, in order. Later issues add theirs at the marked places.
const STEPS: &[Step] = &[
    Step {
        name: "prerequisites",
        run: ensure_prerequisites,
    },
    // Before the Rust checks: the desktop crate cannot compile without ui/dist.
    Step {
        name: "ui (typecheck, unit tests, build)",
        run: ui::check_test_and_build,
    },
    Step {
        name: "fmt",
        run: check_formatting,
    },
    Step {
        name: "clippy",
        run: clippy,
    },
    // The end-to-end tests (tests/) run these binaries as separate processes.
    Step {
        name: "build the binaries",
        run: build_binaries,
    },
    // Every crate's tests, the bindings freshness check, and the end-to-end tests across
    // real processes (server, agent, desktop app under Xvfb over WebDriver).
    Step {
        name: "rust tests",
        run: rust_tests,
    },
];

pub fn test(args: Vec<String>) -> Result {
    cmd::reject_leftovers(&args, USAGE)?;
    let started = Instant::now();
    for (index, step) in STEPS.iter().enumerate() {
        println!();
        println!(
            "==> xtask test [{}/{}] {}",
            index + 1,
            STEPS.len(),
            step.name
        );
        let step_started = Instant::now();
        if let Err(error) = (step.run)() {
            return Err(format!(
                "step \"{}\" failed after {:.0?}: {error}\n(steps before it passed; total {:.0?})",
                step.name,
                step_started.elapsed(),
                started.elapsed()
            )
            .into());
        }
    }
    // Nothing printed after success: the closing line stays the test totals.
    Ok(())
}

fn ensure_prerequisites() -> Result {
    let packages: Vec<&str> = DEBIAN_PACKAGES
        .iter()
        .chain(ui::DEBIAN_PACKAGES)
        .copied()
        .collect();
    debian::ensure_packages(&packages)?;
    ensure_rust_components();
    ensure_cups_running();
    ui::ensure_tauri_driver()
}

fn build_binaries() -> Result {
    cmd::run(cmd::cargo().args([
        "build",
        &cmd::jobs_flag(),
        "-p",
        "deskside",
        "-p",
        "deskside-agent",
        "-p",
        "deskside-server",
    ]))
}

/// The print-queue tests need a running cupsd. Machines without systemd (CI here) do not
/// start it on install; without it those tests skip and say so, so failing here is not fatal.
fn ensure_cups_running() {
    // `lpstat -r` exits 0 either way; only its words tell.
    let state = cmd::read(Command::new("lpstat").arg("-r")).unwrap_or_default();
    if state.trim() == "scheduler is running" {
        println!("CUPS scheduler running");
        return;
    }
    if !running_as_root() {
        println!(
            "CUPS scheduler not running; the print-queue tests will skip (start it with `sudo service cups start`)"
        );
        return;
    }
    if let Err(error) = cmd::run(Command::new("service").args(["cups", "start"])) {
        println!("warning: could not start CUPS ({error}); the print-queue tests will skip");
    }
}

/// Best effort: offline machines that already have the components must still pass.
fn ensure_rust_components() {
    for &(component, cargo_subcommand) in RUST_COMPONENTS {
        if cmd::succeeds(cmd::cargo().args([cargo_subcommand, "--version"])) {
            println!("Rust component present: {component}");
            continue;
        }
        if let Err(error) = cmd::run(Command::new("rustup").args(["component", "add", component])) {
            println!("warning: could not add the Rust component {component}: {error}");
        }
    }
}

fn check_formatting() -> Result {
    cmd::run(cmd::cargo().args(["fmt", "--all", "--", "--check"]))
        .map_err(|error| format!("{error}\nrun `cargo fmt --all` to fix the formatting").into())
}

fn clippy() -> Result {
    cmd::run(cmd::cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        &cmd::jobs_flag(),
        "--",
        "-D",
        "warnings",
    ]))
}

/// Runs the tests, echoing cargo's output, and ends with one plain total line: cargo's own
/// last line belongs to whichever test binary ran last (often a doc-test run with no tests),
/// which says nothing about the run as a whole.
fn rust_tests() -> Result {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let mut command = cmd::cargo();
    command
        .args(["test", "--workspace", &cmd::jobs_flag()])
        .stdout(Stdio::piped());
    let description = cmd::describe(&command);
    let mut child = command
        .spawn()
        .map_err(|error| format!("cannot start {description}: {error}"))?;
    let mut totals = TestTotals::default();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|error| format!("reading {description}: {error}"))?;
            println!("{line}");
            totals.add(&line);
        }
    }
    let status = child
        .wait()
        .map_err(|error| format!("waiting for {description}: {error}"))?;
    println!();
    println!(
        "rust tests: {} passed, {} failed",
        totals.passed, totals.failed
    );
    if status.success() {
        Ok(())
    } else {
        Err(format!("{description} failed ({status})").into())
    }
}

/// Sums cargo's per-binary `test result: ok. 12 passed; 0 failed; …` lines.
#[derive(Debug, Default, PartialEq, Eq)]
struct TestTotals {
    passed: u64,
    failed: u64,
}

impl TestTotals {
    fn add(&mut self, line: &str) {
        let Some(summary) = line.strip_prefix("test result: ") else {
            return;
        };
        for part in summary.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(label), Some(count)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(count) = count.parse::<u64>() else {
                continue;
            };
            match label {
                "passed" => self.passed += count,
                "failed" => self.failed += count,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TestTotals;

    #[test]
    fn sums_cargo_summaries() {
        let mut totals = TestTotals::default();
        for line in [
            "test result: ok. 12 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s",
            "running 3 tests",
            "test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.2s",
            "test passed_thing ... ok",
        ] {
            totals.add(line);
        }
        assert_eq!(
            totals,
            TestTotals {
                passed: 14,
                failed: 1
            }
        );
    }
}
