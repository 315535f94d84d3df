//! The audit log: every privileged act, appended to a keyed hash chain. Each row's hash is
//! an HMAC-SHA256, under a key kept outside the database, of its own fields and the
//! previous row's hash: editing, deleting or reordering any row breaks every link after it,
//! and without the key nobody can compute a chain that verifies. Rows written before the
//! chain was keyed (older versions) keep their plain SHA-256 links; the first keyed row
//! links to the last of them. The head (row count and last hash) is checkpointed,
//! signed with the server's Ed25519 key, so cutting rows off the end below the newest
//! checkpoint is found too. `audit verify` names the first broken link.

use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Utc};
use deskside_remediation::OrderSigner;
use ed25519_dalek::VerifyingKey;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::private_files;

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
    /// Whether `hash` is keyed (HMAC); rows from before the chain was keyed are not.
    pub keyed: bool,
}

const KEY_FILE: &str = "audit-chain.key";
const KEY_PREFIX: &str = "deskside-audit-chain-key-v1:";

/// The chain's HMAC key: 256 random bits in the data folder (0600), never in the
/// database, so write access to the database alone cannot forge a row.
#[derive(Clone)]
pub struct AuditKey([u8; 32]);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

impl AuditKey {
    /// Loads the key, creating it on first start; says whether it was just created (the
    /// moment this data folder's chain becomes keyed).
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<(AuditKey, bool)> {
        let path = data_dir.join(KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let key = text
                    .trim()
                    .strip_prefix(KEY_PREFIX)
                    .and_then(|hex_key| hex::decode(hex_key).ok())
                    .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                    .with_context(|| format!("{} is not an audit chain key", path.display()))?;
                Ok((AuditKey(key), false))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                use rand::RngCore;
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                private_files::write_new(&path, &format!("{KEY_PREFIX}{}", hex::encode(key)))?;
                Ok((AuditKey(key), true))
            }
            Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// A key from its 32 bytes (tests).
    pub fn from_bytes(bytes: [u8; 32]) -> AuditKey {
        AuditKey(bytes)
    }

    /// The key as the data folder holds it, read by tests that recompute the chain.
    pub fn read(data_dir: &Path) -> anyhow::Result<AuditKey> {
        anyhow::ensure!(data_dir.join(KEY_FILE).exists(), "no audit chain key");
        Ok(AuditKey::load_or_create(data_dir)?.0)
    }
}

/// Feeds a row's fields, each length-prefixed, so no two different rows can produce the
/// same input by shifting text between fields.
#[allow(clippy::too_many_arguments)]
fn feed_row(
    mut update: impl FnMut(&[u8]),
    prev_hash: &str,
    id: i64,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    subject: &str,
    details: &str,
) {
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
        update(&(field.len() as u64).to_be_bytes());
        update(field.as_bytes());
    }
}

/// The unkeyed hash of a row (SHA-256), as versions before the keyed chain wrote it: what
/// anyone can recompute, so it is accepted only for rows from before the switch.
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
    feed_row(
        |bytes| hasher.update(bytes),
        prev_hash,
        id,
        at,
        actor,
        action,
        subject,
        details,
    );
    hex::encode(hasher.finalize())
}

/// The keyed hash of a row: HMAC-SHA256 under the chain key, over the same fields.
#[allow(clippy::too_many_arguments)]
pub fn keyed_chain_hash(
    key: &AuditKey,
    prev_hash: &str,
    id: i64,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    subject: &str,
    details: &str,
) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key.0).expect("HMAC takes any key size");
    feed_row(
        |bytes| mac.update(bytes),
        prev_hash,
        id,
        at,
        actor,
        action,
        subject,
        details,
    );
    hex::encode(mac.finalize().into_bytes())
}

/// What an Ed25519 checkpoint signature covers is framed under this domain, apart from
/// orders (see `OrderSigner::sign_statement`).
pub const CHECKPOINT_DOMAIN: &str = "deskside-audit-checkpoint-v1";

/// The head of the log at one moment, signed with the server's Ed25519 key. Stored in the
/// database (its signature makes it unforgeable there) and, the newest, in a file beside
/// it, so deleting checkpoint rows does not hide a truncation either.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditCheckpoint {
    pub at: DateTime<Utc>,
    /// Rows in the log then; ids run 1..=rows.
    pub rows: i64,
    /// The hash of row `rows` (the genesis hash for an empty log).
    pub head_hash: String,
    /// The first row of the keyed chain; rows before it come from an older version.
    pub keyed_from: i64,
    /// Which server key signed it.
    pub key_id: String,
    /// Base64 Ed25519 signature.
    pub signature: String,
}

impl AuditCheckpoint {
    /// Signs the head `(rows, head_hash)` with the server key.
    pub fn sign(
        signer: &OrderSigner,
        at: DateTime<Utc>,
        rows: i64,
        head_hash: &str,
        keyed_from: i64,
    ) -> AuditCheckpoint {
        let statement = checkpoint_statement(at, rows, head_hash, keyed_from);
        AuditCheckpoint {
            at,
            rows,
            head_hash: head_hash.to_owned(),
            keyed_from,
            key_id: signer.key_id().to_owned(),
            signature: signer.sign_statement(CHECKPOINT_DOMAIN, &statement),
        }
    }

    pub fn is_signed_by(&self, key: &VerifyingKey) -> bool {
        let statement = checkpoint_statement(self.at, self.rows, &self.head_hash, self.keyed_from);
        deskside_remediation::order::verify_statement(
            key,
            CHECKPOINT_DOMAIN,
            &statement,
            &self.signature,
        )
    }
}

fn checkpoint_statement(at: DateTime<Utc>, rows: i64, head_hash: &str, keyed_from: i64) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(128);
    bytes.extend_from_slice(&at.timestamp_micros().to_be_bytes());
    bytes.extend_from_slice(&rows.to_be_bytes());
    bytes.extend_from_slice(&keyed_from.to_be_bytes());
    bytes.extend_from_slice(&(head_hash.len() as u64).to_be_bytes());
    bytes.extend_from_slice(head_hash.as_bytes());
    bytes
}

/// The log's head as a new checkpoint would attest it, with what it must extend.
#[derive(Debug, Clone)]
pub struct AuditHead {
    pub rows: i64,
    pub head_hash: String,
    /// The lowest keyed row, if any.
    pub first_keyed: Option<i64>,
    /// The newest checkpoint so far (database or file, whichever covers more).
    pub newest: Option<AuditCheckpoint>,
    /// The hash row `newest.rows` has now.
    pub hash_at_newest: Option<String>,
}

/// The `(rows, head_hash, keyed_from)` a new checkpoint should sign, `None` when the
/// newest one already covers the head. Refuses to attest a log that no longer extends
/// the newest checkpoint (truncated or rewritten below it): signing it would launder the
/// damage. With no checkpoint yet, only a log whose chain key was just created (the switch
/// to the keyed chain: everything before is an older version's) or an empty one starts
/// the series; otherwise checkpoints were deleted.
pub fn next_checkpoint(
    head: &AuditHead,
    key_just_created: bool,
) -> Result<Option<(i64, String, i64)>, String> {
    match &head.newest {
        Some(newest) => {
            if head.rows < newest.rows
                || head.hash_at_newest.as_deref() != Some(newest.head_hash.as_str())
            {
                return Err(format!(
                    "the audit log no longer extends its checkpoint of {} ({} rows)",
                    newest.at, newest.rows
                ));
            }
            if head.rows == newest.rows {
                return Ok(None);
            }
            Ok(Some((head.rows, head.head_hash.clone(), newest.keyed_from)))
        }
        None if key_just_created || head.rows == 0 => {
            let keyed_from = head.first_keyed.unwrap_or(head.rows + 1);
            Ok(Some((head.rows, head.head_hash.clone(), keyed_from)))
        }
        None => Err("the audit log has rows and a chain key but no checkpoint".to_owned()),
    }
}

/// What `audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditReport {
    pub rows_checked: i64,
    /// The id of the first row whose link does not hold, and why.
    pub first_broken: Option<BrokenLink>,
    /// The newest signed checkpoint the log was checked against.
    pub checkpoint: Option<AuditCheckpoint>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrokenLink {
    pub id: i64,
    pub reason: String,
}

/// Walks rows in id order and reports the first that does not chain; then holds the log
/// against the newest checkpoint whose signature `checkpoint_key` verifies: it must still
/// have that many rows, row `rows` that hash, and every row from `keyed_from` on keyed.
pub fn verify_chain(
    rows: impl IntoIterator<Item = AuditRecord>,
    checkpoints: &[AuditCheckpoint],
    key: &AuditKey,
    checkpoint_key: &VerifyingKey,
) -> AuditReport {
    let forged = checkpoints
        .iter()
        .find(|checkpoint| !checkpoint.is_signed_by(checkpoint_key));
    if let Some(forged) = forged {
        return broken(
            0,
            forged.rows,
            "a checkpoint's signature does not verify: it was forged or edited",
            None,
        );
    }
    let newest = checkpoints.iter().max_by_key(|c| (c.rows, c.at)).cloned();
    let keyed_from = newest.as_ref().map(|c| c.keyed_from);
    let mut expected_prev = GENESIS_HASH.to_owned();
    let mut checked = 0;
    let mut hash_at_checkpoint = None;
    let mut keyed_seen = false;
    for row in rows {
        checked += 1;
        if row.prev_hash != expected_prev {
            return broken(
                checked,
                row.id,
                "previous-hash link does not match the row before",
                newest,
            );
        }
        let details = row.details.to_string();
        let must_be_keyed = keyed_seen || keyed_from.is_some_and(|from| row.id >= from);
        if must_be_keyed && !row.keyed {
            return broken(
                checked,
                row.id,
                "row is not keyed where the chain is: it was rewritten without the key",
                newest,
            );
        }
        let recomputed = if row.keyed {
            keyed_chain_hash(
                key,
                &row.prev_hash,
                row.id,
                row.at,
                &row.actor,
                &row.action,
                &row.subject,
                &details,
            )
        } else {
            chain_hash(
                &row.prev_hash,
                row.id,
                row.at,
                &row.actor,
                &row.action,
                &row.subject,
                &details,
            )
        };
        if recomputed != row.hash {
            return broken(
                checked,
                row.id,
                "row contents do not match its hash",
                newest,
            );
        }
        keyed_seen |= row.keyed;
        if newest.as_ref().is_some_and(|c| c.rows == row.id) {
            hash_at_checkpoint = Some(row.hash.clone());
        }
        expected_prev = row.hash;
    }
    match &newest {
        None if checked > 0 => broken(
            checked,
            1,
            "no signed checkpoint covers the log: its checkpoints were deleted",
            None,
        ),
        Some(checkpoint) if checked < checkpoint.rows => {
            let reason = format!(
                "missing: the signed checkpoint of {} covers {} rows, only {checked} remain                  (rows were cut off the end)",
                checkpoint.at, checkpoint.rows
            );
            broken(checked, checked + 1, &reason, newest)
        }
        Some(checkpoint)
            if checkpoint.rows > 0
                && hash_at_checkpoint.as_deref() != Some(checkpoint.head_hash.as_str()) =>
        {
            broken(
                checked,
                checkpoint.rows,
                "row does not match the head its signed checkpoint recorded",
                newest,
            )
        }
        _ => AuditReport {
            rows_checked: checked,
            first_broken: None,
            checkpoint: newest,
        },
    }
}

fn broken(checked: i64, id: i64, reason: &str, checkpoint: Option<AuditCheckpoint>) -> AuditReport {
    AuditReport {
        rows_checked: checked,
        first_broken: Some(BrokenLink {
            id,
            reason: reason.to_owned(),
        }),
        checkpoint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> AuditKey {
        AuditKey::from_bytes([7; 32])
    }

    /// `legacy` unkeyed rows as an older version wrote them, then `keyed` keyed rows.
    fn chain(legacy: i64, keyed: i64) -> Vec<AuditRecord> {
        let mut prev = GENESIS_HASH.to_owned();
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        (1..=legacy + keyed)
            .map(|id| {
                let details = serde_json::json!({ "n": id });
                let text = details.to_string();
                let is_keyed = id > legacy;
                let hash = if is_keyed {
                    keyed_chain_hash(&key(), &prev, id, at, "cli", "user.create", "user:x", &text)
                } else {
                    chain_hash(&prev, id, at, "cli", "user.create", "user:x", &text)
                };
                let record = AuditRecord {
                    id,
                    at,
                    actor: "cli".into(),
                    action: "user.create".into(),
                    subject: "user:x".into(),
                    details,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                    keyed: is_keyed,
                };
                prev = hash;
                record
            })
            .collect()
    }

    fn checkpoint_of(
        signer: &OrderSigner,
        rows: &[AuditRecord],
        keyed_from: i64,
    ) -> AuditCheckpoint {
        let head = rows.last().map_or(GENESIS_HASH, |r| r.hash.as_str());
        let at = DateTime::from_timestamp(1_700_000_100, 0).unwrap();
        AuditCheckpoint::sign(signer, at, rows.len() as i64, head, keyed_from)
    }

    fn verify(
        rows: Vec<AuditRecord>,
        checkpoints: &[AuditCheckpoint],
        signer: &OrderSigner,
    ) -> AuditReport {
        verify_chain(rows, checkpoints, &key(), &signer.verifying_key())
    }

    #[test]
    fn an_intact_chain_verifies_across_the_switch_to_the_keyed_chain() {
        let signer = OrderSigner::generate().unwrap();
        let rows = chain(2, 3);
        let checkpoint = checkpoint_of(&signer, &rows, 3);
        let report = verify(rows, &[checkpoint], &signer);
        assert_eq!(report.rows_checked, 5);
        assert_eq!(report.first_broken, None);
    }

    #[test]
    fn edited_deleted_reordered_and_recomputed_rows_are_found() {
        let signer = OrderSigner::generate().unwrap();
        let checkpoint = checkpoint_of(&signer, &chain(0, 5), 1);
        let first_broken = |rows: Vec<AuditRecord>| {
            verify(rows, std::slice::from_ref(&checkpoint), &signer)
                .first_broken
                .unwrap()
                .id
        };
        let mut edited = chain(0, 5);
        edited[2].subject = "user:mallory".into();
        assert_eq!(first_broken(edited), 3);

        let mut deleted = chain(0, 5);
        deleted.remove(1);
        assert_eq!(first_broken(deleted), 3);

        let mut swapped = chain(0, 5);
        swapped.swap(3, 4);
        assert_eq!(first_broken(swapped), 5);

        // Recomputed without the key, as an unkeyed row: refused where the chain is keyed.
        let mut recomputed = chain(0, 5);
        recomputed[1].keyed = false;
        let row = &recomputed[1];
        recomputed[1].hash = chain_hash(
            &row.prev_hash,
            row.id,
            row.at,
            &row.actor,
            &row.action,
            &row.subject,
            &row.details.to_string(),
        );
        assert_eq!(first_broken(recomputed), 2);

        let mut truncated = chain(0, 5);
        truncated.truncate(3);
        assert_eq!(first_broken(truncated), 4);
    }

    #[test]
    fn a_forged_checkpoint_or_none_at_all_is_found() {
        let signer = OrderSigner::generate().unwrap();
        let other = OrderSigner::generate().unwrap();
        let forged = checkpoint_of(&other, &chain(0, 5), 1);
        assert!(
            verify(chain(0, 5), &[forged], &signer)
                .first_broken
                .is_some()
        );
        assert!(verify(chain(0, 5), &[], &signer).first_broken.is_some());
        assert_eq!(verify(Vec::new(), &[], &signer).first_broken, None);
    }

    #[test]
    fn field_boundaries_are_part_of_the_hash() {
        let at = DateTime::from_timestamp(0, 0).unwrap();
        let a = chain_hash(GENESIS_HASH, 1, at, "ab", "c", "", "{}");
        let b = chain_hash(GENESIS_HASH, 1, at, "a", "bc", "", "{}");
        assert_ne!(a, b);
        let a = keyed_chain_hash(&key(), GENESIS_HASH, 1, at, "ab", "c", "", "{}");
        let b = keyed_chain_hash(&key(), GENESIS_HASH, 1, at, "a", "bc", "", "{}");
        assert_ne!(a, b);
    }
}
