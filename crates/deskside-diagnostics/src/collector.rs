//! Taking snapshots: one-shot ([`collect`]) or warm ([`Collector`], kept by the daemon).
//!
//! CPU usage (machine and per process) is a difference between two samples at least
//! `sysinfo::MINIMUM_CPU_UPDATE_INTERVAL` (200 ms) apart. A one-shot snapshot takes the first
//! sample, runs every other probe on its own thread meanwhile, and takes the second sample
//! when they are done, so it costs about 200 ms rather than 200 ms plus the probes. A warm
//! collector measures from the previous sample instead and does not wait at all.

use std::collections::BTreeSet;
use std::thread;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sysinfo::{
    Components, CpuRefreshKind, DiskRefreshKind, Disks, MINIMUM_CPU_UPDATE_INTERVAL, Networks,
    ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind, Users,
};

use crate::sections::logs::{self, Logs};
use crate::sections::network::{self, NetworkChecks};
use crate::sections::services::{self, Services};
use crate::sections::software::{self, Software};
use crate::sections::{hardware, printers, processes, system};
use crate::snapshot::{Probe, SectionName, Snapshot};

#[derive(Debug, Clone, PartialEq)]
pub struct CollectorOptions {
    /// How many processes to list by CPU and by memory.
    pub top_processes: usize,
    /// For each external command (lpstat, service, journalctl…).
    pub command_timeout: Duration,
    /// Package databases are slower to list than anything else.
    pub software_timeout: Duration,
    pub network: NetworkChecks,
    pub cache: CacheTtls,
}

impl Default for CollectorOptions {
    fn default() -> Self {
        CollectorOptions {
            top_processes: 10,
            command_timeout: Duration::from_secs(2),
            software_timeout: Duration::from_secs(10),
            network: NetworkChecks::default(),
            cache: CacheTtls::default(),
        }
    }
}

/// How long a warm collector may reuse a slow section. Sections read from sysinfo are
/// always fresh; these come from external commands that cost tens to hundreds of ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CacheTtls {
    pub software: Duration,
    pub services: Duration,
    pub logs: Duration,
}

impl Default for CacheTtls {
    fn default() -> Self {
        CacheTtls {
            software: Duration::from_secs(10 * 60),
            services: Duration::from_secs(30),
            logs: Duration::from_secs(60),
        }
    }
}

impl CacheTtls {
    pub const NONE: CacheTtls = CacheTtls {
        software: Duration::ZERO,
        services: Duration::ZERO,
        logs: Duration::ZERO,
    };
}

/// Which sections to read, and whether cached ones must be read again.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SnapshotRequest {
    /// Empty means every section.
    pub sections: BTreeSet<SectionName>,
    /// Ignore the cache, e.g. to verify a fix that was just applied.
    pub bypass_cache: bool,
}

impl SnapshotRequest {
    pub fn all() -> Self {
        SnapshotRequest::default()
    }

    pub fn only(sections: impl IntoIterator<Item = SectionName>) -> Self {
        SnapshotRequest {
            sections: sections.into_iter().collect(),
            bypass_cache: false,
        }
    }

    pub fn wants(&self, section: SectionName) -> bool {
        self.sections.is_empty() || self.sections.contains(&section)
    }
}

/// One snapshot with a fresh collector: what `deskside-agent diagnose` runs.
pub fn collect(options: CollectorOptions, request: &SnapshotRequest) -> Snapshot {
    Collector::new(options).snapshot(request)
}

/// Keeps sysinfo state and slow sections between snapshots, so that a snapshot in the
/// daemon costs milliseconds.
pub struct Collector {
    options: CollectorOptions,
    sys: Result<SysState, String>,
    software: CacheSlot<Software>,
    services: CacheSlot<Services>,
    logs: CacheSlot<Logs>,
}

impl Collector {
    pub fn new(options: CollectorOptions) -> Self {
        Collector {
            options,
            sys: SysState::new()
                .map_err(|e| format!("system information is not readable here: {e}")),
            software: CacheSlot::default(),
            services: CacheSlot::default(),
            logs: CacheSlot::default(),
        }
    }

    pub fn options(&self) -> &CollectorOptions {
        &self.options
    }

    /// Reads CPU and process times now, starting a new usage window. The daemon calls this
    /// on its heartbeat so that a warm snapshot shows recent usage rather than the average
    /// since the previous snapshot.
    pub fn sample_cpu(&mut self) {
        if let Ok(state) = &mut self.sys {
            state.sample_cpu();
        }
    }

    pub fn snapshot(&mut self, request: &SnapshotRequest) -> Snapshot {
        let started = Instant::now();
        let now = Utc::now();
        let mut snapshot = Snapshot::empty(now);
        let wants = |section| request.wants(section);
        let options = &self.options;
        let timeout = options.command_timeout;
        let ttls = options.cache;
        let bypass = request.bypass_cache;
        let software_cached = wants(SectionName::Software)
            .then(|| self.software.reusable(ttls.software, bypass))
            .flatten();
        let services_cached = wants(SectionName::Services)
            .then(|| self.services.reusable(ttls.services, bypass))
            .flatten();
        let logs_cached = wants(SectionName::Logs)
            .then(|| self.logs.reusable(ttls.logs, bypass))
            .flatten();

        let (software, services, logs) = thread::scope(|scope| {
            // Everything that waits on commands, files or the network runs on its own
            // thread, inside the CPU sampling window.
            let system =
                wants(SectionName::System).then(|| scope.spawn(move || system::collect(timeout)));
            let printers = wants(SectionName::Printers)
                .then(|| scope.spawn(move || printers::collect(timeout, now)));
            let network = wants(SectionName::Network)
                .then(|| scope.spawn(move || network::read_config(&options.network, timeout)));
            let software = (wants(SectionName::Software) && software_cached.is_none())
                .then(|| scope.spawn(move || software::collect(options.software_timeout)));
            let services = (wants(SectionName::Services) && services_cached.is_none())
                .then(|| scope.spawn(move || services::collect(timeout)));
            let logs = (wants(SectionName::Logs) && logs_cached.is_none())
                .then(|| scope.spawn(move || logs::collect(timeout)));

            if let Ok(state) = &mut self.sys {
                state.begin(request);
            }
            snapshot.system = system.map(join);
            snapshot.printers = printers.map(join);
            let network = network.map(|handle| {
                handle
                    .join()
                    .map_err(|_| "the network probe failed unexpectedly".to_owned())
            });
            let read = (software.map(join), services.map(join), logs.map(join));

            match &mut self.sys {
                Ok(state) => {
                    state.finish(request);
                    if wants(SectionName::Hardware) {
                        snapshot.hardware = Some(Probe::Available(state.hardware()));
                    }
                    if wants(SectionName::Processes) {
                        let top = options.top_processes;
                        snapshot.processes = Some(Probe::Available(state.processes(top)));
                    }
                    snapshot.network = network.map(|config| {
                        Probe::from(config.map(|c| network::assemble(&state.networks, c)))
                    });
                }
                Err(reason) => {
                    for section in [SectionName::Hardware, SectionName::Processes] {
                        if wants(section) {
                            snapshot.set_unavailable(section, reason);
                        }
                    }
                    if network.is_some() {
                        snapshot.set_unavailable(SectionName::Network, reason);
                    }
                }
            }
            read
        });

        let cached_sections = &mut snapshot.cached_sections;
        snapshot.software = self.software.settle(
            software_cached,
            software,
            now,
            SectionName::Software,
            cached_sections,
        );
        snapshot.services = self.services.settle(
            services_cached,
            services,
            now,
            SectionName::Services,
            cached_sections,
        );
        snapshot.logs =
            self.logs
                .settle(logs_cached, logs, now, SectionName::Logs, cached_sections);
        snapshot.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        snapshot
    }
}

/// A probe that panicked is a bug, but it must not take the whole snapshot down.
fn join<T>(handle: thread::ScopedJoinHandle<'_, Probe<T>>) -> Probe<T> {
    handle
        .join()
        .unwrap_or_else(|_| Probe::unavailable("the probe failed unexpectedly"))
}

/// sysinfo's containers, created empty and filled on first use, so that a snapshot of two
/// sections pays for two sections.
struct SysState {
    system: System,
    disks: Disks,
    networks: Networks,
    components: Components,
    users: Users,
    /// When CPU and process times were last read: the start of the next usage window.
    cpu_sampled_at: Option<Instant>,
    /// Whether two samples have been taken, i.e. usage figures mean something.
    cpu_usage_valid: bool,
    /// The agent's own CPU time (with its reaped children) at the last sample.
    own_cpu_secs: Option<f64>,
    /// The share of all CPUs the agent itself used in the last window, in percent.
    own_cpu_percent: f32,
}

impl SysState {
    fn new() -> Result<Self, sysinfo::Error> {
        Ok(SysState {
            system: System::new()?,
            disks: Disks::new()?,
            networks: Networks::new()?,
            components: Components::new()?,
            users: Users::new()?,
            cpu_sampled_at: None,
            cpu_usage_valid: false,
            own_cpu_secs: None,
            own_cpu_percent: 0.0,
        })
    }

    fn sample_cpu(&mut self) {
        let window = self.cpu_sampled_at.map(|at| at.elapsed());
        // A window shorter than the minimum gives meaningless usage: keep the last one.
        if window.is_some_and(|w| w < MINIMUM_CPU_UPDATE_INTERVAL) {
            return;
        }
        self.system
            .refresh_cpu_specifics(CpuRefreshKind::everything());
        let processes = ProcessRefreshKind::nothing()
            .with_cpu()
            .with_memory()
            .with_user(UpdateKind::OnlyIfNotSet)
            // Threads are not processes for our purposes.
            .without_tasks();
        self.system
            .refresh_processes_specifics(ProcessesToUpdate::All, true, processes);
        self.cpu_sampled_at = Some(Instant::now());
        let own = own_cpu_secs();
        if let Some(window) = window {
            self.cpu_usage_valid = true;
            if let (Some(before), Some(after)) = (self.own_cpu_secs, own) {
                let capacity = window.as_secs_f64() * self.system.cpus().len().max(1) as f64;
                self.own_cpu_percent = ((after - before) / capacity * 100.0) as f32;
            }
        }
        self.own_cpu_secs = own;
    }

    /// Before the other probes: open the CPU window if there is none, and read the cheap
    /// counters.
    fn begin(&mut self, request: &SnapshotRequest) {
        let wants = |section| request.wants(section);
        if (wants(SectionName::Hardware) || wants(SectionName::Processes))
            && self.cpu_sampled_at.is_none()
        {
            self.sample_cpu();
        }
        if wants(SectionName::Hardware) {
            self.system.refresh_memory();
            self.disks
                .refresh_specifics(true, DiskRefreshKind::nothing().with_storage());
            self.components.refresh(true);
        }
        if wants(SectionName::Processes) {
            self.users.refresh();
        }
        if wants(SectionName::Network) {
            self.networks.refresh(true);
        }
    }

    /// After the other probes: close the CPU window, waiting out its minimum length only
    /// when this is the first one.
    fn finish(&mut self, request: &SnapshotRequest) {
        if !(request.wants(SectionName::Hardware) || request.wants(SectionName::Processes)) {
            return;
        }
        if !self.cpu_usage_valid
            && let Some(at) = self.cpu_sampled_at
        {
            thread::sleep(MINIMUM_CPU_UPDATE_INTERVAL.saturating_sub(at.elapsed()));
        }
        self.sample_cpu();
    }

    fn hardware(&self) -> hardware::Hardware {
        let mut hardware = hardware::build(&self.system, &self.disks, &self.components);
        // The probes themselves (init scripts, package queries) run inside the sampling
        // window; without this a one-shot snapshot of an idle machine reads 25 % busy.
        let usage = &mut hardware.cpu.usage_percent;
        *usage = crate::text::round1((*usage - self.own_cpu_percent).max(0.0));
        hardware
    }

    fn processes(&self, top: usize) -> processes::Processes {
        processes::build(&self.system, &self.users, top)
    }
}

/// CPU time of this process plus its waited-for children, from `/proc/self/stat` (utime,
/// stime, cutime, cstime in USER_HZ ticks, which Linux fixes at 100 for user space).
#[cfg(target_os = "linux")]
fn own_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may contain spaces; the fixed fields follow its `)`.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields
        .get(11..15)?
        .iter()
        .map(|f| f.parse::<u64>().ok())
        .sum::<Option<u64>>()?;
    Some(ticks as f64 / 100.0)
}

/// Elsewhere the agent's own share is not subtracted (see the crate's notes).
#[cfg(not(target_os = "linux"))]
fn own_cpu_secs() -> Option<f64> {
    None
}

struct CacheSlot<T>(Option<Cached<T>>);

impl<T> Default for CacheSlot<T> {
    fn default() -> Self {
        CacheSlot(None)
    }
}

struct Cached<T> {
    value: T,
    read_at: Instant,
    collected_at: DateTime<Utc>,
}

impl<T: Clone> CacheSlot<T> {
    fn reusable(&self, ttl: Duration, bypass: bool) -> Option<(T, DateTime<Utc>)> {
        let cached = self.0.as_ref()?;
        (!bypass && cached.read_at.elapsed() < ttl)
            .then(|| (cached.value.clone(), cached.collected_at))
    }

    /// The section for the snapshot: the cached value, or the fresh reading, which is kept
    /// for next time when it has data (a failure is retried rather than cached).
    fn settle(
        &mut self,
        cached: Option<(T, DateTime<Utc>)>,
        read: Option<Probe<T>>,
        now: DateTime<Utc>,
        section: SectionName,
        cached_sections: &mut std::collections::BTreeMap<SectionName, DateTime<Utc>>,
    ) -> Option<Probe<T>> {
        if let Some((value, collected_at)) = cached {
            cached_sections.insert(section, collected_at);
            return Some(Probe::Available(value));
        }
        let probe = read?;
        if let Probe::Available(value) = &probe {
            self.0 = Some(Cached {
                value: value.clone(),
                read_at: Instant::now(),
                collected_at: now,
            });
        }
        Some(probe)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_agents_own_cpu_time_is_readable_and_grows() {
        let before = own_cpu_secs().expect("/proc/self/stat is readable");
        // Burn a little CPU so that the tick counter must move.
        let started = Instant::now();
        let mut x = 0u64;
        while started.elapsed() < Duration::from_millis(50) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(own_cpu_secs().unwrap() > before);
    }
}
