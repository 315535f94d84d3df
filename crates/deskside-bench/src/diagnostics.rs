//! Diagnostics snapshot cost: the one-shot `deskside-agent diagnose --json`, a warm snapshot
//! as the agent's daemon takes it (the `deskside-diagnostics` collector kept between
//! snapshots), and, measured in the same run for comparison, the local inventory of
//! FusionInventory (`fusioninventory-inventory`, Debian package `fusioninventory-agent`).
//! Each reports wall time, output size and what the output contains.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use deskside_diagnostics::{Collector, CollectorOptions, SectionName, SnapshotRequest};
use serde::Serialize;

use crate::latency::{LatencySummary, summarize};
use crate::run::{self, RunPlan};

pub const NAME: &str = "diagnostics";

const FUSIONINVENTORY: &str = "fusioninventory-inventory";
/// A CPU usage window must be at least sysinfo's `MINIMUM_CPU_UPDATE_INTERVAL` (200 ms)
/// long; pausing this long before each warm snapshot makes the snapshot close a window
/// itself, the dearer case (a daemon's heartbeat may already have done it).
const CPU_WINDOW: Duration = Duration::from_millis(250);
/// Unmeasured warm snapshots after the cold one, so caches and sysinfo state are settled.
const WARM_WARMUP: usize = 3;

pub struct DiagnosticsPlan {
    pub one_shot_runs: usize,
    pub warm_iterations: usize,
    pub fusioninventory_runs: usize,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticsReport {
    pub entries: Vec<DiagnosticsEntry>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticsEntry {
    pub name: String,
    pub description: String,
    /// What was run, as a command line or a library call.
    pub command: String,
    pub runs: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<DiagnosticsResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticsResult {
    /// Wall time of each run: process start to exit, or the library call.
    pub latency: LatencySummary,
    pub output_bytes: usize,
    pub format: String,
    /// One line for the report: the parts of the output and their sizes.
    pub contents: String,
    pub sections: Vec<OutputSection>,
}

/// One part of an output: a snapshot section, or a kind of inventory element.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputSection {
    pub name: String,
    /// Elements of this kind (inventory) or 1 (snapshot section).
    pub count: usize,
    pub bytes: usize,
    /// Why a snapshot section could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

pub fn measure(plan: &RunPlan, work_dir: &Path) -> DiagnosticsReport {
    let settings = &plan.diagnostics;
    eprintln!("[bench] {NAME}: one-shot and warm snapshots, beside {FUSIONINVENTORY}");
    let one_shot = entry(
        "agent-one-shot",
        "one-shot `deskside-agent diagnose --json` (release): process start, every probe, \
         a 200 ms CPU sample, compact JSON on stdout",
        "deskside-agent diagnose --json",
        settings.one_shot_runs,
        || measure_one_shot(plan, settings.one_shot_runs),
    );
    let warm = entry(
        "agent-warm",
        "warm snapshot in a running agent: one deskside-diagnostics `Collector` kept between \
         snapshots (slow sections cached: software 10 min, services 30 s, logs 60 s), \
         same options as the one-shot, each snapshot closing a CPU window of 250 ms",
        "Collector::snapshot(&SnapshotRequest::all())",
        settings.warm_iterations,
        || measure_warm(settings.warm_iterations),
    );
    let fusioninventory = entry(
        "fusioninventory",
        "FusionInventory's local inventory: `fusioninventory-inventory` (Debian package \
         fusioninventory-agent), XML written to a file",
        "fusioninventory-inventory > FILE",
        settings.fusioninventory_runs,
        || measure_fusioninventory(work_dir, settings.fusioninventory_runs),
    );
    DiagnosticsReport {
        entries: vec![one_shot, warm, fusioninventory],
    }
}

fn entry(
    name: &str,
    description: &str,
    command: &str,
    runs: usize,
    measure: impl FnOnce() -> anyhow::Result<DiagnosticsResult>,
) -> DiagnosticsEntry {
    let mut entry = DiagnosticsEntry {
        name: name.to_owned(),
        description: description.to_owned(),
        command: command.to_owned(),
        runs,
        result: None,
        error: None,
    };
    match measure() {
        Ok(result) => {
            eprintln!(
                "[bench]   {name}: p50 {:.1} ms, p95 {:.1} ms, {} bytes of {}",
                result.latency.p50_ms, result.latency.p95_ms, result.output_bytes, result.format
            );
            entry.result = Some(result);
        }
        Err(error) => {
            eprintln!("[bench]   {name}: FAILED: {error:#}");
            entry.error = Some(format!("{error:#}"));
        }
    }
    entry
}

fn measure_one_shot(plan: &RunPlan, runs: usize) -> anyhow::Result<DiagnosticsResult> {
    let agent = run::agent_binary(plan)?;
    let command = || {
        let mut command = Command::new(agent);
        command.args(["diagnose", "--json"]);
        command
    };
    // One unmeasured run, so the binary and what it reads are in the page cache for all.
    run_timed(command(), "deskside-agent diagnose --json")?;
    let mut samples = Vec::with_capacity(runs);
    let mut last = Vec::new();
    for _ in 0..runs {
        let (elapsed, output) = run_timed(command(), "deskside-agent diagnose --json")?;
        samples.push(elapsed);
        last = output.stdout;
    }
    let snapshot: serde_json::Value = serde_json::from_slice(&last)
        .context("`deskside-agent diagnose --json` printed no JSON")?;
    snapshot_result(samples, last.len(), &snapshot)
}

fn measure_warm(iterations: usize) -> anyhow::Result<DiagnosticsResult> {
    let mut collector = Collector::new(CollectorOptions::default());
    let request = SnapshotRequest::all();
    let mut snapshot = collector.snapshot(&request);
    for _ in 0..WARM_WARMUP {
        std::thread::sleep(CPU_WINDOW);
        snapshot = collector.snapshot(&request);
    }
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        std::thread::sleep(CPU_WINDOW);
        let started = Instant::now();
        snapshot = collector.snapshot(&request);
        samples.push(started.elapsed());
    }
    let json = serde_json::to_vec(&snapshot)?;
    let mut result = snapshot_result(samples, json.len(), &serde_json::from_slice(&json)?)?;
    if !snapshot.cached_sections.is_empty() {
        let cached: Vec<&str> = snapshot
            .cached_sections
            .keys()
            .map(|section| section.as_str())
            .collect();
        result.contents = format!("{}; from cache: {}", result.contents, cached.join(", "));
    }
    Ok(result)
}

fn measure_fusioninventory(work_dir: &Path, runs: usize) -> anyhow::Result<DiagnosticsResult> {
    let out_dir = run::fresh_dir(work_dir, NAME)?;
    let xml_path = out_dir.join("fusioninventory.xml");
    let command = || -> anyhow::Result<Command> {
        let file =
            File::create(&xml_path).with_context(|| format!("creating {}", xml_path.display()))?;
        let mut command = Command::new(FUSIONINVENTORY);
        command.stdout(Stdio::from(file));
        Ok(command)
    };
    let describe = format!("{FUSIONINVENTORY} > {}", xml_path.display());
    // Unmeasured, like the agent's: Perl and its modules come from the page cache after.
    run_timed(command()?, &describe)?;
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        samples.push(run_timed(command()?, &describe)?.0);
    }
    let xml = std::fs::read_to_string(&xml_path)
        .with_context(|| format!("reading {}", xml_path.display()))?;
    let sections = inventory_sections(&xml);
    if sections.is_empty() {
        bail!(
            "{} holds no <REQUEST><CONTENT> elements: not an inventory",
            xml_path.display()
        );
    }
    let _ = std::fs::remove_dir_all(&out_dir);
    Ok(DiagnosticsResult {
        latency: latency(samples)?,
        output_bytes: xml.len(),
        format: "XML".to_owned(),
        contents: describe_inventory(&sections),
        sections,
    })
}

/// Runs a command to completion; returns its wall time (spawn to exit) and its output.
fn run_timed(mut command: Command, describe: &str) -> anyhow::Result<(Duration, Output)> {
    command.stdin(Stdio::null());
    let started = Instant::now();
    let output = command.output().map_err(|error| {
        if error.kind() == io::ErrorKind::NotFound {
            anyhow::anyhow!(
                "`{describe}`: {} not found ({error}); on Debian install it with \
                 `apt-get install fusioninventory-agent` for fusioninventory-inventory \
                 (`cargo xtask bench` does when run as root)",
                command.get_program().to_string_lossy()
            )
        } else {
            anyhow::Error::new(error).context(format!("starting `{describe}`"))
        }
    })?;
    let elapsed = started.elapsed();
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(10).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "`{describe}` failed ({}): {}",
            output.status,
            tail.join("\n    ")
        );
    }
    Ok((elapsed, output))
}

fn latency(samples: Vec<Duration>) -> anyhow::Result<LatencySummary> {
    summarize(
        samples
            .into_iter()
            .map(|elapsed| elapsed.as_nanos() as u64)
            .collect(),
    )
    .context("no runs were measured")
}

fn snapshot_result(
    samples: Vec<Duration>,
    output_bytes: usize,
    snapshot: &serde_json::Value,
) -> anyhow::Result<DiagnosticsResult> {
    let sections = snapshot_sections(snapshot);
    if sections.is_empty() {
        bail!(
            "the snapshot has none of the sections {}",
            SectionName::valid_names()
        );
    }
    Ok(DiagnosticsResult {
        latency: latency(samples)?,
        output_bytes,
        format: "JSON".to_owned(),
        contents: describe_snapshot(&sections),
        sections,
    })
}

/// The sections of a snapshot as JSON, each `{"available": …}` or `{"unavailable":
/// {"reason": …}}`, with their serialized size.
fn snapshot_sections(snapshot: &serde_json::Value) -> Vec<OutputSection> {
    SectionName::ALL
        .iter()
        .filter_map(|name| {
            let section = snapshot.get(name.as_str())?;
            Some(OutputSection {
                name: name.as_str().to_owned(),
                count: 1,
                bytes: section.to_string().len(),
                unavailable: section
                    .pointer("/unavailable/reason")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned),
            })
        })
        .collect()
}

/// `system 286 B, …, software 23.1 KiB; unavailable: logs`.
fn describe_snapshot(sections: &[OutputSection]) -> String {
    let available: Vec<String> = sections
        .iter()
        .filter(|section| section.unavailable.is_none())
        .map(|section| format!("{} {}", section.name, size(section.bytes)))
        .collect();
    // The reasons are in the JSON; the report's column stays short.
    let unavailable: Vec<&str> = sections
        .iter()
        .filter(|section| section.unavailable.is_some())
        .map(|section| section.name.as_str())
        .collect();
    let mut text = available.join(", ");
    if !unavailable.is_empty() {
        text.push_str("; unavailable: ");
        text.push_str(&unavailable.join(", "));
    }
    text
}

/// The kinds of element directly under `<REQUEST><CONTENT>` in a FusionInventory XML
/// inventory, with how many there are and the bytes they take, largest first.
fn inventory_sections(xml: &str) -> Vec<OutputSection> {
    let mut totals: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut open: Vec<&str> = Vec::new();
    let mut section_start = 0;
    let mut position = 0;
    while let Some(offset) = xml[position..].find('<') {
        let start = position + offset;
        let Some(length) = xml[start..].find('>') else {
            break;
        };
        let end = start + length + 1;
        position = end;
        let tag = &xml[start + 1..end - 1];
        let in_content = |open: &[&str]| open == ["REQUEST", "CONTENT"];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        } else if let Some(closing) = tag.strip_prefix('/') {
            let closing = closing.trim();
            if open.last() == Some(&closing) {
                open.pop();
                if in_content(&open) {
                    let total = totals.entry(closing).or_default();
                    total.0 += 1;
                    total.1 += end - section_start;
                }
            }
        } else {
            let name = tag
                .trim_end_matches('/')
                .split_whitespace()
                .next()
                .unwrap_or_default();
            if tag.ends_with('/') {
                if in_content(&open) {
                    let total = totals.entry(name).or_default();
                    total.0 += 1;
                    total.1 += end - start;
                }
            } else {
                if in_content(&open) {
                    section_start = start;
                }
                open.push(name);
            }
        }
    }
    let mut sections: Vec<OutputSection> = totals
        .into_iter()
        .map(|(name, (count, bytes))| OutputSection {
            name: name.to_owned(),
            count,
            bytes,
            unavailable: None,
        })
        .collect();
    sections.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
    sections
}

/// `SOFTWARES ×827 190.2 KiB, PROCESSES ×78 30.1 KiB, …; also BIOS, CPUS` (largest first).
fn describe_inventory(sections: &[OutputSection]) -> String {
    const DETAILED: usize = 6;
    let mut text = sections
        .iter()
        .take(DETAILED)
        .map(|section| {
            let count = if section.count > 1 {
                format!(" ×{}", section.count)
            } else {
                String::new()
            };
            format!("{}{count} {}", section.name, size(section.bytes))
        })
        .collect::<Vec<_>>()
        .join(", ");
    if sections.len() > DETAILED {
        let rest: Vec<&str> = sections[DETAILED..]
            .iter()
            .map(|section| section.name.as_str())
            .collect();
        text.push_str("; also ");
        text.push_str(&rest.join(", "));
    }
    text
}

fn size(bytes: usize) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(name: &str, count: usize, bytes: usize) -> OutputSection {
        OutputSection {
            name: name.to_owned(),
            count,
            bytes,
            unavailable: None,
        }
    }

    #[test]
    fn inventory_elements_under_content_are_counted_and_sized() {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<REQUEST>\n  <CONTENT>\n\
                   <SOFTWARES><NAME>a</NAME></SOFTWARES>\
                   <SOFTWARES><NAME>bb</NAME></SOFTWARES>\
                   <BIOS attr=\"x\"><SSN></SSN></BIOS>\
                   <FIREWALL/>\
                   <!-- a comment -->\
                   </CONTENT>\n  <DEVICEID>host-1</DEVICEID>\n  <QUERY>INVENTORY</QUERY>\n</REQUEST>\n";
        assert_eq!(
            inventory_sections(xml),
            [
                section("SOFTWARES", 2, 75),
                section("BIOS", 1, 33),
                section("FIREWALL", 1, 11),
            ]
        );
    }

    #[test]
    fn no_content_no_sections() {
        assert!(inventory_sections("<html><body>oops</body></html>").is_empty());
        assert!(inventory_sections("").is_empty());
    }

    #[test]
    fn snapshot_sections_with_sizes_and_reasons() {
        let snapshot = serde_json::json!({
            "schemaVersion": 1,
            "system": {"available": {"hostname": "pc-1"}},
            "logs": {"unavailable": {"reason": "no journal"}},
        });
        let sections = snapshot_sections(&snapshot);
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0].name, "system");
        assert_eq!(
            sections[0].bytes,
            r#"{"available":{"hostname":"pc-1"}}"#.len()
        );
        assert_eq!(sections[1].unavailable.as_deref(), Some("no journal"));
        assert_eq!(
            describe_snapshot(&sections),
            "system 33 B; unavailable: logs"
        );
    }

    #[test]
    fn inventory_description_details_the_largest() {
        let sections: Vec<OutputSection> = (0..8)
            .map(|index| section(&format!("S{index}"), 2, 2048 - index))
            .collect();
        assert_eq!(
            describe_inventory(&sections),
            "S0 ×2 2.0 KiB, S1 ×2 2.0 KiB, S2 ×2 2.0 KiB, S3 ×2 2.0 KiB, S4 ×2 2.0 KiB, \
             S5 ×2 2.0 KiB; also S6, S7"
        );
    }

    #[test]
    fn sizes_in_bytes_then_kib() {
        assert_eq!(size(31), "31 B");
        assert_eq!(size(1024), "1.0 KiB");
        assert_eq!(size(22_835), "22.3 KiB");
    }
}
