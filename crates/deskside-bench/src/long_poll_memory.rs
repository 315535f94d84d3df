//! Server memory per idle long-polling endpoint.
//!
//! A fresh deskside-server gets thousands of enrolled devices, each of which polls once
//! (as an agent does right after enrolling). Once the server is quiet its resident memory
//! is read; then every device holds a long-poll `GET /api/v1/agent/orders?waitSeconds=55`
//! on its own connection, and once all of them are in and the server is quiet again, memory
//! is read again. The difference over the connections held is the cost of one idle
//! endpoint. Then the connections close, memory is read, and the same polls are opened a
//! second time: the first round also pays for what the server grows once for a burst of
//! polls (threads, database connections, allocator arenas), the second mostly reuses it.
//!
//! One process may hold at most 20,000 open files here, so the driver caps its connections
//! below its own limit and the server's, spreads them over the source addresses
//! 127.0.0.2–127.0.0.9, and connects in waves so the listen backlog never overflows.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::child::{self, OpenFiles, ServerProcess};
use crate::deskside::{self, ApiClient, body_start};
use crate::http_client::{Connection, encode_request};
use crate::run::{self, RunPlan};

pub const NAME: &str = "long-poll-memory";

/// The longest wait the server allows: polls stay in flight through the measurement.
const POLL_WAIT_SECONDS: u64 = 55;
/// Keep-alive connections enrolling devices side by side.
const ENROLL_CONNECTIONS: usize = 8;
/// Connections opened at once; far below the server's listen backlog (4096).
const WAVE: usize = 500;
/// A wave whose connections are not all open and written by then means a stuck server.
const WAVE_TIMEOUT: Duration = Duration::from_secs(30);
/// Files each process keeps for itself besides the connections: stdio, logs, the database,
/// the runtime's descriptors, the enrolling connections.
const FILE_MARGIN: u64 = 256;
/// Longest wait for the server to go quiet before a memory reading.
const QUIET_MAX_WAIT: Duration = Duration::from_secs(20);
/// Longest wait for the server to release the sockets of closed connections.
const RELEASE_MAX_WAIT: Duration = Duration::from_secs(POLL_WAIT_SECONDS + 10);

pub struct LongPollPlan {
    pub devices: usize,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LongPollReport {
    pub devices_requested: usize,
    pub devices_enrolled: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enroll_seconds: Option<f64>,
    /// Soft open-files limits (`ulimit -n`) of the driver and of the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_open_files_limit: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_open_files_limit: Option<u64>,
    /// Connections the driver sets out to open: one per device, capped by those limits.
    pub connections_planned: usize,
    /// Server memory right after it started, and with every device enrolled and quiet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rss_started_kib: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rss_idle_kib: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_idle: Option<ServerState>,
    /// The first round from idle, then the same polls again once the first closed.
    pub rounds: Vec<PollRound>,
    /// Readings taken before the server went quiet, with their names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unsettled_readings: Vec<String>,
    /// Where the server logged, e.g. why it answered a poll with an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_log: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Every device holding one long-poll, measured, then closed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PollRound {
    pub name: String,
    pub description: String,
    pub connections_opened: usize,
    pub connections_failed: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_connection_error: Option<String>,
    pub connect_seconds: f64,
    /// Open, waiting for an answer and accepted by the server when memory was read.
    pub connections_held: usize,
    /// Polls the server answered before memory was read (each was sent again at once).
    pub polls_answered_early: usize,
    /// Polls that ended with an error status or a closed connection.
    pub polls_ended: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_poll_error: Option<String>,
    pub rss_before_kib: u64,
    pub rss_polling_kib: u64,
    pub rss_after_close_kib: u64,
    /// (polling − before) / connections held.
    pub bytes_per_connection: f64,
    pub server_polling: ServerState,
    pub server_after_close: ServerState,
    /// How long the server took to let go of the sockets once the clients closed them;
    /// `None` if it still held them after [`RELEASE_MAX_WAIT`].
    pub release_seconds: Option<f64>,
}

/// What the server holds besides memory.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerState {
    pub open_files: OpenFiles,
    pub threads: u64,
}

impl ServerState {
    fn read(server: &ServerProcess) -> anyhow::Result<ServerState> {
        Ok(ServerState {
            open_files: server.open_files()?,
            threads: server.threads()?,
        })
    }
}

/// The first round's figure includes what the server grows once for a burst of polls;
/// in the second, memory the server kept from the first is reused, so it is nearer the
/// connections alone.
const ROUNDS: [(&str, &str); 2] = [
    ("first", "from idle"),
    ("again", "once the first round closed"),
];

pub fn measure(plan: &RunPlan, work_dir: &Path) -> LongPollReport {
    let devices = plan.long_poll.devices;
    eprintln!(
        "[bench] {NAME}: server RSS per idle long-polling endpoint ({devices} enrolled devices)"
    );
    let mut report = LongPollReport {
        devices_requested: devices,
        ..LongPollReport::default()
    };
    if let Err(error) = measure_into(plan, work_dir, &mut report) {
        eprintln!("[bench]   FAILED: {error:#}");
        report.error = Some(format!("{error:#}"));
    }
    report
}

fn measure_into(
    plan: &RunPlan,
    work_dir: &Path,
    report: &mut LongPollReport,
) -> anyhow::Result<()> {
    let devices = report.devices_requested;
    if devices == 0 {
        bail!("no devices to enroll (--long-poll-devices 0)");
    }
    let (mut server, data_dir) = run::start_demo_server(plan, work_dir, NAME)?;
    report.server_log = Some(server.log_path.clone());
    report.rss_started_kib = Some(server.rss_kib()?);
    let planned = plan_connections(&server, devices, report)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let started = Instant::now();
    let credentials = runtime.block_on(enroll_devices(server.address, devices))?;
    report.devices_enrolled = credentials.len();
    report.enroll_seconds = Some(started.elapsed().as_secs_f64());

    let mut before = read_quiet(&mut server, "idle", report)?;
    report.rss_idle_kib = Some(before);
    let idle = ServerState::read(&server)?;
    report.server_idle = Some(idle);
    for (name, description) in ROUNDS {
        let round = poll_round(
            &runtime,
            &mut server,
            &credentials[..planned],
            (name, description),
            before,
            idle.open_files.sockets,
            report,
        )?;
        eprintln!(
            "[bench]   {name}: {} connections held: {:.1} KiB per connection; \
             {} threads, {} files",
            round.connections_held,
            round.bytes_per_connection / 1024.0,
            round.server_polling.threads,
            round.server_polling.open_files.total
        );
        before = round.rss_after_close_kib;
        report.rounds.push(round);
    }
    server.ensure_running()?;
    drop(server);
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(())
}

/// Opens every long-poll, reads memory once the server is quiet, closes them all, and
/// reads memory again once the server let go of the sockets.
fn poll_round(
    runtime: &tokio::runtime::Runtime,
    server: &mut ServerProcess,
    credentials: &[String],
    (name, description): (&str, &str),
    rss_before_kib: u64,
    idle_sockets: usize,
    report: &mut LongPollReport,
) -> anyhow::Result<PollRound> {
    let stats = Arc::new(PollStats::default());
    let started = Instant::now();
    let mut polls = JoinSet::new();
    let opened = runtime.block_on(open_polls(server.address, credentials, &stats, &mut polls));
    let connect_seconds = started.elapsed().as_secs_f64();
    let count = opened.result?;
    if count == 0 {
        bail!(
            "{name} round: no long-poll connection could be opened{}",
            opened
                .first_error
                .map(|error| format!(" (first error: {error})"))
                .unwrap_or_default()
        );
    }

    let rss_polling_kib = read_quiet(server, &format!("polling ({name})"), report)?;
    let server_polling = ServerState::read(server)?;
    let in_flight_for = started.elapsed();
    let polls_ended = stats.ended.load(Ordering::Relaxed);
    // Held at both ends: a connection still waiting in the listen queue, because the
    // server could not accept it, costs the server nothing yet.
    let accepted = server_polling
        .open_files
        .sockets
        .saturating_sub(idle_sockets);
    let connections_held = count.saturating_sub(polls_ended).min(accepted);
    if in_flight_for >= Duration::from_secs(POLL_WAIT_SECONDS) {
        bail!(
            "{name} round: opening the connections and settling took {in_flight_for:.0?}, \
             longer than the polls wait ({POLL_WAIT_SECONDS} s): memory was not read with \
             every poll in flight"
        );
    }
    if connections_held == 0 {
        bail!(
            "{name} round: every long-poll ended before memory was read{}",
            stats
                .first_error()
                .map(|error| format!(" (first: {error})"))
                .unwrap_or_default()
        );
    }
    let delta_kib = rss_polling_kib.saturating_sub(rss_before_kib) as f64;

    runtime.block_on(polls.shutdown());
    let release_seconds = wait_for_release(server, idle_sockets)?;
    let rss_after_close_kib = read_quiet(server, &format!("after close ({name})"), report)?;
    Ok(PollRound {
        name: name.to_owned(),
        description: description.to_owned(),
        connections_opened: count,
        connections_failed: opened.failed,
        first_connection_error: opened.first_error,
        connect_seconds,
        connections_held,
        polls_answered_early: stats.answered.load(Ordering::Relaxed),
        polls_ended,
        first_poll_error: stats.first_error(),
        rss_before_kib,
        rss_polling_kib,
        rss_after_close_kib,
        bytes_per_connection: delta_kib * 1024.0 / connections_held as f64,
        server_polling,
        server_after_close: ServerState::read(server)?,
        release_seconds,
    })
}

/// One connection per device, capped below the driver's and the server's open-files limits.
fn plan_connections(
    server: &ServerProcess,
    devices: usize,
    report: &mut LongPollReport,
) -> anyhow::Result<usize> {
    let driver_limit = child::open_files_limit(None)?;
    let server_limit = child::open_files_limit(Some(server.pid()))?;
    report.driver_open_files_limit = Some(driver_limit);
    report.server_open_files_limit = Some(server_limit);
    let room = |limit: u64, open: usize| {
        usize::try_from(limit.saturating_sub(open as u64 + FILE_MARGIN)).unwrap_or(usize::MAX)
    };
    let driver_room = room(driver_limit, child::own_open_files()?);
    let server_room = room(server_limit, server.open_files()?.total);
    let planned = devices.min(driver_room).min(server_room);
    if planned < devices {
        eprintln!(
            "[bench]   {planned} connections, not {devices}: open-files limits {driver_limit} \
             (driver) and {server_limit} (server), with {FILE_MARGIN} kept for other files"
        );
    }
    if planned == 0 {
        bail!("no room for connections under the open-files limits");
    }
    report.connections_planned = planned;
    Ok(planned)
}

/// Waits for the server to go quiet and returns its RSS; notes a reading taken while busy.
fn read_quiet(
    server: &mut ServerProcess,
    name: &str,
    report: &mut LongPollReport,
) -> anyhow::Result<u64> {
    let quiet = server.wait_until_quiet(QUIET_MAX_WAIT)?;
    if quiet.settled {
        eprintln!(
            "[bench]   RSS {name}: {:.1} MiB (quiet after {:.1} s)",
            quiet.rss_kib as f64 / 1024.0,
            quiet.waited.as_secs_f64()
        );
    } else {
        eprintln!(
            "[bench]   warning: RSS {name}: {:.1} MiB, read while the server was still busy \
             after {QUIET_MAX_WAIT:?}",
            quiet.rss_kib as f64 / 1024.0
        );
        report.unsettled_readings.push(name.to_owned());
    }
    Ok(quiet.rss_kib)
}

/// Waits until the server holds no more sockets than when idle (plus a few); returns how
/// long that took, or `None` if it still held them after [`RELEASE_MAX_WAIT`].
fn wait_for_release(server: &ServerProcess, idle_sockets: usize) -> anyhow::Result<Option<f64>> {
    const SLACK: usize = 16;
    let started = Instant::now();
    while started.elapsed() < RELEASE_MAX_WAIT {
        if server.open_files()?.sockets <= idle_sockets + SLACK {
            return Ok(Some(started.elapsed().as_secs_f64()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "[bench]   warning: the server still holds {} sockets {RELEASE_MAX_WAIT:?} after the \
         clients closed theirs (it held {idle_sockets} idle)",
        server.open_files()?.sockets
    );
    Ok(None)
}

/// Enrolls `count` devices over a few keep-alive connections, each device polling once
/// right after (as an agent does); returns their credentials in order.
async fn enroll_devices(address: SocketAddr, count: usize) -> anyhow::Result<Vec<String>> {
    let mut admin = ApiClient::connect(address).await?;
    let staff_authorization: Arc<str> = format!("Bearer {}", admin.login().await?).into();
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let progress_every = (count / 10).max(100);
    let mut workers = JoinSet::new();
    for _ in 0..ENROLL_CONNECTIONS.min(count) {
        let staff_authorization = Arc::clone(&staff_authorization);
        let (next, done, failed) = (Arc::clone(&next), Arc::clone(&done), Arc::clone(&failed));
        workers.spawn(async move {
            let mut client = ApiClient::connect(address).await?;
            let mut enrolled = Vec::new();
            while !failed.load(Ordering::Relaxed) {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= count {
                    break;
                }
                let outcome = enroll_and_poll(&mut client, &staff_authorization, index).await;
                let credential = match outcome {
                    Ok(credential) => credential,
                    Err(error) => {
                        failed.store(true, Ordering::Relaxed);
                        return Err(error.context(format!("device {}", index + 1)));
                    }
                };
                enrolled.push((index, credential));
                let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                if finished % progress_every == 0 || finished == count {
                    eprintln!(
                        "[bench]   enrolled {finished}/{count} ({:.0}/s)",
                        finished as f64 / started.elapsed().as_secs_f64()
                    );
                }
            }
            anyhow::Ok(enrolled)
        });
    }
    let mut credentials = Vec::with_capacity(count);
    let mut first_error = None;
    while let Some(joined) = workers.join_next().await {
        match joined.context("an enrolling task panicked")? {
            Ok(enrolled) => credentials.extend(enrolled),
            Err(error) => first_error = first_error.or(Some(error)),
        }
    }
    if let Some(error) = first_error {
        return Err(error.context("enrolling the devices"));
    }
    credentials.sort_unstable_by_key(|(index, _)| *index);
    Ok(credentials
        .into_iter()
        .map(|(_, credential)| credential)
        .collect())
}

async fn enroll_and_poll(
    client: &mut ApiClient,
    staff_authorization: &str,
    index: usize,
) -> anyhow::Result<String> {
    let credential = client
        .enroll_device(staff_authorization, &format!("bench-endpoint-{index:05}"))
        .await?;
    let authorization = format!("Bearer {credential}");
    let path = format!("{}?waitSeconds=0", deskside::ORDERS_PATH);
    client
        .call(
            "GET",
            &path,
            &[("Authorization", &authorization)],
            None,
            200,
        )
        .await?;
    Ok(credential)
}

#[derive(Default)]
struct PollStats {
    answered: AtomicUsize,
    ended: AtomicUsize,
    first_error: Mutex<Option<String>>,
}

impl PollStats {
    fn end(&self, error: String) {
        self.ended.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
        first.get_or_insert(error);
    }

    fn first_error(&self) -> Option<String> {
        self.first_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

struct Opened {
    opened: usize,
    failed: usize,
    first_error: Option<String>,
    /// Connections open with their request written, or why opening stopped.
    result: anyhow::Result<usize>,
}

/// Opens one long-poll per credential in waves of [`WAVE`], each connection from the next
/// of the source addresses 127.0.0.2–127.0.0.9; a wave is done when every connection in it
/// has written its request (or failed).
async fn open_polls(
    address: SocketAddr,
    credentials: &[String],
    stats: &Arc<PollStats>,
    polls: &mut JoinSet<()>,
) -> Opened {
    let mut opened = Opened {
        opened: 0,
        failed: 0,
        first_error: None,
        result: Ok(0),
    };
    let path = format!("{}?waitSeconds={POLL_WAIT_SECONDS}", deskside::ORDERS_PATH);
    for (wave_index, wave) in credentials.chunks(WAVE).enumerate() {
        let (ready_sender, mut ready) = mpsc::unbounded_channel();
        for (offset, credential) in wave.iter().enumerate() {
            let index = wave_index * WAVE + offset;
            let authorization = format!("Bearer {credential}");
            let request = encode_request(
                "GET",
                address,
                &path,
                &[("Authorization", &authorization)],
                b"",
            );
            polls.spawn(hold_poll(
                source_address(index),
                address,
                request,
                ready_sender.clone(),
                Arc::clone(stats),
            ));
        }
        drop(ready_sender);
        loop {
            match tokio::time::timeout(WAVE_TIMEOUT, ready.recv()).await {
                Ok(Some(Ok(()))) => opened.opened += 1,
                Ok(Some(Err(error))) => {
                    opened.failed += 1;
                    opened.first_error.get_or_insert(error);
                }
                Ok(None) => break,
                Err(_) => {
                    opened.result = Err(anyhow::anyhow!(
                        "connections of wave {} not open and written within {WAVE_TIMEOUT:?}",
                        wave_index + 1
                    ));
                    return opened;
                }
            }
        }
        let so_far = (wave_index + 1) * WAVE;
        if so_far % (WAVE * 10) == 0 || so_far >= credentials.len() {
            eprintln!(
                "[bench]   {} long-polls in flight ({} failed)",
                opened.opened, opened.failed
            );
        }
    }
    opened.result = Ok(opened.opened);
    opened
}

/// One endpoint: connects from `source`, writes its long-poll, says so on `ready`, then
/// polls again whenever the server answers, until aborted or the connection fails.
async fn hold_poll(
    source: IpAddr,
    address: SocketAddr,
    request: Vec<u8>,
    ready: mpsc::UnboundedSender<Result<(), String>>,
    stats: Arc<PollStats>,
) {
    let opened = async {
        let mut connection = Connection::open_from(source, address).await?;
        connection.write_request(&request).await?;
        std::io::Result::Ok(connection)
    }
    .await;
    let mut connection = match opened {
        Ok(connection) => {
            let _ = ready.send(Ok(()));
            connection
        }
        Err(error) => {
            let _ = ready.send(Err(format!("from {source}: {error}")));
            return;
        }
    };
    drop(ready);
    loop {
        let status = match connection.read_response().await {
            Ok(response) if response.status == 200 => None,
            Ok(response) => Some(format!(
                "HTTP {}: {}",
                response.status,
                body_start(response.body)
            )),
            Err(error) => {
                stats.end(format!("the poll failed: {error}"));
                return;
            }
        };
        if let Some(error) = status {
            // Polling again at once would only spin on the same refusal.
            stats.end(error);
            return;
        }
        stats.answered.fetch_add(1, Ordering::Relaxed);
        if let Err(error) = connection.write_request(&request).await {
            stats.end(format!("polling again failed: {error}"));
            return;
        }
    }
}

/// 127.0.0.2–127.0.0.9 in turn: eight times the source ports of one address.
fn source_address(index: usize) -> IpAddr {
    const FIRST: u8 = 2;
    const COUNT: usize = 8;
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, FIRST + (index % COUNT) as u8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_addresses_cycle_through_eight_loopbacks() {
        let addresses: Vec<IpAddr> = (0..10).map(source_address).collect();
        assert_eq!(addresses[0], IpAddr::from([127, 0, 0, 2]));
        assert_eq!(addresses[7], IpAddr::from([127, 0, 0, 9]));
        assert_eq!(addresses[8], addresses[0]);
        assert_eq!(addresses[9], IpAddr::from([127, 0, 0, 3]));
    }
}
