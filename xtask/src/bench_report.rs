//! BENCHMARKS.md from deskside-bench's JSON results plus facts about this machine.
//! Targets are DESIGN.md's; a figure is only meaningful beside the machine it came from
//! and the baselines measured in the same run.

use serde_json::Value;

use crate::machine;

const CREATE_TARGET_PER_SEC: f64 = 20_000.0;
const CREATE_TARGET_P99_MS: f64 = 10.0;
const QUERY_TARGET_P95_MS: f64 = 30.0;
const ONE_SHOT_TARGET_MS: f64 = 300.0;
const WARM_TARGET_MS: f64 = 20.0;
const SNAPSHOT_TARGET_BYTES: f64 = 64.0 * 1024.0;
const ORDER_TARGET_P99_MS: f64 = 1000.0;
/// "At most 10 KB RSS each (50,000 under 500 MiB)": the second half says what KB means.
const LONG_POLL_TARGET_ENDPOINTS: f64 = 50_000.0;
const LONG_POLL_TARGET_TOTAL_MIB: f64 = 500.0;
const LONG_POLL_TARGET_BYTES: f64 =
    LONG_POLL_TARGET_TOTAL_MIB * 1024.0 * 1024.0 / LONG_POLL_TARGET_ENDPOINTS;
/// PLATFORM.md: a bare axum long-poll handler, per connection with a request in flight.
const BARE_AXUM_LONG_POLL_BYTES: f64 = 19_500.0;
const DESKTOP_START_TARGET_MS: f64 = 1000.0;
const DESKTOP_IDLE_TARGET_MIB: f64 = 150.0;
const DESKTOP_SYNC_TARGET_MS: f64 = 50.0;

pub struct Report {
    pub markdown: String,
    /// Names of benchmarks of the newest run that did not produce a figure (failures kept
    /// from earlier runs are in the markdown, not here).
    pub failures: Vec<String>,
}

/// Markdown under construction; writing to a String cannot fail, so no Result to thread.
#[derive(Default)]
struct Doc {
    text: String,
    failures: Vec<Failure>,
    /// Whether the section being written comes from the newest run.
    newest: bool,
}

struct Failure {
    name: String,
    error: String,
    newest: bool,
}

impl Doc {
    fn line(&mut self, line: impl AsRef<str>) {
        self.text.push_str(line.as_ref());
        self.text.push('\n');
    }

    fn fail(&mut self, name: &str, error: &str) -> String {
        self.failures.push(Failure {
            name: name.to_owned(),
            error: error.to_owned(),
            newest: self.newest,
        });
        "**failed** (see below)".to_owned()
    }
}

/// Where one run's figures came from.
pub struct RunInfo<'a> {
    pub date: String,
    pub command: &'a str,
    pub commit: String,
    /// /proc/loadavg as the driver started: other work on the machine skews every figure,
    /// and this shows whether there was any.
    pub load_before: Option<&'a str>,
}

type WriteSection = fn(&mut Doc, &Value);

/// The sections of deskside-bench's results, in the order BENCHMARKS.md shows them: the
/// key in the results, its name in the table of runs, and what writes it.
const SECTIONS: &[(&str, &str, WriteSection)] = &[
    ("throughput", "create throughput", throughput),
    ("queries", "queries", queries),
    ("diagnostics", "diagnostics", diagnostics),
    ("orderLatency", "order latency", order_latency),
    ("longPollMemory", "long-poll memory", long_poll_memory),
    ("desktopStart", "desktop start", desktop_start),
    ("desktopMemory", "desktop memory", desktop_memory),
    ("desktopQueue", "desktop queue", desktop_queue),
    ("desktopSync", "desktop sync", desktop_sync),
];

fn has_section(results: &Value, key: &str) -> bool {
    match &results[key] {
        Value::Null => false,
        Value::Array(entries) => !entries.is_empty(),
        _ => true,
    }
}

/// Adds a run's results to the record of earlier runs on this machine, so a run of a few
/// benchmarks (`--only`) updates their figures in BENCHMARKS.md and keeps the others'.
///
/// The record is `{"runs": [{date, command, commit, loadBefore, results}]}`, oldest first.
/// Each section lives in exactly one run: the newest that measured it. A section is
/// replaced whole (a baseline and what it is compared with always come from one run), and
/// runs left with no section are dropped. Quick and full runs never mix: a record of the
/// other kind is replaced.
pub fn merge(record: Option<Value>, results: Value, run: RunInfo<'_>) -> Value {
    let quick = results["settings"]["quick"].as_bool() == Some(true);
    let measured: Vec<&str> = SECTIONS
        .iter()
        .map(|(key, _, _)| *key)
        .filter(|key| has_section(&results, key))
        .collect();
    let mut runs: Vec<Value> = record
        .and_then(|record| record["runs"].as_array().cloned())
        .unwrap_or_default();
    runs.retain(|earlier| {
        (earlier["results"]["settings"]["quick"].as_bool() == Some(true)) == quick
    });
    for earlier in &mut runs {
        if let Some(sections) = earlier["results"].as_object_mut() {
            for key in &measured {
                sections.remove(*key);
            }
        }
    }
    runs.retain(|earlier| {
        SECTIONS
            .iter()
            .any(|(key, _, _)| has_section(&earlier["results"], key))
    });
    runs.push(serde_json::json!({
        "date": run.date,
        "command": run.command,
        "commit": run.commit,
        "loadBefore": run.load_before,
        "results": results,
    }));
    serde_json::json!({ "runs": runs })
}

/// BENCHMARKS.md from a record ([`merge`]): each section from the run that measured it.
pub fn render(record: &Value) -> Report {
    let runs = record["runs"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let mut doc = Doc::default();
    header(&mut doc, runs);
    let mut desktop_heading = false;
    for (key, _, write) in SECTIONS {
        let Some(index) = runs
            .iter()
            .rposition(|run| has_section(&run["results"], key))
        else {
            continue;
        };
        doc.newest = index + 1 == runs.len();
        if key.starts_with("desktop") && !desktop_heading {
            desktop_heading = true;
            desktop_intro(&mut doc);
        }
        write(&mut doc, &runs[index]["results"]);
    }
    failures(&mut doc);
    Report {
        failures: doc
            .failures
            .iter()
            .filter(|failure| failure.newest)
            .map(|failure| failure.name.clone())
            .collect(),
        markdown: doc.text,
    }
}

fn header(doc: &mut Doc, runs: &[Value]) {
    doc.line("# Benchmarks");
    doc.line("");
    doc.line(
        "Written by `cargo xtask bench`; do not edit by hand. One run on one machine: \
         compare figures with the baselines measured in the same run, not across machines.",
    );
    doc.line("");
    doc.line("| | |");
    doc.line("|---|---|");
    let text = |run: &Value, field: &str| run[field].as_str().unwrap_or("?").to_owned();
    if let [run] = runs {
        doc.line(format!("| date | {} |", text(run, "date")));
        doc.line(format!("| command | `{}` |", text(run, "command")));
        doc.line(format!("| commit | {} |", text(run, "commit")));
    }
    doc.line(format!("| CPU | {} |", machine::cpu()));
    doc.line(format!("| memory | {} |", machine::memory()));
    doc.line(format!("| OS | {} |", machine::os()));
    doc.line(format!("| kernel | {} |", machine::kernel()));
    doc.line(format!("| rustc | {} |", machine::rustc()));
    if let [run] = runs
        && let Some(load) = run["loadBefore"].as_str()
    {
        doc.line(format!("| load average (1, 5, 15 min) at start | {load} |"));
    }
    doc.line("");
    if runs.len() > 1 {
        doc.line(
            "The figures come from several runs on this machine; each section is from the \
             newest run that measured it, whole (its baselines with it):",
        );
        doc.line("");
        doc.line(
            "| run | date | command | commit | load average (1, 5, 15 min) at start | sections |",
        );
        doc.line("|---:|---|---|---|---|---|");
        for (index, run) in runs.iter().enumerate() {
            let sections: Vec<&str> = SECTIONS
                .iter()
                .filter(|(key, _, _)| has_section(&run["results"], key))
                .map(|(_, name, _)| *name)
                .collect();
            doc.line(format!(
                "| {} | {} | `{}` | {} | {} | {} |",
                index + 1,
                text(run, "date"),
                text(run, "command"),
                text(run, "commit"),
                run["loadBefore"].as_str().unwrap_or("–"),
                sections.join(", ")
            ));
        }
        doc.line("");
    }
    if runs
        .iter()
        .any(|run| run["results"]["settings"]["quick"].as_bool() == Some(true))
    {
        doc.line(
            "> **Quick run** (`--quick`): short windows and a small database, a smoke test. \
             Run `cargo xtask bench` for the figures of record.",
        );
        doc.line("");
    }
}

fn throughput(doc: &mut Doc, results: &Value) {
    let load = &results["settings"]["load"];
    let Some(entries) = results["throughput"]
        .as_array()
        .filter(|list| !list.is_empty())
    else {
        return;
    };
    doc.line("## Ticket create throughput");
    doc.line("");
    doc.line(format!(
        "{} keep-alive connections in a closed loop (each sends its next request when the \
         previous answer is in), driven by a load generator on {} of the same machine; \
         {} s warm-up, then {} s measured. Each POST carries the same JSON ticket; the \
         baselines serve the same path on the same HTTP stack (axum, tokio). Target \
         (DESIGN.md): over {} durable creates/s with p99 under {} ms.",
        number(&load["connections"], 0),
        match load["clientThreads"].as_u64() {
            Some(1) => "one thread".to_owned(),
            Some(threads) => format!("{threads} threads"),
            None => "? threads".to_owned(),
        },
        number(&load["warmup"], 1),
        number(&load["duration"], 1),
        thousands(CREATE_TARGET_PER_SEC),
        CREATE_TARGET_P99_MS
    ));
    doc.line("");
    doc.line(
        "| benchmark | what | req/s | p50 ms | p99 ms | max ms | errors | % of echo | × sqlite-insert | server peak RSS |",
    );
    doc.line("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");

    let rate_of = |name: &str| {
        entries
            .iter()
            .find(|entry| entry["name"] == name)
            .and_then(|entry| entry["result"]["requestsPerSec"].as_f64())
            .filter(|rate| *rate > 0.0)
    };
    let echo = rate_of("echo");
    let sqlite_insert = rate_of("sqlite-insert");

    let mut verdict = None;
    for entry in entries {
        let name = entry["name"].as_str().unwrap_or("?");
        let what = entry["description"].as_str().unwrap_or("");
        let result = &entry["result"];
        let Some(rate) = result["requestsPerSec"].as_f64() else {
            let error = entry["error"].as_str().unwrap_or("no result");
            let failed = doc.fail(name, error);
            doc.line(format!("| {name} | {what} | {failed} | | | | | | | |"));
            continue;
        };
        let latency = &result["latency"];
        let ratio = |base: Option<f64>, scale: f64, suffix: &str| {
            base.map_or_else(
                || "–".to_owned(),
                |base| format!("{:.1}{suffix}", rate / base * scale),
            )
        };
        doc.line(format!(
            "| {} | {what} | {} | {} | {} | {} | {} | {} | {} | {} |",
            if name == "deskside-create" {
                format!("**{name}**")
            } else {
                name.to_owned()
            },
            thousands(rate),
            number(&latency["p50Ms"], 2),
            number(&latency["p99Ms"], 2),
            number(&latency["maxMs"], 1),
            number(&result["errors"], 0),
            ratio(echo, 100.0, " %"),
            ratio(sqlite_insert, 1.0, "×"),
            entry["serverPeakRssKib"]
                .as_f64()
                .map_or_else(|| "–".to_owned(), |kib| format!("{:.1} MiB", kib / 1024.0)),
        ));
        if name == "deskside-create" {
            let p99 = latency["p99Ms"].as_f64().unwrap_or(f64::INFINITY);
            let met = rate > CREATE_TARGET_PER_SEC && p99 < CREATE_TARGET_P99_MS;
            verdict = Some(format!(
                "{}: {} creates/s, p99 {p99:.2} ms",
                if met { "**met**" } else { "**not met**" },
                thousands(rate)
            ));
        }
    }
    doc.line("");
    doc.line(format!(
        "Create target: {}.",
        verdict.unwrap_or_else(|| "not measured in this run".to_owned())
    ));
    if let Some(error) = entries
        .iter()
        .filter_map(|entry| entry["result"]["firstError"].as_str())
        .next()
    {
        doc.line("");
        doc.line(format!("First request error seen: `{}`", one_line(error)));
    }
    doc.line("");
}

fn queries(doc: &mut Doc, results: &Value) {
    let report = &results["queries"];
    if report.is_null() {
        return;
    }
    let tickets = thousands(report["tickets"].as_f64().unwrap_or(0.0));
    doc.line(format!(
        "## Queue listing and full-text search over {tickets} tickets"
    ));
    doc.line("");
    let settings = &results["settings"];
    let seeding = report["seedingSeconds"].as_f64().map_or_else(
        || "not measured".to_owned(),
        |seconds| format!("{seconds:.1} s"),
    );
    doc.line(format!(
        "Database seeded by `deskside-server demo seed --bulk-tickets {}` ({seeding}). \
         One connection asks one question at a time, as an agent's console does: {} \
         warm-up then {} measured requests per query. Target (DESIGN.md): p95 under {} ms.",
        number(&report["tickets"], 0),
        number(&settings["queryWarmupIterations"], 0),
        number(&settings["queryIterations"], 0),
        QUERY_TARGET_P95_MS
    ));
    doc.line("");
    if let Some(error) = report["error"].as_str() {
        let failed = doc.fail("deskside-queries", error);
        doc.line(format!("No query ran: {failed}."));
        doc.line("");
        return;
    }
    doc.line("| query | request | items | p50 ms | p95 ms | p99 ms | max ms | p95 target |");
    doc.line("|---|---|---:|---:|---:|---:|---:|---|");
    for query in report["queries"].as_array().into_iter().flatten() {
        let name = query["name"].as_str().unwrap_or("?");
        let request = format!(
            "{}: `GET {}`",
            query["description"].as_str().unwrap_or(""),
            query["path"].as_str().unwrap_or("")
        );
        let result = &query["result"];
        let Some(p95) = result["latency"]["p95Ms"].as_f64() else {
            let error = query["error"].as_str().unwrap_or("no result");
            let failed = doc.fail(&format!("deskside-queries/{name}"), error);
            doc.line(format!("| {name} | {request} | {failed} | | | | | |"));
            continue;
        };
        let latency = &result["latency"];
        doc.line(format!(
            "| {name} | {request} | {} | {} | {p95:.2} | {} | {} | {} |",
            number(&result["itemsOnFirstPage"], 0),
            number(&latency["p50Ms"], 2),
            number(&latency["p99Ms"], 2),
            number(&latency["maxMs"], 1),
            if p95 < QUERY_TARGET_P95_MS {
                "met"
            } else {
                "**not met**"
            }
        ));
    }
    doc.line("");
}

fn diagnostics(doc: &mut Doc, results: &Value) {
    let Some(entries) = results["diagnostics"]["entries"].as_array() else {
        return;
    };
    doc.line("## Diagnostics snapshot");
    doc.line("");
    doc.line(format!(
        "Wall time per run (process start to exit for the commands, the library call for \
         the warm snapshot) after one unmeasured run; output size and contents of the last \
         run. FusionInventory's local inventory, a packaged equivalent, is measured in the \
         same run for comparison. Targets (DESIGN.md), on p95: one-shot under {ONE_SHOT_TARGET_MS} ms, \
         warm under {WARM_TARGET_MS} ms; output under {} KiB of JSON.",
        SNAPSHOT_TARGET_BYTES / 1024.0
    ));
    doc.line("");
    doc.line("| benchmark | what | runs | p50 ms | p95 ms | output | contents | target |");
    doc.line("|---|---|---:|---:|---:|---:|---|---|");
    let mut verdicts = Vec::new();
    for entry in entries {
        let name = entry["name"].as_str().unwrap_or("?");
        let what = entry["description"].as_str().unwrap_or("");
        let runs = number(&entry["runs"], 0);
        let result = &entry["result"];
        let Some(p95) = result["latency"]["p95Ms"].as_f64() else {
            let error = entry["error"].as_str().unwrap_or("no result");
            let failed = doc.fail(&format!("diagnostics/{name}"), error);
            doc.line(format!("| {name} | {what} | {runs} | {failed} | | | | |"));
            continue;
        };
        let bytes = result["outputBytes"].as_f64().unwrap_or(f64::NAN);
        let target_ms = match name {
            "agent-one-shot" => Some(ONE_SHOT_TARGET_MS),
            "agent-warm" => Some(WARM_TARGET_MS),
            _ => None,
        };
        let verdict = target_ms.map(|target_ms| {
            let met = p95 < target_ms && bytes < SNAPSHOT_TARGET_BYTES;
            verdicts.push(format!(
                "{name} {}: p95 {p95:.1} ms, {}",
                if met { "**met**" } else { "**not met**" },
                size(bytes)
            ));
            if met { "met" } else { "**not met**" }
        });
        doc.line(format!(
            "| {name} | {what} | {runs} | {} | {p95:.1} | {} {} | {} | {} |",
            number(&result["latency"]["p50Ms"], 1),
            size(bytes),
            result["format"].as_str().unwrap_or(""),
            one_line(result["contents"].as_str().unwrap_or("")),
            verdict.unwrap_or("comparison")
        ));
    }
    doc.line("");
    if !verdicts.is_empty() {
        doc.line(format!("Snapshot targets: {}.", verdicts.join("; ")));
    }
    let figure = |name: &str, field: &str| {
        entries
            .iter()
            .find(|entry| entry["name"] == name)
            .and_then(|entry| entry["result"].pointer(field))
            .and_then(Value::as_f64)
            .filter(|value| *value > 0.0)
    };
    if let (Some(agent_ms), Some(fusion_ms), Some(agent_bytes), Some(fusion_bytes)) = (
        figure("agent-one-shot", "/latency/p50Ms"),
        figure("fusioninventory", "/latency/p50Ms"),
        figure("agent-one-shot", "/outputBytes"),
        figure("fusioninventory", "/outputBytes"),
    ) {
        doc.line("");
        doc.line(format!(
            "Beside FusionInventory: the one-shot snapshot takes {:.2}× its wall time (p50) \
             and its output is {:.2}× its size.",
            agent_ms / fusion_ms,
            agent_bytes / fusion_bytes
        ));
    }
    doc.line("");
}

fn order_latency(doc: &mut Doc, results: &Value) {
    let report = &results["orderLatency"];
    if report.is_null() {
        return;
    }
    let action = report["action"].as_str().unwrap_or("?");
    doc.line("## Order delivery latency");
    doc.line("");
    doc.line(format!(
        "One enrolled device (platform from an uploaded snapshot) holds its long-poll \
         `GET /api/v1/agent/orders?waitSeconds=30` while the demo admin requests `{action}` \
         on the device's ticket (no approval needed, so the order is queued at once). \
         Measured: from sending the request to the long-poll's answer carrying the signed \
         order; the device then reports the order rejected so it is not delivered again. \
         {} warm-up then {} measured deliveries, one at a time. Target (DESIGN.md): p99 \
         under {} s.",
        number(&report["warmupIterations"], 0),
        number(&report["iterations"], 0),
        ORDER_TARGET_P99_MS / 1000.0
    ));
    doc.line("");
    if let Some(error) = report["error"].as_str() {
        let failed = doc.fail("order-latency", error);
        doc.line(format!("No figure: {failed}."));
        doc.line("");
        return;
    }
    let latency = &report["latency"];
    let p99 = latency["p99Ms"].as_f64().unwrap_or(f64::INFINITY);
    doc.line("| action | deliveries | p50 ms | p95 ms | p99 ms | max ms | p99 target |");
    doc.line("|---|---:|---:|---:|---:|---:|---|");
    doc.line(format!(
        "| `{action}` | {} | {} | {} | {p99:.2} | {} | {} |",
        number(&latency["samples"], 0),
        number(&latency["p50Ms"], 2),
        number(&latency["p95Ms"], 2),
        number(&latency["maxMs"], 1),
        if p99 < ORDER_TARGET_P99_MS {
            "met"
        } else {
            "**not met**"
        }
    ));
    doc.line("");
}

fn long_poll_memory(doc: &mut Doc, results: &Value) {
    let report = &results["longPollMemory"];
    if report.is_null() {
        return;
    }
    let devices = report["devicesRequested"].as_f64().unwrap_or(0.0);
    let planned = report["connectionsPlanned"].as_f64().unwrap_or(0.0);
    doc.line("## Memory per idle long-polling endpoint");
    doc.line("");
    doc.line(format!(
        "{} devices enrolled on a fresh server (each polls once right after, as an agent \
         does); then one long-poll `GET /api/v1/agent/orders?waitSeconds=55` per device on \
         its own connection, from source addresses 127.0.0.2–127.0.0.9, opened 500 at a \
         time. Server RSS (VmRSS) is read once the server is quiet, before and with the \
         polls in flight; the difference over the connections held is the cost of one idle \
         endpoint. The connections then close and the same polls are opened again: the \
         first round includes what the server grows once for a burst of polls, the second \
         reuses memory kept from the first, so it is nearer the connections alone. The \
         target is judged on the first. \
         A process may hold {} open files here{}. Target (DESIGN.md): at most 10 KB per \
         endpoint ({} under {} MiB, so {} bytes each); a bare axum long-poll handler costs \
         about {:.1} KB per connection here (PLATFORM.md).",
        thousands(devices),
        report["serverOpenFilesLimit"]
            .as_f64()
            .map_or_else(|| "a limited number of".to_owned(), thousands),
        if planned > 0.0 && planned < devices {
            format!(", so the driver opened {} connections", thousands(planned))
        } else {
            String::new()
        },
        thousands(LONG_POLL_TARGET_ENDPOINTS),
        LONG_POLL_TARGET_TOTAL_MIB,
        thousands(LONG_POLL_TARGET_BYTES),
        BARE_AXUM_LONG_POLL_BYTES / 1000.0
    ));
    doc.line("");
    let rounds = report["rounds"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if !rounds.is_empty() {
        doc.line(
            "| round | connections held | RSS before | RSS polling | per connection | × bare axum | RSS after close | server threads, files while polling | target |",
        );
        doc.line("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    }
    let mut ended = Vec::new();
    for (index, round) in rounds.iter().enumerate() {
        let name = round["name"].as_str().unwrap_or("?");
        let bytes = round["bytesPerConnection"].as_f64().unwrap_or(f64::NAN);
        let held = round["connectionsHeld"].as_f64().unwrap_or(0.0);
        let opened = round["connectionsOpened"].as_f64().unwrap_or(0.0);
        doc.line(format!(
            "| {name}: {} | {} of {} | {} | {} | {} | {:.1}× | {} | {}, {} | {} |",
            round["description"].as_str().unwrap_or(""),
            thousands(held),
            thousands(opened),
            mib(&round["rssBeforeKib"]),
            mib(&round["rssPollingKib"]),
            size(bytes),
            bytes / BARE_AXUM_LONG_POLL_BYTES,
            mib(&round["rssAfterCloseKib"]),
            number(&round["serverPolling"]["threads"], 0),
            thousands(
                round["serverPolling"]["openFiles"]["total"]
                    .as_f64()
                    .unwrap_or(0.0)
            ),
            match index {
                0 if bytes <= LONG_POLL_TARGET_BYTES => "met",
                0 => "**not met**",
                _ => "–",
            }
        ));
        let polls_ended = round["pollsEnded"].as_f64().unwrap_or(0.0);
        let failed = round["connectionsFailed"].as_f64().unwrap_or(0.0);
        if polls_ended > 0.0 || failed > 0.0 {
            ended.push(format!(
                "{name} round: {} connections failed to open{}, {} of {} long-polls ended before \
                 memory was read{}",
                thousands(failed),
                round["firstConnectionError"]
                    .as_str()
                    .map(|error| format!(" (first: {error})"))
                    .unwrap_or_default(),
                thousands(polls_ended),
                thousands(opened),
                round["firstPollError"]
                    .as_str()
                    .map(|error| format!(" (first: {error})"))
                    .unwrap_or_default()
            ));
        }
    }
    if !rounds.is_empty() {
        doc.line("");
    }
    doc.line(format!(
        "Server RSS: {} at start, {} with {} devices enrolled and idle (enrolled in {} s).",
        mib(&report["rssStartedKib"]),
        mib(&report["rssIdleKib"]),
        thousands(report["devicesEnrolled"].as_f64().unwrap_or(0.0)),
        number(&report["enrollSeconds"], 1)
    ));
    if let (Some(first), Some(idle_kib)) = (rounds.first(), report["rssIdleKib"].as_f64()) {
        let bytes = first["bytesPerConnection"].as_f64().unwrap_or(f64::NAN);
        let projected_mib =
            (idle_kib * 1024.0 + bytes * LONG_POLL_TARGET_ENDPOINTS) / 1024.0 / 1024.0;
        doc.line("");
        doc.line(format!(
            "Long-poll memory target: {}: {} per endpoint in the first round, so {} \
             endpoints would take about {} MiB.",
            if bytes <= LONG_POLL_TARGET_BYTES {
                "**met**"
            } else {
                "**not met**"
            },
            size(bytes),
            thousands(LONG_POLL_TARGET_ENDPOINTS),
            thousands(projected_mib)
        ));
    }
    if let Some(unsettled) = report["unsettledReadings"].as_array() {
        let names: Vec<&str> = unsettled.iter().filter_map(Value::as_str).collect();
        if !names.is_empty() {
            doc.line("");
            doc.line(format!(
                "Read while the server was still busy: {}.",
                names.join(", ")
            ));
        }
    }
    let mut problems = ended;
    if let Some(error) = report["error"].as_str() {
        problems.push(error.to_owned());
    }
    if !problems.is_empty() {
        if let Some(log) = report["serverLog"].as_str() {
            problems.push(format!("server log: {log}"));
        }
        let failed = doc.fail("long-poll-memory", &problems.join("\n"));
        doc.line("");
        doc.line(format!("Not a clean run: {failed}."));
    }
    doc.line("");
}

fn desktop_intro(doc: &mut Doc) {
    doc.line("## Desktop app");
    doc.line("");
    doc.line(
        "The release `deskside` binary (UI built in) in a private desktop session: Xvfb \
         (1440×900, 24-bit; software rendering), a D-Bus session bus with GNOME Keyring. \
         Targets (DESIGN.md): cold start to interactive under 1 s and idle RSS under 150 \
         MiB; incremental sync after 10 changes on a 100,000-ticket history under 50 ms; \
         and (UI.md) a queue of 10,000+ rows without lag.",
    );
    doc.line("");
}

fn desktop_start(doc: &mut Doc, results: &Value) {
    let report = &results["desktopStart"];
    let runs = number(&report["runs"], 0);
    doc.line("### Cold start to interactive");
    doc.line("");
    doc.line(format!(
        "{runs} starts after one unmeasured start (so binaries and libraries are in the OS \
         file cache, as for every start but the first after boot), each with a fresh home: \
         new app data directory and new WebKit storage and caches (`XDG_*` directories), so \
         every start is a first launch. Interactive: the app logs when the window's first \
         request arrives (React mounted and asking for data); the driver times spawn → that \
         line, then stops the app (SIGTERM). The app's log also says how long after its \
         `main` began, which splits the figure. Baseline, in the same run and alternating \
         with the app: {}. Target (DESIGN.md): under {DESKTOP_START_TARGET_MS} ms, judged \
         on p95.",
        report["baseline"]["description"]
            .as_str()
            .unwrap_or("WebKitGTK's MiniBrowser")
    ));
    doc.line("");
    if let Some(error) = report["error"].as_str() {
        let failed = doc.fail("desktop-start", error);
        doc.line(format!("No figure: {failed}."));
        doc.line("");
        return;
    }
    let app = &report["app"];
    let baseline = &report["baseline"]["wall"];
    let baseline_p50 = baseline["p50Ms"].as_f64().filter(|ms| *ms > 0.0);
    doc.line("| measured | runs | p50 ms | p95 ms | max ms | × baseline (p50) | target |");
    doc.line("|---|---:|---:|---:|---:|---:|---|");
    let p95 = app["wall"]["p95Ms"].as_f64().unwrap_or(f64::INFINITY);
    let met = p95 < DESKTOP_START_TARGET_MS;
    // (what, figures, compared with the baseline, verdict)
    let rows: [(&str, &Value, bool, &str); 4] = [
        (
            "**deskside**: spawn → the window's first request",
            &app["wall"],
            true,
            if met { "met" } else { "**not met**" },
        ),
        (
            "of which in the app: `main` → first request (its log)",
            &app["inApp"],
            false,
            "",
        ),
        (
            "of which before `main`: exec, dynamic linking",
            &app["beforeMain"],
            false,
            "",
        ),
        (
            "baseline: MiniBrowser, spawn → the page's request",
            baseline,
            true,
            "",
        ),
    ];
    for (what, latency, compared, verdict) in rows {
        if latency.is_null() {
            continue;
        }
        doc.line(format!(
            "| {what} | {} | {} | {} | {} | {} | {verdict} |",
            number(&latency["samples"], 0),
            number(&latency["p50Ms"], 0),
            number(&latency["p95Ms"], 0),
            number(&latency["maxMs"], 0),
            if compared {
                ratio(latency["p50Ms"].as_f64(), baseline_p50)
            } else {
                String::new()
            },
        ));
    }
    doc.line("");
    if let Some(samples) = app["wallSamplesMs"].as_array() {
        let samples: Vec<String> = samples.iter().map(|ms| number(ms, 0)).collect();
        doc.line(format!("Each start, ms: {}.", samples.join(", ")));
        doc.line("");
    }
    doc.line(format!(
        "Cold start target: {}: p95 {p95:.0} ms, max {} ms.",
        if met { "**met**" } else { "**not met**" },
        number(&app["wall"]["maxMs"], 0)
    ));
    doc.line("");
    if let Some(error) = report["baseline"]["error"].as_str() {
        let failed = doc.fail("desktop-start/baseline", error);
        doc.line(format!("Baseline: {failed}."));
        doc.line("");
    }
}

fn desktop_memory(doc: &mut Doc, results: &Value) {
    let report = &results["desktopMemory"];
    doc.line("### Idle memory");
    doc.line("");
    doc.line(format!(
        "The app started with a fresh home (not signed in: the end user's \"Get help\" \
         screen), left idle {} s once interactive, then the memory of it and every process \
         below it (WebKit's web and network processes), from /proc. RSS counts a shared \
         page (libraries, shared memory) in every process that maps it, so its sum is an \
         upper bound; PSS divides each shared page among its users, so its sum counts each \
         page once. The baseline, MiniBrowser on a one-line page, is read the same way in \
         the same run. Target (DESIGN.md): RSS of the app and its web process under \
         {DESKTOP_IDLE_TARGET_MIB} MiB (judged on the RSS sum of all its processes).",
        number(&report["idleSeconds"], 0)
    ));
    doc.line("");
    if let Some(error) = report["error"].as_str() {
        let failed = doc.fail("desktop-memory", error);
        doc.line(format!("No figure: {failed}."));
        doc.line("");
        return;
    }
    doc.line("| program | process | RSS | PSS |");
    doc.line("|---|---|---:|---:|");
    let programs = [
        ("deskside", &report["app"]),
        ("baseline: MiniBrowser", &report["baseline"]),
    ];
    for (program, tree) in programs {
        let Some(processes) = tree["processes"].as_array() else {
            continue;
        };
        for process in processes {
            doc.line(format!(
                "| {program} | {} | {} | {} |",
                process["name"].as_str().unwrap_or("?"),
                mib(&process["rssKib"]),
                mib(&process["pssKib"])
            ));
        }
        doc.line(format!(
            "| **{program}, total** | {} processes | **{}** | {} |",
            processes.len(),
            mib(&tree["totalRssKib"]),
            mib(&tree["totalPssKib"])
        ));
    }
    doc.line("");
    if let Some(rss_kib) = report["app"]["totalRssKib"].as_f64() {
        let rss_mib = rss_kib / 1024.0;
        let met = rss_mib < DESKTOP_IDLE_TARGET_MIB;
        doc.line(format!(
            "Idle memory target: {}: {rss_mib:.1} MiB RSS in all ({} PSS); {} the baseline's RSS.",
            if met { "**met**" } else { "**not met**" },
            mib(&report["app"]["totalPssKib"]),
            ratio(
                Some(rss_kib),
                report["baseline"]["totalRssKib"]
                    .as_f64()
                    .filter(|kib| *kib > 0.0)
            )
        ));
        doc.line("");
    }
    if let Some(error) = report["baselineError"].as_str() {
        let failed = doc.fail("desktop-memory/baseline", error);
        doc.line(format!("Baseline: {failed}."));
        doc.line("");
    }
}

fn desktop_queue(doc: &mut Doc, results: &Value) {
    let report = &results["desktopQueue"];
    let tickets = thousands(report["tickets"].as_f64().unwrap_or(0.0));
    let expected = report["expectedRows"].as_f64();
    doc.line("### Console queue");
    doc.line("");
    doc.line(format!(
        "A desk seeded with the demo staff and {tickets} tickets (`deskside-server demo \
         seed --bulk-tickets`{}), so its \"All open\" view lists {} of them ({} of the \
         generated history is open). The app runs under tauri-driver (WebKitWebDriver) \
         with a fresh home; the demo agent signs in and the console opens on \"All open\". \
         Every figure is measured inside the page with `performance.now()` and \
         `requestAnimationFrame`, so WebDriver's round trips are not in them. Signing in \
         starts the app's first sync of the whole history; the queue is scrolled once it \
         is over (the app's, its web processes' and the server's CPU all quiet). Scrolling \
         sets the queue's scroll position to the bottom every frame, so the console fetches \
         page after page (200 rows each, through the app from the server) until the last \
         row is drawn; then jumps to pseudo-random rows time how long a far scroll takes to \
         draw. The baseline for frame times, in the same run: frames with the queue shown and \
         nothing changing. No numeric target: UI.md asks for 10,000+ rows without lag; one \
         frame at 60 Hz is 16.7 ms.",
        report["seedingSeconds"]
            .as_f64()
            .map(|seconds| format!(", {seconds:.1} s"))
            .unwrap_or_default(),
        expected.map_or_else(|| "?".to_owned(), thousands),
        match (expected, report["tickets"].as_f64()) {
            (Some(open), Some(all)) if all > 0.0 => format!("{:.1} %", open / all * 100.0),
            _ => "part".to_owned(),
        }
    ));
    doc.line("");
    let window = &report["window"];
    let sign_in = &report["signIn"];
    let scroll = &report["scroll"];
    let jumps = &report["jumps"]["latency"];
    let mut rows: Vec<(String, String)> = Vec::new();
    if !window.is_null() {
        let queue_height = window["queueHeight"].as_f64().unwrap_or(0.0);
        let row_height = window["rowHeight"].as_f64().unwrap_or(0.0);
        rows.push((
            "window (CSS pixels)".into(),
            format!(
                "{}×{} at device pixel ratio {}; the queue area is {} px high, {} rows of {} px",
                number(&window["innerWidth"], 0),
                number(&window["innerHeight"], 0),
                number(&window["devicePixelRatio"], 0),
                number(&window["queueHeight"], 0),
                if row_height > 0.0 {
                    format!("{:.1}", queue_height / row_height)
                } else {
                    "?".to_owned()
                },
                number(&window["rowHeight"], 0)
            ),
        ));
    }
    if !sign_in.is_null() {
        rows.push((
            "\"Sign in\" clicked → console shown".into(),
            format!("{} ms", number(&sign_in["toConsoleMs"], 0)),
        ));
        rows.push((
            "\"Sign in\" clicked → first queue row drawn".into(),
            format!(
                "{} ms ({} rows loaded)",
                number(&sign_in["toFirstRowMs"], 0),
                number(&sign_in["rowsLoaded"], 0)
            ),
        ));
    }
    if !report["openQueue"].is_null() {
        rows.push((
            "**\"Console\" clicked → first row of \"All open\" drawn** (signed in; page \
             reloaded, so nothing cached in it)"
                .into(),
            format!(
                "**{} ms** ({} rows loaded)",
                number(&report["openQueue"]["toFirstRowMs"], 0),
                number(&report["openQueue"]["rowsLoaded"], 0)
            ),
        ));
    }
    if !report["firstSync"].is_null() {
        rows.push((
            "the app's first sync after signing in (waited out)".into(),
            format!(
                "quiet after {} s{}",
                number(&report["firstSync"]["waitedSeconds"], 1),
                if report["firstSync"]["settled"] == Value::Bool(false) {
                    " (**still busy**: measured anyway)"
                } else {
                    ""
                }
            ),
        ));
    }
    if !scroll.is_null() {
        let rows_loaded = scroll["rows"].as_f64().unwrap_or(0.0);
        rows.push((
            "**scroll to the end**, loading every row".into(),
            format!(
                "**{} rows in {:.1} s, {} rows/s** ({} pages){}",
                thousands(rows_loaded),
                scroll["totalMs"].as_f64().unwrap_or(f64::NAN) / 1000.0,
                thousands(scroll["rowsPerSec"].as_f64().unwrap_or(0.0)),
                number(&scroll["pages"], 0),
                if scroll["complete"] == Value::Bool(true) {
                    String::new()
                } else {
                    format!(
                        "; **incomplete**: {} expected",
                        expected.map_or_else(|| "?".to_owned(), thousands)
                    )
                }
            ),
        ));
        let frames = &scroll["frameInterval"];
        let idle = &report["idleFrameInterval"];
        rows.push((
            "frame interval while scrolling".into(),
            format!(
                "p50 {} ms, p95 {} ms, p99 {} ms, max {} ms ({} frames); {} the idle frame interval (p50)",
                number(&frames["p50Ms"], 1),
                number(&frames["p95Ms"], 1),
                number(&frames["p99Ms"], 1),
                number(&frames["maxMs"], 1),
                number(&frames["samples"], 0),
                ratio(
                    frames["p50Ms"].as_f64(),
                    idle["p50Ms"].as_f64().filter(|ms| *ms > 0.0)
                )
            ),
        ));
        if !idle.is_null() {
            rows.push((
                "baseline: frame interval with the queue shown, nothing changing".into(),
                format!(
                    "p50 {} ms, p95 {} ms, max {} ms ({} frames)",
                    number(&idle["p50Ms"], 1),
                    number(&idle["p95Ms"], 1),
                    number(&idle["maxMs"], 1),
                    number(&idle["samples"], 0)
                ),
            ));
        }
        rows.push((
            "rows in the page at once (virtualised)".into(),
            format!("at most {}", number(&scroll["maxRowsInDom"], 0)),
        ));
    }
    if !jumps.is_null() {
        rows.push((
            "jump to a random row → drawn and on screen".into(),
            format!(
                "p50 {} ms, p95 {} ms, max {} ms over {} jumps (at most {} frames)",
                number(&jumps["p50Ms"], 1),
                number(&jumps["p95Ms"], 1),
                number(&jumps["maxMs"], 1),
                number(&jumps["samples"], 0),
                number(&report["jumps"]["maxFrames"], 0)
            ),
        ));
    }
    if !report["memoryAfterScroll"].is_null() {
        let memory = &report["memoryAfterScroll"];
        let web_process = memory["processes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|process| {
                process["name"]
                    .as_str()
                    .is_some_and(|name| name.starts_with("WebKitWebProc"))
            });
        rows.push((
            "memory with every row loaded (app and its WebKit processes)".into(),
            format!(
                "RSS {}{}, PSS {}",
                mib(&memory["totalRssKib"]),
                web_process
                    .map(|process| format!(" (the web process {})", mib(&process["rssKib"])))
                    .unwrap_or_default(),
                mib(&memory["totalPssKib"])
            ),
        ));
    }
    if !rows.is_empty() {
        doc.line("| measured | figure |");
        doc.line("|---|---|");
        for (what, figure) in rows {
            doc.line(format!("| {what} | {figure} |"));
        }
        doc.line("");
    }
    if let Some(path) = report["screenshot"].as_str() {
        doc.line(format!("Screenshot after the jumps: `{path}`."));
        doc.line("");
    }
    if let Some(error) = report["error"].as_str() {
        let failed = doc.fail("desktop-queue", error);
        doc.line(format!("Not a complete run: {failed}."));
        doc.line("");
    }
}

fn desktop_sync(doc: &mut Doc, results: &Value) {
    let report = &results["desktopSync"];
    let initial = &report["initial"];
    doc.line("### Incremental sync");
    doc.line("");
    doc.line(format!(
        "`deskside-client`'s `LocalStore::sync`, as the app runs it, against the release \
         server over HTTP, into a SQLite file on disk (WAL, synchronous=NORMAL). History: \
         {} tickets{}; the store's first sync pulled {} tickets in {} pages in {} s. Then \
         {} measured rounds after {} unmeasured: a sync with nothing changed (the baseline: \
         one round trip and an empty commit), then {} changes, each {}, on {} distinct \
         tickets (not timed), then the sync that brings them (timed; each round checks it \
         brought every changed ticket). Target (DESIGN.md): under {DESKTOP_SYNC_TARGET_MS} \
         ms, judged on p95.",
        thousands(report["tickets"].as_f64().unwrap_or(0.0)),
        report["seedingSeconds"]
            .as_f64()
            .map(|seconds| format!(" (seeded in {seconds:.1} s)"))
            .unwrap_or_default(),
        thousands(initial["tickets"].as_f64().unwrap_or(0.0)),
        number(&initial["pages"], 0),
        number(&initial["seconds"], 1),
        number(&report["iterations"], 0),
        number(&report["warmupRounds"], 0),
        number(&report["changesPerSync"], 0),
        report["change"].as_str().unwrap_or("?"),
        number(&report["changesPerSync"], 0),
    ));
    doc.line("");
    if let Some(error) = report["error"].as_str() {
        let failed = doc.fail("desktop-sync", error);
        doc.line(format!("No figure: {failed}."));
        doc.line("");
        return;
    }
    let baseline_p50 = report["noChange"]["p50Ms"].as_f64().filter(|ms| *ms > 0.0);
    let p95 = report["incremental"]["p95Ms"]
        .as_f64()
        .unwrap_or(f64::INFINITY);
    let met = p95 < DESKTOP_SYNC_TARGET_MS;
    doc.line(
        "| sync | syncs | p50 ms | p95 ms | p99 ms | max ms | tickets brought (mean) | × no change (p50) | target |",
    );
    doc.line("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    let rows = [
        (
            format!("**after {} changes**", number(&report["changesPerSync"], 0)),
            &report["incremental"],
            &report["meanFetchedIncremental"],
            if met { "met" } else { "**not met**" },
        ),
        (
            "no change (baseline)".to_owned(),
            &report["noChange"],
            &report["meanFetchedNoChange"],
            "",
        ),
    ];
    for (what, latency, fetched, verdict) in rows {
        doc.line(format!(
            "| {what} | {} | {} | {} | {} | {} | {} | {} | {verdict} |",
            number(&latency["samples"], 0),
            number(&latency["p50Ms"], 2),
            number(&latency["p95Ms"], 2),
            number(&latency["p99Ms"], 2),
            number(&latency["maxMs"], 1),
            number(fetched, 1),
            ratio(latency["p50Ms"].as_f64(), baseline_p50),
        ));
    }
    doc.line("");
    doc.line(format!(
        "Incremental sync target: {}: p95 {p95:.2} ms.",
        if met { "**met**" } else { "**not met**" }
    ));
    doc.line("");
}

/// `value / base` as "1.8×", or "–" when either is missing.
fn ratio(value: Option<f64>, base: Option<f64>) -> String {
    match (value, base) {
        (Some(value), Some(base)) => format!("{:.1}×", value / base),
        _ => "–".to_owned(),
    }
}

fn failures(doc: &mut Doc) {
    if doc.failures.is_empty() {
        return;
    }
    let failures = std::mem::take(&mut doc.failures);
    doc.line("## Failures");
    doc.line("");
    for failure in &failures {
        doc.line(format!(
            "### {}{}",
            failure.name,
            if failure.newest {
                ""
            } else {
                " (an earlier run)"
            }
        ));
        doc.line("");
        doc.line("```text");
        doc.line(failure.error.trim_end());
        doc.line("```");
        doc.line("");
    }
    doc.failures = failures;
}

fn number(value: &Value, decimals: usize) -> String {
    value
        .as_f64()
        .map_or_else(|| "–".to_owned(), |number| format!("{number:.decimals$}"))
}

/// 20000.4 → "20,000": big rates are read at a glance.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// 512 → "512 B", 26_048 → "25.4 KiB".
fn size(bytes: f64) -> String {
    if !bytes.is_finite() {
        "–".to_owned()
    } else if bytes < 1024.0 {
        format!("{bytes:.0} B")
    } else {
        format!("{:.1} KiB", bytes / 1024.0)
    }
}

fn mib(kib: &Value) -> String {
    kib.as_f64()
        .map_or_else(|| "–".to_owned(), |kib| format!("{:.1} MiB", kib / 1024.0))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_info(command: &str) -> RunInfo<'_> {
        RunInfo {
            date: "2026-11-25 16:00 UTC".into(),
            command,
            commit: "`abc1234`".into(),
            load_before: Some("0.10, 0.20, 0.30"),
        }
    }

    fn one_run(results: Value, command: &str) -> Report {
        render(&merge(None, results, run_info(command)))
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.6), "1,000");
        assert_eq!(thousands(149_133.7), "149,134");
        assert_eq!(thousands(1_000_000.0), "1,000,000");
    }

    #[test]
    fn sizes_and_mebibytes() {
        assert_eq!(size(512.0), "512 B");
        assert_eq!(size(26_048.0), "25.4 KiB");
        assert_eq!(size(f64::NAN), "–");
        assert_eq!(mib(&serde_json::json!(34_760)), "33.9 MiB");
        assert_eq!(mib(&Value::Null), "–");
    }

    #[test]
    fn endpoint_benchmarks_render_with_verdicts() {
        let results = serde_json::json!({
            "settings": {"quick": false},
            "throughput": [],
            "diagnostics": {"entries": [
                {"name": "agent-one-shot", "description": "one-shot", "command": "x", "runs": 20,
                 "result": {"latency": {"p50Ms": 205.8, "p95Ms": 210.2}, "outputBytes": 25953,
                            "format": "JSON", "contents": "system 286 B; unavailable: logs"}},
                {"name": "agent-warm", "description": "warm", "command": "y", "runs": 50,
                 "result": {"latency": {"p50Ms": 8.4, "p95Ms": 25.0}, "outputBytes": 26048,
                            "format": "JSON", "contents": "system 286 B"}},
                {"name": "fusioninventory", "description": "fi", "command": "z", "runs": 5,
                 "error": "fusioninventory-inventory not found"}
            ]},
            "orderLatency": {"action": "network.flush_dns", "warmupIterations": 20,
                "iterations": 200, "latency": {"samples": 200, "p50Ms": 1.02, "p95Ms": 1.72,
                "p99Ms": 2.28, "maxMs": 5.5}},
            "longPollMemory": {"devicesRequested": 19000, "devicesEnrolled": 19000,
                "enrollSeconds": 7.7, "serverOpenFilesLimit": 20000, "connectionsPlanned": 19000,
                "rssStartedKib": 15200, "rssIdleKib": 34760, "serverLog": "target/bench/lp.log",
                "rounds": [
                    {"name": "first", "description": "from idle", "connectionsOpened": 19000,
                     "connectionsHeld": 14372, "connectionsFailed": 0, "pollsEnded": 4628,
                     "firstPollError": "HTTP 500: internal", "rssBeforeKib": 34760,
                     "rssPollingKib": 671220, "rssAfterCloseKib": 671264,
                     "bytesPerConnection": 45347.6,
                     "serverPolling": {"openFiles": {"total": 18379, "sockets": 14376}, "threads": 370}},
                    {"name": "again", "description": "once the first round closed",
                     "connectionsOpened": 19000, "connectionsHeld": 19000, "connectionsFailed": 0,
                     "pollsEnded": 0, "rssBeforeKib": 671264, "rssPollingKib": 700000,
                     "rssAfterCloseKib": 700000, "bytesPerConnection": 1548.0,
                     "serverPolling": {"openFiles": {"total": 19040, "sockets": 19004}, "threads": 20}}
                ]}
        });
        let report = one_run(results, "cargo xtask bench");
        let markdown = &report.markdown;
        assert!(markdown.contains(
            "| agent-one-shot | one-shot | 20 | 205.8 | 210.2 | 25.3 KiB JSON | system 286 B; unavailable: logs | met |"
        ), "{markdown}");
        assert!(markdown.contains(
            "| agent-warm | warm | 50 | 8.4 | 25.0 | 25.4 KiB JSON | system 286 B | **not met** |"
        ));
        assert!(
            markdown.contains("| `network.flush_dns` | 200 | 1.02 | 1.72 | 2.28 | 5.5 | met |")
        );
        assert!(markdown.contains(
            "| first: from idle | 14,372 of 19,000 | 33.9 MiB | 655.5 MiB | 44.3 KiB | 2.3× | 655.5 MiB | 370, 18,379 | **not met** |"
        ), "{markdown}");
        assert!(markdown.contains("| again: once the first round closed | 19,000 of 19,000 |"));
        assert!(markdown.contains(
            "4,628 of 19,000 long-polls ended before memory was read (first: HTTP 500: internal)"
        ));
        assert_eq!(
            report.failures,
            ["diagnostics/fusioninventory", "long-poll-memory"]
        );
    }

    #[test]
    fn failed_benchmarks_are_listed_with_their_reason() {
        let results = serde_json::json!({
            "settings": {"quick": true, "load": {"connections": 64, "clientThreads": 1,
                "warmup": 1.0, "duration": 3.0}, "queryWarmupIterations": 10,
                "queryIterations": 100},
            "throughput": [
                {"name": "echo", "description": "echo", "result": {"requestsPerSec": 1000.0,
                    "errors": 0, "latency": {"p50Ms": 0.5, "p99Ms": 1.0, "maxMs": 2.0}}},
                {"name": "deskside-create", "description": "real", "error": "not run: no binary"}
            ],
            "queries": {"tickets": 50000, "error": "seed failed"}
        });
        let report = one_run(results, "cargo xtask bench --quick");
        assert_eq!(report.failures, ["deskside-create", "deskside-queries"]);
        assert!(
            report
                .markdown
                .contains("| echo | echo | 1,000 | 0.50 | 1.00 | 2.0 | 0 | 100.0 % |")
        );
        assert!(
            report
                .markdown
                .contains("Create target: not measured in this run.")
        );
        assert!(report.markdown.contains("not run: no binary"));
    }
    #[test]
    fn one_run_keeps_the_single_run_header() {
        let report = one_run(
            serde_json::json!({"settings": {"quick": false}, "throughput": []}),
            "cargo xtask bench",
        );
        assert!(
            report
                .markdown
                .contains("| command | `cargo xtask bench` |")
        );
        assert!(report.markdown.contains("| commit | `abc1234` |"));
        assert!(
            report
                .markdown
                .contains("| load average (1, 5, 15 min) at start | 0.10, 0.20, 0.30 |")
        );
        assert!(!report.markdown.contains("several runs"));
    }

    #[test]
    fn a_partial_run_replaces_its_sections_and_keeps_the_others() {
        let full = serde_json::json!({
            "settings": {"quick": false},
            "throughput": [{"name": "echo", "description": "echo", "result": {
                "requestsPerSec": 1000.0, "errors": 0,
                "latency": {"p50Ms": 0.5, "p99Ms": 1.0, "maxMs": 2.0}}}],
            "orderLatency": {"action": "network.flush_dns", "error": "old failure"},
            "desktopSync": {"tickets": 100, "error": "old sync failure"}
        });
        let record = merge(None, full, run_info("cargo xtask bench"));
        let partial = serde_json::json!({
            "settings": {"quick": false},
            "throughput": [],
            "desktopSync": {"tickets": 100000, "changesPerSync": 10, "iterations": 50,
                "warmupRounds": 3, "change": "a note",
                "initial": {"seconds": 4.2, "pages": 201, "tickets": 100005},
                "incremental": {"samples": 50, "p50Ms": 6.0, "p95Ms": 7.5, "p99Ms": 8.0, "maxMs": 9.0},
                "noChange": {"samples": 50, "p50Ms": 2.0, "p95Ms": 2.5, "p99Ms": 3.0, "maxMs": 3.1},
                "meanFetchedIncremental": 10.0, "meanFetchedNoChange": 0.0}
        });
        let record = merge(
            Some(record),
            partial,
            run_info("cargo xtask bench -- --only desktop-sync"),
        );
        assert_eq!(record["runs"].as_array().unwrap().len(), 2);
        assert!(record["runs"][0]["results"]["desktopSync"].is_null());
        let report = render(&record);
        let markdown = &report.markdown;
        assert!(markdown.contains("several runs"), "{markdown}");
        assert!(markdown.contains(
            "| 1 | 2026-11-25 16:00 UTC | `cargo xtask bench` | `abc1234` | 0.10, 0.20, 0.30 | create throughput, order latency |"
        ), "{markdown}");
        assert!(markdown.contains("| desktop sync |"));
        assert!(markdown.contains("| echo | echo | 1,000 |"));
        assert!(
            markdown.contains(
                "| **after 10 changes** | 50 | 6.00 | 7.50 | 8.00 | 9.0 | 10.0 | 3.0× | met |"
            ),
            "{markdown}"
        );
        assert!(markdown.contains("| no change (baseline) | 50 | 2.00 | 2.50 |"));
        assert!(markdown.contains("Incremental sync target: **met**: p95 7.50 ms."));
        assert!(!markdown.contains("old sync failure"));
        // The earlier run's failure stays in the file but is not this run's.
        assert!(markdown.contains("### order-latency (an earlier run)"));
        assert!(report.failures.is_empty());

        // A quick run does not mix with full ones.
        let quick = serde_json::json!({"settings": {"quick": true}, "throughput": [],
            "desktopSync": {"tickets": 20000, "error": "x"}});
        let record = merge(Some(record), quick, run_info("cargo xtask bench --quick"));
        assert_eq!(record["runs"].as_array().unwrap().len(), 1);
        assert_eq!(render(&record).failures, ["desktop-sync"]);
    }

    #[test]
    fn desktop_sections_render_with_verdicts() {
        let latency = |p50: f64, p95: f64, max: f64| serde_json::json!({"samples": 10, "p50Ms": p50, "p95Ms": p95, "p99Ms": max, "maxMs": max});
        let results = serde_json::json!({
            "settings": {"quick": false},
            "throughput": [],
            "desktopStart": {"runs": 10, "screen": "1440x900x24",
                "app": {"wall": latency(640.0, 910.0, 1200.0), "inApp": latency(600.0, 870.0, 1150.0),
                        "beforeMain": latency(40.0, 45.0, 50.0), "wallSamplesMs": [640.0, 1200.0]},
                "baseline": {"description": "MiniBrowser", "command": "m",
                             "wall": latency(320.0, 400.0, 420.0)}},
            "desktopMemory": {"idleSeconds": 5.0,
                "app": {"processes": [
                    {"pid": 1, "name": "deskside", "rssKib": 102400, "pssKib": 51200},
                    {"pid": 2, "name": "WebKitWebProces", "rssKib": 153600, "pssKib": 102400}],
                    "totalRssKib": 256000, "totalPssKib": 153600},
                "baseline": {"processes": [], "totalRssKib": 204800},
                "baselineError": "MiniBrowser crashed"},
            "desktopQueue": {"tickets": 100000, "seedingSeconds": 4.0, "expectedRows": 11700,
                "window": {"innerWidth": 1280, "innerHeight": 800, "devicePixelRatio": 1,
                           "queueHeight": 648, "rowHeight": 36},
                "signIn": {"toConsoleMs": 120.0, "toFirstRowMs": 180.0, "rowsLoaded": 200},
                "firstSync": {"waitedSeconds": 31.5, "settled": true},
                "scroll": {"rows": 11700, "complete": true, "totalMs": 9000.0, "rowsPerSec": 1300.0,
                           "pages": 59, "frameInterval": latency(16.7, 33.4, 120.0),
                           "maxRowsInDom": 42},
                "jumps": {"latency": latency(20.0, 30.0, 40.0), "maxFrames": 2},
                "memoryAfterScroll": {"totalRssKib": 1024000, "totalPssKib": 512000,
                    "processes": [{"pid": 3, "name": "WebKitWebProces", "rssKib": 716800}]}}
        });
        let report = one_run(results, "cargo xtask bench");
        let markdown = &report.markdown;
        assert!(markdown.contains("## Desktop app"));
        assert!(markdown.contains(
            "| **deskside**: spawn → the window's first request | 10 | 640 | 910 | 1200 | 2.0× | met |"
        ), "{markdown}");
        assert!(markdown.contains("Cold start target: **met**: p95 910 ms, max 1200 ms."));
        assert!(
            markdown.contains("| **deskside, total** | 2 processes | **250.0 MiB** | 150.0 MiB |"),
            "{markdown}"
        );
        assert!(markdown.contains("Idle memory target: **not met**: 250.0 MiB RSS in all (150.0 MiB PSS); 1.2× the baseline's RSS."), "{markdown}");
        assert!(markdown.contains("| **scroll to the end**, loading every row | **11,700 rows in 9.0 s, 1,300 rows/s** (59 pages) |"), "{markdown}");
        assert!(markdown.contains(
            "1280×800 at device pixel ratio 1; the queue area is 648 px high, 18.0 rows of 36 px"
        ));
        assert!(
            markdown.contains("lists 11,700 of them (11.7 % of the generated history is open)")
        );
        assert!(markdown.contains("| RSS 1000.0 MiB (the web process 700.0 MiB), PSS 500.0 MiB |"));
        assert!(
            markdown.contains(
                "| of which before `main`: exec, dynamic linking | 10 | 40 | 45 | 50 |  |  |"
            ),
            "{markdown}"
        );
        assert_eq!(report.failures, ["desktop-memory/baseline"]);
    }
}
