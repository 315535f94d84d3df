//! `logs`: the most recent error lines from the system log.
//!
//! The journal (or syslog files) on Linux, the System event log on Windows, the unified log
//! on macOS. Bounded to the last 50 lines of at most 300 characters each.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::command;
use crate::snapshot::Probe;
use crate::text::truncate_chars;

pub(crate) const MAX_LINES: usize = 50;
pub(crate) const MAX_LINE_CHARS: usize = 300;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Logs {
    /// `journal`, `/var/log/syslog`, `eventlog:System`, `unified log`.
    pub source: String,
    /// Oldest first.
    pub lines: Vec<String>,
}

fn logs(source: &str, lines: impl IntoIterator<Item = String>) -> Logs {
    let mut lines: Vec<String> = lines
        .into_iter()
        .map(|l| truncate_chars(l.trim_end(), MAX_LINE_CHARS))
        .filter(|l| !l.trim().is_empty())
        .collect();
    let excess = lines.len().saturating_sub(MAX_LINES);
    lines.drain(..excess);
    Logs {
        source: source.to_owned(),
        lines,
    }
}

#[cfg(target_os = "linux")]
pub(crate) fn collect(timeout: Duration) -> Probe<Logs> {
    // Not `-q`: it also hides "No journal files were found", which we need to see.
    let args = ["-p", "err", "-n", "50", "--no-pager", "-o", "short-iso"];
    let journal_problem = match command::run("journalctl", &args, timeout) {
        // Without journal files journalctl still exits 0, saying so on stderr.
        Ok(out) if out.status.success() && !out.stderr.contains("No journal files") => {
            // `-- No entries --` and `-- Boot … --` are journalctl's own markers.
            let lines = out.stdout.lines().filter(|l| !l.starts_with("-- "));
            return Probe::Available(logs("journal", lines.map(str::to_owned)));
        }
        Ok(out) => format!("no systemd journal ({})", out.first_error_line()),
        Err(err) => format!("no systemd journal ({})", err.reason()),
    };
    for path in ["/var/log/syslog", "/var/log/messages"] {
        match tail(std::path::Path::new(path)) {
            Ok(text) => return Probe::Available(logs(path, error_lines(&text))),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Probe::unavailable(format!("{journal_problem}; {path}: {err}")),
        }
    }
    Probe::unavailable(format!(
        "{journal_problem} and no /var/log/syslog or /var/log/messages"
    ))
}

#[cfg(windows)]
pub(crate) fn collect(timeout: Duration) -> Probe<Logs> {
    // Level 1 = critical, 2 = error; newest first (`/rd:true`), so reverse afterwards.
    let args = [
        "qe",
        "System",
        "/q:*[System[(Level=1 or Level=2)]]",
        "/c:50",
        "/rd:true",
        "/f:text",
    ];
    match command::run("wevtutil", &args, timeout) {
        Ok(out) if out.status.success() => {
            let mut events = parse_wevtutil_text(&out.stdout);
            // Labels are localised on some Windows editions: output we cannot read must not
            // pass for "no errors".
            if events.is_empty() && !out.stdout.trim().is_empty() {
                return Probe::unavailable("wevtutil printed events in a format we do not read");
            }
            events.reverse();
            Probe::Available(logs("eventlog:System", events))
        }
        Ok(out) => Probe::unavailable(format!("wevtutil failed: {}", out.first_error_line())),
        Err(err) => Probe::unavailable(err.reason()),
    }
}

#[cfg(target_os = "macos")]
pub(crate) fn collect(timeout: Duration) -> Probe<Logs> {
    // `log show` over a long window takes seconds; ten minutes is enough to see a
    // problem that is happening now.
    let args = [
        "show",
        "--last",
        "10m",
        "--style",
        "compact",
        "--predicate",
        "messageType == error OR messageType == fault",
    ];
    match command::run_capped("log", &args, timeout, 1024 * 1024) {
        Ok(out) if out.status.success() => Probe::Available(logs(
            "unified log",
            // The first line is the column header.
            out.stdout.lines().skip(1).map(str::to_owned),
        )),
        Ok(out) => Probe::unavailable(format!("log show failed: {}", out.first_error_line())),
        Err(err) => Probe::unavailable(err.reason()),
    }
}

#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
pub(crate) fn collect(_timeout: Duration) -> Probe<Logs> {
    Probe::unavailable("logs are not read on this platform")
}

/// The last 256 KiB of a log file: recent lines are at the end and the file can be huge.
#[cfg(target_os = "linux")]
fn tail(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    const TAIL_BYTES: u64 = 256 * 1024;
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES)))?;
    let mut bytes = Vec::new();
    file.take(TAIL_BYTES).read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Syslog has no reliable severity in its text; these words catch what a technician scans
/// for.
#[cfg(any(target_os = "linux", test))]
pub(crate) fn error_lines(text: &str) -> impl Iterator<Item = String> + '_ {
    const WORDS: [&str; 9] = [
        "error", "fail", "crit", "fatal", "panic", "segfault", "denied", "oom", "emerg",
    ];
    text.lines()
        .filter(|line| {
            let lower = line.to_ascii_lowercase();
            WORDS.iter().any(|w| lower.contains(w))
        })
        .map(str::to_owned)
}

/// `wevtutil qe … /f:text`: blocks starting `Event[N]:` with `Date:`, `Source:` and a
/// `Description:` line followed by the message.
#[cfg(any(windows, test))]
pub(crate) fn parse_wevtutil_text(text: &str) -> Vec<String> {
    #[derive(Default)]
    struct Event {
        date: String,
        source: String,
        message: String,
        in_description: bool,
    }
    impl Event {
        fn line(&self) -> Option<String> {
            (!self.source.is_empty() || !self.message.is_empty())
                .then(|| format!("{} {}: {}", self.date, self.source, self.message.trim()))
        }
    }
    let mut lines = Vec::new();
    let mut event = Event::default();
    for raw in text.lines() {
        let line = raw.trim();
        if line.starts_with("Event[") {
            lines.extend(event.line());
            event = Event::default();
        } else if event.in_description {
            if !line.is_empty() && event.message.len() < MAX_LINE_CHARS {
                event.message.push(' ');
                event.message.push_str(line);
            }
        } else if let Some(date) = line.strip_prefix("Date:") {
            event.date = date.trim().to_owned();
        } else if let Some(source) = line.strip_prefix("Source:") {
            event.source = source.trim().to_owned();
        } else if line.starts_with("Description:") {
            event.in_description = true;
        }
    }
    lines.extend(event.line());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_lines_are_filtered_for_errors_and_bounded() {
        let mut text =
            String::from("Nov 25 kernel: all good\nNov 25 sshd: Failed password for bob\n");
        for i in 0..80 {
            text.push_str(&format!("Nov 25 app[{i}]: ERROR {}\n", "x".repeat(400)));
        }
        let got = logs("/var/log/syslog", error_lines(&text));
        assert_eq!(got.lines.len(), MAX_LINES);
        assert!(
            got.lines
                .iter()
                .all(|l| l.chars().count() <= MAX_LINE_CHARS)
        );
        // The newest lines are kept.
        assert!(got.lines.last().unwrap().starts_with("Nov 25 app[79]"));
        assert!(!got.lines.iter().any(|l| l.contains("all good")));
    }

    #[test]
    fn wevtutil_events_become_one_line_each() {
        let text = "Event[0]:\r
  Log Name: System\r
  Source: Service Control Manager\r
  Date: 2026-11-25T10:01:02.000\r
  Level: Error\r
  Description: \r
The Print Spooler service terminated unexpectedly.\r
It has done this 1 time(s).\r
\r
Event[1]:\r
  Source: disk\r
  Date: 2026-11-25T09:00:00.000\r
  Description: \r
The device, \\Device\\Harddisk0\\DR0, has a bad block.\r
";
        assert_eq!(
            parse_wevtutil_text(text),
            [
                "2026-11-25T10:01:02.000 Service Control Manager: The Print Spooler service terminated unexpectedly. It has done this 1 time(s).",
                "2026-11-25T09:00:00.000 disk: The device, \\Device\\Harddisk0\\DR0, has a bad block.",
            ]
        );
    }
}
