//! Temporary passwords waiting for their user.
//!
//! A password reset generates the new password on this machine (`LocalSecret`); the server
//! and the help-desk staff must never see it. Until the desktop app can show it (issue 4:
//! it will collect these files over its local, privileged channel and delete them), the
//! daemon keeps it in `<state-dir>/pending-secrets/<orderId>`: a file readable only by the
//! agent's account (0600 in a 0700 directory, written atomically and fsynced, because the
//! account's password has already been changed and this file is the only place the new one
//! exists). It is never logged, never part of a report and never sent anywhere.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

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

/// A safe file name for an order id: the id itself when it is plain (letters, digits, `-`,
/// `_`), otherwise its plain characters with the rest replaced. The order id is also inside
/// the file, so the name only has to be unique and harmless.
fn file_name_for(order_id: &str) -> String {
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
}
