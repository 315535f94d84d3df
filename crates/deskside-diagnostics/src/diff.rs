//! What changed between two snapshots of one machine: "what changed since it last worked".
//!
//! Pure. A section missing or unavailable on either side is listed in `not_compared`
//! rather than reported as everything added or removed.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::sections::printers::PrinterState;
use crate::sections::services::ServiceState;
use crate::sections::software::Package;
use crate::snapshot::{SectionName, Snapshot};

/// A disk whose use moved less than this is noise (logs, caches), not a change.
const DISK_CHANGE_POINTS: f64 = 1.0;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SnapshotDiff {
    /// OS name, version, kernel, host name.
    pub system: Vec<FieldChange>,
    pub software: SoftwareChanges,
    pub disks: Vec<DiskChange>,
    pub services: Vec<ServiceChange>,
    pub network: NetworkChanges,
    pub printers: Vec<PrinterChange>,
    pub not_compared: Vec<SectionName>,
}

impl SnapshotDiff {
    /// Nothing changed in the sections that could be compared.
    pub fn is_empty(&self) -> bool {
        self.system.is_empty()
            && self.software.is_empty()
            && self.disks.is_empty()
            && self.services.is_empty()
            && self.network.is_empty()
            && self.printers.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FieldChange {
    pub field: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SoftwareChanges {
    pub installed: Vec<Package>,
    pub removed: Vec<Package>,
    /// Version changes; almost always upgrades, but a downgrade is listed here too.
    pub upgraded: Vec<VersionChange>,
}

impl SoftwareChanges {
    pub fn is_empty(&self) -> bool {
        self.installed.is_empty() && self.removed.is_empty() && self.upgraded.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VersionChange {
    pub name: String,
    pub from: String,
    pub to: String,
}

/// `None` on one side: the disk appeared or disappeared.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DiskChange {
    pub mount_point: String,
    pub from_percent: Option<f64>,
    pub to_percent: Option<f64>,
}

/// `None` on one side: the service was installed or removed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceChange {
    pub name: String,
    pub from: Option<ServiceState>,
    pub to: Option<ServiceState>,
}

/// `None` on one side: the printer was added or removed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PrinterChange {
    pub name: String,
    pub from: Option<PrinterState>,
    pub to: Option<PrinterState>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NetworkChanges {
    pub interfaces_added: Vec<String>,
    pub interfaces_removed: Vec<String>,
    pub addresses_changed: Vec<AddressChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_servers: Option<Change<Vec<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_gateway: Option<Change<Option<String>>>,
}

impl NetworkChanges {
    pub fn is_empty(&self) -> bool {
        self.interfaces_added.is_empty()
            && self.interfaces_removed.is_empty()
            && self.addresses_changed.is_empty()
            && self.dns_servers.is_none()
            && self.default_gateway.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AddressChange {
    pub interface: String,
    pub from: Vec<String>,
    pub to: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Change<T> {
    pub from: T,
    pub to: T,
}

pub fn diff(old: &Snapshot, new: &Snapshot) -> SnapshotDiff {
    let mut result = SnapshotDiff::default();
    let mut not_compared = BTreeSet::new();

    match (old.system(), new.system()) {
        (Some(a), Some(b)) => {
            let fields = [
                ("osName", &a.os_name, &b.os_name),
                ("osVersion", &a.os_version, &b.os_version),
                ("kernel", &a.kernel, &b.kernel),
                ("hostname", &a.hostname, &b.hostname),
            ];
            result.system = fields
                .into_iter()
                .filter(|(_, from, to)| from != to)
                .map(|(field, from, to)| FieldChange {
                    field: field.to_owned(),
                    from: from.clone(),
                    to: to.clone(),
                })
                .collect();
        }
        _ => {
            not_compared.insert(SectionName::System);
        }
    }

    match (old.software(), new.software()) {
        (Some(a), Some(b)) => result.software = software(&a.packages, &b.packages),
        _ => {
            not_compared.insert(SectionName::Software);
        }
    }

    match (old.hardware(), new.hardware()) {
        (Some(a), Some(b)) => {
            let used = |disks: &[crate::sections::hardware::Disk]| -> BTreeMap<String, f64> {
                disks
                    .iter()
                    .map(|d| {
                        (
                            d.mount_point.clone(),
                            crate::text::round1(d.used_percent() as f32) as f64,
                        )
                    })
                    .collect()
            };
            result.disks = changed(&used(&a.disks), &used(&b.disks), |from, to| {
                (to - from).abs() >= DISK_CHANGE_POINTS
            })
            .map(|(mount_point, from_percent, to_percent)| DiskChange {
                mount_point,
                from_percent,
                to_percent,
            })
            .collect();
        }
        _ => {
            not_compared.insert(SectionName::Hardware);
        }
    }

    match (old.services(), new.services()) {
        (Some(a), Some(b)) => {
            let states =
                |s: &crate::sections::services::Services| -> BTreeMap<String, ServiceState> {
                    s.services
                        .iter()
                        .map(|s| (s.name.clone(), s.state))
                        .collect()
                };
            result.services = changed(&states(a), &states(b), |from, to| from != to)
                .map(|(name, from, to)| ServiceChange { name, from, to })
                .collect();
        }
        _ => {
            not_compared.insert(SectionName::Services);
        }
    }

    match (old.printers(), new.printers()) {
        (Some(a), Some(b)) => {
            let states =
                |p: &crate::sections::printers::Printers| -> BTreeMap<String, PrinterState> {
                    p.printers
                        .iter()
                        .map(|p| (p.name.clone(), p.state))
                        .collect()
                };
            result.printers = changed(&states(a), &states(b), |from, to| from != to)
                .map(|(name, from, to)| PrinterChange { name, from, to })
                .collect();
        }
        _ => {
            not_compared.insert(SectionName::Printers);
        }
    }

    match (old.network(), new.network()) {
        (Some(a), Some(b)) => result.network = network(a, b),
        _ => {
            not_compared.insert(SectionName::Network);
        }
    }

    result.not_compared = not_compared.into_iter().collect();
    result
}

/// Keys whose value changed per `differs`, plus keys on one side only, in key order.
fn changed<V: Clone>(
    old: &BTreeMap<String, V>,
    new: &BTreeMap<String, V>,
    differs: impl Fn(&V, &V) -> bool,
) -> impl Iterator<Item = (String, Option<V>, Option<V>)> {
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter_map(|key| match (old.get(key), new.get(key)) {
            (Some(a), Some(b)) if !differs(a, b) => None,
            (a, b) => Some((key.clone(), a.cloned(), b.cloned())),
        })
        .collect::<Vec<_>>()
        .into_iter()
}

fn software(old: &[Package], new: &[Package]) -> SoftwareChanges {
    let versions = |packages: &[Package]| -> BTreeMap<String, String> {
        packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect()
    };
    let mut changes = SoftwareChanges::default();
    for (name, from, to) in changed(&versions(old), &versions(new), |a, b| a != b) {
        match (from, to) {
            (None, Some(version)) => changes.installed.push(Package { name, version }),
            (Some(version), None) => changes.removed.push(Package { name, version }),
            (Some(from), Some(to)) => changes.upgraded.push(VersionChange { name, from, to }),
            (None, None) => {}
        }
    }
    changes
}

fn network(
    old: &crate::sections::network::Network,
    new: &crate::sections::network::Network,
) -> NetworkChanges {
    let addresses = |n: &crate::sections::network::Network| -> BTreeMap<String, Vec<String>> {
        n.interfaces
            .iter()
            .map(|i| (i.name.clone(), i.addresses.clone()))
            .collect()
    };
    let mut changes = NetworkChanges::default();
    for (interface, from, to) in changed(&addresses(old), &addresses(new), |a, b| a != b) {
        match (from, to) {
            (None, Some(_)) => changes.interfaces_added.push(interface),
            (Some(_), None) => changes.interfaces_removed.push(interface),
            (Some(from), Some(to)) => changes.addresses_changed.push(AddressChange {
                interface,
                from,
                to,
            }),
            (None, None) => {}
        }
    }
    // Only compare what both sides could read: "unavailable" is not "changed".
    if let (Some(from), Some(to)) = (
        old.dns_servers.as_available(),
        new.dns_servers.as_available(),
    ) && from != to
    {
        changes.dns_servers = Some(Change {
            from: from.clone(),
            to: to.clone(),
        });
    }
    if let (Some(from), Some(to)) = (
        old.default_gateway.as_available(),
        new.default_gateway.as_available(),
    ) && from != to
    {
        changes.default_gateway = Some(Change {
            from: from.clone(),
            to: to.clone(),
        });
    }
    changes
}
