//! Signed checkpoints of the audit log's head (row count and last hash), so cutting rows off
//! the end is found as far as the newest checkpoint. One is taken when the server starts,
//! every minute while rows are being added, and when it shuts down; each extends the one
//! before, and the log is never attested once it no longer does (see
//! [`crate::audit::next_checkpoint`]).

use std::sync::Arc;

use crate::AppState;
use crate::audit::{AuditCheckpoint, next_checkpoint};

/// How often a running server checkpoints the head, when it moved.
pub const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Signs and stores a checkpoint of the current head; `None` when the newest one already
/// covers it. Fails, writing nothing, when the log no longer extends the newest checkpoint.
pub async fn checkpoint_now(state: &AppState) -> anyhow::Result<Option<AuditCheckpoint>> {
    checkpoint(state, false).await
}

/// [`checkpoint_now`]; `key_just_created` lets the first checkpoint of a log that has rows
/// be taken (the switch to the keyed chain), see [`next_checkpoint`].
pub(crate) async fn checkpoint(
    state: &AppState,
    key_just_created: bool,
) -> anyhow::Result<Option<AuditCheckpoint>> {
    let head = state.storage.audit_head().await?;
    let Some((rows, head_hash, keyed_from)) =
        next_checkpoint(&head, key_just_created).map_err(anyhow::Error::msg)?
    else {
        return Ok(None);
    };
    let checkpoint = AuditCheckpoint::sign(
        &state.order_signer,
        state.clock.now(),
        rows,
        &head_hash,
        keyed_from,
    );
    state
        .storage
        .save_audit_checkpoint(checkpoint.clone())
        .await?;
    Ok(Some(checkpoint))
}

/// Checkpoints and logs why not, for the background moments nobody waits on.
pub async fn checkpoint_logged(state: &AppState) {
    if let Err(error) = checkpoint_now(state).await {
        tracing::error!(
            %error,
            "audit checkpoint refused: run `deskside-server audit verify`"
        );
    }
}

/// Checkpoints every `every` until the task is aborted.
pub async fn run_every(state: Arc<AppState>, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        checkpoint_logged(&state).await;
    }
}
