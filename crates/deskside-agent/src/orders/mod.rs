//! Orders from the server: verify, decide, execute, report.
//!
//! Each order the long poll delivers goes through [`Orders::handle`]:
//! 1. parse it as a `SignedOrder` (one malformed order is reported, the rest still run);
//! 2. [`decide`]: `OrderVerifier::verify` against the key pinned at enrollment, this
//!    device's id, the local clock, the durable replay store and the policy in force now;
//! 3. report `rejected` with the verifier's reason code, or `started`, then run it:
//!    `diagnostics.collect` here (a fresh, cache-bypassing snapshot, uploaded), anything
//!    else through the platform executor with a deadline;
//! 4. report `finished` with the `ExecutionReport`.
//!
//! An order that needs the local user's consent is refused (`needs_user_consent`) until
//! the desktop app can ask (issue 4); the verifier does not record its nonce, so the same
//! order can be accepted later with consent. A temporary password never leaves the machine:
//! see [`secrets`].
//!
//! Reports are retried while the server is away; an order the server delivers again (its
//! earlier report was lost) gets its last report again instead of a second run.
//!
//! Every order that runs is first written to the [`journal`] (durably), its final report
//! too, and the entry is cleared once the server has it. [`Orders::recover`], at the
//! daemon's start, reports what a crash left there: `interrupted` for an order that never
//! finished, its final report for one that finished unreported.

mod journal;
mod secrets;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use deskside_diagnostics::{Snapshot, SnapshotRequest};
use deskside_remediation::execute::ExitStatus;
use deskside_remediation::{
    ActionId, ExecutionReport, Executor, OrderVerifier, Policy, PolicyHandle, RejectReason,
    ReplayGuard, SignedOrder, Verification, VerifiedOrder,
};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::backoff::Backoff;
use crate::client::{ApiClient, ApiError, UploadSource};
use crate::sharing::{self, SharingChoices};

pub use secrets::{
    PendingSecret, pending_secrets_for, remove_pending_secrets, store_pending_secret,
};

/// How long one action may run before the executor kills it.
pub const EXECUTION_TIMEOUT: Duration = Duration::from_secs(120);
/// How long to keep trying to tell the server an order started before running it anyway.
const STARTED_REPORT_PATIENCE: Duration = Duration::from_secs(10);
/// How long to keep trying to deliver a final report (rejected or finished).
const FINAL_REPORT_PATIENCE: Duration = Duration::from_secs(15 * 60);
/// Orders remembered for redelivery.
const RECENT_ORDERS: usize = 256;

/// What the agent tells the server about an order
/// (`POST /api/v1/agent/orders/{orderId}/report`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum OrderReport {
    Started,
    Finished {
        report: ExecutionReport,
    },
    Rejected {
        rejection: Rejection,
    },
    /// Sent after a restart for an order the agent started and never finished (see
    /// [`journal`]): it fails on the server with this reason.
    Interrupted {
        reason: String,
    },
}

impl OrderReport {
    pub fn stage(&self) -> &'static str {
        match self {
            OrderReport::Started => "started",
            OrderReport::Finished { .. } => "finished",
            OrderReport::Rejected { .. } => "rejected",
            OrderReport::Interrupted { .. } => "interrupted",
        }
    }
}

/// What became of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    /// The server took it.
    Taken,
    /// The server refused it for good (it already has a final state, say): sending it again
    /// would not help.
    Refused,
    /// The server could not be reached in time, or the daemon is stopping.
    GaveUp,
}

/// Why this endpoint refused an order: `code` is `RejectReason::code()`, stable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub code: String,
    pub message: String,
}

impl From<&RejectReason> for Rejection {
    fn from(reason: &RejectReason) -> Self {
        let message = match reason {
            RejectReason::NeedsUserConsent { .. } => format!(
                "{reason}; asking the user is not available on this endpoint yet, so the order \
                 is refused"
            ),
            _ => reason.to_string(),
        };
        Rejection {
            code: reason.code().to_owned(),
            message,
        }
    }
}

/// What to do with one delivered order.
#[derive(Debug)]
pub enum Decision {
    Reject(Rejection),
    /// `diagnostics.collect`: the agent collects and uploads a fresh snapshot itself.
    Collect(VerifiedOrder),
    /// Anything else: the platform executor carries it out.
    Execute(VerifiedOrder),
}

/// An order that could not even be read as a `SignedOrder`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The order's id, when one could be found, so the refusal can be reported.
    pub order_id: Option<String>,
    pub rejection: Rejection,
}

/// Reads one delivered order.
pub fn parse(raw: &serde_json::Value) -> Result<SignedOrder, Unreadable> {
    serde_json::from_value::<SignedOrder>(raw.clone()).map_err(|e| Unreadable {
        order_id: raw
            .pointer("/order/orderId")
            .and_then(serde_json::Value::as_str)
            .filter(|id| !id.is_empty() && id.len() <= deskside_remediation::order::MAX_ID_LEN)
            .map(str::to_owned),
        rejection: Rejection {
            code: "malformed".to_owned(),
            message: format!("malformed order: {e}"),
        },
    })
}

/// Verifies `signed` and says what to do with it. Records the nonce when the verifier does
/// (accepted, or refused for its parameters or by policy), so it blocks on the replay store.
pub fn decide(
    verifier: &OrderVerifier,
    signed: &SignedOrder,
    device_id: &str,
    now: DateTime<Utc>,
    replay_guard: &dyn ReplayGuard,
    policy: &Policy,
) -> Decision {
    match verifier.verify(signed, device_id, now, replay_guard, policy) {
        Err(reason) => Decision::Reject(Rejection::from(&reason)),
        Ok(order) if order.action().id() == ActionId::DiagnosticsCollect => {
            Decision::Collect(order)
        }
        Ok(order) => Decision::Execute(order),
    }
}

/// How reports and snapshots reach the server. [`ApiClient`] in the daemon; a recording
/// fake in tests.
pub trait OrderTransport: Send + Sync {
    fn report(
        &self,
        order_id: &str,
        report: &OrderReport,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    fn upload_snapshot(
        &self,
        snapshot: &Snapshot,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
}

impl OrderTransport for ApiClient {
    fn report(
        &self,
        order_id: &str,
        report: &OrderReport,
    ) -> impl Future<Output = Result<(), ApiError>> + Send {
        self.report_order(order_id, report)
    }

    fn upload_snapshot(
        &self,
        snapshot: &Snapshot,
    ) -> impl Future<Output = Result<(), ApiError>> + Send {
        ApiClient::upload_snapshot(self, snapshot, UploadSource::OnRequest)
    }
}

/// Takes a snapshot (blocking): the daemon's warm collector, or a canned one in tests.
pub type TakeSnapshot = Arc<dyn Fn(&SnapshotRequest) -> Snapshot + Send + Sync>;

/// What handling orders on this endpoint needs, chosen by the caller.
pub struct OrdersSetup {
    pub verifier: OrderVerifier,
    pub device_id: String,
    pub replay_guard: Arc<dyn ReplayGuard>,
    /// The policy in force (the watcher's live handle).
    pub policy: PolicyHandle,
    pub executor: Arc<dyn Executor>,
    pub take_snapshot: TakeSnapshot,
    /// What the users asked not to share: left out of `diagnostics.collect` snapshots.
    pub sharing: Arc<SharingChoices>,
    pub pending_secrets_dir: PathBuf,
    /// The orders journal's directory (`<state-dir>/orders-in-flight`).
    pub journal_dir: PathBuf,
    /// Stops report retries when the daemon shuts down.
    pub shutdown: watch::Receiver<bool>,
}

/// Handles the orders the long poll delivers, one at a time.
pub struct Orders {
    setup: OrdersSetup,
    journal: journal::Journal,
    execution_timeout: Duration,
    /// The last report of recently handled orders, for redeliveries.
    recent: Mutex<VecDeque<(String, OrderReport)>>,
}

impl Orders {
    pub fn new(setup: OrdersSetup) -> Self {
        Orders {
            journal: journal::Journal::new(setup.journal_dir.clone()),
            setup,
            execution_timeout: EXECUTION_TIMEOUT,
            recent: Mutex::new(VecDeque::new()),
        }
    }

    /// Handles one delivered order to the end (reports included).
    pub async fn handle<T: OrderTransport>(&self, transport: &T, raw: serde_json::Value) {
        let signed = match parse(&raw) {
            Ok(signed) => signed,
            Err(unreadable) => {
                match unreadable.order_id {
                    Some(order_id) => {
                        tracing::warn!(%order_id, "order rejected: {}", unreadable.rejection.message);
                        let report = OrderReport::Rejected {
                            rejection: unreadable.rejection,
                        };
                        self.finish(transport, &order_id, report).await;
                    }
                    None => tracing::warn!(
                        "ignoring an order without a readable id: {}",
                        unreadable.rejection.message
                    ),
                }
                return;
            }
        };
        let order_id = signed.order.order_id.clone();
        if let Some(last) = self.recent_report(&order_id) {
            tracing::info!(%order_id, stage = last.stage(), "order delivered again; repeating its last report");
            self.deliver(transport, &order_id, &last, FINAL_REPORT_PATIENCE)
                .await;
            return;
        }

        let (order, collected_here) = match self.decide(signed).await {
            Decision::Reject(rejection) => {
                tracing::warn!(%order_id, code = %rejection.code, "order rejected: {}", rejection.message);
                self.finish(transport, &order_id, OrderReport::Rejected { rejection })
                    .await;
                return;
            }
            Decision::Collect(order) => (order, true),
            Decision::Execute(order) => (order, false),
        };
        // Durably, before anything runs: a crash from here on leaves the entry for
        // `recover`. An order that cannot be journaled does not run.
        let action = order.action().id().as_str();
        let id = order_id.clone();
        let entry = match self
            .journal_blocking(move |journal| journal.started(&id, action, Utc::now()))
            .await
        {
            Ok(entry) => entry,
            Err(error) => {
                tracing::error!(%order_id, %error, "cannot journal the order; refusing it");
                let rejection = Rejection {
                    code: "journal_unavailable".to_owned(),
                    message: format!(
                        "the agent cannot record the order durably before running it: {error}"
                    ),
                };
                self.finish(transport, &order_id, OrderReport::Rejected { rejection })
                    .await;
                return;
            }
        };
        tracing::info!(%order_id, action = %order.action().id(), "running order");
        self.remember(&order_id, OrderReport::Started);
        self.deliver(
            transport,
            &order_id,
            &OrderReport::Started,
            STARTED_REPORT_PATIENCE,
        )
        .await;
        let report = if collected_here {
            self.collect(transport, &order).await
        } else {
            self.execute(order).await
        };
        self.log_finished(&report);
        let report = OrderReport::Finished { report };
        let journaled = {
            let (entry, report) = (entry.clone(), report.clone());
            self.journal_blocking(move |journal| journal.finished(&entry, &report))
                .await
        };
        if let Err(error) = journaled {
            tracing::error!(%order_id, %error, "cannot journal how the order ended");
        }
        let delivery = self.finish(transport, &order_id, report).await;
        self.settle_journal(&order_id, delivery).await;
    }

    /// Reports what the journal holds from before a restart: `interrupted` for an order
    /// that never finished, the final report of one that finished unreported; each entry is
    /// cleared once the server has it. Call before handling new orders.
    pub async fn recover<T: OrderTransport>(&self, transport: &T) {
        let entries = match self.journal_blocking(|journal| journal.entries()).await {
            Ok(entries) => entries,
            Err(error) => {
                tracing::error!(%error, "cannot read the orders journal");
                return;
            }
        };
        for entry in entries {
            let report = entry.report();
            if entry.finished.is_none() {
                tracing::warn!(order_id = %entry.order_id, action = %entry.action, "an order was interrupted by the agent stopping; reporting it as interrupted");
            } else {
                tracing::info!(order_id = %entry.order_id, "reporting an order that finished before a restart");
            }
            let delivery = self.finish(transport, &entry.order_id, report).await;
            self.settle_journal(&entry.order_id, delivery).await;
        }
    }

    /// Clears the journal entry once the server has the final report (or will never take
    /// it); otherwise it stays, to be reported after the next restart.
    async fn settle_journal(&self, order_id: &str, delivery: Delivery) {
        if delivery == Delivery::GaveUp {
            tracing::warn!(%order_id, "the order's final report is kept to be sent after a restart");
            return;
        }
        let id = order_id.to_owned();
        if let Err(error) = self
            .journal_blocking(move |journal| journal.clear(&id))
            .await
        {
            tracing::error!(%order_id, %error, "cannot clear the order's journal entry");
        }
    }

    /// Runs `work` on the journal off the async threads (it writes and fsyncs files).
    async fn journal_blocking<R: Send + 'static>(
        &self,
        work: impl FnOnce(&journal::Journal) -> std::io::Result<R> + Send + 'static,
    ) -> std::io::Result<R> {
        let journal = self.journal.clone();
        tokio::task::spawn_blocking(move || work(&journal))
            .await
            .map_err(std::io::Error::other)?
    }

    async fn decide(&self, signed: SignedOrder) -> Decision {
        let verifier = self.setup.verifier.clone();
        let device_id = self.setup.device_id.clone();
        let guard = Arc::clone(&self.setup.replay_guard);
        let policy = self.setup.policy.current();
        // The replay store writes and fsyncs a file: keep it off the async threads.
        let decided = tokio::task::spawn_blocking(move || {
            decide(
                &verifier,
                &signed,
                &device_id,
                Utc::now(),
                guard.as_ref(),
                &policy,
            )
        })
        .await;
        decided.unwrap_or_else(|e| {
            Decision::Reject(Rejection {
                code: "internal_error".to_owned(),
                message: format!("the agent failed while verifying the order: {e}"),
            })
        })
    }

    /// `diagnostics.collect`: a fresh snapshot (caches bypassed) of what the policy and the
    /// users let the agent send, uploaded.
    async fn collect<T: OrderTransport>(
        &self,
        transport: &T,
        order: &VerifiedOrder,
    ) -> ExecutionReport {
        let started_at = Utc::now();
        let take = Arc::clone(&self.setup.take_snapshot);
        let withheld = self
            .setup
            .sharing
            .withheld(&self.setup.policy.current().diagnostics);
        let snapshot = tokio::task::spawn_blocking(move || {
            sharing::snapshot_without(&withheld, true, |request| take(request))
        })
        .await;
        let (exit_status, summary, verification) = match snapshot {
            Err(e) => {
                let message = format!("collecting the snapshot failed: {e}");
                (failed(&message), message, not_completed())
            }
            Ok(snapshot) => match transport.upload_snapshot(&snapshot).await {
                Ok(()) => (
                    ExitStatus::Success,
                    format!(
                        "collected and uploaded a fresh diagnostics snapshot ({} ms)",
                        snapshot.duration_ms
                    ),
                    Verification::Verified {
                        detail: "the server stored the snapshot".to_owned(),
                    },
                ),
                Err(e) => {
                    let message = format!("uploading the snapshot failed: {e}");
                    (failed(&message), message, not_completed())
                }
            },
        };
        ExecutionReport {
            order_id: order.order_id().to_owned(),
            action: order.action().id(),
            started_at,
            finished_at: Utc::now(),
            exit_status,
            summary,
            output_excerpt: String::new(),
            verification,
        }
    }

    /// Runs the order through the executor; a temporary password goes to its file.
    async fn execute(&self, order: VerifiedOrder) -> ExecutionReport {
        let executor = Arc::clone(&self.setup.executor);
        let timeout = self.execution_timeout;
        let order_id = order.order_id().to_owned();
        let action = order.action().id();
        let started_at = Utc::now();
        let execution = tokio::task::spawn_blocking(move || executor.run(&order, timeout)).await;
        let mut execution = match execution {
            Ok(execution) => execution,
            Err(e) => {
                let message = format!("the agent failed while running the action: {e}");
                return ExecutionReport {
                    order_id,
                    action,
                    started_at,
                    finished_at: Utc::now(),
                    exit_status: failed(&message),
                    summary: message,
                    output_excerpt: String::new(),
                    verification: not_completed(),
                };
            }
        };
        if let Some(secret) = execution.local_secret.take() {
            // Only the user at this machine may see it: a root-only file for the desktop
            // app, never the report, never the log (see `secrets`).
            let stored = store_pending_secret(
                &self.setup.pending_secrets_dir,
                &order_id,
                secret.username(),
                secret.expose_password(),
                Utc::now(),
            );
            match stored {
                Ok(path) => tracing::info!(
                    %order_id,
                    username = secret.username(),
                    path = %path.display(),
                    "the temporary password is waiting for the user's desktop app"
                ),
                Err(e) => {
                    let message = format!(
                        "the password of {} was changed, but the temporary password could not \
                         be kept for the user: {e}",
                        secret.username()
                    );
                    tracing::error!(%order_id, "{message}");
                    execution.report.exit_status = failed(&message);
                    execution.report.summary = message;
                }
            }
        }
        execution.report
    }

    fn log_finished(&self, report: &ExecutionReport) {
        if report.succeeded() {
            tracing::info!(order_id = %report.order_id, action = %report.action, "order finished: {}", report.summary);
        } else {
            tracing::warn!(order_id = %report.order_id, action = %report.action, "order did not succeed: {}", report.summary);
        }
    }

    async fn finish<T: OrderTransport>(
        &self,
        transport: &T,
        order_id: &str,
        report: OrderReport,
    ) -> Delivery {
        self.remember(order_id, report.clone());
        self.deliver(transport, order_id, &report, FINAL_REPORT_PATIENCE)
            .await
    }

    /// Sends `report`, retrying transient failures with backoff for up to `patience` (less
    /// if the daemon is shutting down).
    async fn deliver<T: OrderTransport>(
        &self,
        transport: &T,
        order_id: &str,
        report: &OrderReport,
        patience: Duration,
    ) -> Delivery {
        let give_up_at = tokio::time::Instant::now() + patience;
        let mut backoff = Backoff::default();
        let mut shutdown = self.setup.shutdown.clone();
        loop {
            let error = match transport.report(order_id, report).await {
                Ok(()) => return Delivery::Taken,
                Err(error) => error,
            };
            let delay = backoff.next_delay(rand::random::<f64>());
            let stopping = *shutdown.borrow();
            if !error.is_transient() {
                tracing::warn!(%order_id, stage = report.stage(), %error, "the server refused the order's report");
                return Delivery::Refused;
            }
            if stopping || tokio::time::Instant::now() + delay > give_up_at {
                tracing::warn!(%order_id, stage = report.stage(), %error, "could not report the order to the server");
                return Delivery::GaveUp;
            }
            tracing::debug!(%order_id, stage = report.stage(), %error, "retrying the order report in {delay:.1?}");
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    fn recent_report(&self, order_id: &str) -> Option<OrderReport> {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent
            .iter()
            .rev()
            .find(|(id, _)| id == order_id)
            .map(|(_, report)| report.clone())
    }

    fn remember(&self, order_id: &str, report: OrderReport) {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent.retain(|(id, _)| id != order_id);
        if recent.len() >= RECENT_ORDERS {
            recent.pop_front();
        }
        recent.push_back((order_id.to_owned(), report));
    }
}

fn failed(message: &str) -> ExitStatus {
    ExitStatus::Failed {
        code: None,
        message: message.to_owned(),
    }
}

fn not_completed() -> Verification {
    Verification::NotApplicable {
        reason: "the action did not complete".to_owned(),
    }
}
