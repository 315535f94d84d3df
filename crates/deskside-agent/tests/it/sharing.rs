//! What the agent sends on its own: the real daemon against the real server, the policy's
//! `[diagnostics]` and a real local account's remembered choices (sent over the bridge by
//! a process running as that account).

use std::collections::BTreeSet;

use deskside_client::agent_bridge;
use deskside_diagnostics::SectionName;
use reqwest::Method;
use serde_json::{Value, json};

use crate::fixtures::*;
use crate::support::*;

const POLICY_REASON: &str = "not shared: this device's policy keeps it out of uploads";
const USER_REASON: &str = "not shared by the user";

/// The device's stored snapshots (newest first), as staff read them.
async fn history(desk: &Desk, endpoint: &Endpoint) -> Vec<Value> {
    let (status, history) = desk
        .call(
            Method::GET,
            &format!("/api/v1/devices/{}/snapshots", endpoint.device_id),
            Some(&desk.admin),
            None,
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{history}");
    history.as_array().cloned().unwrap_or_default()
}

/// One stored snapshot document, exactly as the agent sent it.
async fn document(desk: &Desk, endpoint: &Endpoint, meta: &Value) -> Value {
    let (status, document) = desk
        .call(
            Method::GET,
            &format!(
                "/api/v1/devices/{}/snapshots/{}",
                endpoint.device_id, meta["id"]
            ),
            Some(&desk.admin),
            None,
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{document}");
    document
}

/// Waits for a stored snapshot newer than `after` (by id) that `accept` likes; returns its
/// meta and document.
async fn snapshot_where(
    desk: &Desk,
    endpoint: &Endpoint,
    after: i64,
    accept: impl Fn(&Value, &Value) -> bool,
) -> (Value, Value) {
    eventually("the expected snapshot on the server", || async {
        for meta in history(desk, endpoint).await {
            if meta["id"].as_i64().unwrap_or(0) <= after {
                continue;
            }
            let document = document(desk, endpoint, &meta).await;
            if accept(&meta, &document) {
                return Some((meta, document));
            }
        }
        None
    })
    .await
}

fn withheld_as(document: &Value, section: &str, by: &str, reason: &str) -> bool {
    document["withheld"][section] == by && document[section]["unavailable"]["reason"] == reason
}

fn available(document: &Value, section: &str) -> bool {
    document[section]["available"].is_object()
}

#[tokio::test]
async fn background_snapshots_leave_out_processes_and_logs_unless_the_user_attaches_them() {
    let desk = Desk::start().await;
    let endpoint = enrolled(&desk).await;
    let _daemon = Daemon::start(&endpoint);

    let (meta, document) = snapshot_where(&desk, &endpoint, 0, |_, _| true).await;
    assert_eq!(meta["source"], "background", "{meta}");
    for private in ["processes", "logs"] {
        assert!(
            withheld_as(&document, private, "policy", POLICY_REASON),
            "{private}: {document}"
        );
    }
    for shared in [
        "system", "hardware", "network", "services", "printers", "software",
    ] {
        assert!(document.get(shared).is_some(), "{shared}: {document}");
        assert!(document["withheld"].get(shared).is_none(), "{shared}");
    }
    assert!(available(&document, "system"), "{document}");
}

#[tokio::test]
async fn a_policy_narrows_what_the_agent_sends_on_its_own() {
    let desk = Desk::start().await;
    let endpoint = enrolled(&desk).await;
    std::fs::write(
        endpoint.file("policy.toml"),
        "version = 1\n[actions.\"diagnostics.collect\"]\n\
         [diagnostics]\nbackground_sections = [\"system\", \"network\"]\n",
    )
    .unwrap();
    let _daemon = Daemon::start(&endpoint);

    let (_, document) = snapshot_where(&desk, &endpoint, 0, |_, _| true).await;
    assert!(available(&document, "system"), "{document}");
    assert!(document.get("network").is_some(), "{document}");
    for withheld in [
        "hardware",
        "processes",
        "services",
        "printers",
        "software",
        "logs",
    ] {
        assert!(
            withheld_as(&document, withheld, "policy", POLICY_REASON),
            "{withheld}: {document}"
        );
    }
}

#[tokio::test]
async fn a_local_users_choice_keeps_software_out_of_background_and_refresh_snapshots() {
    const TEST: &str =
        "a_local_users_choice_keeps_software_out_of_background_and_refresh_snapshots";
    if let Some(why) = requires_root_and(&["useradd", "userdel", "chpasswd"]) {
        return skip(TEST, &why);
    }
    let account = LocalAccount::create(&format!("dsk-share-{}", std::process::id()));
    let desk = Desk::start().await;
    let endpoint = enrolled(&desk).await;
    let mut daemon = Daemon::start(&endpoint);
    daemon
        .wait_for_log("listening for desktop apps on the local bridge")
        .await;
    let (first, document) = snapshot_where(&desk, &endpoint, 0, |_, _| true).await;
    assert!(
        document["software"].is_object() && document["withheld"].get("software").is_none(),
        "software is shared until somebody says otherwise: {document}"
    );

    // The account's desktop app says its user switched software off in Get help.
    std::fs::set_permissions(
        daemon.socket_dir(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let socket = daemon.socket();
    let name = account.name.clone();
    let stdout = tokio::task::spawn_blocking(move || {
        crate::bridge::run_test_as(
            &name,
            "sharing::sharing_helper_as_another_user",
            &[(SHARING_HELPER_SOCKET_ENV, socket.as_os_str())],
        )
    })
    .await
    .unwrap();
    let answer: Value = stdout
        .lines()
        .find_map(|line| line.split_once(SHARING_HELPER_MARK).map(|(_, json)| json))
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_else(|| panic!("no answer from the helper:\n{stdout}"));
    assert_eq!(answer, json!({"ok": ["software"]}), "{stdout}");

    // Kept for that account (by the kernel's uid), root-only.
    let uid = sh_ok("id", &["-u", &account.name]).trim().to_owned();
    let stored = endpoint.file("sharing").join(format!("{uid}.json"));
    assert_eq!(mode(&stored), 0o600);
    assert_eq!(mode(&endpoint.file("sharing")), 0o700);
    let stored: Value = serde_json::from_slice(&std::fs::read(&stored).unwrap()).unwrap();
    assert_eq!(stored["account"], account.name.as_str());
    assert_eq!(stored["withheld"], json!(["software"]));

    // The next background snapshot (taken at once, not a quarter of an hour later) leaves
    // software out, marked as the user's choice.
    let first_id = first["id"].as_i64().unwrap();
    let (meta, document) = snapshot_where(&desk, &endpoint, first_id, |_, _| true).await;
    assert_eq!(meta["source"], "background");
    assert!(
        withheld_as(&document, "software", "user", USER_REASON),
        "{document}"
    );
    assert!(withheld_as(&document, "processes", "policy", POLICY_REASON));
    assert!(available(&document, "system"), "{document}");

    // "Refresh now" from the console: a fresh snapshot, still without software.
    let ticket = ticket_from(&desk, &endpoint, &account.name).await;
    let alice = desk.login("alice").await;
    let asked = request(
        &desk,
        &alice,
        ticket,
        json!({"action": "diagnostics.collect", "params": {}}),
    )
    .await;
    let done = settled(&desk, &alice, ticket, asked["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let (_, refreshed) = snapshot_where(&desk, &endpoint, meta["id"].as_i64().unwrap(), |m, _| {
        m["source"] == "on_request"
    })
    .await;
    assert!(
        withheld_as(&refreshed, "software", "user", USER_REASON),
        "{refreshed}"
    );
    assert!(withheld_as(&refreshed, "logs", "policy", POLICY_REASON));
    assert!(available(&refreshed, "system"), "{refreshed}");

    // And it holds across a restart of the agent.
    let latest = history(&desk, &endpoint).await[0]["id"].as_i64().unwrap();
    drop(daemon);
    let _daemon = Daemon::start(&endpoint);
    let (_, after_restart) = snapshot_where(&desk, &endpoint, latest, |_, _| true).await;
    assert!(
        withheld_as(&after_restart, "software", "user", USER_REASON),
        "{after_restart}"
    );
}

const SHARING_HELPER_SOCKET_ENV: &str = "DESKSIDE_TEST_SHARING_HELPER_SOCKET";
const SHARING_HELPER_MARK: &str = "SHARING-HELPER-ANSWER ";

/// Not a test of its own: the desktop-app half of the test above, run as the other account
/// by [`crate::bridge::run_test_as`]; run any other way it has nothing to do.
#[tokio::test]
async fn sharing_helper_as_another_user() {
    let Some(socket) = std::env::var_os(SHARING_HELPER_SOCKET_ENV) else {
        return;
    };
    let withheld = BTreeSet::from([SectionName::Software]);
    let answer = match agent_bridge::sharing_choices(socket.as_ref(), &withheld).await {
        Ok(kept) => json!({"ok": kept}),
        Err(error) => json!({"error": error.code()}),
    };
    println!("{SHARING_HELPER_MARK}{answer}");
}
