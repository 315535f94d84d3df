//! Disks almost full, memory pressure.

use super::{Finding, FindingRules, Severity, SuggestedFix, finding, ids, with_fix};
use crate::snapshot::Snapshot;
use crate::text::format_bytes;

/// File systems that are full by design (images, snaps) or not ours to clean.
const ALWAYS_FULL_FILE_SYSTEMS: [&str; 4] = ["squashfs", "iso9660", "udf", "erofs"];

pub(super) fn disks(snapshot: &Snapshot, rules: &FindingRules, found: &mut Vec<Finding>) {
    let Some(hardware) = snapshot.hardware() else {
        return;
    };
    for disk in &hardware.disks {
        if disk.read_only
            || disk.total_bytes == 0
            || ALWAYS_FULL_FILE_SYSTEMS.contains(&disk.file_system.as_str())
        {
            continue;
        }
        let used = disk.used_percent();
        let severity = if used >= rules.disk_critical_percent {
            Severity::Critical
        } else if used >= rules.disk_warning_percent {
            Severity::Warning
        } else {
            continue;
        };
        let mount = disk.mount_point.as_str();
        found.push(with_fix(
            finding(
                ids::DISK_ALMOST_FULL,
                Some(mount),
                severity,
                format!("Disk {mount} is {} % full", used.floor()),
                format!(
                    "{} free of {} on {mount} ({}).",
                    format_bytes(disk.available_bytes),
                    format_bytes(disk.total_bytes),
                    disk.file_system
                ),
            ),
            SuggestedFix::action(
                "disk.clean_temp",
                &[],
                "Remove temporary files, empty the recycle bin and move large files elsewhere.",
            ),
        ));
    }
}

pub(super) fn memory(snapshot: &Snapshot, rules: &FindingRules, found: &mut Vec<Finding>) {
    let Some(hardware) = snapshot.hardware() else {
        return;
    };
    let memory = &hardware.memory;
    let swap = &hardware.swap;
    if memory.total_bytes == 0 {
        return;
    }
    let available = memory.available_bytes as f64 * 100.0 / memory.total_bytes as f64;
    let swap_used =
        (swap.total_bytes > 0).then(|| swap.used_bytes as f64 * 100.0 / swap.total_bytes as f64);
    let swap_heavy = swap_used.is_some_and(|s| s >= rules.swap_used_warning_percent);
    let severity = if available < rules.memory_available_critical_percent {
        Severity::Critical
    } else if available < rules.memory_available_warning_percent || swap_heavy {
        Severity::Warning
    } else {
        return;
    };
    let mut detail = format!(
        "{} of {} memory is available ({} %).",
        format_bytes(memory.available_bytes),
        format_bytes(memory.total_bytes),
        available.floor()
    );
    if let Some(swap_used) = swap_used {
        detail.push_str(&format!(" Swap is {} % used.", swap_used.floor()));
    }
    let heaviest = snapshot
        .processes()
        .and_then(|p| p.top_by_memory.first())
        .map(|p| {
            format!(
                " The largest program is {} ({}).",
                p.name,
                format_bytes(p.memory_bytes)
            )
        })
        .unwrap_or_default();
    found.push(with_fix(
        finding(
            ids::MEMORY_PRESSURE,
            None,
            severity,
            "The computer is running low on memory".to_owned(),
            detail,
        ),
        SuggestedFix::advice(format!(
            "Close programs you are not using, or restart the computer.{heaviest}"
        )),
    ));
}
