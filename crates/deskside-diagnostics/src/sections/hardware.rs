//! `hardware`: CPU, load, memory, swap, disks, batteries and temperatures.
//!
//! Built from sysinfo state the collector keeps warm; only batteries are read here.

use serde::{Deserialize, Serialize};
use sysinfo::{Components, Disks, System};

use crate::snapshot::Probe;
use crate::text::round1;

/// More mounts than this is a container host or a build machine: the rest adds bytes,
/// not insight.
const MAX_DISKS: usize = 32;
const MAX_TEMPERATURES: usize = 16;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Hardware {
    pub cpu: Cpu,
    /// Absent on Windows, which has no load average.
    pub load_average: Option<LoadAverage>,
    pub memory: Memory,
    pub swap: Swap,
    pub disks: Vec<Disk>,
    pub batteries: Probe<Vec<Battery>>,
    pub temperatures: Vec<Temperature>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Cpu {
    pub model: String,
    pub vendor: String,
    pub physical_cores: Option<usize>,
    pub logical_cores: usize,
    /// Of all cores, over the last sampling window; on Linux the agent's own work
    /// (including the commands it ran for this snapshot) is left out.
    pub usage_percent: f32,
    pub frequency_mhz: u64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LoadAverage {
    pub one: f64,
    pub five: f64,
    pub fifteen: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Memory {
    pub total_bytes: u64,
    pub used_bytes: u64,
    pub available_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Swap {
    pub total_bytes: u64,
    pub used_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Disk {
    pub name: String,
    pub mount_point: String,
    pub file_system: String,
    pub total_bytes: u64,
    pub available_bytes: u64,
    pub removable: bool,
    pub read_only: bool,
}

impl Disk {
    /// Used share of the disk in percent, as `df` counts it (reserved blocks count as used).
    pub fn used_percent(&self) -> f64 {
        if self.total_bytes == 0 {
            return 0.0;
        }
        let used = self.total_bytes.saturating_sub(self.available_bytes);
        used as f64 * 100.0 / self.total_bytes as f64
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Battery {
    pub name: String,
    pub charge_percent: Option<f32>,
    /// As the OS words it: `Charging`, `Discharging`, `Full`, …
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Temperature {
    pub label: String,
    pub celsius: f32,
    pub critical_celsius: Option<f32>,
}

pub(crate) fn build(system: &System, disks: &Disks, components: &Components) -> Hardware {
    let cpus = system.cpus();
    let first = cpus.first();
    Hardware {
        cpu: Cpu {
            model: first
                .map(|c| c.brand().trim().to_owned())
                .unwrap_or_default(),
            vendor: first.map(|c| c.vendor_id().to_owned()).unwrap_or_default(),
            physical_cores: System::physical_core_count().ok(),
            logical_cores: cpus.len(),
            usage_percent: round1(system.global_cpu_usage()),
            frequency_mhz: first.map(|c| c.frequency()).unwrap_or(0),
        },
        load_average: load_average(),
        memory: Memory {
            total_bytes: system.total_memory(),
            used_bytes: system.used_memory(),
            available_bytes: system.available_memory(),
        },
        swap: Swap {
            total_bytes: system.total_swap(),
            used_bytes: system.used_swap(),
        },
        disks: disk_list(disks),
        batteries: batteries(),
        temperatures: components
            .iter()
            .filter_map(|c| {
                Some(Temperature {
                    label: c.label().to_owned(),
                    celsius: round1(c.temperature()?),
                    critical_celsius: c.critical().map(round1),
                })
            })
            .take(MAX_TEMPERATURES)
            .collect(),
    }
}

#[cfg(windows)]
fn load_average() -> Option<LoadAverage> {
    None
}

#[cfg(not(windows))]
fn load_average() -> Option<LoadAverage> {
    let load = System::load_average().ok()?;
    Some(LoadAverage {
        one: load.one,
        five: load.five,
        fifteen: load.fifteen,
    })
}

fn disk_list(disks: &Disks) -> Vec<Disk> {
    let mut list: Vec<Disk> = Vec::new();
    for disk in disks.iter() {
        let mount_point = disk.mount_point().to_string_lossy().into_owned();
        // Bind mounts show the same file system several times; the first mount is enough.
        if list.iter().any(|d| d.mount_point == mount_point) {
            continue;
        }
        list.push(Disk {
            name: disk.name().to_string_lossy().into_owned(),
            mount_point,
            file_system: disk.file_system().to_string_lossy().into_owned(),
            total_bytes: disk.total_space(),
            available_bytes: disk.available_space(),
            removable: disk.is_removable(),
            read_only: disk.is_read_only(),
        });
    }
    list.sort_by(|a, b| a.mount_point.cmp(&b.mount_point));
    list.truncate(MAX_DISKS);
    list
}

#[cfg(target_os = "linux")]
fn batteries() -> Probe<Vec<Battery>> {
    use std::fs;
    let Ok(entries) = fs::read_dir("/sys/class/power_supply") else {
        // No power-supply class at all (containers, some VMs): nothing to report, but say so.
        return Probe::unavailable("no /sys/class/power_supply");
    };
    let read =
        |path: std::path::PathBuf| fs::read_to_string(path).ok().map(|s| s.trim().to_owned());
    let mut found: Vec<Battery> = entries
        .flatten()
        .filter(|e| read(e.path().join("type")).as_deref() == Some("Battery"))
        .map(|e| Battery {
            name: e.file_name().to_string_lossy().into_owned(),
            charge_percent: read(e.path().join("capacity")).and_then(|c| c.parse().ok()),
            status: read(e.path().join("status")),
        })
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Probe::Available(found)
}

#[cfg(not(target_os = "linux"))]
fn batteries() -> Probe<Vec<Battery>> {
    Probe::unavailable("battery status is not read on this platform yet")
}
