//! The desktop app's benchmarks: cold start to interactive and idle memory of the release
//! `deskside` binary in a private desktop session (Xvfb, D-Bus, GNOME Keyring), the
//! console's queue over a large history driven through WebDriver, and incremental sync
//! through `deskside-client`. Each is reported with its reason if it cannot run, and the
//! others still run.

mod launch;
mod processes;
mod queue;
mod session;
mod start;
mod sync;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;

use crate::child::ServerProcess;
use crate::deskside;
use crate::run::{self, RunPlan};
use queue::{QueueReport, QueueSetup};
use session::DesktopSession;
use start::{MemoryReport, StartReport};
use sync::SyncReport;

pub const START: &str = "desktop-start";
pub const MEMORY: &str = "desktop-memory";
pub const QUEUE: &str = "desktop-queue";
pub const SYNC: &str = "desktop-sync";
/// In the order they run.
pub const NAMES: [&str; 4] = [START, MEMORY, QUEUE, SYNC];

pub struct DesktopPlan {
    /// Measured cold starts (each program also starts once unmeasured).
    pub starts: usize,
    /// How long the app sits idle before its memory is read.
    pub idle: Duration,
    /// Tickets in the history the queue and sync benchmarks run on.
    pub history_tickets: u64,
    /// Random jumps in the scrolled queue.
    pub queue_jumps: usize,
    /// Measured syncs after 10 changes (and as many with none).
    pub sync_iterations: usize,
}

/// The four sections of the results, each present only when its benchmark was asked for.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DesktopReports {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desktop_start: Option<StartReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desktop_memory: Option<MemoryReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desktop_queue: Option<QueueReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desktop_sync: Option<SyncReport>,
}

pub fn measure(plan: &RunPlan, work_dir: &Path) -> DesktopReports {
    let mut reports = DesktopReports::default();
    let wants = |name: &str| plan.wants(name);
    if !NAMES.iter().any(|name| wants(name)) {
        return reports;
    }
    let dir = work_dir.join("desktop");
    // One private desktop session for every benchmark that shows a window.
    let needs_window = wants(START) || wants(MEMORY) || wants(QUEUE);
    let session = needs_window.then(|| {
        app_binary(plan)?;
        DesktopSession::start(&dir.join("session")).context("starting the desktop session")
    });
    let session = session.map(|outcome| outcome.map_err(|error| format!("{error:#}")));

    if wants(START) || wants(MEMORY) {
        // The server the app talks to: the demo desk, small.
        let small_desk = run::start_demo_server(plan, work_dir, "desktop-server")
            .map_err(|error| format!("{error:#}"));
        if wants(START) {
            eprintln!(
                "[bench] {START}: {} cold starts of the app, each with a fresh home",
                plan.desktop.starts
            );
            reports.desktop_start = Some(
                with_window(&session, &small_desk, |session, url| {
                    let dir = run::fresh_dir(&dir, START)?;
                    Ok(start::measure_start(
                        app_binary(plan)?,
                        session,
                        url,
                        plan.desktop.starts,
                        &dir,
                    ))
                })
                .unwrap_or_else(|error| StartReport {
                    runs: plan.desktop.starts,
                    screen: session::SCREEN.to_owned(),
                    app: None,
                    baseline: None,
                    error: Some(failed(error)),
                }),
            );
        }
        if wants(MEMORY) {
            eprintln!(
                "[bench] {MEMORY}: the app idle for {} s, then the memory of its processes",
                plan.desktop.idle.as_secs()
            );
            reports.desktop_memory = Some(
                with_window(&session, &small_desk, |session, url| {
                    let dir = run::fresh_dir(&dir, MEMORY)?;
                    Ok(start::measure_memory(
                        app_binary(plan)?,
                        session,
                        url,
                        plan.desktop.idle,
                        &dir,
                    ))
                })
                .unwrap_or_else(|error| MemoryReport {
                    idle_seconds: plan.desktop.idle.as_secs_f64(),
                    app: None,
                    baseline: None,
                    baseline_error: None,
                    error: Some(failed(error)),
                }),
            );
        }
        if let Ok((server, data_dir)) = small_desk {
            drop(server);
            let _ = std::fs::remove_dir_all(data_dir);
        }
    }

    if wants(QUEUE) || wants(SYNC) {
        let tickets = plan.desktop.history_tickets;
        let history = History::seed(plan, work_dir, tickets);
        if wants(QUEUE) {
            eprintln!(
                "[bench] {QUEUE}: the console's \"All open\" queue over {tickets} tickets, in the app over WebDriver"
            );
            let mut report = QueueReport {
                tickets,
                seeding_seconds: history.as_ref().ok().map(|h| h.seconds),
                ..QueueReport::default()
            };
            let outcome = (|| {
                let history = history.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
                let session = session
                    .as_ref()
                    .context("no session")?
                    .as_ref()
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                let dir = run::fresh_dir(&dir, QUEUE)?;
                let server = history.serve(work_dir, QUEUE)?;
                let setup = QueueSetup {
                    app: app_binary(plan)?,
                    session,
                    server: server.address,
                    server_pid: server.pid(),
                    jumps: plan.desktop.queue_jumps,
                    dir: &dir,
                };
                queue::measure_queue(&setup, &mut report)
            })();
            if let Err(error) = outcome {
                report.error = Some(failed(error));
            }
            reports.desktop_queue = Some(report);
        }
        // No window from here on.
        drop(session);
        if wants(SYNC) {
            eprintln!(
                "[bench] {SYNC}: deskside-client's sync after {} changes, {tickets}-ticket history",
                sync::CHANGES
            );
            let mut report = SyncReport {
                tickets,
                seeding_seconds: history.as_ref().ok().map(|h| h.seconds),
                ..SyncReport::default()
            };
            let outcome = (|| {
                let history = history.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
                let dir = run::fresh_dir(&dir, SYNC)?;
                let server = history.serve(work_dir, SYNC)?;
                sync::measure_sync(
                    server.address,
                    plan.desktop.sync_iterations,
                    &dir,
                    &mut report,
                )
            })();
            if let Err(error) = outcome {
                report.error = Some(failed(error));
            }
            reports.desktop_sync = Some(report);
        }
        if let Ok(history) = history {
            let _ = std::fs::remove_dir_all(history.data_dir);
        }
    }
    reports
}

/// Runs `measure` with the desktop session and the small desk's URL, or fails with why
/// either is missing.
fn with_window<T>(
    session: &Option<Result<DesktopSession, String>>,
    desk: &Result<(ServerProcess, PathBuf), String>,
    measure: impl FnOnce(&DesktopSession, &str) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let session = session
        .as_ref()
        .context("no desktop session")?
        .as_ref()
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let (server, _) = desk.as_ref().map_err(|error| anyhow::anyhow!("{error}"))?;
    measure(session, &format!("http://{}", server.address))
}

fn failed(error: anyhow::Error) -> String {
    eprintln!("[bench]   FAILED: {error:#}");
    format!("{error:#}")
}

fn app_binary(plan: &RunPlan) -> anyhow::Result<&Path> {
    let binary = plan
        .app
        .as_deref()
        .context("not run: no desktop app binary was given (--app PATH)")?;
    if !binary.is_file() {
        anyhow::bail!("not run: {} does not exist", binary.display());
    }
    Ok(binary)
}

/// A desk seeded with the demo staff and a bulk history, shared by the queue and sync
/// benchmarks (one seeding for both); each serves it with a server of its own.
struct History {
    server: PathBuf,
    data_dir: PathBuf,
    seconds: f64,
}

impl History {
    fn seed(plan: &RunPlan, work_dir: &Path, tickets: u64) -> Result<History, String> {
        let outcome = (|| {
            let binary = run::server_binary(plan)?;
            let data_dir = run::fresh_dir(work_dir, "desktop-history")?;
            let took = deskside::seed(
                binary,
                &data_dir,
                Some(tickets),
                &work_dir.join("desktop-history-seed.log"),
            )?;
            eprintln!(
                "[bench]   seeded {tickets} tickets in {:.1} s",
                took.as_secs_f64()
            );
            anyhow::Ok(History {
                server: binary.to_owned(),
                data_dir,
                seconds: took.as_secs_f64(),
            })
        })();
        outcome.map_err(|error| format!("{error:#}"))
    }

    fn serve(&self, work_dir: &Path, name: &str) -> anyhow::Result<ServerProcess> {
        deskside::serve(
            &self.server,
            &self.data_dir,
            &work_dir.join(format!("{name}-server.log")),
        )
    }
}
