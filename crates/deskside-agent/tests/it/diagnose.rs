//! `deskside-agent diagnose`, run as a user would.

use std::process::{Command, Output};

use deskside_diagnostics::Snapshot;

fn agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deskside-agent"))
        .args(args)
        .env_remove("DESKSIDE_SERVER")
        .output()
        .expect("deskside-agent runs")
}

#[test]
fn diagnose_json_prints_only_the_requested_sections() {
    let out = agent(&[
        "diagnose",
        "--json",
        "--section",
        "hardware",
        "--section",
        "system",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let snapshot: Snapshot = serde_json::from_slice(&out.stdout).expect("stdout is a snapshot");
    assert_eq!(
        snapshot.schema_version,
        deskside_diagnostics::SCHEMA_VERSION
    );
    let hardware = snapshot.hardware().expect("hardware is readable here");
    assert!(hardware.memory.total_bytes > 0);
    assert!(
        snapshot
            .system()
            .and_then(|s| s.hostname.as_deref())
            .is_some()
    );
    assert!(snapshot.network.is_none() && snapshot.software.is_none());
    assert!(snapshot.processes.is_none() && snapshot.printers.is_none());
}

#[test]
fn an_unknown_section_is_a_usage_error_listing_the_valid_ones() {
    let out = agent(&["diagnose", "--section", "printer"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown section 'printer'"), "{stderr}");
    assert!(
        stderr.contains("system, hardware, network, processes, services, printers, software, logs"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn the_summary_names_sections_and_findings() {
    let out = agent(&["diagnose", "--section", "system", "--section", "services"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\nsystem ") && text.contains("\nservices "),
        "{text}"
    );
    assert!(text.contains("Findings"), "{text}");
}
