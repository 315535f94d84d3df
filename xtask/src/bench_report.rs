//! BENCHMARKS.md from deskside-bench's JSON results plus facts about this machine.
//! Targets are DESIGN.md's; a figure is only meaningful beside the machine it came from
//! and the baselines measured in the same run.

use serde_json::Value;

use crate::machine;

const CREATE_TARGET_PER_SEC: f64 = 20_000.0;
const CREATE_TARGET_P99_MS: f64 = 10.0;
const QUERY_TARGET_P95_MS: f64 = 30.0;

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
