//! The desktop app's front end (`ui/`) and the tools around it: npm dependencies, the
//! production build the Tauri crate embeds, and tauri-driver for the WebDriver tests.

use std::path::PathBuf;
use std::process::Command;

use crate::cmd::{self, Result};

/// GTK/WebKit for the Tauri app, an X server and WebKit's WebDriver for the end-to-end
/// tests, and a D-Bus session with GNOME Keyring as the app's credential store there.
pub const DEBIAN_PACKAGES: &[&str] = &[
    "libwebkit2gtk-4.1-dev",
    "libgtk-3-dev",
    "librsvg2-dev",
    "libayatana-appindicator3-dev",
    "libssl-dev",
    "pkg-config",
    "libsoup-3.0-dev",
    "libjavascriptcoregtk-4.1-dev",
    "libxdo-dev",
    "file",
    "xvfb",
    "xauth",
    "webkit2gtk-driver",
    "dbus",
    "dbus-x11",
    "gnome-keyring",
    "libsecret-tools",
];

fn ui_dir() -> PathBuf {
    cmd::repo_root().join("ui")
}

fn npm() -> Command {
    let mut command = Command::new("npm");
    command.current_dir(ui_dir());
    command
}

/// `npm ci` when `node_modules` is missing or older than the lock file.
pub fn install_dependencies() -> Result {
    if !cmd::succeeds(Command::new("npm").arg("--version")) {
        return Err("npm is missing: install Node.js 20.19 or newer (it comes with npm)".into());
    }
    let lock = ui_dir().join("package-lock.json");
    let marker = ui_dir().join("node_modules/.package-lock.json");
    let modified = |path: &PathBuf| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let fresh = matches!((modified(&marker), modified(&lock)), (Some(m), Some(l)) if m >= l);
    if fresh {
        println!("ui/node_modules up to date");
        return Ok(());
    }
    cmd::run(npm().args(["ci", "--no-audit", "--no-fund"]))
}

/// Type check, unit tests, then the production build into `ui/dist` (which the Tauri crate
/// embeds and cannot compile without).
pub fn check_test_and_build() -> Result {
    install_dependencies()?;
    cmd::run(npm().args(["run", "typecheck"]))?;
    cmd::run(npm().args(["test"]))?;
    build()
}

pub fn build() -> Result {
    install_dependencies()?;
    cmd::run(npm().args(["exec", "--", "vite", "build"]))
}

/// tauri-driver, the WebDriver front for Tauri apps, in `~/.cargo/bin`.
pub fn ensure_tauri_driver() -> Result {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    if home.join(".cargo/bin/tauri-driver").is_file()
        || cmd::succeeds(Command::new("tauri-driver").arg("--help"))
    {
        println!("tauri-driver present");
        return Ok(());
    }
    cmd::run(cmd::cargo().args(["install", "tauri-driver", "--locked", &cmd::jobs_flag()]))
}

/// `cargo xtask icons`: every app icon size from the one source drawing `icons/deskside.svg`
/// (rendered at 1024² by librsvg, then cut by `tauri icon`). Mobile sizes are not kept.
pub fn icons(args: Vec<String>) -> Result {
    cmd::reject_leftovers(&args, "usage: cargo xtask icons")?;
    crate::debian::ensure_packages(&["librsvg2-bin"])?;
    install_dependencies()?;
    let icons = cmd::repo_root().join("icons");
    let rendered = cmd::target_dir()?.join("deskside-icon-1024.png");
    cmd::run(
        Command::new("rsvg-convert")
            .args(["-w", "1024", "-h", "1024", "-o"])
            .arg(&rendered)
            .arg(icons.join("deskside.svg")),
    )?;
    cmd::run(
        npm()
            .args(["exec", "--", "tauri", "icon"])
            .arg(&rendered)
            .arg("-o")
            .arg(&icons),
    )?;
    for mobile in ["android", "ios"] {
        let dir = icons.join(mobile);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|e| format!("removing {}: {e}", dir.display()))?;
        }
    }
    Ok(())
}
