//! The endpoint's whole path with real parts: a signed order as JSON, the pinned key, a
//! file-backed replay store, a policy file watched live, and the executor.

use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use deskside_remediation::catalog::Pid;
use deskside_remediation::execute::LinuxExecutor;
use deskside_remediation::{
    ActionParams, Executor, FileReplayGuard, Order, OrderSigner, OrderVerifier, Policy,
    PolicyEvent, PolicyWatcher, RejectReason, SignedOrder,
};

use crate::support::{DEVICE, alive, tool};

#[test]
fn the_next_order_obeys_the_policy_file_as_changed_and_replays_stay_refused() {
    let dir = tempfile::tempdir().unwrap();
    let policy_path = dir.path().join("policy.toml");
    std::fs::write(
        &policy_path,
        deskside_remediation::policy::DEFAULT_POLICY_TOML,
    )
    .unwrap();
    let (tx, rx) = channel();
    let watcher = PolicyWatcher::start(&policy_path, Policy::deny_all(), move |e| {
        let _ = tx.send(e.clone());
    })
    .unwrap();
    assert!(matches!(
        rx.recv_timeout(Duration::from_secs(10)),
        Ok(PolicyEvent::Reloaded(_))
    ));

    // Server side.
    let signer = OrderSigner::generate().unwrap();
    let pinned = signer.public_key_base64();
    let mut victim = Command::new(tool("sleep").unwrap())
        .arg("1000")
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let pid = victim.id();
    let send = |n: u32| -> String {
        let order = Order::new(
            format!("order-{n}"),
            DEVICE,
            ActionParams::ProcessKill {
                pid: Pid::new(u64::from(pid)).unwrap(),
            },
            Utc::now(),
            TimeDelta::minutes(5),
        );
        serde_json::to_string(&signer.sign(&order)).unwrap()
    };

    // Endpoint side.
    let verifier = OrderVerifier::from_public_key_base64(&pinned).unwrap();
    let replay_path = dir.path().join("nonces.json");
    let receive = |wire: &str, guard: &FileReplayGuard| {
        let signed: SignedOrder = serde_json::from_str(wire).unwrap();
        verifier.verify(&signed, DEVICE, Utc::now(), guard, &watcher.current())
    };

    // The default policy does not accept process.kill.
    let guard = FileReplayGuard::open(&replay_path).unwrap();
    let refused = receive(&send(1), &guard).unwrap_err();
    assert_eq!(refused.code(), "not_allowed_by_policy", "{refused}");

    // The administrator enables it; the next order is accepted and carried out.
    std::fs::write(
        &policy_path,
        format!(
            "{}\n[actions.\"process.kill\"]\n",
            deskside_remediation::policy::DEFAULT_POLICY_TOML
        ),
    )
    .unwrap();
    assert!(matches!(
        rx.recv_timeout(Duration::from_secs(10)),
        Ok(PolicyEvent::Reloaded(_))
    ));
    let wire = send(2);
    let verified = receive(&wire, &guard).unwrap();
    let report = LinuxExecutor::default()
        .run(&verified, Duration::from_secs(30))
        .report;
    assert!(report.succeeded(), "{report:#?}");
    victim.wait().unwrap();
    assert!(!alive(pid));

    // The same order again, even after the endpoint restarts, is a replay.
    drop(guard);
    let reopened = FileReplayGuard::open(&replay_path).unwrap();
    assert_eq!(receive(&wire, &reopened), Err(RejectReason::Replayed));
}
