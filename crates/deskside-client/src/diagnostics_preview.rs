//! What "Get help" shows of a local diagnostics snapshot before anything is sent, and the
//! snapshot trimmed to the sections the user kept.

use std::collections::BTreeSet;

use deskside_diagnostics::{
    Finding, FindingRules, Probe, SectionName, Severity, Snapshot, WithheldBy, format_bytes,
};

use crate::views::{DiagnosticsPreview, DiagnosticsSection, FindingHint, HintSeverity};

/// Sections that can say more about a person than they expect (what they run, what the
/// logs recorded) start unticked; the user may still include them.
const PRIVATE_BY_DEFAULT: [SectionName; 2] = [SectionName::Processes, SectionName::Logs];

/// The preview, its toggles set from the sections the user switched off last time
/// (`remembered`), or from the defaults when they have not chosen yet.
pub fn preview(
    snapshot: &Snapshot,
    remembered: Option<&BTreeSet<SectionName>>,
) -> DiagnosticsPreview {
    let sections = SectionName::ALL
        .into_iter()
        .filter_map(|name| section(snapshot, name, remembered))
        .collect();
    DiagnosticsPreview {
        collected_at: snapshot.collected_at,
        duration_ms: snapshot.duration_ms,
        sections,
        hints: local_findings(snapshot).iter().map(hint).collect(),
        remembered_choices: remembered.is_some(),
    }
}

/// The sections the user switched off, given those they kept (by id).
pub fn withheld_sections(included: &[String]) -> BTreeSet<SectionName> {
    SectionName::ALL
        .into_iter()
        .filter(|name| !included.iter().any(|id| id == name.as_str()))
        .collect()
}

/// What is attached to the ticket: the sections the user kept, and every other section
/// the snapshot held marked as not shared by the user (not silently missing).
pub fn attachment(snapshot: &Snapshot, included: &[String]) -> Snapshot {
    let mut kept = keep_sections(snapshot, included);
    for name in withheld_sections(included) {
        if snapshot.section_status(name).is_some() {
            kept.withhold(name, WithheldBy::User);
        }
    }
    kept
}

/// Findings judged on this computer; its own clock is the reference, so no skew is judged.
pub fn local_findings(snapshot: &Snapshot) -> Vec<Finding> {
    deskside_diagnostics::findings(snapshot, &FindingRules::default(), None)
}

pub fn hint(finding: &Finding) -> FindingHint {
    FindingHint {
        id: finding.id.clone(),
        severity: match finding.severity {
            Severity::Info => HintSeverity::Info,
            Severity::Warning => HintSeverity::Warning,
            Severity::Critical => HintSeverity::Critical,
        },
        title: finding.title.clone(),
        detail: finding.detail.clone(),
        suggested_action: finding
            .suggested_fix
            .as_ref()
            .and_then(|fix| fix.action.clone()),
    }
}

/// The snapshot with only `included` sections (by id); unknown ids are ignored.
pub fn keep_sections(snapshot: &Snapshot, included: &[String]) -> Snapshot {
    let keeps = |name: SectionName| included.iter().any(|id| id == name.as_str());
    let mut kept = snapshot.clone();
    macro_rules! keep {
        ($($field:ident => $name:ident),*) => {$(
            if !keeps(SectionName::$name) {
                kept.$field = None;
            }
        )*};
    }
    keep!(system => System, hardware => Hardware, network => Network,
          processes => Processes, services => Services, printers => Printers,
          software => Software, logs => Logs);
    kept.cached_sections.retain(|name, _| keeps(*name));
    kept
}

fn section(
    snapshot: &Snapshot,
    name: SectionName,
    remembered: Option<&BTreeSet<SectionName>>,
) -> Option<DiagnosticsSection> {
    let status = snapshot.section_status(name)?;
    let only = keep_sections(snapshot, &[name.as_str().to_owned()]);
    let size_bytes = serde_json::to_vec(&only)
        .map(|bytes| bytes.len())
        .unwrap_or(0)
        .saturating_sub(empty_size(snapshot));
    Some(DiagnosticsSection {
        id: name.as_str().to_owned(),
        title: title(name).to_owned(),
        summary: if status.is_ok() {
            summary(snapshot, name)
        } else {
            Vec::new()
        },
        unavailable_reason: status.err().map(str::to_owned),
        size_bytes: u32::try_from(size_bytes).unwrap_or(u32::MAX),
        included_by_default: match remembered {
            Some(withheld) => !withheld.contains(&name),
            None => !PRIVATE_BY_DEFAULT.contains(&name),
        },
    })
}

fn empty_size(snapshot: &Snapshot) -> usize {
    serde_json::to_vec(&keep_sections(snapshot, &[]))
        .map(|bytes| bytes.len())
        .unwrap_or(0)
}

fn title(name: SectionName) -> &'static str {
    match name {
        SectionName::System => "System",
        SectionName::Hardware => "Hardware and disks",
        SectionName::Network => "Network",
        SectionName::Processes => "Running programs",
        SectionName::Services => "Services",
        SectionName::Printers => "Printers",
        SectionName::Software => "Installed software",
        SectionName::Logs => "Recent system log",
    }
}

fn summary(snapshot: &Snapshot, name: SectionName) -> Vec<String> {
    let mut lines = Vec::new();
    match name {
        SectionName::System => {
            if let Some(system) = snapshot.system() {
                let os = system
                    .long_os_version
                    .clone()
                    .or_else(|| system.os_name.clone())
                    .unwrap_or_else(|| "Unknown system".to_owned());
                lines.push(os);
                if let Some(host) = &system.hostname {
                    lines.push(format!("Computer name {host}"));
                }
                lines.push(format!("Up {}", uptime_words(system.uptime_secs)));
            }
        }
        SectionName::Hardware => {
            if let Some(hardware) = snapshot.hardware() {
                lines.push(hardware.cpu.model.clone());
                lines.push(format!(
                    "{} memory, {} free",
                    format_bytes(hardware.memory.total_bytes),
                    format_bytes(hardware.memory.available_bytes)
                ));
                for disk in hardware.disks.iter().filter(|d| !d.removable).take(3) {
                    lines.push(format!(
                        "Disk {}: {} free of {}",
                        disk.mount_point,
                        format_bytes(disk.available_bytes),
                        format_bytes(disk.total_bytes)
                    ));
                }
            }
        }
        SectionName::Network => {
            lines.push("Addresses, DNS, gateway and server reachability".into())
        }
        SectionName::Processes => {
            if let Some(processes) = snapshot.processes() {
                lines.push(format!(
                    "{} programs running; the busiest are listed",
                    processes.total
                ));
            }
        }
        SectionName::Services => {
            if let Some(services) = snapshot.services() {
                lines.push(format!(
                    "{} services and their state",
                    services.services.len()
                ));
            }
        }
        SectionName::Printers => {
            if let Some(printers) = snapshot.printers() {
                let names: Vec<_> = printers.printers.iter().map(|p| p.name.as_str()).collect();
                lines.push(if names.is_empty() {
                    "No printers set up".to_owned()
                } else {
                    format!("{} and their queues", names.join(", "))
                });
            }
        }
        SectionName::Software => {
            if let Some(Probe::Available(software)) = &snapshot.software {
                lines.push(format!("{} installed packages", software.count));
            }
        }
        SectionName::Logs => {
            if let Some(Probe::Available(logs)) = &snapshot.logs {
                lines.push(format!(
                    "The last {} lines of {}",
                    logs.lines.len(),
                    logs.source
                ));
            }
        }
    }
    lines
}

fn uptime_words(secs: u64) -> String {
    let days = secs / 86_400;
    let hours = secs % 86_400 / 3_600;
    match (days, hours) {
        (0, 0) => format!("{} minutes", secs / 60),
        (0, h) => format!("{h} h"),
        (1, _) => "1 day".to_owned(),
        (d, _) => format!("{d} days"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Snapshot {
        let text = include_str!("../../deskside-diagnostics/tests/fixtures/debian12-trouble.json");
        serde_json::from_str(text).expect("fixture parses")
    }

    #[test]
    fn every_present_section_is_previewed_and_private_ones_start_unticked() {
        let preview = preview(&fixture(), None);
        assert!(!preview.remembered_choices);
        let ids: Vec<_> = preview.sections.iter().map(|s| s.id.as_str()).collect();
        assert!(
            ids.contains(&"system") && ids.contains(&"hardware"),
            "{ids:?}"
        );
        for section in &preview.sections {
            let private = section.id == "processes" || section.id == "logs";
            assert_eq!(section.included_by_default, !private, "{}", section.id);
            if section.unavailable_reason.is_none() {
                assert!(section.size_bytes > 0, "{}", section.id);
            }
        }
    }

    #[test]
    fn the_toggles_start_from_what_the_user_switched_off_last_time() {
        let remembered = withheld_sections(&["system".to_owned(), "processes".to_owned()]);
        assert!(!remembered.contains(&SectionName::Processes));
        assert!(remembered.contains(&SectionName::Software));
        let preview = preview(&fixture(), Some(&remembered));
        assert!(preview.remembered_choices);
        for section in &preview.sections {
            let kept = section.id == "system" || section.id == "processes";
            assert_eq!(section.included_by_default, kept, "{}", section.id);
        }
    }

    #[test]
    fn the_attachment_marks_what_the_user_switched_off() {
        let attached = attachment(&fixture(), &["system".to_owned()]);
        assert!(attached.system().is_some());
        assert_eq!(
            attached.section_status(SectionName::Processes),
            Some(Err("not shared by the user"))
        );
        assert_eq!(
            attached.withheld.get(&SectionName::Software),
            Some(&WithheldBy::User)
        );
        assert!(!attached.withheld.contains_key(&SectionName::System));
    }

    #[test]
    fn keeping_sections_leaves_out_the_rest() {
        let kept = keep_sections(&fixture(), &["system".to_owned(), "bogus".to_owned()]);
        assert!(kept.system.is_some());
        assert!(kept.hardware.is_none() && kept.logs.is_none() && kept.processes.is_none());
        let none = keep_sections(&fixture(), &[]);
        for name in SectionName::ALL {
            assert!(none.section_status(name).is_none(), "{name:?}");
        }
    }
}
