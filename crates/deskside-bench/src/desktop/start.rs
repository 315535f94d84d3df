//! Cold start to interactive, and idle memory, of the release app; both beside WebKitGTK's
//! MiniBrowser showing a one-line page, measured the same way in the same run: the floor
//! any app on this web view stands on.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::launch::{BaselinePage, INTERACTIVE_TIMEOUT, Launched, MINIBROWSER, launch_app};
use super::processes::{ProcessMemory, tree_memory};
use super::session::{DesktopSession, FreshHome};
use crate::latency::{LatencySummary, summarize};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartReport {
    /// Measured starts of each program, after one unmeasured start of each.
    pub runs: usize,
    pub screen: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<AppStarts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineStarts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppStarts {
    /// Spawn to the interactive line, as the driver saw it.
    pub wall: LatencySummary,
    /// The app's `main` to its first request from the window, as the app logged it.
    pub in_app: LatencySummary,
    /// Spawn to `main`, the rest of the wall time: exec, dynamic linking, static set-up.
    pub before_main: LatencySummary,
    pub wall_samples_ms: Vec<f64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BaselineStarts {
    pub description: String,
    pub command: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wall: Option<LatencySummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

const BASELINE_DESCRIPTION: &str = "WebKitGTK's MiniBrowser (same WebKit, same display) \
    opening a one-line local page whose script makes one request: spawn to that request";

fn baseline_command() -> String {
    format!("{MINIBROWSER} http://127.0.0.1:PORT/?run=N")
}

/// `runs` cold starts of the app and of the baseline, alternating, each with a fresh home
/// (app data, WebKit storage and caches): spawn, wait for the interactive signal, SIGTERM.
pub fn measure_start(
    app: &Path,
    session: &DesktopSession,
    server_url: &str,
    runs: usize,
    dir: &Path,
) -> StartReport {
    let mut report = StartReport {
        runs,
        screen: super::session::SCREEN.to_owned(),
        app: None,
        baseline: None,
        error: None,
    };
    let page = BaselinePage::serve();
    let mut baseline_error = page.as_ref().err().map(|error| format!("{error:#}"));
    let mut app_samples = Vec::new();
    let mut baseline_samples = Vec::new();
    // Run 0 is not measured: it brings the binaries and libraries into the OS file cache, as
    // they are for every start but the first after boot.
    for run in 0..=runs {
        let outcome = start_once(dir, "app", run, |home, log| {
            launch_app(app, session, home, server_url, log)
        });
        match outcome {
            Ok(start) if run > 0 => app_samples.push(start),
            Ok(_) => {}
            Err(error) => {
                report.error = Some(format!("start {run}: {error:#}"));
                break;
            }
        }
        if let (Ok(page), true) = (&page, baseline_error.is_none()) {
            match start_once(dir, "baseline", run, |home, log| {
                page.launch(run, session, home, log)
            }) {
                Ok(start) if run > 0 => baseline_samples.push(start.wall),
                Ok(_) => {}
                Err(error) => baseline_error = Some(format!("baseline start {run}: {error:#}")),
            }
        }
    }
    if report.error.is_none() {
        report.app = app_figures(&app_samples);
        if let Some(app) = &report.app {
            eprintln!(
                "[bench]   cold start: p50 {:.0} ms, p95 {:.0} ms (in the app {:.0} ms, before main {:.0} ms)",
                app.wall.p50_ms, app.wall.p95_ms, app.in_app.p50_ms, app.before_main.p50_ms
            );
        }
    }
    let wall = summarize(baseline_samples.iter().map(nanos).collect());
    if let Some(wall) = &wall {
        eprintln!(
            "[bench]   baseline (MiniBrowser): p50 {:.0} ms, p95 {:.0} ms",
            wall.p50_ms, wall.p95_ms
        );
    }
    if let Some(error) = &baseline_error {
        eprintln!("[bench]   baseline FAILED: {error}");
    }
    report.baseline = Some(BaselineStarts {
        description: BASELINE_DESCRIPTION.to_owned(),
        command: baseline_command(),
        wall,
        error: baseline_error,
    });
    report
}

/// One start in a fresh home; the home is removed afterwards, the log kept.
fn start_once(
    dir: &Path,
    name: &str,
    run: usize,
    launch: impl FnOnce(&FreshHome, &Path) -> anyhow::Result<Launched>,
) -> anyhow::Result<super::launch::Interactive> {
    let home = FreshHome::create(dir.join("home"))?;
    let log = dir.join(format!("{name}-start-{run}.log"));
    let outcome = (|| {
        let mut launched = launch(&home, &log)?;
        launched.wait_interactive(INTERACTIVE_TIMEOUT)
        // Dropping `launched` stops it: SIGTERM, then wait.
    })();
    let _ = std::fs::remove_dir_all(&home.root);
    outcome
}

fn app_figures(samples: &[super::launch::Interactive]) -> Option<AppStarts> {
    let in_app: Vec<Duration> = samples.iter().filter_map(|s| s.in_app).collect();
    let before_main = samples
        .iter()
        .filter_map(|s| Some(s.wall.saturating_sub(s.in_app?)))
        .collect::<Vec<_>>();
    Some(AppStarts {
        wall: summarize(samples.iter().map(|s| nanos(&s.wall)).collect())?,
        in_app: summarize(in_app.iter().map(nanos).collect())?,
        before_main: summarize(before_main.iter().map(nanos).collect())?,
        wall_samples_ms: samples
            .iter()
            .map(|s| (s.wall.as_secs_f64() * 1e4).round() / 10.0)
            .collect(),
    })
}

fn nanos(duration: &Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryReport {
    pub idle_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<TreeMemory>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<TreeMemory>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A program and every process below it (WebKit's web and network processes).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TreeMemory {
    pub processes: Vec<ProcessMemory>,
    pub total_rss_kib: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_pss_kib: Option<u64>,
}

impl TreeMemory {
    pub fn of(root: u32) -> TreeMemory {
        let processes = tree_memory(root);
        TreeMemory {
            total_rss_kib: processes.iter().map(|p| p.rss_kib).sum(),
            total_pss_kib: processes.iter().map(|p| p.pss_kib).sum(),
            processes,
        }
    }
}

/// Starts the app, waits until it is interactive, leaves it idle for `idle`, then reads the
/// memory of it and every process below it; the same for the baseline.
pub fn measure_memory(
    app: &Path,
    session: &DesktopSession,
    server_url: &str,
    idle: Duration,
    dir: &Path,
) -> MemoryReport {
    let mut report = MemoryReport {
        idle_seconds: idle.as_secs_f64(),
        app: None,
        baseline: None,
        baseline_error: None,
        error: None,
    };
    match idle_memory(dir, "app", idle, |home, log| {
        launch_app(app, session, home, server_url, log)
    }) {
        Ok(memory) => {
            eprintln!(
                "[bench]   idle app: RSS {:.1} MiB in {} processes",
                memory.total_rss_kib as f64 / 1024.0,
                memory.processes.len()
            );
            report.app = Some(memory);
        }
        Err(error) => {
            eprintln!("[bench]   FAILED: {error:#}");
            report.error = Some(format!("{error:#}"));
        }
    }
    let baseline = BaselinePage::serve().and_then(|page| {
        idle_memory(dir, "baseline", idle, |home, log| {
            page.launch(0, session, home, log)
        })
    });
    match baseline {
        Ok(memory) => {
            eprintln!(
                "[bench]   idle baseline (MiniBrowser): RSS {:.1} MiB",
                memory.total_rss_kib as f64 / 1024.0
            );
            report.baseline = Some(memory);
        }
        Err(error) => report.baseline_error = Some(format!("{error:#}")),
    }
    report
}

fn idle_memory(
    dir: &Path,
    name: &str,
    idle: Duration,
    launch: impl FnOnce(&FreshHome, &Path) -> anyhow::Result<Launched>,
) -> anyhow::Result<TreeMemory> {
    let home = FreshHome::create(dir.join("home"))?;
    let outcome = (|| {
        let mut launched = launch(&home, &dir.join(format!("memory-{name}.log")))?;
        launched.wait_interactive(INTERACTIVE_TIMEOUT)?;
        // Idle is the measurement: what the app holds while it sits open.
        std::thread::sleep(idle);
        launched.process.ensure_running()?;
        Ok(TreeMemory::of(launched.pid()))
    })();
    let _ = std::fs::remove_dir_all(&home.root);
    outcome
}
