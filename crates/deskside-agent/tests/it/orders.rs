//! Orders end to end: a staff member requests an action on a ticket's device, the server
//! signs it, the daemon's long poll receives it at once, verifies it against the key it
//! pinned and its local policy, runs it (or refuses it) and reports.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::support::*;

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
    let ticket = ticket_from(&desk, &endpoint, "dana").await;
    let alice = desk.login("alice").await;

    // diagnostics.collect needs no approval: queued, delivered by the waiting long poll,
    // collected fresh and uploaded by the agent itself.
    let asked = Instant::now();
    let asked_for = request(
        &desk,
        &alice,
        ticket,
        json!({"action": "diagnostics.collect", "params": {}}),
    )
    .await;
    assert_eq!(asked_for["state"], "queued", "{asked_for}");
    let id = asked_for["id"].as_str().unwrap().to_owned();
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

    // service.restart is in the catalog, but this endpoint's (default) policy accepts it
    // only for its short list of services: the agent refuses any other and says why.
    let asked_for = request(
        &desk,
        &alice,
        ticket,
        json!({"action": "service.restart", "params": {"name": "sshd"}}),
    )
    .await;
    assert_eq!(asked_for["state"], "queued", "{asked_for}");
    let id = asked_for["id"].as_str().unwrap().to_owned();
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
