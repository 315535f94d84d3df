//! Replay protection: each order nonce is accepted once. The endpoint remembers a nonce
//! until its order could no longer pass the expiry check (expiry plus the clock-skew
//! tolerance), then forgets it, so the store stays as small as the set of live orders.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::CLOCK_SKEW_TOLERANCE;

/// A store refusing new nonces past this many live ones fails closed; a compromised server
/// flooding orders cannot exhaust the disk.
pub const MAX_LIVE_NONCES: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReplayStoreError(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceStatus {
    /// First sighting: now recorded (durably, for a persistent guard).
    Fresh,
    /// Already recorded: a replay.
    Replayed,
}

/// Remembers nonces. Implementations are shared between threads and must record durably
/// before answering `Fresh` when they claim to survive restarts.
pub trait ReplayGuard: Send + Sync {
    /// Whether `nonce` is remembered (without recording it).
    fn contains(&self, nonce: &str, now: DateTime<Utc>) -> Result<bool, ReplayStoreError>;

    /// Records `nonce` (alive until `expires_at` plus the skew tolerance) unless it is
    /// already there. Atomic: of two concurrent calls with one nonce, one gets `Fresh`.
    fn check_and_record(
        &self,
        nonce: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<NonceStatus, ReplayStoreError>;
}

fn alive(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now <= expires_at + CLOCK_SKEW_TOLERANCE
}

/// In memory only: for tests and for callers that persist elsewhere.
#[derive(Debug, Default)]
pub struct MemoryReplayGuard {
    seen: Mutex<BTreeMap<String, DateTime<Utc>>>,
}

impl MemoryReplayGuard {
    pub fn new() -> Self {
        Self::default()
    }
}

impl ReplayGuard for MemoryReplayGuard {
    fn contains(&self, nonce: &str, now: DateTime<Utc>) -> Result<bool, ReplayStoreError> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        Ok(seen.get(nonce).is_some_and(|exp| alive(*exp, now)))
    }

    fn check_and_record(
        &self,
        nonce: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<NonceStatus, ReplayStoreError> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.retain(|_, exp| alive(*exp, now));
        if seen.contains_key(nonce) {
            return Ok(NonceStatus::Replayed);
        }
        if seen.len() >= MAX_LIVE_NONCES {
            return Err(ReplayStoreError(format!(
                "more than {MAX_LIVE_NONCES} live orders"
            )));
        }
        seen.insert(nonce.to_owned(), expires_at);
        Ok(NonceStatus::Fresh)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StoreFile {
    version: u32,
    nonces: Vec<StoredNonce>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StoredNonce {
    nonce: String,
    expires_at: DateTime<Utc>,
}

/// A JSON file of live nonces, rewritten whole on every new nonce: written to a temporary
/// file in the same directory, fsynced, renamed over the old one, and the directory fsynced,
/// so a crash leaves either the old or the new set, never a torn file. Orders are rare (a
/// few a day per endpoint), so rewriting a small file beats a database here.
///
/// One process owns the file (the agent): two guards on one path would overwrite each
/// other's nonces. Within the process, share one guard (`&dyn ReplayGuard` is `Sync`).
#[derive(Debug)]
pub struct FileReplayGuard {
    path: PathBuf,
    seen: Mutex<BTreeMap<String, DateTime<Utc>>>,
}

impl FileReplayGuard {
    /// Opens (or starts) the store at `path`. A missing file is an empty store; an unreadable
    /// or corrupt one is an error: starting empty would re-open the door to replays.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, ReplayStoreError> {
        let path = path.into();
        let seen = match std::fs::read(&path) {
            Ok(bytes) => {
                let file: StoreFile = serde_json::from_slice(&bytes)
                    .map_err(|e| ReplayStoreError(format!("{} is corrupt: {e}", path.display())))?;
                if file.version != 1 {
                    return Err(ReplayStoreError(format!(
                        "{} has unsupported version {}",
                        path.display(),
                        file.version
                    )));
                }
                file.nonces
                    .into_iter()
                    .map(|n| (n.nonce, n.expires_at))
                    .collect()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => {
                return Err(ReplayStoreError(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        };
        Ok(Self {
            path,
            seen: Mutex::new(seen),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn persist(&self, seen: &BTreeMap<String, DateTime<Utc>>) -> std::io::Result<()> {
        let file = StoreFile {
            version: 1,
            nonces: seen
                .iter()
                .map(|(nonce, expires_at)| StoredNonce {
                    nonce: nonce.clone(),
                    expires_at: *expires_at,
                })
                .collect(),
        };
        let bytes = serde_json::to_vec(&file).map_err(std::io::Error::other)?;
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".replay-")
            .suffix(".tmp")
            .tempfile_in(dir)?;
        tmp.write_all(&bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&self.path).map_err(|e| e.error)?;
        sync_dir(dir)
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    // Makes the rename itself durable.
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    // Windows cannot open a directory as a file; NTFS journals the rename's metadata.
    Ok(())
}

impl ReplayGuard for FileReplayGuard {
    fn contains(&self, nonce: &str, now: DateTime<Utc>) -> Result<bool, ReplayStoreError> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        Ok(seen.get(nonce).is_some_and(|exp| alive(*exp, now)))
    }

    fn check_and_record(
        &self,
        nonce: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<NonceStatus, ReplayStoreError> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.get(nonce).is_some_and(|exp| alive(*exp, now)) {
            return Ok(NonceStatus::Replayed);
        }
        let mut next = seen.clone();
        next.retain(|_, exp| alive(*exp, now));
        if next.len() >= MAX_LIVE_NONCES {
            return Err(ReplayStoreError(format!(
                "more than {MAX_LIVE_NONCES} live orders"
            )));
        }
        next.insert(nonce.to_owned(), expires_at);
        // Only once it is on disk does the nonce count as recorded; if the write fails the
        // order is refused (fail closed) and memory keeps matching the file.
        self.persist(&next)
            .map_err(|e| ReplayStoreError(format!("cannot write {}: {e}", self.path.display())))?;
        *seen = next;
        Ok(NonceStatus::Fresh)
    }
}
