//! `printers`: print queues, whether they are paused, and how long jobs have waited.
//!
//! CUPS (`lpstat`) on Linux and macOS, the spooler through PowerShell on Windows.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::command;
use crate::snapshot::Probe;

const MAX_PRINTERS: usize = 64;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Printers {
    pub printers: Vec<Printer>,
}

impl Printers {
    pub fn get(&self, name: &str) -> Option<&Printer> {
        self.printers.iter().find(|p| p.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Printer {
    pub name: String,
    pub state: PrinterState,
    /// A disabled (paused) queue accepts jobs but never prints them.
    pub enabled: bool,
    /// Why the printer is in its state, as the spooler words it (`Paused`, `Offline`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub queued_jobs: u32,
    /// Age of the oldest queued job when the snapshot was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_job_age_secs: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterState {
    Idle,
    Printing,
    Stopped,
    #[default]
    #[serde(other)]
    Unknown,
}

impl PrinterState {
    pub fn as_str(self) -> &'static str {
        match self {
            PrinterState::Idle => "idle",
            PrinterState::Printing => "printing",
            PrinterState::Stopped => "stopped",
            PrinterState::Unknown => "unknown",
        }
    }
}

#[cfg(unix)]
pub(crate) fn collect(timeout: Duration, now: DateTime<Utc>) -> Probe<Printers> {
    // One call for queues (-p) and jobs (-o): each lpstat run costs a few ms.
    match command::run("lpstat", &["-p", "-o"], timeout) {
        Ok(out) => {
            if out.stderr.contains("Scheduler is not running") {
                return Probe::unavailable("CUPS scheduler is not running");
            }
            // lpstat exits 1 with "No destinations added." on a machine without printers.
            if !out.status.success() && !out.stderr.contains("No destinations") {
                return Probe::unavailable(format!("lpstat failed: {}", out.first_error_line()));
            }
            let printers = parse_lpstat_printers(&out.stdout);
            Probe::Available(with_jobs(printers, &parse_lpstat_jobs(&out.stdout), now))
        }
        Err(command::CommandError::NotInstalled { .. }) => {
            Probe::unavailable("lpstat not installed (no CUPS client)")
        }
        Err(err) => Probe::unavailable(err.reason()),
    }
}

#[cfg(windows)]
pub(crate) fn collect(timeout: Duration, now: DateTime<Utc>) -> Probe<Printers> {
    // One fixed script: printers with their status and the submission time (Unix seconds,
    // so no locale-dependent date text) of every queued job.
    const SCRIPT: &str = "$ErrorActionPreference='Stop'; \
        @(Get-Printer | ForEach-Object { \
            $jobs = @(Get-PrintJob -PrinterName $_.Name -ErrorAction SilentlyContinue); \
            [pscustomobject]@{ name = $_.Name; status = [string]$_.PrinterStatus; \
              jobs = @($jobs | ForEach-Object { ([DateTimeOffset]$_.SubmittedTime).ToUnixTimeSeconds() }) } \
        }) | ConvertTo-Json -Compress -Depth 3";
    let args = ["-NoProfile", "-NonInteractive", "-Command", SCRIPT];
    match command::run("powershell", &args, timeout.max(Duration::from_secs(5))) {
        Ok(out) if out.status.success() => parse_windows_printers(&out.stdout, now).into(),
        Ok(out) => Probe::unavailable(format!("Get-Printer failed: {}", out.first_error_line())),
        Err(err) => Probe::unavailable(err.reason()),
    }
}

#[cfg(not(any(unix, windows)))]
pub(crate) fn collect(_timeout: Duration, _now: DateTime<Utc>) -> Probe<Printers> {
    Probe::unavailable("printers are not read on this platform")
}

/// A queued job: its queue and when it was submitted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QueuedJob {
    pub printer: String,
    pub submitted: Option<DateTime<Utc>>,
}

fn with_jobs(mut printers: Vec<Printer>, jobs: &[QueuedJob], now: DateTime<Utc>) -> Printers {
    for printer in &mut printers {
        let mine = jobs.iter().filter(|j| j.printer == printer.name);
        printer.queued_jobs = u32::try_from(mine.clone().count()).unwrap_or(u32::MAX);
        printer.oldest_job_age_secs = mine
            .filter_map(|j| j.submitted)
            .min()
            .map(|oldest| u64::try_from((now - oldest).num_seconds()).unwrap_or(0));
    }
    printers.truncate(MAX_PRINTERS);
    Printers { printers }
}

/// `lpstat -p` in the C locale:
/// ```text
/// printer office is idle.  enabled since Wed Nov 25 14:56:32 2026
/// printer lab now printing lab-7.  enabled since …
/// printer front disabled since Wed Nov 25 14:56:32 2026 -
///     Paused
/// ```
#[cfg(any(unix, test))]
pub(crate) fn parse_lpstat_printers(text: &str) -> Vec<Printer> {
    let mut printers: Vec<Printer> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("printer ") {
            let Some((name, status)) = rest.split_once(' ') else {
                continue;
            };
            let state = if status.starts_with("is idle") {
                PrinterState::Idle
            } else if status.starts_with("now printing") {
                PrinterState::Printing
            } else if status.starts_with("disabled") {
                PrinterState::Stopped
            } else {
                PrinterState::Unknown
            };
            printers.push(Printer {
                name: name.to_owned(),
                state,
                enabled: state != PrinterState::Stopped,
                ..Printer::default()
            });
        } else if line.starts_with(char::is_whitespace) && !line.trim().is_empty() {
            // The indented line after a printer is its state message.
            if let Some(last) = printers.last_mut()
                && last.reason.is_none()
            {
                last.reason = Some(crate::text::truncate_chars(line.trim(), 120));
            }
        }
    }
    printers
}

/// The `-o` part of `lpstat -p -o` in the C locale with `TZ=UTC`:
/// `office-12   alice   1024   Wed Nov 25 14:56:32 2026`.
#[cfg(any(unix, test))]
pub(crate) fn parse_lpstat_jobs(text: &str) -> Vec<QueuedJob> {
    text.lines()
        // Skip the `-p` part: printer lines and their indented state messages.
        .filter(|line| !line.starts_with("printer ") && !line.starts_with(char::is_whitespace))
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (printer, _) = fields.first()?.rsplit_once('-')?;
            let submitted = fields
                .len()
                .checked_sub(5)
                .and_then(|start| parse_ctime(&fields[start..].join(" ")));
            Some(QueuedJob {
                printer: printer.to_owned(),
                submitted,
            })
        })
        .collect()
}

/// `Wed Nov 25 14:56:32 2026`, printed in UTC because the command ran with `TZ=UTC`.
#[cfg(any(unix, test))]
fn parse_ctime(text: &str) -> Option<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(text, "%a %b %d %H:%M:%S %Y")
        .ok()
        .map(|naive| naive.and_utc())
}

/// The Windows script's JSON: one object or an array of `{name, status, jobs: [unix secs]}`.
#[cfg(any(windows, test))]
pub(crate) fn parse_windows_printers(text: &str, now: DateTime<Utc>) -> Result<Printers, String> {
    #[derive(Deserialize)]
    struct Raw {
        name: String,
        #[serde(default)]
        status: String,
        #[serde(default)]
        jobs: OneOrMany<i64>,
    }
    #[derive(Deserialize, Default)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        #[default]
        None,
        One(T),
        Many(Vec<T>),
    }
    impl<T> OneOrMany<T> {
        fn into_vec(self) -> Vec<T> {
            match self {
                OneOrMany::None => Vec::new(),
                OneOrMany::One(v) => vec![v],
                OneOrMany::Many(v) => v,
            }
        }
    }
    let text = text.trim();
    if text.is_empty() {
        return Ok(Printers::default());
    }
    // ConvertTo-Json unwraps a one-element array into a bare object.
    let raw: OneOrMany<Raw> =
        serde_json::from_str(text).map_err(|e| format!("unexpected Get-Printer output: {e}"))?;
    let mut jobs = Vec::new();
    let printers = raw
        .into_vec()
        .into_iter()
        .map(|p| {
            let state = match p.status.as_str() {
                "Normal" | "Idle" => PrinterState::Idle,
                "Printing" | "Processing" | "Busy" | "IOActive" | "WarmingUp" => {
                    PrinterState::Printing
                }
                "Paused" | "Error" | "Offline" | "PaperJam" | "PaperOut" | "NotAvailable" => {
                    PrinterState::Stopped
                }
                _ => PrinterState::Unknown,
            };
            for submitted in p.jobs.into_vec() {
                jobs.push(QueuedJob {
                    printer: p.name.clone(),
                    submitted: DateTime::from_timestamp(submitted, 0),
                });
            }
            Printer {
                enabled: p.status != "Paused",
                reason: (state != PrinterState::Idle).then(|| p.status.clone()),
                name: p.name,
                state,
                ..Printer::default()
            }
        })
        .collect();
    Ok(with_jobs(printers, &jobs, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn lpstat_output_from_a_real_cupsd_gives_states_and_job_ages() {
        // Captured from CUPS 2.4.2 on Debian 12 with LC_ALL=C TZ=UTC.
        let printers = "\
printer deskA is idle.  enabled since Wed Nov 25 14:56:32 2026
printer deskB disabled since Wed Nov 25 14:56:32 2026 -
\tPaused
printer lab-2 now printing lab-2-9.  enabled since Wed Nov 25 14:50:00 2026
";
        let jobs = "\
deskB-1                 root              1024   Wed Nov 25 14:56:32 2026
deskB-2                 root              1024   Wed Nov 25 15:10:00 2026
lab-2-9                 alice             2048   Thu Nov  5 09:01:02 2026
";
        let now = at("2026-11-25T15:16:32Z");
        // `lpstat -p -o` prints both parts one after the other.
        let output = format!("{printers}{jobs}");
        let result = with_jobs(
            parse_lpstat_printers(&output),
            &parse_lpstat_jobs(&output),
            now,
        );
        let [a, b, lab] = &result.printers[..] else {
            panic!("{result:?}")
        };
        assert_eq!(
            (a.state, a.enabled, a.queued_jobs),
            (PrinterState::Idle, true, 0)
        );
        assert_eq!(a.oldest_job_age_secs, None);
        assert_eq!(
            (b.state, b.enabled, b.queued_jobs),
            (PrinterState::Stopped, false, 2)
        );
        assert_eq!(b.reason.as_deref(), Some("Paused"));
        assert_eq!(b.oldest_job_age_secs, Some(20 * 60));
        assert_eq!((lab.state, lab.queued_jobs), (PrinterState::Printing, 1));
        assert_eq!(
            lab.oldest_job_age_secs,
            Some((now - at("2026-11-05T09:01:02Z")).num_seconds() as u64)
        );
    }

    #[test]
    fn windows_printer_json_single_object_or_array() {
        let now = at("2026-01-01T01:00:00Z");
        let one = r#"{"name":"HP","status":"Normal","jobs":[]}"#;
        let printers = parse_windows_printers(one, now).unwrap();
        assert_eq!(printers.printers[0].state, PrinterState::Idle);

        let many = r#"[{"name":"HP","status":"Paused","jobs":1767225600},
                       {"name":"PDF","status":"Normal","jobs":[1767229200,1767225600]}]"#;
        let printers = parse_windows_printers(many, now).unwrap();
        let hp = printers.get("HP").unwrap();
        assert_eq!(
            (hp.enabled, hp.queued_jobs, hp.oldest_job_age_secs),
            (false, 1, Some(3600))
        );
        assert_eq!(printers.get("PDF").unwrap().queued_jobs, 2);
        assert!(parse_windows_printers("garbage", now).is_err());
    }
}
