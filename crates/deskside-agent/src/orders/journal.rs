//! The orders journal: what this endpoint started and has not finished reporting.
//!
//! Before an order runs, `<state-dir>/orders-in-flight/<orderId>` is written (0600 in a 0700
//! directory, atomically, fsynced with its directory): `{orderId, action, startedAt}`. When
//! it ends, its final report is added to the entry before it is sent, and the entry goes
//! once the server has it (or refused it for good). So after a crash, a `kill -9` or a power
//! loss, each entry left is an order that either never finished (reported `interrupted`:
//! whether it took effect is unknown) or finished with its report undelivered (sent again),
//! and the server's request never stays `running` for want of a report.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::OrderReport;
use super::secrets::file_name_for;
use crate::state::files::{Visibility, create_private_dir, sync_dir, write_atomic};

/// Largest entry read; a real one is well under 4 KiB (a final report's excerpt is bounded).
const MAX_ENTRY_BYTES: u64 = 256 * 1024;

/// One order in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub order_id: String,
    pub action: String,
    pub started_at: DateTime<Utc>,
    /// Its final report, once it ended; `None`: it was still running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<OrderReport>,
}

impl Entry {
    /// What to tell the server about it now.
    pub fn report(&self) -> OrderReport {
        self.finished
            .clone()
            .unwrap_or_else(|| OrderReport::Interrupted {
                reason: format!(
                    "the agent stopped (crash, kill or power loss) while running {} started at {}; \
                 it did not finish, and whether it took effect is unknown: check the machine",
                    self.action,
                    self.started_at.format("%Y-%m-%d %H:%M:%S UTC")
                ),
            })
    }
}

/// The journal's directory.
#[derive(Debug, Clone)]
pub struct Journal {
    dir: PathBuf,
}

impl Journal {
    pub fn new(dir: PathBuf) -> Self {
        Journal { dir }
    }

    fn path(&self, order_id: &str) -> PathBuf {
        self.dir.join(file_name_for(order_id))
    }

    fn write(&self, entry: &Entry) -> std::io::Result<()> {
        create_private_dir(&self.dir)?;
        let bytes = serde_json::to_vec_pretty(entry).map_err(std::io::Error::other)?;
        write_atomic(&self.path(&entry.order_id), &bytes, Visibility::Private)
    }

    /// Records, durably, that `order_id` is about to run.
    pub fn started(
        &self,
        order_id: &str,
        action: &str,
        at: DateTime<Utc>,
    ) -> std::io::Result<Entry> {
        let entry = Entry {
            order_id: order_id.to_owned(),
            action: action.to_owned(),
            started_at: at,
            finished: None,
        };
        self.write(&entry)?;
        Ok(entry)
    }

    /// Records, durably, how `entry` ended, before the report is sent.
    pub fn finished(&self, entry: &Entry, report: &OrderReport) -> std::io::Result<()> {
        self.write(&Entry {
            finished: Some(report.clone()),
            ..entry.clone()
        })
    }

    /// Forgets `order_id`: the server has its final report.
    pub fn clear(&self, order_id: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.path(order_id)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
        sync_dir(&self.dir)
    }

    /// Every entry left, oldest first. A missing directory means none; an entry that cannot
    /// be read is skipped with a warning naming its file (and left for an administrator).
    pub fn entries(&self) -> std::io::Result<Vec<Entry>> {
        use std::io::Read;
        let listing = match std::fs::read_dir(&self.dir) {
            Ok(listing) => listing,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut entries = Vec::new();
        for item in listing {
            let item = item?;
            // Temporary files of an atomic write in progress start with a dot.
            if item.file_name().to_string_lossy().starts_with('.') || !item.file_type()?.is_file() {
                continue;
            }
            let path = item.path();
            let mut bytes = Vec::new();
            let parsed = std::fs::File::open(&path)
                .and_then(|file| file.take(MAX_ENTRY_BYTES).read_to_end(&mut bytes))
                .map_err(|e| e.to_string())
                .and_then(|_| serde_json::from_slice::<Entry>(&bytes).map_err(|e| e.to_string()));
            match parsed {
                Ok(entry) => entries.push(entry),
                Err(error) => {
                    tracing::error!(path = %path.display(), %error, "a journal entry of an order is damaged; left as it is");
                }
            }
        }
        entries.sort_by(|a, b| (a.started_at, &a.order_id).cmp(&(b.started_at, &b.order_id)));
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn an_entry_outlives_the_process_and_says_how_to_report_it() {
        let state = tempfile::tempdir().unwrap();
        let journal = Journal::new(state.path().join("orders-in-flight"));
        assert!(journal.entries().unwrap().is_empty());
        let t0 = DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let running = journal.started("act_1", "process.kill", t0).unwrap();
        let done = journal
            .started(
                "act_2",
                "disk.clean_temp",
                t0 + chrono::Duration::seconds(1),
            )
            .unwrap();
        let rejected = OrderReport::Rejected {
            rejection: super::super::Rejection {
                code: "x".into(),
                message: "y".into(),
            },
        };
        journal.finished(&done, &rejected).unwrap();
        // Another process (the restarted daemon) reads the same directory.
        let again = Journal::new(state.path().join("orders-in-flight"));
        let entries = again.entries().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0], running);
        match entries[0].report() {
            OrderReport::Interrupted { reason } => {
                assert!(reason.contains("process.kill"), "{reason}");
                assert!(reason.contains("2026-03-02 09:00:00 UTC"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(entries[1].report(), rejected);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&state.path().join("orders-in-flight")), 0o700);
            assert_eq!(mode(&state.path().join("orders-in-flight/act_1")), 0o600);
        }
        again.clear("act_1").unwrap();
        again.clear("act_1").unwrap();
        let left: Vec<String> = again
            .entries()
            .unwrap()
            .into_iter()
            .map(|e| e.order_id)
            .collect();
        assert_eq!(left, ["act_2"]);
    }
}
