//! A real snapshot of the machine the tests run on. Network checks are off so the result
//! does not depend on the network; everything else is read for real.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use deskside_diagnostics::sections::services::ServiceManager;
use deskside_diagnostics::{
    Collector, CollectorOptions, NetworkChecks, SectionName, Snapshot, SnapshotRequest, collect,
};

fn options() -> CollectorOptions {
    CollectorOptions {
        network: NetworkChecks::disabled(),
        ..CollectorOptions::default()
    }
}

#[test]
fn every_section_is_data_or_a_reason_and_the_json_stays_small() {
    let snapshot = collect(options(), &SnapshotRequest::all());
    for section in SectionName::ALL {
        match snapshot.section_status(section) {
            None => panic!("{section} missing"),
            Some(Err(reason)) => assert!(!reason.trim().is_empty(), "{section}: empty reason"),
            Some(Ok(())) => {}
        }
    }
    // Sections every supported machine can read.
    for section in [
        SectionName::System,
        SectionName::Hardware,
        SectionName::Network,
        SectionName::Processes,
    ] {
        assert_eq!(snapshot.section_status(section), Some(Ok(())), "{section}");
    }
    // CPU usage needs a full sampling window between its two samples.
    assert!(snapshot.duration_ms >= 200, "{} ms", snapshot.duration_ms);
    let hardware = snapshot.hardware().unwrap();
    assert!(hardware.memory.total_bytes > 0 && hardware.cpu.logical_cores > 0);
    assert!(!hardware.disks.is_empty());
    assert!(snapshot.processes().unwrap().total > 0);

    let json = serde_json::to_string(&snapshot).unwrap();
    assert!(
        json.len() < 64 * 1024,
        "snapshot JSON is {} bytes",
        json.len()
    );
    let back: Snapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, snapshot);
}

#[test]
fn services_come_from_the_init_system_in_use() {
    if Path::new("/run/systemd/system").exists() {
        let snapshot = collect(options(), &SnapshotRequest::only([SectionName::Services]));
        let services = snapshot.services().expect("services readable here");
        assert_eq!(services.manager, ServiceManager::Systemd);
        return;
    }
    // No systemd (as on the build machines): the list `service --status-all` prints. Other
    // tests on this machine may add or remove an init script meanwhile, so the snapshot
    // must hold every name seen both before and after, and nothing seen by neither.
    let before = status_all_names();
    let snapshot = collect(options(), &SnapshotRequest::only([SectionName::Services]));
    let after = status_all_names();
    let services = snapshot.services().expect("services readable here");
    assert_eq!(services.manager, ServiceManager::SysvInit);
    let got: BTreeSet<String> = services.services.iter().map(|s| s.name.clone()).collect();
    assert!(!got.is_empty());
    let always: BTreeSet<String> = before.intersection(&after).cloned().collect();
    let ever: BTreeSet<String> = before.union(&after).cloned().collect();
    assert!(got.is_superset(&always), "{got:?} lacks some of {always:?}");
    assert!(got.is_subset(&ever), "{got:?} has more than {ever:?}");
}

fn status_all_names() -> BTreeSet<String> {
    let out = Command::new("service")
        .arg("--status-all")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .filter_map(|l| l.split_once(']').map(|(_, name)| name.trim().to_owned()))
        .filter(|name| !name.is_empty())
        .collect()
}

#[test]
fn only_the_requested_sections_are_read() {
    let request = SnapshotRequest::only([SectionName::System, SectionName::Printers]);
    let snapshot = collect(options(), &request);
    assert!(snapshot.system.is_some() && snapshot.printers.is_some());
    assert!(snapshot.hardware.is_none() && snapshot.processes.is_none());
    assert!(snapshot.software.is_none() && snapshot.logs.is_none());
    assert!(snapshot.network.is_none() && snapshot.services.is_none());
}

#[test]
fn a_warm_collector_reuses_slow_sections_until_told_not_to() {
    let mut collector = Collector::new(options());
    let first = collector.snapshot(&SnapshotRequest::all());
    assert!(first.cached_sections.is_empty());

    let second = collector.snapshot(&SnapshotRequest::all());
    // Only sections that were read successfully are cached; failures are retried.
    let expected: BTreeSet<SectionName> = [
        SectionName::Software,
        SectionName::Services,
        SectionName::Logs,
    ]
    .into_iter()
    .filter(|s| first.section_status(*s) == Some(Ok(())))
    .collect();
    let cached: BTreeSet<SectionName> = second.cached_sections.keys().copied().collect();
    assert_eq!(cached, expected);
    for at in second.cached_sections.values() {
        assert_eq!(*at, first.collected_at);
    }
    assert_eq!(second.software, first.software);

    let forced = collector.snapshot(&SnapshotRequest {
        bypass_cache: true,
        ..SnapshotRequest::all()
    });
    assert!(forced.cached_sections.is_empty());
    // CPU usage is measured over real windows in every snapshot.
    assert!(forced.hardware().unwrap().cpu.usage_percent >= 0.0);
}
