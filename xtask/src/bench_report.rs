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

pub struct Report {
    pub markdown: String,
    /// Names of benchmarks that did not produce a figure.
    pub failures: Vec<String>,
}

/// Markdown under construction; writing to a String cannot fail, so no Result to thread.
#[derive(Default)]
struct Doc {
    text: String,
    failures: Vec<(String, String)>,
}

impl Doc {
    fn line(&mut self, line: impl AsRef<str>) {
        self.text.push_str(line.as_ref());
        self.text.push('\n');
    }

    fn fail(&mut self, name: &str, error: &str) -> String {
        self.failures.push((name.to_owned(), error.to_owned()));
        "**failed** (see below)".to_owned()
    }
}

/// `load_before` is /proc/loadavg as the driver started: other work on the machine skews
/// every figure, and this shows whether there was any.
pub fn render(results: &Value, invocation: &str, load_before: Option<&str>) -> Report {
    let mut doc = Doc::default();
    header(&mut doc, results, invocation, load_before);
    throughput(&mut doc, results);
    queries(&mut doc, results);
    diagnostics(&mut doc, results);
    order_latency(&mut doc, results);
    long_poll_memory(&mut doc, results);
    failures(&mut doc);
    Report {
        failures: doc.failures.iter().map(|(name, _)| name.clone()).collect(),
        markdown: doc.text,
    }
}

fn header(doc: &mut Doc, results: &Value, invocation: &str, load_before: Option<&str>) {
    doc.line("# Benchmarks");
    doc.line("");
    doc.line(
        "Written by `cargo xtask bench`; do not edit by hand. One run on one machine: \
         compare figures with the baselines measured in the same run, not across machines.",
    );
    doc.line("");
    doc.line("| | |");
    doc.line("|---|---|");
    doc.line(format!("| date | {} |", machine::utc_now()));
    doc.line(format!("| command | `{invocation}` |"));
    doc.line(format!("| commit | {} |", machine::commit()));
    doc.line(format!("| CPU | {} |", machine::cpu()));
    doc.line(format!("| memory | {} |", machine::memory()));
    doc.line(format!("| OS | {} |", machine::os()));
    doc.line(format!("| kernel | {} |", machine::kernel()));
    doc.line(format!("| rustc | {} |", machine::rustc()));
    if let Some(load) = load_before {
        doc.line(format!("| load average (1, 5, 15 min) at start | {load} |"));
    }
    doc.line("");
    if results["settings"]["quick"].as_bool() == Some(true) {
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

fn failures(doc: &mut Doc) {
    if doc.failures.is_empty() {
        return;
    }
    let failures = std::mem::take(&mut doc.failures);
    doc.line("## Failures");
    doc.line("");
    for (name, error) in &failures {
        doc.line(format!("### {name}"));
        doc.line("");
        doc.line("```text");
        doc.line(error.trim_end());
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
        let report = render(&results, "cargo xtask bench", None);
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
        let report = render(&results, "cargo xtask bench --quick", None);
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
}
