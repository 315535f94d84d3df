//! Orders end to end: a staff member requests an action on a ticket's device, the server
//! signs it, the daemon's long poll receives it at once, verifies it against the key it
//! pinned and its local policy, runs it (or refuses it) and reports.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

/// A ticket filed from the endpoint by its local user `dana`.
async fn ticket_from(desk: &Desk, endpoint: &Endpoint) -> i64 {
    let (status, ticket) = read(
        desk.http
            .post(format!("{}/api/v1/tickets", desk.url()))
            .bearer_auth(endpoint.credential())
            .header("x-deskside-local-user", "dana")
            .json(&json!({
                "title": "Printer on floor 2 jams",
                "description": "Every job jams after the first page.",
                "category": "printer",
                "impact": "team",
                "urgency": "degraded",
                "requester": {"name": "Dana Schulz", "userKind": "internal_staff"}
            }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    ticket["id"].as_i64().unwrap()
}

/// Requests `action` as `token`; returns the request's id.
async fn request(desk: &Desk, token: &str, ticket: i64, action: Value) -> String {
    let (status, request) = desk
        .call(
            Method::POST,
            &format!("/api/v1/tickets/{ticket}/actions"),
            Some(token),
            Some(action),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    assert_eq!(request["state"], "queued", "{request}");
    request["id"].as_str().unwrap().to_owned()
}

/// Waits until request `id` on `ticket` reaches a final state; returns it.
async fn settled(desk: &Desk, token: &str, ticket: i64, id: &str) -> Value {
    eventually("the order to be reported", || async {
        let (_, requests) = desk
            .call(
                Method::GET,
                &format!("/api/v1/tickets/{ticket}/actions"),
                Some(token),
                None,
            )
            .await;
        requests
            .as_array()?
            .iter()
            .find(|r| r["id"] == id)
            .filter(|r| !matches!(r["state"].as_str(), Some("queued" | "running")))
            .cloned()
    })
    .await
}

#[tokio::test]
async fn an_approved_order_runs_at_once_and_a_refused_one_is_reported_with_its_reason() {
    let desk = Desk::start().await;
    let endpoint = enrolled(&desk).await;
    let mut daemon = Daemon::start(&endpoint);
    eventually("the first snapshot", || async {
        let device = desk.device(&endpoint.device_id).await;
        device["latestSnapshot"].is_object().then_some(())
    })
    .await;
    daemon.wait_for_log("connected to the server").await;
    let ticket = ticket_from(&desk, &endpoint).await;
    let alice = desk.login("alice").await;

    // diagnostics.collect needs no approval: queued, delivered by the waiting long poll,
    // collected fresh and uploaded by the agent itself.
    let asked = Instant::now();
    let id = request(
        &desk,
        &alice,
        ticket,
        json!({"action": "diagnostics.collect", "params": {}}),
    )
    .await;
    let done = settled(&desk, &alice, ticket, &id).await;
    let took = asked.elapsed();
    assert_eq!(done["state"], "succeeded", "{done}");
    let summary = done["result"]["summary"].as_str().unwrap();
    assert!(
        summary.contains("uploaded a fresh diagnostics snapshot"),
        "{summary}"
    );
    // A fresh snapshot takes a few hundred ms here; the order itself starts within a second.
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let (_, snapshots) = desk
        .call(
            Method::GET,
            &format!("/api/v1/devices/{}/snapshots", endpoint.device_id),
            Some(&desk.admin),
            None,
        )
        .await;
    assert!(snapshots.as_array().unwrap().len() >= 2, "{snapshots}");

    // service.restart is in the catalog, but this endpoint's (default) policy does not
    // accept it: the agent refuses it and says why.
    let id = request(
        &desk,
        &alice,
        ticket,
        json!({"action": "service.restart", "params": {"name": "cups"}}),
    )
    .await;
    let refused = settled(&desk, &alice, ticket, &id).await;
    assert_eq!(refused["state"], "rejected", "{refused}");
    assert_eq!(
        refused["result"]["code"], "not_allowed_by_policy",
        "{refused}"
    );
    daemon.wait_for_log("order rejected").await;

    let timeline = desk
        .call(
            Method::GET,
            &format!("/api/v1/tickets/{ticket}/timeline"),
            Some(&alice),
            None,
        )
        .await
        .1;
    let states: Vec<&str> = timeline
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["type"] == "action")
        .filter_map(|e| e["event"]["state"].as_str())
        .collect();
    assert_eq!(
        states,
        ["requested", "running", "succeeded", "requested", "rejected"]
    );
    assert!(daemon.running());
}
