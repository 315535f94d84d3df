//! The audit log: every privileged act, appended to a hash chain. Each row's hash covers its
//! own fields and the previous row's hash, so editing, deleting or reordering any row breaks
//! every link after it, and `audit verify` names the first broken one.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// The hash the first row chains to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A privileged act about to be recorded.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// `user:12 (admin)`, `device:3f…`, `cli`, `system`.
    pub actor: String,
    /// Dotted verb: `user.create`, `ticket.escalate`, `sla.update`, `auth.login_failed`.
    pub action: String,
    /// What it was done to: `ticket:1042`, `user:alice`.
    pub subject: String,
    pub details: serde_json::Value,
}

/// A stored row, as read back for verification or display.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of a row: SHA-256 over length-prefixed fields, so no two different rows can
/// produce the same input by shifting text between fields.
pub fn chain_hash(
    prev_hash: &str,
    id: i64,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    subject: &str,
    details: &str,
) -> String {
    let mut hasher = Sha256::new();
    let at = at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    for field in [
        prev_hash,
        &id.to_string(),
        &at,
        actor,
        action,
        subject,
        details,
    ] {
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// What `audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditReport {
    pub rows_checked: i64,
    /// The id of the first row whose link does not hold, and why.
    pub first_broken: Option<BrokenLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrokenLink {
    pub id: i64,
    pub reason: String,
}

/// Walks rows in id order and reports the first that does not chain.
pub fn verify_chain(rows: impl IntoIterator<Item = AuditRecord>) -> AuditReport {
    let mut expected_prev = GENESIS_HASH.to_owned();
    let mut checked = 0;
    for row in rows {
        checked += 1;
        if row.prev_hash != expected_prev {
            return broken(
                checked,
                row.id,
                "previous-hash link does not match the row before",
            );
        }
        let details = row.details.to_string();
        let recomputed = chain_hash(
            &row.prev_hash,
            row.id,
            row.at,
            &row.actor,
            &row.action,
            &row.subject,
            &details,
        );
        if recomputed != row.hash {
            return broken(checked, row.id, "row contents do not match its hash");
        }
        expected_prev = row.hash;
    }
    AuditReport {
        rows_checked: checked,
        first_broken: None,
    }
}

fn broken(checked: i64, id: i64, reason: &str) -> AuditReport {
    AuditReport {
        rows_checked: checked,
        first_broken: Some(BrokenLink {
            id,
            reason: reason.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditRecord> {
        let mut prev = GENESIS_HASH.to_owned();
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        (1..=n)
            .map(|id| {
                let details = serde_json::json!({ "n": id });
                let hash = chain_hash(
                    &prev,
                    id,
                    at,
                    "cli",
                    "user.create",
                    "user:x",
                    &details.to_string(),
                );
                let record = AuditRecord {
                    id,
                    at,
                    actor: "cli".into(),
                    action: "user.create".into(),
                    subject: "user:x".into(),
                    details,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                record
            })
            .collect()
    }

    #[test]
    fn intact_chain_verifies() {
        let report = verify_chain(chain(5));
        assert_eq!(report.rows_checked, 5);
        assert_eq!(report.first_broken, None);
    }

    #[test]
    fn edited_deleted_and_reordered_rows_are_found() {
        let mut edited = chain(5);
        edited[2].subject = "user:mallory".into();
        assert_eq!(verify_chain(edited).first_broken.unwrap().id, 3);

        let mut deleted = chain(5);
        deleted.remove(1);
        assert_eq!(verify_chain(deleted).first_broken.unwrap().id, 3);

        let mut swapped = chain(5);
        swapped.swap(3, 4);
        assert_eq!(verify_chain(swapped).first_broken.unwrap().id, 5);
    }

    #[test]
    fn field_boundaries_are_part_of_the_hash() {
        let at = DateTime::from_timestamp(0, 0).unwrap();
        let a = chain_hash(GENESIS_HASH, 1, at, "ab", "c", "", "{}");
        let b = chain_hash(GENESIS_HASH, 1, at, "a", "bc", "", "{}");
        assert_ne!(a, b);
    }
}
