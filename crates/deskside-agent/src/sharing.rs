//! What the agent may send on its own, and what the people at this machine asked it not to.
//!
//! Two sources decide which sections leave the machine in the agent's background uploads
//! and in on-request `diagnostics.collect` snapshots:
//! - the endpoint policy's `[diagnostics] background_sections` (by default everything but
//!   processes and logs: see `deskside_remediation::policy::DiagnosticsPolicy`);
//! - every local account's remembered choices: the sections its user switched off in the
//!   desktop app's Get help, sent over the bridge (`sharingChoices`) and kept here, one file
//!   per account: `<state-dir>/sharing/<uid>.json` (0600 in a 0700 directory, written
//!   atomically), `{uid, account, withheld, updatedAt}`.
//!
//! The most restrictive wins: a section any of them withholds is left out (never read) and
//! marked withheld in the snapshot (`Snapshot::withhold`), so staff see "not shared" rather
//! than an empty section. A choices file that cannot be read withholds every section until
//! its user chooses again: a damaged file must not share what someone switched off.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use deskside_diagnostics::{SectionName, Snapshot, SnapshotRequest, WithheldBy};
use deskside_remediation::policy::DiagnosticsPolicy;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::state::files::{Visibility, create_private_dir, secure_private_dir, write_atomic};

/// Largest choices file read; a real one is about 150 bytes.
const MAX_CHOICES_FILE_BYTES: u64 = 64 * 1024;

/// One account's remembered choices, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountChoices {
    pub uid: u32,
    pub account: String,
    pub withheld: BTreeSet<SectionName>,
    pub updated_at: DateTime<Utc>,
}

/// Every account's choices, in memory and on disk; tells the snapshot loop when they change.
pub struct SharingChoices {
    dir: PathBuf,
    /// By uid: the kernel's name for the account, which the bridge trusts.
    accounts: Mutex<BTreeMap<u32, BTreeSet<SectionName>>>,
    changed: watch::Sender<u64>,
}

impl SharingChoices {
    /// Reads the stored choices in `dir` (missing: none yet).
    pub fn load(dir: PathBuf) -> SharingChoices {
        let mut accounts = BTreeMap::new();
        match std::fs::read_dir(&dir) {
            Ok(entries) => {
                for entry in entries.flatten() {
                    let path = entry.path();
                    let Some(uid) = uid_of_file(&path) else {
                        continue;
                    };
                    let withheld = match read_choices(&path) {
                        Ok(choices) if choices.uid == uid => choices.withheld,
                        Ok(_) => withhold_all(&path, "it names another uid"),
                        Err(error) => withhold_all(&path, &error),
                    };
                    accounts.insert(uid, withheld);
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                // Under no real uid: it stays until the directory is readable again.
                accounts.insert(u32::MAX, withhold_all(&dir, &error.to_string()));
            }
        }
        SharingChoices {
            dir,
            accounts: Mutex::new(accounts),
            changed: watch::channel(0).0,
        }
    }

    /// Remembers `account`'s (uid `uid`) choices, on disk first; then wakes whoever waits
    /// on [`SharingChoices::changed`].
    pub fn set(
        &self,
        uid: u32,
        account: &str,
        withheld: BTreeSet<SectionName>,
        now: DateTime<Utc>,
    ) -> std::io::Result<()> {
        create_private_dir(&self.dir)?;
        secure_private_dir(&self.dir).map_err(std::io::Error::other)?;
        let choices = AccountChoices {
            uid,
            account: account.to_owned(),
            withheld: withheld.clone(),
            updated_at: now,
        };
        let bytes = serde_json::to_vec_pretty(&choices).map_err(std::io::Error::other)?;
        // Held across the write, so two quick changes land on disk and in memory in the
        // same order.
        let mut accounts = self.lock();
        write_atomic(&self.file_of(uid), &bytes, Visibility::Private)?;
        accounts.insert(uid, withheld);
        drop(accounts);
        self.changed.send_modify(|generation| *generation += 1);
        Ok(())
    }

    /// Changes with every [`SharingChoices::set`].
    pub fn changed(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// The sections to keep out of what the agent sends on its own, and who keeps each
    /// out: a user's choice is named even where the policy also withholds it.
    pub fn withheld(&self, policy: &DiagnosticsPolicy) -> BTreeMap<SectionName, WithheldBy> {
        let mut withheld: BTreeMap<SectionName, WithheldBy> = policy
            .withheld()
            .map(|section| (section, WithheldBy::Policy))
            .collect();
        for sections in self.lock().values() {
            for section in sections {
                withheld.insert(*section, WithheldBy::User);
            }
        }
        withheld
    }

    fn file_of(&self, uid: u32) -> PathBuf {
        self.dir.join(format!("{uid}.json"))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u32, BTreeSet<SectionName>>> {
        self.accounts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn uid_of_file(path: &Path) -> Option<u32> {
    let name = path.file_name()?.to_str()?;
    name.strip_suffix(".json")?.parse().ok()
}

fn read_choices(path: &Path) -> Result<AccountChoices, String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_CHOICES_FILE_BYTES).read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}

fn withhold_all(path: &Path, why: &str) -> BTreeSet<SectionName> {
    tracing::error!(
        file = %path.display(),
        "a user's sharing choices are unreadable ({why}): every section is withheld until \
         they choose again"
    );
    SectionName::ALL.into_iter().collect()
}

/// A snapshot without the `withheld` sections: they are not read at all, and are marked
/// withheld in the result. `take` reads the sections it is asked for.
pub fn snapshot_without(
    withheld: &BTreeMap<SectionName, WithheldBy>,
    bypass_cache: bool,
    take: impl FnOnce(&SnapshotRequest) -> Snapshot,
) -> Snapshot {
    let shared: BTreeSet<SectionName> = SectionName::ALL
        .into_iter()
        .filter(|section| !withheld.contains_key(section))
        .collect();
    // An empty request means every section: with nothing to share, read nothing.
    let mut snapshot = if shared.is_empty() {
        Snapshot::empty(Utc::now())
    } else {
        take(&SnapshotRequest {
            sections: shared,
            bypass_cache,
        })
    };
    for (section, by) in withheld {
        snapshot.withhold(*section, *by);
    }
    snapshot
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sections(names: &[SectionName]) -> BTreeSet<SectionName> {
        names.iter().copied().collect()
    }

    #[test]
    fn choices_are_kept_per_account_privately_and_the_most_restrictive_wins() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("sharing");
        let choices = SharingChoices::load(dir.clone());
        let policy = DiagnosticsPolicy::default();
        let by_policy = choices.withheld(&policy);
        assert_eq!(
            by_policy,
            BTreeMap::from([
                (SectionName::Processes, WithheldBy::Policy),
                (SectionName::Logs, WithheldBy::Policy),
            ])
        );

        let changed = choices.changed();
        let now = Utc::now();
        choices
            .set(1001, "alice", sections(&[SectionName::Software]), now)
            .unwrap();
        choices
            .set(
                1002,
                "bob",
                sections(&[SectionName::Logs, SectionName::Printers]),
                now,
            )
            .unwrap();
        assert!(changed.has_changed().unwrap());
        let expected = BTreeMap::from([
            (SectionName::Processes, WithheldBy::Policy),
            (SectionName::Logs, WithheldBy::User),
            (SectionName::Printers, WithheldBy::User),
            (SectionName::Software, WithheldBy::User),
        ]);
        assert_eq!(choices.withheld(&policy), expected);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir), 0o700);
            assert_eq!(mode(&dir.join("1001.json")), 0o600);
        }
        let stored: AccountChoices =
            serde_json::from_slice(&std::fs::read(dir.join("1001.json")).unwrap()).unwrap();
        assert_eq!(stored.account, "alice");
        assert_eq!(stored.withheld, sections(&[SectionName::Software]));

        // They survive a restart; bob switching everything back on leaves alice's choice.
        let again = SharingChoices::load(dir.clone());
        assert_eq!(again.withheld(&policy), expected);
        again.set(1002, "bob", BTreeSet::new(), now).unwrap();
        assert_eq!(
            again.withheld(&policy),
            BTreeMap::from([
                (SectionName::Processes, WithheldBy::Policy),
                (SectionName::Logs, WithheldBy::Policy),
                (SectionName::Software, WithheldBy::User),
            ])
        );

        // A damaged file fails closed.
        std::fs::write(dir.join("1003.json"), b"{not json").unwrap();
        let damaged = SharingChoices::load(dir);
        assert_eq!(damaged.withheld(&policy).len(), SectionName::ALL.len());
    }

    #[test]
    fn withheld_sections_are_not_read_and_are_marked() {
        let withheld = BTreeMap::from([
            (SectionName::Processes, WithheldBy::Policy),
            (SectionName::Software, WithheldBy::User),
        ]);
        let mut asked = None;
        let snapshot = snapshot_without(&withheld, true, |request| {
            asked = Some(request.clone());
            Snapshot::empty(Utc::now())
        });
        let asked = asked.expect("the collector was asked");
        assert!(asked.bypass_cache);
        assert_eq!(asked.sections.len(), 6);
        assert!(!asked.sections.contains(&SectionName::Software));
        assert_eq!(
            snapshot.section_status(SectionName::Software),
            Some(Err("not shared by the user"))
        );
        assert_eq!(snapshot.withheld, withheld);

        // Nothing left to share: nothing is read (an empty request would mean everything).
        let everything: BTreeMap<_, _> = SectionName::ALL
            .into_iter()
            .map(|s| (s, WithheldBy::Policy))
            .collect();
        let snapshot = snapshot_without(&everything, false, |_| panic!("nothing to read"));
        assert_eq!(snapshot.withheld.len(), SectionName::ALL.len());
    }
}
