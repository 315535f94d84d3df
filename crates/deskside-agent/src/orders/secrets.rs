//! Temporary passwords waiting for their user.
//!
//! A password reset generates the new password on this machine (`LocalSecret`); the server
//! and the help-desk staff must never see it. The daemon keeps it in
//! `<state-dir>/pending-secrets/<orderId>`: a file readable only by the agent's account
//! (0600 in a 0700 directory, written atomically and fsynced, because the account's password
//! has already been changed and this file is the only place the new one exists), holding
//! `{orderId, username, temporaryPassword, createdAt}`. It is never logged, never part of a
//! report and never sent to the server.
//!
//! The user's desktop app collects it through the local bridge (`crate::bridge`,
//! `pendingSecrets`): [`pending_secrets_for`] finds the files of the account the kernel says
//! is connecting, and [`remove_pending_secrets`] deletes them once the answer was written.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::state::files::{Visibility, create_private_dir, write_atomic};

/// Writes the secret for `order_id` into `dir` and returns the file's path.
pub fn store_pending_secret(
    dir: &Path,
    order_id: &str,
    username: &str,
    password: &str,
    now: DateTime<Utc>,
) -> std::io::Result<PathBuf> {
    create_private_dir(dir)?;
    crate::state::files::secure_private_dir(dir).map_err(std::io::Error::other)?;
    let path = free_path(dir, &file_name_for(order_id));
    let mut bytes = serde_json::to_vec_pretty(&serde_json::json!({
        "orderId": order_id,
        "username": username,
        "temporaryPassword": password,
        "createdAt": now,
    }))
    .map_err(std::io::Error::other)?;
    let written = write_atomic(&path, &bytes, Visibility::Private);
    bytes.fill(0);
    written.map(|()| path)
}

/// Largest pending-secret file read; a real one is about 150 bytes.
const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// A temporary password waiting for its account's user, as stored and as the bridge hands
/// it out (camelCase either way; `Debug` hides the password).
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingSecret {
    pub order_id: String,
    /// The account whose password was reset: the only user who may see it.
    pub account: String,
    pub password: String,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for PendingSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSecret")
            .field("order_id", &self.order_id)
            .field("account", &self.account)
            .field("password", &"<hidden>")
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// The file's shape, as [`store_pending_secret`] writes it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredSecret {
    order_id: String,
    username: String,
    temporary_password: String,
    created_at: DateTime<Utc>,
}

/// The secrets in `dir` that belong to `account` (exact name), oldest first, with their
/// files. A missing directory means none. Files that cannot be read or parsed are skipped
/// with a warning that names the file, never its content.
pub fn pending_secrets_for(
    dir: &Path,
    account: &str,
) -> std::io::Result<Vec<(PathBuf, PendingSecret)>> {
    use std::io::Read;
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        // Temporary files of an atomic write in progress start with a dot.
        if name.to_string_lossy().starts_with('.') || !entry.file_type()?.is_file() {
            continue;
        }
        let path = entry.path();
        let mut bytes = Vec::new();
        let read = std::fs::File::open(&path)
            .and_then(|file| file.take(MAX_SECRET_FILE_BYTES).read_to_end(&mut bytes));
        if let Err(error) = read {
            tracing::warn!(path = %path.display(), %error, "cannot read a pending secret");
            continue;
        }
        let parsed = serde_json::from_slice::<StoredSecret>(&bytes);
        bytes.fill(0);
        let stored = match parsed {
            Ok(stored) => stored,
            Err(_) => {
                tracing::warn!(path = %path.display(), "a pending-secret file is damaged");
                continue;
            }
        };
        if stored.username == account {
            found.push((
                path,
                PendingSecret {
                    order_id: stored.order_id,
                    account: stored.username,
                    password: stored.temporary_password,
                    created_at: stored.created_at,
                },
            ));
        }
    }
    found.sort_by(|a, b| (a.1.created_at, &a.0).cmp(&(b.1.created_at, &b.0)));
    Ok(found)
}

/// Deletes secrets that were handed out, then syncs the directory so they stay deleted.
pub fn remove_pending_secrets(dir: &Path, files: &[PathBuf]) -> std::io::Result<()> {
    for file in files {
        match std::fs::remove_file(file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// A safe file name for an order id: the id itself when it is plain (letters, digits, `-`,
/// `_`), otherwise its plain characters with the rest replaced. The order id is also inside
/// the file, so the name only has to be unique and harmless.
pub(super) fn file_name_for(order_id: &str) -> String {
    let name: String = order_id
        .chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() {
        "order".to_owned()
    } else {
        name
    }
}

/// `dir/name`, or `dir/name-2`, `-3`… if taken (two ids that differ only in replaced
/// characters must not overwrite each other's password).
fn free_path(dir: &Path, name: &str) -> PathBuf {
    let first = dir.join(name);
    if !first.exists() {
        return first;
    }
    (2u32..)
        .map(|n| dir.join(format!("{name}-{n}")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain() {
        assert_eq!(file_name_for("ord_12ab-CD"), "ord_12ab-CD");
        assert_eq!(file_name_for("../etc/passwd"), "___etc_passwd");
        assert_eq!(file_name_for("a b\u{e9}"), "a_b_");
        assert_eq!(file_name_for(""), "order");
        assert_eq!(file_name_for(&"x".repeat(128)).len(), 100);
    }

    #[cfg(unix)]
    #[test]
    fn a_pending_secret_is_a_private_file_that_is_never_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        let state = tempfile::tempdir().unwrap();
        let dir = state.path().join("pending-secrets");
        let now = Utc::now();
        let first = store_pending_secret(&dir, "ord/1", "alice", "Secret234abcDEF", now).unwrap();
        let second = store_pending_secret(&dir, "ord:1", "bob", "Other234abcDEFG", now).unwrap();
        assert_eq!(first, dir.join("ord_1"));
        assert_eq!(second, dir.join("ord_1-2"));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&first), 0o600);
        let stored: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&first).unwrap()).unwrap();
        assert_eq!(stored["orderId"], "ord/1");
        assert_eq!(stored["username"], "alice");
        assert_eq!(stored["temporaryPassword"], "Secret234abcDEF");
    }

    #[test]
    fn only_the_account_s_own_secrets_are_found_and_removal_is_final() {
        let state = tempfile::tempdir().unwrap();
        let dir = state.path().join("pending-secrets");
        assert!(pending_secrets_for(&dir, "alice").unwrap().is_empty());
        let t0 = DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let later = t0 + chrono::Duration::minutes(5);
        store_pending_secret(&dir, "ord_2", "alice", "Second234abcDEF", later).unwrap();
        store_pending_secret(&dir, "ord_1", "alice", "First234abcDEFG", t0).unwrap();
        store_pending_secret(&dir, "ord_3", "bob", "Bobs234abcDEFGH", t0).unwrap();
        // An atomic write in progress, a damaged file and a directory are skipped.
        std::fs::write(dir.join(".ord_4.x.tmp"), b"{").unwrap();
        std::fs::write(dir.join("ord_5"), b"not json").unwrap();
        std::fs::create_dir(dir.join("ord_6")).unwrap();

        let alice = pending_secrets_for(&dir, "alice").unwrap();
        let orders: Vec<&str> = alice.iter().map(|(_, s)| s.order_id.as_str()).collect();
        assert_eq!(orders, ["ord_1", "ord_2"], "oldest first");
        assert_eq!(alice[0].1.account, "alice");
        assert_eq!(alice[0].1.password, "First234abcDEFG");
        assert_eq!(alice[0].1.created_at, t0);
        assert!(!format!("{:?}", alice[0].1).contains("First234"));
        assert!(pending_secrets_for(&dir, "Alice").unwrap().is_empty());
        assert!(pending_secrets_for(&dir, "root").unwrap().is_empty());

        let files: Vec<PathBuf> = alice.into_iter().map(|(path, _)| path).collect();
        remove_pending_secrets(&dir, &files).unwrap();
        // Removing twice is harmless.
        remove_pending_secrets(&dir, &files).unwrap();
        assert!(pending_secrets_for(&dir, "alice").unwrap().is_empty());
        assert_eq!(pending_secrets_for(&dir, "bob").unwrap().len(), 1);
    }
}
