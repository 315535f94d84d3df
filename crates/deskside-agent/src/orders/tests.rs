//! Verify/report decisions with a locally generated server key, a fake transport that
//! records what would have been sent, and a fake executor that records what would have run.

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::TimeDelta;
use deskside_diagnostics::Snapshot;
use deskside_remediation::catalog::{Approval, ServiceName, Username};
use deskside_remediation::execute::{Execution, ExitStatus};
use deskside_remediation::order::{MemoryReplayGuard, Order};
use deskside_remediation::policy::SystemUserDirectory;
use deskside_remediation::{ActionParams, OrderSigner};
use serde_json::{Value, json};

use super::*;

const DEVICE: &str = "dev_test";

/// Stands in for the server: records reports and uploads; fails the first
/// `unreachable_for` calls as if the server were away.
#[derive(Default)]
struct FakeTransport {
    reports: Mutex<Vec<(String, OrderReport)>>,
    uploads: AtomicUsize,
    unreachable_for: AtomicUsize,
}

impl FakeTransport {
    fn reports(&self) -> Vec<(String, OrderReport)> {
        self.reports.lock().unwrap().clone()
    }

    fn stages(&self) -> Vec<&'static str> {
        self.reports().iter().map(|(_, r)| r.stage()).collect()
    }

    fn away(&self) -> bool {
        self.unreachable_for
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

impl OrderTransport for FakeTransport {
    async fn report(&self, order_id: &str, report: &OrderReport) -> Result<(), ApiError> {
        if self.away() {
            return Err(ApiError::Unreachable("connection refused".into()));
        }
        self.reports
            .lock()
            .unwrap()
            .push((order_id.to_owned(), report.clone()));
        Ok(())
    }

    async fn upload_snapshot(&self, _snapshot: &Snapshot) -> Result<(), ApiError> {
        if self.away() {
            return Err(ApiError::Unreachable("connection refused".into()));
        }
        self.uploads.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Stands in for the platform executor: counts runs and succeeds.
#[derive(Default)]
struct FakeExecutor {
    runs: AtomicUsize,
}

impl Executor for FakeExecutor {
    fn run(&self, order: &VerifiedOrder, _timeout: Duration) -> Execution {
        self.runs.fetch_add(1, Ordering::SeqCst);
        let now = Utc::now();
        Execution {
            report: ExecutionReport {
                order_id: order.order_id().to_owned(),
                action: order.action().id(),
                started_at: now,
                finished_at: now,
                exit_status: ExitStatus::Success,
                summary: "done".into(),
                output_excerpt: String::new(),
                verification: Verification::Verified {
                    detail: "checked".into(),
                },
            },
            local_secret: None,
        }
    }
}

struct Fixture {
    signer: OrderSigner,
    orders: Orders,
    executor: Arc<FakeExecutor>,
    snapshots: Arc<AtomicUsize>,
    dir: tempfile::TempDir,
    _shutdown: watch::Sender<bool>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let signer = OrderSigner::generate().unwrap();
    // `alice` is a plain user in this machine's account files (as the test sees them).
    let passwd = dir.path().join("passwd");
    let group = dir.path().join("group");
    std::fs::write(&passwd, "alice:x:1000:1000::/home/alice:/bin/sh\n").unwrap();
    std::fs::write(&group, "alice:x:1000:\nsudo:x:27:\n").unwrap();
    let verifier = OrderVerifier::from_public_key_base64(&signer.public_key_base64())
        .unwrap()
        .with_user_directory(Arc::new(SystemUserDirectory::with_files(passwd, group)));
    let executor = Arc::new(FakeExecutor::default());
    let snapshots = Arc::new(AtomicUsize::new(0));
    let (shutdown_tx, shutdown) = watch::channel(false);
    let taken = Arc::clone(&snapshots);
    let orders = Orders::new(OrdersSetup {
        verifier,
        device_id: DEVICE.into(),
        replay_guard: Arc::new(MemoryReplayGuard::new()),
        // The default policy: low-risk actions, password reset with consent, no restarts.
        policy: PolicyHandle::fixed(Policy::default()),
        executor: executor.clone(),
        take_snapshot: Arc::new(move |request: &SnapshotRequest| {
            assert!(request.bypass_cache, "an ordered snapshot is fresh");
            taken.fetch_add(1, Ordering::SeqCst);
            Snapshot::empty(Utc::now())
        }),
        sharing: Arc::new(crate::sharing::SharingChoices::load(
            dir.path().join("sharing"),
        )),
        pending_secrets_dir: dir.path().join("pending-secrets"),
        journal_dir: dir.path().join("orders-in-flight"),
        shutdown,
    });
    Fixture {
        signer,
        orders,
        executor,
        snapshots,
        dir,
        _shutdown: shutdown_tx,
    }
}

/// How the server approves: a change to an account with that account's user's consent.
fn approved_by_owner(order: Order) -> Order {
    let approval = match order.action.account() {
        Some(account) => Approval::UserConsent {
            account: account.as_str().to_owned(),
        },
        None => Approval::NotRequired,
    };
    order.approved(approval)
}

impl Fixture {
    fn order(&self, id: &str, action: ActionParams) -> Value {
        let order = Order::new(id, DEVICE, action, Utc::now(), TimeDelta::minutes(10));
        serde_json::to_value(self.signer.sign(&approved_by_owner(order))).unwrap()
    }
}

fn rejection_code(report: &OrderReport) -> &str {
    match report {
        OrderReport::Rejected { rejection } => &rejection.code,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn reports_have_the_wire_shape_the_server_reads() {
    assert_eq!(
        serde_json::to_value(OrderReport::Started).unwrap(),
        json!({"stage": "started"})
    );
    let rejected = OrderReport::Rejected {
        rejection: Rejection {
            code: "replayed".into(),
            message: "order was already received".into(),
        },
    };
    assert_eq!(
        serde_json::to_value(&rejected).unwrap(),
        json!({"stage": "rejected", "rejection": {"code": "replayed", "message": "order was already received"}})
    );
    let now = Utc::now();
    let finished = OrderReport::Finished {
        report: ExecutionReport {
            order_id: "ord_1".into(),
            action: ActionId::NetworkFlushDns,
            started_at: now,
            finished_at: now,
            exit_status: ExitStatus::Success,
            summary: "flushed".into(),
            output_excerpt: String::new(),
            verification: Verification::NotApplicable {
                reason: "nothing to check".into(),
            },
        },
    };
    let value = serde_json::to_value(&finished).unwrap();
    assert_eq!(value["stage"], "finished");
    assert_eq!(value["report"]["orderId"], "ord_1");
    assert_eq!(value["report"]["action"], "network.flush_dns");
    assert_eq!(value["report"]["exitStatus"]["kind"], "success");
    assert_eq!(
        serde_json::to_value(OrderReport::Interrupted {
            reason: "the agent stopped".into()
        })
        .unwrap(),
        json!({"stage": "interrupted", "reason": "the agent stopped"})
    );
}

/// An order that runs is journaled first and cleared once its final report is delivered;
/// what a crash leaves in the journal is reported `interrupted` at the next start, once.
#[tokio::test]
async fn the_journal_holds_an_order_only_while_it_is_unreported() {
    let f = fixture();
    let journal_dir = f.dir.path().join("orders-in-flight");
    let transport = FakeTransport::default();
    f.orders
        .handle(&transport, f.order("ord_ok", ActionParams::NetworkFlushDns))
        .await;
    assert_eq!(transport.stages(), ["started", "finished"]);
    assert!(
        std::fs::read_dir(&journal_dir).unwrap().next().is_none(),
        "cleared once reported"
    );

    // A daemon killed mid-order leaves its entry (as `started` writes it).
    journal::Journal::new(journal_dir.clone())
        .started("ord_killed", "process.kill", Utc::now())
        .unwrap();
    let after_restart = FakeTransport::default();
    f.orders.recover(&after_restart).await;
    let reports = after_restart.reports();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].0, "ord_killed");
    match &reports[0].1 {
        OrderReport::Interrupted { reason } => assert!(reason.contains("process.kill")),
        other => panic!("{other:?}"),
    }
    assert!(std::fs::read_dir(&journal_dir).unwrap().next().is_none());
    f.orders.recover(&after_restart).await;
    assert_eq!(after_restart.reports().len(), 1, "reported once");
}

#[test]
fn decisions_follow_the_verifier_and_the_policy() {
    let f = fixture();
    let guard = MemoryReplayGuard::new();
    let policy = Policy::default();
    let verifier = f.orders.setup.verifier.clone();
    let now = Utc::now();
    let decide_on = |action: ActionParams, device: &str| {
        let order = Order::new("ord_x", device, action, now, TimeDelta::minutes(10));
        decide(
            &verifier,
            &f.signer.sign(&approved_by_owner(order)),
            DEVICE,
            now,
            &guard,
            &policy,
        )
    };
    let code = |decision: Decision| match decision {
        Decision::Reject(rejection) => rejection.code,
        Decision::Collect(_) => "collect".to_owned(),
        Decision::Execute(_) => "execute".to_owned(),
    };
    // Not among the default policy's services.
    let sshd = ServiceName::parse("sshd").unwrap();
    let alice = Username::parse("alice").unwrap();
    // (action, device) → decision
    let cases = [
        (ActionParams::NetworkFlushDns, DEVICE, "execute"),
        (ActionParams::DiagnosticsCollect, DEVICE, "collect"),
        (ActionParams::NetworkFlushDns, "dev_other", "wrong_device"),
        (
            ActionParams::ServiceRestart { name: sshd },
            DEVICE,
            "not_allowed_by_policy",
        ),
        (
            ActionParams::AccountResetPassword { username: alice },
            DEVICE,
            "needs_user_consent",
        ),
    ];
    for (action, device, expected) in cases {
        assert_eq!(
            code(decide_on(action.clone(), device)),
            expected,
            "{action:?} for {device}"
        );
    }

    // A replayed order, a forged one and an expired one.
    let order = Order::new(
        "ord_r",
        DEVICE,
        ActionParams::DiskCleanTemp,
        now,
        TimeDelta::minutes(10),
    );
    let signed = f.signer.sign(&order);
    let run =
        |signed: &SignedOrder, at| code(decide(&verifier, signed, DEVICE, at, &guard, &policy));
    assert_eq!(run(&signed, now), "execute");
    assert_eq!(run(&signed, now), "replayed");
    let forger = OrderSigner::generate().unwrap();
    let mut forged = forger.sign(&Order::new(
        "ord_f",
        DEVICE,
        ActionParams::DiskCleanTemp,
        now,
        TimeDelta::minutes(10),
    ));
    assert_eq!(run(&forged, now), "unknown_key");
    forged.key_id = f.signer.key_id().to_owned();
    assert_eq!(run(&forged, now), "bad_signature");
    let stale = f.signer.sign(&Order::new(
        "ord_s",
        DEVICE,
        ActionParams::DiskCleanTemp,
        now - TimeDelta::hours(2),
        TimeDelta::minutes(10),
    ));
    assert_eq!(run(&stale, now), "expired");
}

#[tokio::test]
async fn an_accepted_order_is_reported_started_run_once_and_reported_finished() {
    let f = fixture();
    let transport = FakeTransport::default();
    let raw = f.order("ord_1", ActionParams::NetworkFlushDns);
    f.orders.handle(&transport, raw.clone()).await;
    assert_eq!(f.executor.runs.load(Ordering::SeqCst), 1);
    assert_eq!(transport.stages(), ["started", "finished"]);
    let reports = transport.reports();
    assert!(reports.iter().all(|(id, _)| id == "ord_1"));
    let OrderReport::Finished { report } = &reports[1].1 else {
        panic!("finished")
    };
    assert_eq!(report.summary, "done");

    // The server delivers it again (it missed the report): the report is repeated, the
    // action is not run again and no "replayed" rejection is sent.
    f.orders.handle(&transport, raw).await;
    assert_eq!(f.executor.runs.load(Ordering::SeqCst), 1);
    assert_eq!(transport.stages(), ["started", "finished", "finished"]);
}

#[tokio::test]
async fn refused_orders_are_reported_with_the_reason_code_and_never_run() {
    let f = fixture();
    let transport = FakeTransport::default();
    let alice = Username::parse("alice").unwrap();
    f.orders
        .handle(
            &transport,
            f.order(
                "ord_consent",
                ActionParams::AccountResetPassword { username: alice },
            ),
        )
        .await;
    // Another user's consent, validly signed: an account changes only with its own user's
    // consent or a second agent's approval.
    let alices = Order::new(
        "ord_not_hers",
        DEVICE,
        ActionParams::AccountResetPassword {
            username: Username::parse("alice").unwrap(),
        },
        Utc::now(),
        TimeDelta::minutes(10),
    )
    .approved(Approval::UserConsent {
        account: "bob".into(),
    });
    f.orders
        .handle(
            &transport,
            serde_json::to_value(f.signer.sign(&alices)).unwrap(),
        )
        .await;
    // Not among the default policy's services.
    let sshd = ServiceName::parse("sshd").unwrap();
    f.orders
        .handle(
            &transport,
            f.order("ord_policy", ActionParams::ServiceRestart { name: sshd }),
        )
        .await;
    let mut foreign = f.order("ord_foreign", ActionParams::NetworkFlushDns);
    foreign["order"]["deviceId"] = json!("dev_elsewhere");
    f.orders.handle(&transport, foreign).await;

    assert_eq!(f.executor.runs.load(Ordering::SeqCst), 0);
    let reports = transport.reports();
    let codes: Vec<(&str, &str)> = reports
        .iter()
        .map(|(id, r)| (id.as_str(), rejection_code(r)))
        .collect();
    assert_eq!(
        codes,
        [
            ("ord_consent", "needs_user_consent"),
            ("ord_not_hers", "not_approved"),
            ("ord_policy", "not_allowed_by_policy"),
            // Changing the device id breaks the signature: it is caught before the device.
            ("ord_foreign", "bad_signature"),
        ]
    );
    let OrderReport::Rejected { rejection } = &reports[0].1 else {
        panic!("rejected")
    };
    assert!(
        rejection.message.contains("consent"),
        "{}",
        rejection.message
    );
}

#[tokio::test]
async fn malformed_orders_are_reported_when_they_name_themselves() {
    let f = fixture();
    let transport = FakeTransport::default();
    f.orders
        .handle(
            &transport,
            json!({"order": {"orderId": "ord_bad"}, "signature": "x"}),
        )
        .await;
    f.orders
        .handle(&transport, json!({"what": "no id at all"}))
        .await;
    let reports = transport.reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].0, "ord_bad");
    assert_eq!(rejection_code(&reports[0].1), "malformed");
}

#[tokio::test]
async fn diagnostics_collect_uploads_a_fresh_snapshot_without_the_executor() {
    let f = fixture();
    let transport = FakeTransport::default();
    f.orders
        .handle(
            &transport,
            f.order("ord_diag", ActionParams::DiagnosticsCollect),
        )
        .await;
    assert_eq!(f.snapshots.load(Ordering::SeqCst), 1);
    assert_eq!(transport.uploads.load(Ordering::SeqCst), 1);
    assert_eq!(f.executor.runs.load(Ordering::SeqCst), 0);
    assert_eq!(transport.stages(), ["started", "finished"]);
    let OrderReport::Finished { report } = &transport.reports()[1].1 else {
        panic!("finished")
    };
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(report.action, ActionId::DiagnosticsCollect);
}

#[tokio::test]
async fn reports_are_retried_while_the_server_is_away() {
    let f = fixture();
    // The first report attempt fails; the started report gets through on the second.
    let transport = FakeTransport {
        unreachable_for: AtomicUsize::new(1),
        ..FakeTransport::default()
    };
    f.orders
        .handle(
            &transport,
            f.order("ord_retry", ActionParams::DiskCleanTemp),
        )
        .await;
    assert_eq!(transport.stages(), ["started", "finished"]);
    assert_eq!(f.executor.runs.load(Ordering::SeqCst), 1);
}
