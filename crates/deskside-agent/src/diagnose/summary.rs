//! The human-readable summary: one line or two per section with the figures a technician
//! looks at first, then the findings.

use std::fmt::Write;

use deskside_diagnostics::sections::hardware::Hardware;
use deskside_diagnostics::sections::network::{Check, Network};
use deskside_diagnostics::sections::processes::Processes;
use deskside_diagnostics::sections::services::{ServiceManager, ServiceState, Services};
use deskside_diagnostics::sections::system::SystemInfo;
use deskside_diagnostics::{Finding, Probe, SectionName, Snapshot, format_bytes};

pub fn render(snapshot: &Snapshot, findings: &[Finding]) -> String {
    let mut out = String::new();
    let host = snapshot
        .system()
        .and_then(|s| s.hostname.clone())
        .unwrap_or_else(|| "this machine".to_owned());
    let _ = writeln!(
        out,
        "Diagnostics for {host}, {} ({} ms)\n",
        snapshot.collected_at.format("%Y-%m-%d %H:%M:%S UTC"),
        snapshot.duration_ms
    );
    for section in SectionName::ALL {
        let lines = match snapshot.section_status(section) {
            None => continue,
            Some(Err(reason)) => vec![format!("unavailable: {reason}")],
            Some(Ok(())) => section_lines(snapshot, section),
        };
        for (i, line) in lines.iter().enumerate() {
            let label = if i == 0 { section.as_str() } else { "" };
            let _ = writeln!(out, "{label:<10} {line}");
        }
    }
    let _ = writeln!(out, "\nFindings");
    if findings.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for finding in findings {
        let _ = writeln!(
            out,
            "  {:<8} {}\n           {}",
            finding.severity.as_str().to_uppercase(),
            finding.title,
            finding.detail
        );
        if let Some(fix) = &finding.suggested_fix {
            let action = fix
                .action
                .as_deref()
                .map(|a| format!("[{a}] "))
                .unwrap_or_default();
            let _ = writeln!(out, "           fix: {action}{}", fix.advice);
        }
    }
    out
}

fn section_lines(snapshot: &Snapshot, section: SectionName) -> Vec<String> {
    match section {
        SectionName::System => snapshot.system().map(system).unwrap_or_default(),
        SectionName::Hardware => snapshot.hardware().map(hardware).unwrap_or_default(),
        SectionName::Network => snapshot.network().map(network).unwrap_or_default(),
        SectionName::Processes => snapshot.processes().map(processes).unwrap_or_default(),
        SectionName::Services => snapshot.services().map(services).unwrap_or_default(),
        SectionName::Printers => snapshot
            .printers()
            .map(|p| {
                if p.printers.is_empty() {
                    return vec!["no printers".to_owned()];
                }
                p.printers
                    .iter()
                    .map(|p| {
                        format!(
                            "{}: {}{}, {} job(s) queued",
                            p.name,
                            p.state.as_str(),
                            if p.enabled { "" } else { " (disabled)" },
                            p.queued_jobs
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        SectionName::Software => snapshot
            .software()
            .map(|s| vec![format!("{} packages ({})", s.count, s.source)])
            .unwrap_or_default(),
        SectionName::Logs => snapshot
            .logs()
            .map(|l| {
                let mut lines = vec![format!(
                    "{} recent error line(s) from {}",
                    l.lines.len(),
                    l.source
                )];
                lines.extend(l.lines.iter().rev().take(3).map(|line| format!("  {line}")));
                lines
            })
            .unwrap_or_default(),
    }
}

fn system(s: &SystemInfo) -> Vec<String> {
    let os = s
        .long_os_version
        .clone()
        .or_else(|| s.os_name.clone())
        .unwrap_or_else(|| "unknown OS".to_owned());
    let reboot = match &s.pending_reboot {
        Probe::Available(p) if p.required => "reboot pending".to_owned(),
        Probe::Available(_) => "no reboot pending".to_owned(),
        Probe::Unavailable { reason } => format!("reboot status unknown ({reason})"),
    };
    vec![format!(
        "{os}, kernel {}, {}, up {}, {reboot}",
        s.kernel.as_deref().unwrap_or("?"),
        s.arch,
        uptime(s.uptime_secs)
    )]
}

fn hardware(h: &Hardware) -> Vec<String> {
    let mut lines = vec![format!(
        "{} ({} logical cores), {} % busy{}",
        h.cpu.model,
        h.cpu.logical_cores,
        h.cpu.usage_percent,
        h.load_average
            .as_ref()
            .map(|l| format!(", load {:.2} {:.2} {:.2}", l.one, l.five, l.fifteen))
            .unwrap_or_default()
    )];
    lines.push(format!(
        "memory {} used of {} ({} available), swap {} of {}",
        format_bytes(h.memory.used_bytes),
        format_bytes(h.memory.total_bytes),
        format_bytes(h.memory.available_bytes),
        format_bytes(h.swap.used_bytes),
        format_bytes(h.swap.total_bytes)
    ));
    for disk in &h.disks {
        lines.push(format!(
            "disk {} {:.0} % used, {} free of {} ({})",
            disk.mount_point,
            disk.used_percent(),
            format_bytes(disk.available_bytes),
            format_bytes(disk.total_bytes),
            disk.file_system
        ));
    }
    match &h.batteries {
        Probe::Available(batteries) => {
            for b in batteries {
                lines.push(format!(
                    "battery {} {}% {}",
                    b.name,
                    b.charge_percent
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "?".into()),
                    b.status.as_deref().unwrap_or("")
                ));
            }
        }
        Probe::Unavailable { reason } => lines.push(format!("battery: {reason}")),
    }
    for t in &h.temperatures {
        lines.push(format!("temperature {} {} °C", t.label, t.celsius));
    }
    lines
}

fn network(n: &Network) -> Vec<String> {
    let mut lines: Vec<String> = n
        .interfaces
        .iter()
        .map(|i| {
            format!(
                "{} {} (rx {}, tx {})",
                i.name,
                if i.addresses.is_empty() {
                    "no address".to_owned()
                } else {
                    i.addresses.join(" ")
                },
                format_bytes(i.rx_bytes),
                format_bytes(i.tx_bytes)
            )
        })
        .collect();
    let dns = match &n.dns_servers {
        Probe::Available(servers) => servers.join(" "),
        Probe::Unavailable { reason } => format!("unknown ({reason})"),
    };
    let gateway = match &n.default_gateway {
        Probe::Available(Some(g)) => g.clone(),
        Probe::Available(None) => "none".to_owned(),
        Probe::Unavailable { reason } => format!("unknown ({reason})"),
    };
    lines.push(format!("DNS servers {dns}; default gateway {gateway}"));
    let checks = &n.reachability;
    for (name, probe) in [
        ("gateway", &checks.gateway),
        ("DNS", &checks.dns),
        ("server", &checks.server),
    ] {
        lines.push(format!("{name} check: {}", check(probe)));
    }
    lines
}

fn check(probe: &Probe<Check>) -> String {
    match probe {
        Probe::Available(c) if c.ok => format!(
            "{} ok{}",
            c.target,
            c.latency_ms
                .map(|l| format!(" in {l} ms"))
                .unwrap_or_default()
        ),
        Probe::Available(c) => format!(
            "{} FAILED: {}",
            c.target,
            c.detail.as_deref().unwrap_or("no reason")
        ),
        Probe::Unavailable { reason } => reason.clone(),
    }
}

fn processes(p: &Processes) -> Vec<String> {
    let list = |entries: &[deskside_diagnostics::sections::processes::ProcessEntry], cpu: bool| {
        if entries.is_empty() {
            return "none".to_owned();
        }
        entries
            .iter()
            .take(3)
            .map(|e| {
                if cpu {
                    format!("{} {} %", e.name, e.cpu_percent)
                } else {
                    format!("{} {}", e.name, format_bytes(e.memory_bytes))
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    vec![
        format!(
            "{} processes; busiest: {}",
            p.total,
            list(&p.top_by_cpu, true)
        ),
        format!("largest: {}", list(&p.top_by_memory, false)),
    ]
}

fn services(s: &Services) -> Vec<String> {
    let count = |state| s.services.iter().filter(|svc| svc.state == state).count();
    let not_running: Vec<&str> = s
        .services
        .iter()
        .filter(|svc| matches!(svc.state, ServiceState::Stopped | ServiceState::Failed))
        .take(12)
        .map(|svc| svc.name.as_str())
        .collect();
    vec![
        format!(
            "{}: {} running, {} stopped, {} failed, {} unknown",
            match s.manager {
                ServiceManager::Systemd => "systemd",
                ServiceManager::SysvInit => "init.d scripts",
                ServiceManager::WindowsScm => "Windows services",
                ServiceManager::Launchd => "launchd",
                ServiceManager::Other => "services",
            },
            count(ServiceState::Running),
            count(ServiceState::Stopped),
            count(ServiceState::Failed),
            count(ServiceState::Unknown)
        ),
        format!("not running: {}", not_running.join(", ")),
    ]
}

fn uptime(secs: u64) -> String {
    let (days, hours, minutes) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
    if days > 0 {
        format!("{days} d {hours} h")
    } else {
        format!("{hours} h {minutes} min")
    }
}
