//! Remediation over real HTTP: request → approval or consent → signed order delivered by the
//! long-poll → verified with the pinned key → reported; every step on the timeline and in
//! the audit log.

use chrono::Duration;
use deskside_remediation::order::MemoryReplayGuard;
use deskside_remediation::{OrderVerifier, Policy, SignedOrder};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

const SNAPSHOT: &str =
    include_str!("../../../deskside-diagnostics/tests/fixtures/debian12-vm.json");

pub(crate) struct Endpoint {
    pub(crate) credential: String,
    pub(crate) device_id: String,
    pub(crate) pinned_key: String,
}

/// Enrolls a device, uploads a Linux snapshot, and files a ticket as its user `dana`.
pub(crate) async fn endpoint_with_ticket(app: &TestApp, admin: &str) -> (Endpoint, i64) {
    let (_, token) = app
        .call(
            Method::POST,
            "/api/v1/enrollment-tokens",
            Some(admin),
            Some(json!({})),
        )
        .await;
    let (status, enrolled) = app
        .call(
            Method::POST,
            "/api/v1/devices/enroll",
            None,
            Some(json!({"token": token["token"], "hostname": "ws-dana"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{enrolled}");
    let endpoint = Endpoint {
        credential: enrolled["credential"].as_str().unwrap().to_owned(),
        device_id: enrolled["deviceId"].as_str().unwrap().to_owned(),
        pinned_key: enrolled["orderSigningKey"].as_str().unwrap().to_owned(),
    };
    let (status, _) = agent_call(
        app,
        &endpoint,
        Method::POST,
        "/api/v1/agent/snapshots",
        Some(SNAPSHOT.into()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, ticket) = read(
        app.device_request(
            Method::POST,
            "/api/v1/tickets",
            &endpoint.credential,
            "dana",
        )
        .json(&printer_ticket())
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    (endpoint, ticket["id"].as_i64().unwrap())
}

async fn agent_call(
    app: &TestApp,
    endpoint: &Endpoint,
    method: Method,
    path: &str,
    body: Option<String>,
) -> (StatusCode, Value) {
    let mut request = app
        .http
        .request(method, app.url(path))
        .bearer_auth(&endpoint.credential);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body);
    }
    read(request.send().await.unwrap()).await
}

pub(crate) async fn poll(app: &TestApp, endpoint: &Endpoint, wait: u32) -> Vec<Value> {
    let (status, answer) = agent_call(
        app,
        endpoint,
        Method::GET,
        &format!("/api/v1/agent/orders?waitSeconds={wait}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["orders"].as_array().unwrap().clone()
}

async fn report(
    app: &TestApp,
    endpoint: &Endpoint,
    order_id: &str,
    body: Value,
) -> (StatusCode, Value) {
    agent_call(
        app,
        endpoint,
        Method::POST,
        &format!("/api/v1/agent/orders/{order_id}/report"),
        Some(body.to_string()),
    )
    .await
}

fn action_states(timeline: &[Value]) -> Vec<String> {
    timeline
        .iter()
        .filter(|e| e["event"]["type"] == "action")
        .map(|e| e["event"]["state"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_low_risk_action_is_signed_delivered_verified_and_reported() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let (endpoint, ticket) = endpoint_with_ticket(&app, &admin).await;

    let (status, request) = app
        .call(
            Method::POST,
            &format!("/api/v1/tickets/{ticket}/actions"),
            Some(&alice),
            Some(json!({"action": "service.restart", "params": {"name": "cups"}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    assert_eq!(
        request["state"], "queued",
        "service.restart needs no second approval"
    );

    let orders = poll(&app, &endpoint, 0).await;
    assert_eq!(orders.len(), 1);
    let signed: SignedOrder = serde_json::from_value(orders[0].clone()).unwrap();
    assert_eq!(signed.order.order_id, request["id"].as_str().unwrap());
    assert_eq!(signed.order.params["name"], "cups");
    // The endpoint's check, with the key pinned at enrollment.
    let verifier = OrderVerifier::from_public_key_base64(&endpoint.pinned_key).unwrap();
    let replay = MemoryReplayGuard::new();
    let policy =
        Policy::parse("version = 1\n[actions.\"service.restart\"]\nservices = [\"cups\"]\n")
            .unwrap();
    let verified = verifier.verify(&signed, &endpoint.device_id, app.now(), &replay, &policy);
    assert!(verified.is_ok(), "{verified:?}");
    // A forged copy is refused by the same check.
    let mut forged = signed.clone();
    forged.order.params.insert("name".into(), json!("sshd"));
    assert!(
        verifier
            .verify(
                &forged,
                &endpoint.device_id,
                app.now(),
                &MemoryReplayGuard::new(),
                &policy
            )
            .is_err()
    );

    let id = request["id"].as_str().unwrap();
    let (status, body) = report(&app, &endpoint, id, json!({"stage": "started"})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(
        poll(&app, &endpoint, 0).await.is_empty(),
        "a started order is not delivered again"
    );
    let finished = json!({"stage": "finished", "report": {
        "orderId": id, "action": "service.restart",
        "startedAt": app.now(), "finishedAt": app.now(),
        "exitStatus": {"kind": "success"}, "summary": "restarted cups (pid 10 → 42)",
        "outputExcerpt": "", "verification": {"kind": "verified", "detail": "running with a new pid"}
    }});
    let (status, body) = report(&app, &endpoint, id, finished.clone()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = report(&app, &endpoint, id, finished).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a finished order takes no more reports"
    );

    let (_, requests) = app
        .call(
            Method::GET,
            &format!("/api/v1/tickets/{ticket}/actions"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(requests[0]["state"], "succeeded");
    assert_eq!(
        requests[0]["result"]["summary"],
        "restarted cups (pid 10 → 42)"
    );
    let timeline = app.timeline(Who::Staff(&alice), ticket).await;
    assert_eq!(
        action_states(&timeline),
        ["requested", "running", "succeeded"]
    );

    let (_, audit) = app
        .call(Method::GET, "/api/v1/audit?limit=1000", Some(&admin), None)
        .await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["action"].as_str())
        .filter(|a| a.starts_with("action."))
        .collect();
    assert_eq!(
        actions,
        ["action.requested", "action.running", "action.succeeded"]
    );
}

#[tokio::test]
async fn a_risky_action_waits_for_a_second_agent_and_the_long_poll_wakes() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    let (endpoint, ticket) = endpoint_with_ticket(&app, &admin).await;

    let (_, request) = app
        .call(
            Method::POST,
            &format!("/api/v1/tickets/{ticket}/actions"),
            Some(&bob),
            Some(json!({"action": "process.kill", "params": {"pid": 4242}})),
        )
        .await;
    assert_eq!(request["state"], "awaiting_approval");
    let id = request["id"].as_str().unwrap().to_owned();
    assert!(
        poll(&app, &endpoint, 0).await.is_empty(),
        "nothing reaches the device unapproved"
    );

    let (_, inbox) = app
        .call(Method::GET, "/api/v1/action-requests", Some(&alice), None)
        .await;
    assert_eq!(inbox[0]["id"], id.as_str());
    let approve = format!("/api/v1/action-requests/{id}/approve");
    let (status, _) = app.call(Method::POST, &approve, Some(&bob), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not the requester");
    let (status, _) = app.call(Method::POST, &approve, Some(&alice), None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "L1 may not approve an L2 agent's request"
    );

    // The device is already waiting when the approval lands.
    let waiting = {
        let app_url = app.url("/api/v1/agent/orders?waitSeconds=30");
        let client = app.http.clone();
        let credential = endpoint.credential.clone();
        tokio::spawn(async move {
            read(
                client
                    .get(app_url)
                    .bearer_auth(credential)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        })
    };
    let carol = app.login("carol").await;
    let (status, approved) = app.call(Method::POST, &approve, Some(&carol), None).await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["state"], "queued");
    let (status, answer) = tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
        .await
        .expect("the long-poll answers once the order is queued")
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["orders"][0]["order"]["orderId"], id.as_str());

    let (status, _) = app.call(Method::POST, &approve, Some(&carol), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "approved once");
}

#[tokio::test]
async fn a_password_reset_waits_for_the_users_consent() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let (endpoint, ticket) = endpoint_with_ticket(&app, &admin).await;
    let (_, request) = app
        .call(
            Method::POST,
            &format!("/api/v1/tickets/{ticket}/actions"),
            Some(&alice),
            Some(json!({"action": "account.reset_password", "params": {"username": "dana"}})),
        )
        .await;
    assert_eq!(request["state"], "awaiting_consent");
    let consent = format!(
        "/api/v1/action-requests/{}/consent",
        request["id"].as_str().unwrap()
    );

    let (status, _) = app
        .call(
            Method::POST,
            &consent,
            Some(&alice),
            Some(json!({"granted": true})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "staff cannot consent for the user"
    );
    let as_user = |user: &'static str| {
        app.device_request(Method::POST, &consent, &endpoint.credential, user)
            .json(&json!({"granted": true}))
    };
    let (status, _) = read(as_user("eve").send().await.unwrap()).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another user on the same machine"
    );
    let (status, consented) = read(as_user("dana").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{consented}");
    assert_eq!(consented["state"], "queued");
    assert_eq!(poll(&app, &endpoint, 0).await.len(), 1);
    // The user sees that their consent was asked for, and not the agents' internal steps.
    let timeline = app.timeline(device_who(&endpoint, "dana"), ticket).await;
    assert_eq!(action_states(&timeline), ["awaiting_consent"]);
}

pub(crate) fn device_who<'a>(endpoint: &'a Endpoint, user: &'a str) -> Who<'a> {
    Who::Device {
        credential: &endpoint.credential,
        user,
    }
}

#[tokio::test]
async fn bad_requests_wrong_devices_and_expiry_are_refused() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let (endpoint, ticket) = endpoint_with_ticket(&app, &admin).await;
    let path = format!("/api/v1/tickets/{ticket}/actions");

    for (body, field) in [
        (
            json!({"action": "service.restart", "params": {"name": "foo; rm -rf /"}}),
            "params.name",
        ),
        (
            json!({"action": "shell.run", "params": {"command": "reboot"}}),
            "action",
        ),
        (
            json!({"action": "process.kill", "params": {"pid": 1}}),
            "params.pid",
        ),
    ] {
        let (status, error) = app
            .call(Method::POST, &path, Some(&alice), Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!(error["fields"][0]["field"], field, "{error}");
    }

    // A ticket logged by phone has no device to act on.
    let phone = app.create_ticket(&alice, printer_ticket()).await;
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/tickets/{}/actions", phone["id"]),
            Some(&alice),
            Some(json!({"action": "network.flush_dns", "params": {}})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Another device cannot report on, or receive, this device's orders.
    let (_, queued) = app
        .call(
            Method::POST,
            &path,
            Some(&alice),
            Some(json!({"action": "network.flush_dns", "params": {}})),
        )
        .await;
    let (other, _) = endpoint_with_ticket(&app, &admin).await;
    let id = queued["id"].as_str().unwrap();
    assert!(poll(&app, &other, 0).await.is_empty());
    let (status, _) = report(&app, &other, id, json!({"stage": "started"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Unapproved requests expire; expired orders are no longer delivered.
    let (_, waiting) = app
        .call(
            Method::POST,
            &path,
            Some(&alice),
            Some(json!({"action": "process.kill", "params": {"pid": 999}})),
        )
        .await;
    app.clock.advance(Duration::hours(25));
    let bob = app.login("bob").await;
    let (status, _) = app
        .call(
            Method::POST,
            &format!(
                "/api/v1/action-requests/{}/approve",
                waiting["id"].as_str().unwrap()
            ),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(poll(&app, &endpoint, 0).await.is_empty());
}

/// What the probe got signed and run by one L1 agent with no approval: a target and a
/// templated unit. Both are refused as parameters, and nothing is queued for the device.
#[tokio::test]
async fn service_restart_refuses_targets_and_templated_units() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let (endpoint, ticket) = endpoint_with_ticket(&app, &admin).await;
    let path = format!("/api/v1/tickets/{ticket}/actions");
    for name in [
        "poweroff.target",
        "modprobe@dummy.service",
        "reboot.target",
        "cups.socket",
        "home.mount",
        "getty@tty1",
    ] {
        let body = json!({"action": "service.restart", "params": {"name": name}});
        let (status, error) = app
            .call(Method::POST, &path, Some(&alice), Some(body))
            .await;
        assert_field_error((status, &error), "params.name");
        assert_eq!(
            error["fields"][0]["field"], "params.name",
            "{name}: {error}"
        );
    }
    // A plain service, named either way, is still requested.
    for name in ["cups", "cups.service"] {
        let body = json!({"action": "service.restart", "params": {"name": name}});
        let (status, queued) = app
            .call(Method::POST, &path, Some(&alice), Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {queued}");
    }
    let orders = poll(&app, &endpoint, 0).await;
    // Both were queued at the same (manual) clock moment: their order is the ids'.
    let mut names: Vec<&str> = orders
        .iter()
        .map(|o| o["order"]["params"]["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["cups", "cups.service"]);
}

/// Queues `network.flush_dns` on the endpoint's ticket and reports it started; returns its
/// id.
async fn running_request(app: &TestApp, endpoint: &Endpoint, alice: &str, ticket: i64) -> String {
    let (status, request) = app
        .call(
            Method::POST,
            &format!("/api/v1/tickets/{ticket}/actions"),
            Some(alice),
            Some(json!({"action": "network.flush_dns", "params": {}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    let id = request["id"].as_str().unwrap().to_owned();
    assert_eq!(poll(app, endpoint, 0).await.len(), 1);
    let (status, body) = report(app, endpoint, &id, json!({"stage": "started"})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    id
}

async fn request_of(app: &TestApp, token: &str, ticket: i64, id: &str) -> Value {
    let (_, requests) = app
        .call(
            Method::GET,
            &format!("/api/v1/tickets/{ticket}/actions"),
            Some(token),
            None,
        )
        .await;
    requests
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .expect("the request")
}

/// An endpoint that crashed mid-order reports it `interrupted` after its restart: the
/// request fails with that reason, and takes no further report.
#[tokio::test]
async fn an_interrupted_order_fails_with_its_reason() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let (endpoint, ticket) = endpoint_with_ticket(&app, &admin).await;
    let id = running_request(&app, &endpoint, &alice, ticket).await;

    let interrupted = json!({"stage": "interrupted",
        "reason": "the agent stopped while running this order"});
    let (status, body) = report(&app, &endpoint, &id, interrupted.clone()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let request = request_of(&app, &alice, ticket, &id).await;
    assert_eq!(request["state"], "failed", "{request}");
    assert_eq!(request["result"]["code"], "interrupted", "{request}");
    let (status, _) = report(&app, &endpoint, &id, interrupted).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let timeline = app.timeline(Who::Staff(&alice), ticket).await;
    assert_eq!(action_states(&timeline), ["requested", "running", "failed"]);
}

/// A request whose device started it and never reported again is failed by the sweep once
/// its deadline has passed (moved with the test's clock), with a timeline event and an
/// audit line; it no longer counts as running and a late report is refused.
#[tokio::test]
async fn a_running_request_with_no_report_fails_after_its_deadline() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let (endpoint, ticket) = endpoint_with_ticket(&app, &admin).await;
    let id = running_request(&app, &endpoint, &alice, ticket).await;
    let sweep = || async {
        app.server
            .as_ref()
            .expect("running")
            .sweep_actions()
            .await
            .expect("sweep")
    };

    app.clock.advance(Duration::minutes(29));
    assert_eq!(sweep().await, 0, "not yet due");
    assert_eq!(
        request_of(&app, &alice, ticket, &id).await["state"],
        "running"
    );

    app.clock.advance(Duration::minutes(2));
    assert_eq!(sweep().await, 1);
    let request = request_of(&app, &alice, ticket, &id).await;
    assert_eq!(request["state"], "failed", "{request}");
    assert_eq!(request["result"]["code"], "no_report", "{request}");
    assert_eq!(sweep().await, 0, "failed once");
    let (_, running) = app
        .call(
            Method::GET,
            "/api/v1/action-requests?state=running",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(running, json!([]));

    let timeline = app.timeline(Who::Staff(&alice), ticket).await;
    assert_eq!(action_states(&timeline), ["requested", "running", "failed"]);
    let (_, audit) = app
        .call(Method::GET, "/api/v1/audit?limit=1000", Some(&admin), None)
        .await;
    let failed = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "action.failed")
        .cloned()
        .expect("an audit line for the failure");
    assert_eq!(failed["actor"], "system", "{failed}");

    let (status, _) = report(
        &app,
        &endpoint,
        &id,
        json!({"stage": "interrupted", "reason": "late"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
}
