//! Consent for a change to a local account comes from that account's own user: on
//! someone else's ticket the request waits for a second agent, and the signed order says
//! who approved it so the endpoint can check again. What requesters see of the requests on
//! their ticket is a plain projection, without the agents' approval traffic.

use deskside_remediation::order::MemoryReplayGuard;
use deskside_remediation::{OrderVerifier, Policy, SignedOrder};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::actions::{device_who, endpoint_with_ticket, poll};
use crate::support::*;

/// Asks for `body` on the ticket as `token`; returns the created request.
async fn ask(app: &TestApp, token: &str, ticket: i64, body: Value) -> Value {
    let (status, request) = app
        .call(
            Method::POST,
            &format!("/api/v1/tickets/{ticket}/actions"),
            Some(token),
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    request
}

/// The entry for request `id` in a list of requests (all made at the same instant here, so
/// their order says nothing).
fn entry<'a>(list: &'a Value, id: &Value) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|r| &r["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {list}"))
}

fn reset(account: &str) -> Value {
    json!({"action": "account.reset_password", "params": {"username": account}})
}

/// The order the device receives for `id`, checked as the endpoint checks it.
async fn delivered(
    app: &TestApp,
    endpoint: &crate::actions::Endpoint,
    id: &str,
) -> (SignedOrder, Result<(), String>) {
    let orders = poll(app, endpoint, 0).await;
    let order = orders
        .iter()
        .find(|o| o["order"]["orderId"] == id)
        .unwrap_or_else(|| panic!("{id} not among {orders:?}"));
    let signed: SignedOrder = serde_json::from_value(order.clone()).unwrap();
    let policy = Policy::parse(
        "version = 1\n[actions.\"account.reset_password\"]\nrequire_consent = false\n\
         users = [\"dana\", \"erik\"]\n",
    )
    .unwrap();
    let verifier = OrderVerifier::from_public_key_base64(&endpoint.pinned_key).unwrap();
    let verified = verifier
        .verify(
            &signed,
            &endpoint.device_id,
            app.now(),
            &MemoryReplayGuard::new(),
            &policy,
        )
        .map(|_| ())
        .map_err(|e| e.code().to_owned());
    (signed, verified)
}

#[tokio::test]
async fn a_reset_of_another_account_needs_a_second_agent_not_the_tickets_requester() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    // dana files the ticket; erik is another account on the same machine.
    let (endpoint, ticket) = endpoint_with_ticket(&app, &admin).await;
    let dana = device_who(&endpoint, "dana");

    let asked = ask(&app, &alice, ticket, reset("erik")).await;
    assert_eq!(asked["state"], "awaiting_approval", "{asked}");
    let id = asked["id"].as_str().unwrap().to_owned();
    let consent = format!("/api/v1/action-requests/{id}/consent");
    let (status, body) = app
        .call_as(Method::POST, &consent, dana, Some(json!({"granted": true})))
        .await;
    assert_error((status, &body), StatusCode::CONFLICT, "conflict");
    assert!(poll(&app, &endpoint, 0).await.is_empty(), "nothing signed");
    // What dana sees: the account it changes, and no Allow for her to give.
    let (status, seen) = app
        .call_as(
            Method::GET,
            &format!("/api/v1/tickets/{ticket}/actions"),
            dana,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen[0]["account"], "erik", "{seen}");
    assert_eq!(seen[0]["mayConsent"], false, "{seen}");
    assert_eq!(seen[0]["state"], "awaiting_approval", "{seen}");
    assert_eq!(seen.as_array().unwrap().len(), 1, "{seen}");

    // A second agent approves; the order says so, and the endpoint accepts it.
    let (status, approved) = app
        .call(
            Method::POST,
            &format!("/api/v1/action-requests/{id}/approve"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["state"], "queued");
    let (signed, verified) = delivered(&app, &endpoint, &id).await;
    assert_eq!(
        serde_json::to_value(&signed.order.approval).unwrap(),
        json!({"by": "second_agent"})
    );
    assert_eq!(verified, Ok(()));

    // Her own account: her consent, named in the order.
    let own = ask(&app, &alice, ticket, reset("dana")).await;
    assert_eq!(own["state"], "awaiting_consent", "{own}");
    let own_id = own["id"].as_str().unwrap().to_owned();
    let (status, seen) = app
        .call_as(
            Method::GET,
            &format!("/api/v1/tickets/{ticket}/actions"),
            dana,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(entry(&seen, &own["id"])["account"], "dana", "{seen}");
    assert_eq!(entry(&seen, &own["id"])["mayConsent"], true, "{seen}");
    let (status, consented) = app
        .call_as(
            Method::POST,
            &format!("/api/v1/action-requests/{own_id}/consent"),
            dana,
            Some(json!({"granted": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{consented}");
    assert_eq!(consented["state"], "queued", "{consented}");
    assert_eq!(consented["mayConsent"], false, "answered: {consented}");
    let (signed, verified) = delivered(&app, &endpoint, &own_id).await;
    assert_eq!(
        serde_json::to_value(&signed.order.approval).unwrap(),
        json!({"by": "user_consent", "account": "dana"})
    );
    assert_eq!(verified, Ok(()));
}

#[tokio::test]
async fn a_waiting_consent_on_another_account_cannot_be_given_by_the_tickets_requester() {
    // A request stored before the rule, waiting for the ticket requester's consent to reset
    // someone else's password: she may refuse it, not allow it.
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let (endpoint, ticket) = endpoint_with_ticket(&app, &admin).await;
    let dana = device_who(&endpoint, "dana");
    let mut ids = Vec::new();
    for _ in 0..2 {
        let asked = ask(&app, &alice, ticket, reset("erik")).await;
        let id = asked["id"].as_str().unwrap().to_owned();
        let db = app.database();
        db.execute(
            "UPDATE action_requests SET state = 'awaiting_consent',
                    doc = json_set(doc, '$.state', 'awaiting_consent')
             WHERE id = ?1",
            [&id],
        )
        .unwrap();
        ids.push(id);
    }
    let app = &app;
    let answer = |id: &str, granted: bool| {
        let path = format!("/api/v1/action-requests/{id}/consent");
        async move {
            app.call_as(Method::POST, &path, dana, Some(json!({"granted": granted})))
                .await
        }
    };
    let (status, body) = answer(&ids[0], true).await;
    assert_error((status, &body), StatusCode::FORBIDDEN, "forbidden");
    assert!(poll(app, &endpoint, 0).await.is_empty(), "nothing signed");
    let (status, refused) = answer(&ids[1], false).await;
    assert_eq!(status, StatusCode::OK, "{refused}");
    assert_eq!(refused["state"], "denied", "{refused}");
    assert_eq!(refused["outcome"], "Not done: you declined.", "{refused}");
}

/// Every key anywhere in a JSON value.
fn keys(value: &Value) -> Vec<String> {
    match value {
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| std::iter::once(k.clone()).chain(keys(v)))
            .collect(),
        Value::Array(items) => items.iter().flat_map(keys).collect(),
        _ => Vec::new(),
    }
}

#[tokio::test]
async fn requesters_see_what_is_done_to_their_computer_not_the_approval_traffic() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    let (endpoint, ticket) = endpoint_with_ticket(&app, &admin).await;
    let dana = device_who(&endpoint, "dana");

    let kill = ask(
        &app,
        &bob,
        ticket,
        json!({"action": "process.kill", "params": {"pid": 4242}}),
    )
    .await;
    let denied = ask(
        &app,
        &alice,
        ticket,
        json!({"action": "process.kill", "params": {"pid": 31337}}),
    )
    .await;
    let (status, _) = app
        .call(
            Method::POST,
            &format!(
                "/api/v1/action-requests/{}/deny",
                denied["id"].as_str().unwrap()
            ),
            Some(&bob),
            Some(json!({"reason": "pager duty says the kiosk process is fine"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let own = ask(&app, &alice, ticket, reset("dana")).await;
    let restart = ask(
        &app,
        &alice,
        ticket,
        json!({"action": "service.restart", "params": {"name": "cups"}}),
    )
    .await;

    let path = format!("/api/v1/tickets/{ticket}/actions");
    let (status, staff) = app.call(Method::GET, &path, Some(&alice), None).await;
    assert_eq!(status, StatusCode::OK, "{staff}");
    let (status, seen) = app.call_as(Method::GET, &path, dana, None).await;
    assert_eq!(status, StatusCode::OK, "{seen}");

    // Staff keep the whole record.
    assert_eq!(entry(&staff, &kill["id"])["params"]["pid"], 4242, "{staff}");
    assert_eq!(entry(&staff, &kill["id"])["requestedByName"], "Bob Novak");
    assert_eq!(
        entry(&staff, &denied["id"])["decisionReason"],
        "pager duty says the kiosk process is fine"
    );
    assert!(
        entry(&staff, &restart["id"])["order"].is_object(),
        "{staff}"
    );

    // The requester: one plain entry per request, none of the internals.
    let items = seen.as_array().unwrap();
    assert_eq!(items.len(), 4, "{seen}");
    let mut fields: Vec<String> = keys(&seen);
    fields.sort();
    fields.dedup();
    assert_eq!(
        fields,
        [
            "account",
            "action",
            "createdAt",
            "id",
            "mayConsent",
            "outcome",
            "state",
            "title",
            "updatedAt"
        ],
        "{seen}"
    );
    let text = seen.to_string();
    for internal in [
        "4242",
        "31337",
        "Bob Novak",
        "Alice Meyer",
        "pager duty",
        "signature",
    ] {
        assert!(!text.contains(internal), "{internal} in {text}");
    }
    let killing = entry(&seen, &kill["id"]);
    assert_eq!(killing["title"], "End a process");
    assert_eq!(killing["state"], "awaiting_approval");
    assert_eq!(killing["outcome"], Value::Null);
    let not_killing = entry(&seen, &denied["id"]);
    assert_eq!(not_killing["state"], "denied");
    assert_eq!(
        not_killing["outcome"],
        "Not done: the help desk decided against it."
    );
    assert_eq!(entry(&seen, &own["id"])["account"], "dana");
    assert_eq!(entry(&seen, &own["id"])["mayConsent"], true);
    assert_eq!(entry(&seen, &restart["id"])["state"], "queued");
    assert_eq!(entry(&seen, &restart["id"])["account"], Value::Null);
}
