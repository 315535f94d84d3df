//! `deskside-bench`: the benchmark driver behind `cargo xtask bench`.
//!
//! `run` measures baseline servers and deskside-server, each in its own child process, and
//! the desktop app in a private X session, and writes the figures as JSON; `cargo xtask
//! bench` turns them into BENCHMARKS.md.
//! `baseline-server` is the child-process side of the baselines.

mod baseline;
mod child;
mod deskside;
mod desktop;
mod diagnostics;
mod http_client;
mod latency;
mod load;
mod long_poll_memory;
mod order_latency;
mod queries;
mod run;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Parser};

use crate::baseline::BaselineKind;
use crate::desktop::DesktopPlan;
use crate::diagnostics::DiagnosticsPlan;
use crate::load::LoadShape;
use crate::long_poll_memory::LongPollPlan;
use crate::order_latency::OrderLatencyPlan;
use crate::queries::QueryPlan;
use crate::run::RunPlan;

/// The host allows 20,000 open files per process and the driver holds one socket per
/// connection plus a few files; staying far below leaves room and keeps the client honest
/// (one process cannot generate that much load on two cores anyway).
const MAX_CONNECTIONS: usize = 10_000;

#[derive(Parser)]
#[command(name = "deskside-bench", about = "Deskside benchmark driver")]
enum Cli {
    /// Run the benchmarks and write the results as JSON.
    Run(RunArgs),
    /// Serve a baseline (started by `run` as a child process; exits when stdin closes).
    BaselineServer {
        #[arg(long, value_enum)]
        kind: BaselineKind,
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Where the SQLite baselines keep their database.
        #[arg(long)]
        data_dir: PathBuf,
    },
}

#[derive(Args)]
struct RunArgs {
    /// The deskside-server binary to measure; without it only the baselines run.
    #[arg(long)]
    server: Option<PathBuf>,
    /// The deskside-agent binary (release) whose one-shot `diagnose --json` is timed.
    #[arg(long)]
    agent: Option<PathBuf>,
    /// The desktop app binary (`deskside`, release, UI built in) for the desktop benchmarks.
    #[arg(long)]
    app: Option<PathBuf>,
    /// Write the JSON here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Data directories and server logs. Keep it on a real disk: durable-write figures on
    /// tmpfs are meaningless.
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    /// A smoke run: short windows and a small database.
    #[arg(long)]
    quick: bool,
    /// Concurrent keep-alive connections for the throughput benchmarks.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds of load before measuring [default: 2, quick: 1].
    #[arg(long)]
    warmup: Option<f64>,
    /// Seconds measured [default: 10, quick: 3].
    #[arg(long)]
    duration: Option<f64>,
    /// Tickets in the database for the list and search queries [default: 1000000, quick: 50000].
    #[arg(long)]
    bulk_tickets: Option<u64>,
    /// Measured repetitions of each query [default: 200, quick: 100].
    #[arg(long)]
    query_iterations: Option<usize>,
    /// Timed runs of `deskside-agent diagnose --json` [default: 20, quick: 5]; warm
    /// snapshots take 50 (quick: 10), fusioninventory-inventory 5 (quick: 2).
    #[arg(long)]
    diagnose_runs: Option<usize>,
    /// Measured order deliveries [default: 200, quick: 30].
    #[arg(long)]
    order_iterations: Option<usize>,
    /// Devices enrolled, each holding one long-poll, for the memory benchmark [default:
    /// 19000, quick: 1000]; capped below the open-files limit of 20,000 per process.
    #[arg(long)]
    long_poll_devices: Option<usize>,
    /// Threads of the load generator. One keeps as much of the machine as possible for the
    /// server; like wrk, it then needs a core of its own.
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// Measured cold starts of the desktop app (and of the baseline browser) [default: 10,
    /// quick: 3].
    #[arg(long)]
    desktop_starts: Option<usize>,
    /// Tickets in the history behind the console queue and the incremental sync [default:
    /// 100000, quick: 20000]. About 12 % of them are open, so 100,000 put over 10,000 rows
    /// in the "All open" queue.
    #[arg(long)]
    desktop_tickets: Option<u64>,
    /// Measured incremental syncs, each after 10 changes, and as many with no change
    /// [default: 50, quick: 10].
    #[arg(long)]
    sync_iterations: Option<usize>,
    /// Comma-separated benchmarks to run: bare, echo, sqlite-insert, sqlite-group-commit,
    /// deskside-create, deskside-queries, diagnostics, order-latency, long-poll-memory,
    /// desktop-start, desktop-memory, desktop-queue, desktop-sync [default: all].
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse() {
        Cli::Run(args) => run_benchmarks(args),
        Cli::BaselineServer {
            kind,
            listen,
            data_dir,
        } => baseline::serve(kind, listen, &data_dir),
    }
}

fn run_benchmarks(args: RunArgs) -> anyhow::Result<()> {
    if args.connections == 0 || args.connections > MAX_CONNECTIONS {
        bail!(
            "--connections must be between 1 and {MAX_CONNECTIONS}: the host allows 20,000 open files per process"
        );
    }
    let known: Vec<&str> = BaselineKind::ALL
        .iter()
        .map(|kind| kind.name())
        .chain(run::DESKSIDE_BENCHMARKS)
        .chain(desktop::NAMES)
        .collect();
    if let Some(unknown) = args
        .only
        .iter()
        .find(|name| !known.contains(&name.as_str()))
    {
        bail!(
            "--only: unknown benchmark {unknown:?}; known: {}",
            known.join(", ")
        );
    }

    let quick = args.quick;
    let pick = |flag: &str, given: Option<f64>, full: f64, short: f64| {
        let seconds = given.unwrap_or(if quick { short } else { full });
        Duration::try_from_secs_f64(seconds)
            .with_context(|| format!("--{flag} {seconds}: not a number of seconds"))
    };
    let count = |given: Option<usize>, full: usize, short: usize| {
        given.unwrap_or(if quick { short } else { full })
    };
    let iterations = count(args.query_iterations, 200, 100);
    let order_iterations = count(args.order_iterations, 200, 30);
    let plan = RunPlan {
        server: args.server,
        agent: args.agent,
        app: args.app,
        work_dir: args.work_dir,
        load: LoadShape {
            connections: args.connections,
            warmup: pick("warmup", args.warmup, 2.0, 1.0)?,
            duration: pick("duration", args.duration, 10.0, 3.0)?,
            client_threads: args.client_threads,
        },
        bulk_tickets: args
            .bulk_tickets
            .unwrap_or(if quick { 50_000 } else { 1_000_000 }),
        queries: QueryPlan {
            warmup_iterations: (iterations / 10).max(5),
            iterations,
        },
        diagnostics: DiagnosticsPlan {
            one_shot_runs: count(args.diagnose_runs, 20, 5),
            warm_iterations: count(None, 50, 10),
            fusioninventory_runs: count(None, 5, 2),
        },
        order_latency: OrderLatencyPlan {
            warmup_iterations: (order_iterations / 10).max(3),
            iterations: order_iterations,
        },
        long_poll: LongPollPlan {
            devices: count(args.long_poll_devices, 19_000, 1_000),
        },
        desktop: DesktopPlan {
            starts: count(args.desktop_starts, 10, 3),
            idle: Duration::from_secs(5),
            history_tickets: args
                .desktop_tickets
                .unwrap_or(if quick { 20_000 } else { 100_000 }),
            queue_jumps: count(None, 30, 10),
            sync_iterations: count(args.sync_iterations, 50, 10),
        },
        quick,
        only: args.only,
    };
    if plan.diagnostics.one_shot_runs == 0
        || plan.order_latency.iterations == 0
        || plan.desktop.starts == 0
        || plan.desktop.sync_iterations == 0
    {
        bail!(
            "--diagnose-runs, --order-iterations, --desktop-starts and --sync-iterations must be above zero"
        );
    }
    if plan.load.duration.is_zero() {
        bail!("--duration must be above zero");
    }

    let report = run::run(&plan)?;
    let json = serde_json::to_string_pretty(&report)?;
    match args.out {
        Some(path) => std::fs::write(&path, json + "\n")
            .with_context(|| format!("writing {}", path.display()))?,
        None => writeln!(std::io::stdout(), "{json}")?,
    }
    Ok(())
}
