//! The whole benchmark run: baselines, then deskside-server's create throughput, its
//! queries over a large database, the agent's diagnostics snapshot, order delivery latency,
//! memory per long-polling endpoint, and the desktop app (start, memory, queue, sync).
//! Each benchmark that fails is reported with its reason and the run goes on, so one
//! missing endpoint does not hide every other figure.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;

use crate::baseline::{BaselineKind, TICKETS_PATH};
use crate::child::ServerProcess;
use crate::deskside;
use crate::desktop::{self, DesktopPlan, DesktopReports};
use crate::diagnostics::{self, DiagnosticsPlan, DiagnosticsReport};
use crate::http_client::encode_request;
use crate::load::{LoadResult, LoadShape, LoadTarget, run_load};
use crate::long_poll_memory::{self, LongPollPlan, LongPollReport};
use crate::order_latency::{self, OrderLatencyPlan, OrderLatencyReport};
use crate::queries::{QueryEntry, QueryPlan, measure_queries};

pub const DESKSIDE_CREATE: &str = "deskside-create";
pub const DESKSIDE_QUERIES: &str = "deskside-queries";
/// Every benchmark `--only` accepts besides the baselines, in the order they run.
pub const DESKSIDE_BENCHMARKS: [&str; 5] = [
    DESKSIDE_CREATE,
    DESKSIDE_QUERIES,
    diagnostics::NAME,
    order_latency::NAME,
    long_poll_memory::NAME,
];

/// Baselines ignore it; it is there so every request has the same size as a real one.
const STAND_IN_TOKEN: &str = "Bearer bXktYmFzZWxpbmUtZG9lcy1ub3QtY2hlY2stdG9rZW5zLi4u";

pub struct RunPlan {
    pub server: Option<PathBuf>,
    pub agent: Option<PathBuf>,
    /// The desktop app (`deskside`, release, with the UI built in).
    pub app: Option<PathBuf>,
    pub work_dir: PathBuf,
    pub load: LoadShape,
    pub bulk_tickets: u64,
    pub queries: QueryPlan,
    pub diagnostics: DiagnosticsPlan,
    pub order_latency: OrderLatencyPlan,
    pub long_poll: LongPollPlan,
    pub desktop: DesktopPlan,
    pub quick: bool,
    /// Benchmark names to run; empty means all.
    pub only: Vec<String>,
}

impl RunPlan {
    pub fn wants(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|wanted| wanted == name)
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub settings: Settings,
    pub throughput: Vec<ThroughputEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queries: Option<QueryReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<DiagnosticsReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_latency: Option<OrderLatencyReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub long_poll_memory: Option<LongPollReport>,
    #[serde(flatten)]
    pub desktop: DesktopReports,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    pub quick: bool,
    pub server: Option<PathBuf>,
    pub agent: Option<PathBuf>,
    pub app: Option<PathBuf>,
    pub load: LoadShape,
    pub bulk_tickets: u64,
    pub query_warmup_iterations: usize,
    pub query_iterations: usize,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThroughputEntry {
    pub name: String,
    pub description: String,
    /// Method and path, e.g. `POST /api/v1/tickets`.
    pub request: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<LoadResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_peak_rss_kib: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryReport {
    pub tickets: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seeding_seconds: Option<f64>,
    /// Set when seeding, starting or logging in failed, so no query ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub queries: Vec<QueryEntry>,
}

pub fn run(plan: &RunPlan) -> anyhow::Result<Report> {
    std::fs::create_dir_all(&plan.work_dir)
        .with_context(|| format!("creating {}", plan.work_dir.display()))?;
    let work_dir = std::fs::canonicalize(&plan.work_dir)?;

    let mut throughput = Vec::new();
    for kind in BaselineKind::ALL {
        if plan.wants(kind.name()) {
            throughput.push(measure_baseline(kind, &work_dir, plan.load));
        }
    }
    if plan.wants(DESKSIDE_CREATE) {
        throughput.push(measure_deskside_create(plan, &work_dir));
    }
    let queries = plan
        .wants(DESKSIDE_QUERIES)
        .then(|| measure_deskside_queries(plan, &work_dir));
    let diagnostics = plan
        .wants(diagnostics::NAME)
        .then(|| diagnostics::measure(plan, &work_dir));
    let order_latency = plan
        .wants(order_latency::NAME)
        .then(|| order_latency::measure(plan, &work_dir));
    let long_poll_memory = plan
        .wants(long_poll_memory::NAME)
        .then(|| long_poll_memory::measure(plan, &work_dir));
    let desktop = desktop::measure(plan, &work_dir);

    Ok(Report {
        settings: Settings {
            quick: plan.quick,
            server: plan.server.clone(),
            agent: plan.agent.clone(),
            app: plan.app.clone(),
            load: plan.load,
            bulk_tickets: plan.bulk_tickets,
            query_warmup_iterations: plan.queries.warmup_iterations,
            query_iterations: plan.queries.iterations,
        },
        throughput,
        queries,
        diagnostics,
        order_latency,
        long_poll_memory,
        desktop,
    })
}

fn measure_baseline(kind: BaselineKind, work_dir: &Path, shape: LoadShape) -> ThroughputEntry {
    let name = kind.name();
    eprintln!("[bench] {name}: {}", kind.description());
    let outcome = (|| {
        let data_dir = fresh_dir(work_dir, name)?;
        let mut command = Command::new(std::env::current_exe()?);
        command
            .args(["baseline-server", "--kind", name, "--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(&data_dir);
        let server =
            ServerProcess::start(command, &work_dir.join(format!("{name}.log")), secs(30))?;
        let body = if kind.method() == "GET" {
            &b""[..]
        } else {
            deskside::TICKET_JSON.as_bytes()
        };
        let request = encode_request(
            kind.method(),
            server.address,
            TICKETS_PATH,
            &deskside::json_headers(STAND_IN_TOKEN),
            body,
        );
        let outcome = load_server(server, request, kind.expected_status(), shape);
        let _ = std::fs::remove_dir_all(&data_dir);
        outcome
    })();
    throughput_entry(
        name,
        kind.description(),
        &format!("{} {TICKETS_PATH}", kind.method()),
        outcome,
    )
}

fn measure_deskside_create(plan: &RunPlan, work_dir: &Path) -> ThroughputEntry {
    eprintln!("[bench] {DESKSIDE_CREATE}: deskside-server, POST /api/v1/tickets");
    let outcome = (|| {
        let (server, data_dir) = start_demo_server(plan, work_dir, DESKSIDE_CREATE)?;
        let token = deskside::login(server.address)?;
        let authorization = format!("Bearer {token}");
        let request = encode_request(
            "POST",
            server.address,
            TICKETS_PATH,
            &deskside::json_headers(&authorization),
            deskside::TICKET_JSON.as_bytes(),
        );
        let outcome = load_server(server, request, 201, plan.load);
        if outcome.is_ok() {
            let _ = std::fs::remove_dir_all(&data_dir);
        }
        outcome
    })();
    throughput_entry(
        DESKSIDE_CREATE,
        "deskside-server: durable ticket create (demo data, admin token)",
        "POST /api/v1/tickets",
        outcome,
    )
}

/// Loads a running server, then checks it survived; returns the result and its peak RSS.
fn load_server(
    mut server: ServerProcess,
    request: Vec<u8>,
    expected_status: u16,
    shape: LoadShape,
) -> anyhow::Result<(LoadResult, Option<u64>)> {
    let target = LoadTarget {
        address: server.address,
        request: Arc::new(request),
        expected_status,
    };
    let result = run_load(&target, shape)?;
    server.ensure_running()?;
    Ok((result, server.peak_rss_kib()))
}

fn throughput_entry(
    name: &str,
    description: &str,
    request: &str,
    outcome: anyhow::Result<(LoadResult, Option<u64>)>,
) -> ThroughputEntry {
    let mut entry = ThroughputEntry {
        name: name.to_owned(),
        description: description.to_owned(),
        request: request.to_owned(),
        result: None,
        server_peak_rss_kib: None,
        error: None,
    };
    match outcome {
        Ok((result, peak_rss)) => {
            let latency = result.latency.as_ref();
            eprintln!(
                "[bench]   {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors{}",
                result.requests_per_sec,
                latency.map_or(f64::NAN, |latency| latency.p50_ms),
                latency.map_or(f64::NAN, |latency| latency.p99_ms),
                result.errors,
                result
                    .first_error
                    .as_deref()
                    .map(|error| format!(" (first: {error})"))
                    .unwrap_or_default()
            );
            entry.result = Some(result);
            entry.server_peak_rss_kib = peak_rss;
        }
        Err(error) => {
            eprintln!("[bench]   FAILED: {error:#}");
            entry.error = Some(format!("{error:#}"));
        }
    }
    entry
}

fn measure_deskside_queries(plan: &RunPlan, work_dir: &Path) -> QueryReport {
    let tickets = plan.bulk_tickets;
    eprintln!("[bench] {DESKSIDE_QUERIES}: seeding {tickets} tickets, then listing and searching");
    let mut report = QueryReport {
        tickets,
        seeding_seconds: None,
        error: None,
        queries: Vec::new(),
    };
    let outcome = (|| {
        let binary = server_binary(plan)?;
        let data_dir = fresh_dir(work_dir, DESKSIDE_QUERIES)?;
        let seeding = deskside::seed(
            binary,
            &data_dir,
            Some(tickets),
            &work_dir.join(format!("{DESKSIDE_QUERIES}-seed.log")),
        )?;
        report.seeding_seconds = Some(seeding.as_secs_f64());
        eprintln!("[bench]   seeded in {:.1} s", seeding.as_secs_f64());
        let server = deskside::serve(
            binary,
            &data_dir,
            &work_dir.join(format!("{DESKSIDE_QUERIES}.log")),
        )?;
        let token = deskside::login(server.address)?;
        report.queries = measure_queries(server.address, &token, &plan.queries);
        drop(server);
        if report.queries.iter().all(|query| query.error.is_none()) {
            let _ = std::fs::remove_dir_all(&data_dir);
        }
        anyhow::Ok(())
    })();
    if let Err(error) = outcome {
        eprintln!("[bench]   FAILED: {error:#}");
        report.error = Some(format!("{error:#}"));
    }
    report
}

/// deskside-server on a fresh data directory seeded with the demo data (`demo seed`), its
/// logs in `work_dir` under `name`; returns the running server and its data directory.
pub fn start_demo_server(
    plan: &RunPlan,
    work_dir: &Path,
    name: &str,
) -> anyhow::Result<(ServerProcess, PathBuf)> {
    let binary = server_binary(plan)?;
    let data_dir = fresh_dir(work_dir, name)?;
    deskside::seed(
        binary,
        &data_dir,
        None,
        &work_dir.join(format!("{name}-seed.log")),
    )?;
    let server = deskside::serve(binary, &data_dir, &work_dir.join(format!("{name}.log")))?;
    Ok((server, data_dir))
}

pub fn server_binary(plan: &RunPlan) -> anyhow::Result<&Path> {
    let binary = plan
        .server
        .as_deref()
        .context("not run: no deskside-server binary was given (--server PATH)")?;
    if !binary.is_file() {
        anyhow::bail!("not run: {} does not exist", binary.display());
    }
    Ok(binary)
}

pub fn agent_binary(plan: &RunPlan) -> anyhow::Result<&Path> {
    let binary = plan
        .agent
        .as_deref()
        .context("not run: no deskside-agent binary was given (--agent PATH)")?;
    if !binary.is_file() {
        anyhow::bail!("not run: {} does not exist", binary.display());
    }
    Ok(binary)
}

/// An empty directory for one benchmark, so no run measures a database left by another.
pub fn fresh_dir(work_dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let dir = work_dir.join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}
