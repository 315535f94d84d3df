//! The background SLA sweep: finds tickets whose next SLA moment has come (an at-risk or
//! breach alert, an auto-escalation, an auto-close) and lets the domain decide what to write.
//! The same tick fails action requests whose device never reported
//! (`http::actions::fail_unreported`).

use std::sync::Arc;

use deskside_core::Actor;
use deskside_core::ticket::{TicketCommand, decide};

use crate::AppState;
use crate::storage::{AuditIntent, StorageError};

const BATCH: u32 = 500;
/// Bounds one pass, so tickets whose due moment does not change them cannot spin it.
const MAX_BATCHES_PER_PASS: usize = 20;

/// How long a client may retry a request with the same idempotency key.
pub const IDEMPOTENCY_RETENTION: chrono::Duration = chrono::Duration::days(7);
const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

pub async fn run_every(state: Arc<AppState>, every: std::time::Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_purge: Option<tokio::time::Instant> = None;
    loop {
        ticker.tick().await;
        if let Err(error) = sweep_once(&state).await {
            tracing::warn!(%error, "SLA sweep failed; retrying at the next tick");
        }
        match crate::http::actions::fail_unreported(&state).await {
            Ok(0) => {}
            Ok(failed) => {
                tracing::warn!(failed, "failed action requests their device never reported")
            }
            Err(error) => tracing::warn!(%error, "action sweep failed; retrying at the next tick"),
        }
        if last_purge.is_none_or(|at| at.elapsed() >= PURGE_EVERY) {
            last_purge = Some(tokio::time::Instant::now());
            let before = state.clock.now() - IDEMPOTENCY_RETENTION;
            if let Err(error) = state.storage.purge_idempotency(before).await {
                tracing::warn!(%error, "purging old idempotency records failed");
            }
        }
    }
}

/// One pass over every due ticket. Returns how many changed.
pub async fn sweep_once(state: &AppState) -> anyhow::Result<usize> {
    let mut changed = 0;
    for _ in 0..MAX_BATCHES_PER_PASS {
        let now = state.clock.now();
        let due = state.storage.tickets_due_for_sweep(now, BATCH).await?;
        let count = due.len();
        let mut changed_in_batch = 0;
        for id in due {
            let sla = state.sla();
            let rules = sla.clone();
            let decider = Box::new(move |ticket: &deskside_core::Ticket| {
                decide(
                    ticket,
                    &Actor::system(),
                    TicketCommand::SlaSweep,
                    &rules,
                    now,
                )
            });
            let audit = AuditIntent {
                actor: "system".into(),
                action: "ticket.sla_sweep",
            };
            match state
                .storage
                .update_ticket(
                    id,
                    None,
                    Actor::system(),
                    None,
                    decider,
                    sla,
                    Some(audit),
                    now,
                )
                .await
            {
                Ok(_) => changed_in_batch += 1,
                Err(StorageError::NotFound(_)) => {}
                Err(error) => return Err(error.into()),
            }
        }
        changed += changed_in_batch;
        // A full batch may have more behind it.
        if count < BATCH as usize {
            break;
        }
    }
    Ok(changed)
}
