use deskside_diagnostics::diff::SnapshotDiff;
use deskside_diagnostics::{SectionName, diff};

use crate::fixture;

/// The diff as one line per change, so a table can state it plainly.
fn entries(d: &SnapshotDiff) -> Vec<String> {
    let state = |s: Option<String>| s.unwrap_or_else(|| "none".to_owned());
    let mut out = Vec::new();
    for c in &d.system {
        out.push(format!(
            "system {}: {} -> {}",
            c.field,
            state(c.from.clone()),
            state(c.to.clone())
        ));
    }
    for p in &d.software.installed {
        out.push(format!("installed {p}"));
    }
    for p in &d.software.removed {
        out.push(format!("removed {p}"));
    }
    for u in &d.software.upgraded {
        out.push(format!("upgraded {} {} -> {}", u.name, u.from, u.to));
    }
    for c in &d.disks {
        let pct = |p: Option<f64>| p.map_or("none".to_owned(), |p| format!("{p:.1}"));
        out.push(format!(
            "disk {}: {} -> {}",
            c.mount_point,
            pct(c.from_percent),
            pct(c.to_percent)
        ));
    }
    for c in &d.services {
        let s = |s: Option<deskside_diagnostics::sections::services::ServiceState>| {
            s.map(|s| s.as_str().to_owned())
        };
        out.push(format!(
            "service {}: {} -> {}",
            c.name,
            state(s(c.from)),
            state(s(c.to))
        ));
    }
    let n = &d.network;
    out.extend(
        n.interfaces_added
            .iter()
            .map(|i| format!("interface added {i}")),
    );
    out.extend(
        n.interfaces_removed
            .iter()
            .map(|i| format!("interface removed {i}")),
    );
    for c in &n.addresses_changed {
        out.push(format!(
            "addresses {}: {} -> {}",
            c.interface,
            c.from.join(" "),
            c.to.join(" ")
        ));
    }
    if let Some(c) = &n.dns_servers {
        out.push(format!(
            "dns servers: {} -> {}",
            c.from.join(" "),
            c.to.join(" ")
        ));
    }
    if let Some(c) = &n.default_gateway {
        out.push(format!(
            "gateway: {} -> {}",
            state(c.from.clone()),
            state(c.to.clone())
        ));
    }
    for c in &d.printers {
        let s = |s: Option<deskside_diagnostics::sections::printers::PrinterState>| {
            s.map(|s| s.as_str().to_owned())
        };
        out.push(format!(
            "printer {}: {} -> {}",
            c.name,
            state(s(c.from)),
            state(s(c.to))
        ));
    }
    out
}

/// (old fixture, new fixture, expected changes, sections that could not be compared).
fn table() -> Vec<(
    &'static str,
    &'static str,
    Vec<&'static str>,
    Vec<SectionName>,
)> {
    vec![
        ("debian12-vm", "debian12-vm", vec![], vec![]),
        (
            "debian12-vm",
            "debian12-after-upgrade",
            vec![
                "system kernel: 6.18.44-fc-v769 -> 6.18.50-fc-v801",
                "installed htop=3.2.2-2",
                "removed cups-browsed=1.28.17-3+deb12u2",
                "upgraded bash 5.2.15-2+b8 -> 5.2.15-2+b9",
                "upgraded tzdata 2025b-0+deb12u2 -> 2025c-0+deb12u1",
                "disk /: 72.9 -> 77.9",
                "service cups: stopped -> running",
                "service cups-browsed: stopped -> none",
                "interface added wlan0",
                "addresses eth0: 192.0.2.2/24 fd00::2/64 fe80::fc:ff:fe00:1/64 -> 192.0.2.7/24 fd00::7/64 fe80::fc:ff:fe00:1/64",
                "dns servers: 10.255.255.53 -> 10.255.255.53 1.1.1.1",
                "printer deskA: idle -> printing",
                "printer deskB: stopped -> none",
                "printer deskC: none -> idle",
            ],
            vec![],
        ),
        (
            "debian12-vm",
            "debian12-trouble",
            vec![
                "disk /: 72.9 -> 97.5",
                "disk /home: none -> 92.0",
                "disk /snap/core22/1380: none -> 100.0",
                "service cron: none -> failed",
                "service ssh: none -> running",
                "printer deskA: idle -> printing",
            ],
            vec![],
        ),
        // Sections one side lacks are named, not reported as everything removed.
        (
            "windows-spooler",
            "windows-spooler",
            vec![],
            vec![
                SectionName::Hardware,
                SectionName::Network,
                SectionName::Software,
            ],
        ),
    ]
}

#[test]
fn recorded_snapshot_pairs_give_the_expected_diffs() {
    for (old, new, expected, not_compared) in table() {
        let got = diff(&fixture(old), &fixture(new));
        assert_eq!(entries(&got), expected, "{old} -> {new}");
        assert_eq!(got.not_compared, not_compared, "{old} -> {new}");
        assert_eq!(got.is_empty(), expected.is_empty(), "{old} -> {new}");
    }
}

#[test]
fn small_disk_movements_are_not_changes() {
    let old = fixture("debian12-vm");
    let mut new = old.clone();
    if let Some(deskside_diagnostics::Probe::Available(hw)) = &mut new.hardware {
        let disk = &mut hw.disks[0];
        // Half a point fuller.
        disk.available_bytes -= disk.total_bytes / 200;
    }
    assert!(diff(&old, &new).disks.is_empty());
}
