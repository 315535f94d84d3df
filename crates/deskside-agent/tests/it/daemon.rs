//! `deskside-agent run` against the real server: check-in, snapshots, status, policy
//! reloads, outages and shutdown.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::support::*;

/// Waits until the server lists the device online with a snapshot; returns the device.
async fn checked_in(desk: &Desk, endpoint: &Endpoint) -> Value {
    eventually("the device to be online with a snapshot", || async {
        let device = desk.device(&endpoint.device_id).await;
        (device["online"] == true && device["latestSnapshot"].is_object()).then_some(device)
    })
    .await
}

#[tokio::test]
async fn the_daemon_checks_in_uploads_a_snapshot_and_reports_its_status() {
    let desk = Desk::start().await;
    let endpoint = enrolled(&desk).await;
    let mut daemon = Daemon::start(&endpoint);

    let device = checked_in(&desk, &endpoint).await;
    assert_eq!(device["agentVersion"], env!("CARGO_PKG_VERSION"));
    assert_eq!(device["platform"], std::env::consts::OS);
    daemon.wait_for_log("connected to the server").await;

    // The default policy was written for the administrator, world-readable.
    let policy = std::fs::read_to_string(endpoint.file("policy.toml")).unwrap();
    assert_eq!(policy, deskside_remediation::policy::DEFAULT_POLICY_TOML);
    #[cfg(unix)]
    assert_eq!(mode(&endpoint.file("policy.toml")), 0o644);

    let status = eventually(
        "status.json to record the contact and the snapshot",
        || async {
            let status = endpoint.status_json();
            (status["daemon"]["lastContactAt"].is_string()
                && status["daemon"]["lastSnapshotAt"].is_string())
            .then_some(status)
        },
    )
    .await;
    assert_eq!(status["enrolled"], true);
    assert_eq!(status["daemon"]["pid"], daemon.pid());
    assert_eq!(status["daemonRunning"], true);
    assert_eq!(status["policy"]["source"], "daemon");
    assert_eq!(
        status["policy"]["path"],
        endpoint.file("policy.toml").display().to_string()
    );
    let accepted = actions(&status["policy"]);
    assert!(
        accepted.contains(&("diagnostics.collect".to_owned(), false))
            && accepted.contains(&("account.reset_password".to_owned(), true))
            && accepted.contains(&("service.restart".to_owned(), false))
            && !accepted.iter().any(|(a, _)| a == "process.kill"),
        "{accepted:?}"
    );
    #[cfg(unix)]
    assert_eq!(mode(&endpoint.file("status.json")), 0o600);

    let human = agent(&["status", "--state-dir", &endpoint.dir_arg()]);
    let human = text(&human.stdout);
    assert!(
        human.contains("last contact:") && human.contains("s ago"),
        "{human}"
    );
    assert!(human.contains("in force in the daemon"), "{human}");

    let exit = daemon.terminate().await;
    assert!(exit.success(), "{exit:?}\n{}", daemon.log());
    let log = daemon.log();
    assert!(log.contains("SIGTERM received: shutting down"), "{log}");
    assert!(log.contains("deskside-agent stopped"), "{log}");
    let status = endpoint.status_json();
    assert!(status["daemon"]["stoppedAt"].is_string(), "{status}");
    assert_eq!(status["daemonRunning"], false);
    assert_eq!(status["policy"]["source"], "file");
}

/// A timestamp field.
fn time(value: &Value) -> Option<DateTime<Utc>> {
    value.as_str()?.parse().ok()
}

fn actions(policy: &Value) -> Vec<(String, bool)> {
    policy["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap().to_owned(),
                a["requireConsent"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_daemon_rides_out_a_server_outage_and_reconnects() {
    let mut desk = Desk::start().await;
    let endpoint = enrolled(&desk).await;
    let mut daemon = Daemon::start(&endpoint);
    checked_in(&desk, &endpoint).await;
    daemon.wait_for_log("connected to the server").await;

    desk.stop_server();
    daemon.wait_for_log("lost contact with the server").await;
    // It keeps trying, further and further apart.
    daemon
        .wait_for_log_count("orders: cannot reach the server", 2)
        .await;
    assert!(daemon.running(), "{}", daemon.log());
    let status = eventually("status.json to record the failure", || async {
        let status = endpoint.daemon_status()?;
        status["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("cannot reach the server"))
            .then_some(status)
    })
    .await;
    let seen_before = time(&status["lastContactAt"]).expect("a contact before the outage");

    // The same server comes back on the same address.
    desk.restart_server();
    daemon.wait_for_log("the server is reachable again").await;
    let device = eventually("the server to see the device again", || async {
        let device = desk.device(&endpoint.device_id).await;
        let seen = time(&device["lastSeenAt"]);
        (device["online"] == true && seen > Some(seen_before)).then_some(device)
    })
    .await;
    assert!(device["latestSnapshot"].is_object());
    eventually("status.json to clear the error", || async {
        let status = endpoint.daemon_status()?;
        (status["lastError"].is_null() && time(&status["lastContactAt"]) > Some(seen_before))
            .then_some(())
    })
    .await;
    assert!(daemon.running());
}

#[tokio::test]
async fn a_revoked_credential_says_re_enroll_and_backs_off_at_the_maximum() {
    let desk = Desk::start().await;
    let endpoint = enrolled(&desk).await;
    // A credential the server does not know, as after the device was removed server-side.
    std::fs::write(endpoint.file("credential"), "dsd_revoked\n").unwrap();
    let mut daemon = Daemon::start(&endpoint);
    daemon
        .wait_for_log("device credential rejected: re-enroll")
        .await;
    daemon.wait_for_log("retrying in 60").await;
    assert!(daemon.running());
    let log = daemon.log();
    assert!(
        !log.contains("dsd_revoked"),
        "the credential is never logged:\n{log}"
    );
    let status = eventually("status.json to record the refusal", || async {
        let status = endpoint.daemon_status()?;
        status["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("rejected the device credential"))
            .then_some(status)
    })
    .await;
    assert!(status["lastContactAt"].is_null(), "{status}");

    // Killed without a chance to record its stop: status still tells.
    drop(daemon);
    let status = endpoint.status_json();
    assert_eq!(status["daemonRunning"], false, "{status}");
    let human = text(&agent(&["status", "--state-dir", &endpoint.dir_arg()]).stdout);
    assert!(human.contains("ended without recording a stop"), "{human}");
}

#[tokio::test]
async fn an_invalid_policy_is_refused_and_the_last_good_one_stays_in_force() {
    let desk = Desk::start().await;
    let endpoint = enrolled(&desk).await;
    let mut daemon = Daemon::start(&endpoint);
    daemon.wait_for_log("wrote the default policy").await;
    let policy_file = endpoint.file("policy.toml");
    let in_force = |status: &Value| actions(&status["policy"]);
    let before = eventually("the daemon to report its policy", || async {
        let status = endpoint.daemon_status()?;
        let actions = in_force(&status);
        (!actions.is_empty()).then_some(actions)
    })
    .await;

    std::fs::write(
        &policy_file,
        "version = 1\n[actions.\"service.restart\"]\nservices = [\"cups; rm -rf /\"]\n",
    )
    .unwrap();
    // Wait on the log, which is outside the state directory: `PolicyWatcher` reloads only
    // once the whole watched directory has been quiet for 50 ms, and polling status.json in
    // it every 20 ms would postpone the reload indefinitely.
    daemon.wait_for_log("policy file rejected").await;
    let status = eventually("status.json to show the rejected file", || async {
        let status = endpoint.daemon_status()?;
        status["policy"]["error"].is_string().then_some(status)
    })
    .await;
    assert_eq!(in_force(&status), before, "the last good policy stays");
    let error = status["policy"]["error"].as_str().unwrap();
    assert!(error.contains("services[0]"), "{error}");

    std::fs::write(
        &policy_file,
        "version = 1\n[actions.\"network.flush_dns\"]\n[actions.\"service.restart\"]\nservices = [\"cups\"]\n",
    )
    .unwrap();
    // Once at start (the file replacing the deny-all fallback), once now.
    daemon.wait_for_log_count("policy reloaded", 2).await;
    let status = eventually("status.json to show the new policy", || async {
        let status = endpoint.daemon_status()?;
        (in_force(&status).len() == 2).then_some(status)
    })
    .await;
    assert_eq!(
        in_force(&status),
        [
            ("service.restart".to_owned(), false),
            ("network.flush_dns".to_owned(), false)
        ]
    );
    assert!(status["policy"]["error"].is_null(), "{status}");
}

/// What the probe did: `--policy` at a 0666 file, another user appends
/// `[actions."process.kill"]`, the agent reloads it and an approved order kills a process.
/// A file others can write is refused at start (nothing accepted, `status` says why) and on
/// every reload (the last good policy stays), so the approved kill is refused.
#[cfg(unix)]
#[tokio::test]
async fn a_policy_file_others_can_write_is_refused_at_start_and_on_reload() {
    use std::os::unix::fs::PermissionsExt;
    let chmod = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    let desk = Desk::start().await;
    let endpoint = enrolled(&desk).await;
    let policy_file = endpoint.file("policy.toml");
    const ONLY_DNS: &str = "version = 1\n[actions.\"network.flush_dns\"]\n";
    std::fs::write(&policy_file, ONLY_DNS).unwrap();
    chmod(&policy_file, 0o666);

    let mut daemon = Daemon::start(&endpoint);
    daemon
        .wait_for_log("every order is refused until it is fixed")
        .await;
    daemon.wait_for_log("connected to the server").await;
    let log = daemon.log();
    assert!(log.contains("writable by every local user"), "{log}");
    let status = endpoint.status_json();
    assert_eq!(
        actions(&status["policy"]),
        [],
        "nothing is accepted: {status}"
    );
    let error = status["policy"]["error"].as_str().unwrap_or_default();
    assert!(error.contains("writable by every local user"), "{status}");
    let human = text(&agent(&["status", "--state-dir", &endpoint.dir_arg()]).stdout);
    assert!(human.contains("writable by every local user"), "{human}");

    // The administrator makes it theirs: it is read and in force.
    chmod(&policy_file, 0o644);
    daemon.wait_for_log("policy reloaded").await;
    let status = eventually("status.json to show the policy in force", || async {
        let status = endpoint.daemon_status()?;
        status["policy"]["error"].is_null().then_some(status)
    })
    .await;
    let dns_only = [("network.flush_dns".to_owned(), false)];
    assert_eq!(actions(&status["policy"]), dns_only);

    // Someone opens it to everybody and widens it: refused, the last good policy stays.
    let rejected_before = daemon.log().matches("policy file rejected").count();
    chmod(&policy_file, 0o666);
    std::fs::write(
        &policy_file,
        format!("{ONLY_DNS}[actions.\"process.kill\"]\n"),
    )
    .unwrap();
    daemon
        .wait_for_log_count("policy file rejected", rejected_before + 1)
        .await;
    let status = eventually("status.json to show the refusal", || async {
        let status = endpoint.daemon_status()?;
        status["policy"]["error"].is_string().then_some(status)
    })
    .await;
    assert_eq!(actions(&status["policy"]), dns_only, "{status}");

    // An approved kill of a live process is refused by the endpoint; the process lives.
    let mut victim = std::process::Command::new("sleep")
        .arg("1000")
        .spawn()
        .expect("sleep runs");
    let ticket = ticket_from(&desk, &endpoint, "dana").await;
    let alice = desk.login("alice").await;
    let bob = desk.login("bob").await;
    let asked = request(
        &desk,
        &alice,
        ticket,
        serde_json::json!({"action": "process.kill", "params": {"pid": victim.id()}}),
    )
    .await;
    assert_eq!(asked["state"], "awaiting_approval", "{asked}");
    let id = asked["id"].as_str().unwrap();
    let (status, approved) = desk
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/action-requests/{id}/approve"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{approved}");
    let done = settled(&desk, &alice, ticket, id).await;
    assert_eq!(done["state"], "rejected", "{done}");
    assert_eq!(done["result"]["code"], "not_allowed_by_policy", "{done}");
    assert!(
        victim.try_wait().unwrap().is_none(),
        "the process still runs"
    );
    let _ = victim.kill();
    let _ = victim.wait();
    assert!(daemon.running(), "{}", daemon.log());
}
