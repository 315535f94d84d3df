//! Debian packages the automation needs, installed only when missing.

use std::process::Command;

use crate::cmd::{self, Result};

/// Installs the packages that are missing, when this is Debian and we are root; otherwise
/// prints the exact command to run.
pub fn ensure_packages(packages: &[&str]) -> Result {
    if !cmd::succeeds(Command::new("dpkg-query").arg("--version")) {
        println!(
            "Not a Debian system: make sure the equivalents of these are installed: {}",
            packages.join(" ")
        );
        return Ok(());
    }
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| !debian_package_installed(package))
        .collect();
    if missing.is_empty() {
        println!("Debian packages present: {}", packages.join(" "));
        return Ok(());
    }

    let mut install = Command::new("apt-get");
    // Another apt may hold the lock right after boot.
    install.args([
        "-o",
        "DPkg::Lock::Timeout=300",
        "install",
        "-y",
        "--no-install-recommends",
    ]);
    install
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive");
    if !running_as_root() {
        // Not fatal: the machine may have what is needed under other package names.
        println!(
            "Missing Debian packages: {}. Not root, so not installing them; run:\n  sudo apt-get update && sudo {}",
            missing.join(" "),
            cmd::describe(&install)
        );
        return Ok(());
    }
    cmd::run(
        Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=300", "update"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    cmd::run(&mut install)
}

/// Installed, not merely known: `dpkg -s` also succeeds for removed packages whose
/// configuration files remain.
fn debian_package_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${db:Status-Status}", package])
        .output()
        .is_ok_and(|output| output.status.success() && output.stdout == b"installed")
}

pub fn running_as_root() -> bool {
    // The effective uid is the second field of `Uid:`; std has no getuid without unsafe.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|uids| uids.split_whitespace().nth(1).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}
