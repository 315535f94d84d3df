//! `Idempotency-Key`: a retried mutation returns the first answer and writes nothing twice.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

/// Sends `body` to `path` as `who` with `key`; returns status, replay header and body.
async fn keyed(
    app: &TestApp,
    who: Who<'_>,
    method: Method,
    path: &str,
    key: &str,
    body: &Value,
) -> (StatusCode, bool, Value) {
    let response = app
        .builder(method, path, who)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let replayed = match response.headers().get("idempotent-replayed") {
        None => false,
        Some(value) => {
            assert_eq!(value, "true");
            true
        }
    };
    let (status, body) = read(response).await;
    (status, replayed, body)
}

#[tokio::test]
async fn a_retried_create_returns_the_first_answer_and_creates_once() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    let body = printer_ticket();

    let (status, replayed, first) =
        keyed(&app, staff, Method::POST, "/api/v1/tickets", "k-1", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert!(!replayed);
    // Time passes between the first try and the retry; the answer stays the first one.
    app.clock.advance(chrono::Duration::minutes(3));
    let (status, replayed, second) =
        keyed(&app, staff, Method::POST, "/api/v1/tickets", "k-1", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert!(replayed, "the retry says it is a replay");
    assert_eq!(second, first);
    assert_eq!(app.list_ids(staff, "").await, vec![id_of(&first)]);
    assert_eq!(app.timeline(staff, id_of(&first)).await.len(), 1);

    // The same key with another body is a client bug: refused, nothing written.
    let mut other = printer_ticket();
    other["title"] = json!("Another problem entirely");
    let (status, _, refused) =
        keyed(&app, staff, Method::POST, "/api/v1/tickets", "k-1", &other).await;
    assert_error(
        (status, &refused),
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    );
    assert_eq!(app.list_ids(staff, "").await.len(), 1);

    // A new key is a new ticket.
    let (status, replayed, third) =
        keyed(&app, staff, Method::POST, "/api/v1/tickets", "k-2", &body).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(!replayed);
    assert_ne!(id_of(&third), id_of(&first));
    assert_eq!(app.list_ids(staff, "").await.len(), 2);

    // Without a key, every request counts.
    app.create_ticket(&alice, body.clone()).await;
    app.create_ticket(&alice, body).await;
    assert_eq!(app.list_ids(staff, "").await.len(), 4);
}

#[tokio::test]
async fn concurrent_retries_with_one_key_create_exactly_one_ticket() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let credential = app.enroll_device(&admin, "ws-offline").await;
    let mut body = printer_ticket();
    body["title"] = json!("Submitted offline, delivered by the outbox");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let request = app
            .device_request(Method::POST, "/api/v1/tickets", &credential, "dana")
            .header("idempotency-key", "outbox-7f3a")
            .json(&body);
        tasks.push(tokio::spawn(async move {
            let response = request.send().await.unwrap();
            let replayed = response.headers().contains_key("idempotent-replayed");
            let (status, body) = read(response).await;
            (status, replayed, body)
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    for (status, _, answer) in &answers {
        assert_eq!(*status, StatusCode::CREATED, "{answer}");
        assert_eq!(answer, &answers[0].2);
    }
    assert_eq!(
        answers.iter().filter(|(_, replayed, _)| !replayed).count(),
        1
    );
    let all = app.list_ids(Who::Staff(&admin), "").await;
    assert_eq!(all, vec![id_of(&answers[0].2)]);
}

#[tokio::test]
async fn keys_belong_to_whoever_sent_them() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    let admin = app.login("admin").await;
    let credential = app.enroll_device(&admin, "ws-shared").await;
    let body = printer_ticket();
    let callers = [
        Who::Staff(&alice),
        Who::Staff(&bob),
        Who::Device {
            credential: &credential,
            user: "dana",
        },
        Who::Device {
            credential: &credential,
            user: "eve",
        },
    ];
    let mut ids = Vec::new();
    for who in callers {
        let (status, replayed, ticket) = keyed(
            &app,
            who,
            Method::POST,
            "/api/v1/tickets",
            "same-key",
            &body,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{ticket}");
        assert!(!replayed, "{who:?} did not send this key before");
        ids.push(id_of(&ticket));
    }
    ids.dedup();
    assert_eq!(ids.len(), 4);
    // A second session of the same user shares the user's keys.
    let alice_again = app.login("alice").await;
    let (status, replayed, ticket) = keyed(
        &app,
        Who::Staff(&alice_again),
        Method::POST,
        "/api/v1/tickets",
        "same-key",
        &body,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(replayed);
    assert_eq!(id_of(&ticket), ids[0]);
}

#[tokio::test]
async fn a_retried_reply_is_posted_once() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    let id = id_of(&app.create_ticket(&alice, printer_ticket()).await);
    let path = format!("/api/v1/tickets/{id}/replies");
    let body = json!({"body": "Replaced the toner; please try again."});

    let (status, replayed, first) = keyed(&app, staff, Method::POST, &path, "reply-1", &body).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert!(!replayed);
    let (status, replayed, second) =
        keyed(&app, staff, Method::POST, &path, "reply-1", &body).await;
    assert_eq!(status, StatusCode::OK);
    assert!(replayed);
    assert_eq!(second, first);
    let replies = event_types(&app.timeline(staff, id).await)
        .into_iter()
        .filter(|t| t == "public_reply")
        .count();
    assert_eq!(replies, 1);

    // The key is bound to the request it was first used for: another body, or the same
    // body on another route, is refused.
    let (status, _, refused) = keyed(
        &app,
        staff,
        Method::POST,
        &path,
        "reply-1",
        &json!({"body": "other"}),
    )
    .await;
    assert_error(
        (status, &refused),
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    );
    let (status, _, refused) = keyed(
        &app,
        staff,
        Method::POST,
        &format!("/api/v1/tickets/{id}/notes"),
        "reply-1",
        &body,
    )
    .await;
    assert_error(
        (status, &refused),
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    );
    let other = id_of(&app.create_ticket(&alice, printer_ticket()).await);
    let (status, _, refused) = keyed(
        &app,
        staff,
        Method::POST,
        &format!("/api/v1/tickets/{other}/replies"),
        "reply-1",
        &body,
    )
    .await;
    assert_error(
        (status, &refused),
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    );
    assert_eq!(app.timeline(staff, other).await.len(), 1);
}

#[tokio::test]
async fn a_retried_edit_is_not_a_conflict_with_itself() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    let id = id_of(&app.create_ticket(&alice, printer_ticket()).await);
    let path = format!("/api/v1/tickets/{id}");
    let body = json!({"version": 1, "title": "Printer jams on page 2"});

    let (status, _, first) = keyed(&app, staff, Method::PATCH, &path, "edit-1", &body).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["version"], 2);
    // The answer was lost; the retry names version 1 again and gets the first answer,
    // not a 409 about its own change.
    let (status, replayed, second) =
        keyed(&app, staff, Method::PATCH, &path, "edit-1", &body).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert!(replayed);
    assert_eq!(second, first);
    assert_eq!(app.ticket(staff, id).await["version"], 2);

    // Status moves and escalations replay the same way.
    let status_body = json!({"status": "pending_user"});
    for _ in 0..3 {
        let (status, _, answer) = keyed(
            &app,
            staff,
            Method::POST,
            &format!("{path}/status"),
            "status-1",
            &status_body,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "a replay, not an invalid transition: {answer}"
        );
    }
    let escalate = json!({"reason": "needs L2"});
    for _ in 0..3 {
        let (status, _, answer) = keyed(
            &app,
            staff,
            Method::POST,
            &format!("{path}/escalate"),
            "escalate-1",
            &escalate,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["tier"], "L2");
    }
    let types = event_types(&app.timeline(staff, id).await);
    assert_eq!(types.iter().filter(|t| *t == "status_changed").count(), 1);
    assert_eq!(types.iter().filter(|t| *t == "escalated").count(), 1);
}

#[tokio::test]
async fn a_rejected_request_does_not_use_up_its_key() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    let mut invalid = printer_ticket();
    invalid["title"] = json!("");
    let (status, _, body) = keyed(
        &app,
        staff,
        Method::POST,
        "/api/v1/tickets",
        "fix-and-retry",
        &invalid,
    )
    .await;
    assert_field_error((status, &body), "title");
    let (status, replayed, created) = keyed(
        &app,
        staff,
        Method::POST,
        "/api/v1/tickets",
        "fix-and-retry",
        &printer_ticket(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(!replayed);

    // A refused domain command (invalid transition) does not store an answer either.
    let id = id_of(&created);
    let path = format!("/api/v1/tickets/{id}/status");
    let (status, _, body) = keyed(
        &app,
        staff,
        Method::POST,
        &path,
        "move",
        &json!({"status": "new"}),
    )
    .await;
    assert_error((status, &body), StatusCode::CONFLICT, "invalid_transition");
    let (status, _, body) = keyed(
        &app,
        staff,
        Method::POST,
        &path,
        "move",
        &json!({"status": "open"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_retried_attachment_is_stored_once() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    let id = id_of(&app.create_ticket(&alice, printer_ticket()).await);
    let snapshot = br#"{"version":1,"printers":[{"name":"floor2","queued":14}]}"#.to_vec();
    let upload = |name: &str, bytes: Vec<u8>| {
        app.builder(
            Method::POST,
            &format!("/api/v1/tickets/{id}/attachments?fileName={name}"),
            staff,
        )
        .header("content-type", "application/json")
        .header("idempotency-key", "snapshot-1")
        .body(bytes)
        .send()
    };
    let first = upload("diag.json", snapshot.clone()).await.unwrap();
    assert!(!first.headers().contains_key("idempotent-replayed"));
    let (status, first) = read(first).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let second = upload("diag.json", snapshot.clone()).await.unwrap();
    assert!(second.headers().contains_key("idempotent-replayed"));
    let (status, second) = read(second).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(second, first);
    let (status, refused) = read(upload("other-name.json", snapshot).await.unwrap()).await;
    assert_error(
        (status, &refused),
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    );
    let attached = event_types(&app.timeline(staff, id).await)
        .into_iter()
        .filter(|t| t == "attachment_added")
        .count();
    assert_eq!(attached, 1);
}

#[tokio::test]
async fn keys_are_forgotten_after_the_retention_period_and_not_before() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    let body = printer_ticket();
    let (_, _, first) = keyed(&app, staff, Method::POST, "/api/v1/tickets", "k-old", &body).await;
    let storage = &app.server.as_ref().unwrap().state.storage;
    let retention = deskside_server::sla_sweeper::IDEMPOTENCY_RETENTION;

    let kept = storage
        .purge_idempotency(app.now() - retention)
        .await
        .unwrap();
    assert_eq!(kept, 0, "a fresh key is kept");
    let (_, replayed, _) =
        keyed(&app, staff, Method::POST, "/api/v1/tickets", "k-old", &body).await;
    assert!(replayed);

    let purged = storage
        .purge_idempotency(app.now() + chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(purged, 1);
    let (status, replayed, again) =
        keyed(&app, staff, Method::POST, "/api/v1/tickets", "k-old", &body).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(!replayed, "an expired key is a new request");
    assert_ne!(id_of(&again), id_of(&first));
}

/// The probe's case: two `POST /tickets/{id}/actions` with one key made two requests and
/// the endpoint cleaned its temp files twice. Now the retry gets the first request back,
/// the device is sent one order, and a retried report is answered without a second move.
#[tokio::test]
async fn a_retried_action_request_queues_one_order() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let bob = app.login("bob").await;
    let credential = app.enroll_device(&admin, "ws-retry").await;
    let device = Who::Device {
        credential: &credential,
        user: "dana",
    };
    let (status, ticket) = app
        .send(
            app.builder(Method::POST, "/api/v1/tickets", device)
                .json(&printer_ticket()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let path = format!("/api/v1/tickets/{}/actions", id_of(&ticket));
    let body = json!({"action": "disk.clean_temp", "params": {}});

    let (status, replayed, first) = keyed(
        &app,
        Who::Staff(&bob),
        Method::POST,
        &path,
        "clean-1",
        &body,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert!(!replayed);
    assert_eq!(first["state"], "queued");
    let (status, replayed, second) = keyed(
        &app,
        Who::Staff(&bob),
        Method::POST,
        &path,
        "clean-1",
        &body,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert!(replayed);
    assert_eq!(second, first);

    let (_, requests) = app.call(Method::GET, &path, Some(&bob), None).await;
    assert_eq!(requests.as_array().unwrap().len(), 1, "{requests}");
    let (status, orders) = app
        .send(app.builder(Method::GET, "/api/v1/agent/orders?waitSeconds=0", device))
        .await;
    assert_eq!(status, StatusCode::OK, "{orders}");
    assert_eq!(orders["orders"].as_array().unwrap().len(), 1, "{orders}");

    let report = format!(
        "/api/v1/agent/orders/{}/report",
        first["id"].as_str().unwrap()
    );
    let started = json!({"stage": "started"});
    let (status, replayed, _) = keyed(&app, device, Method::POST, &report, "r-1", &started).await;
    assert_eq!((status, replayed), (StatusCode::NO_CONTENT, false));
    let (status, replayed, _) = keyed(&app, device, Method::POST, &report, "r-1", &started).await;
    assert_eq!((status, replayed), (StatusCode::NO_CONTENT, true));
    let timeline = app.timeline(Who::Staff(&bob), id_of(&ticket)).await;
    let running = timeline
        .iter()
        .filter(|e| e["event"]["state"] == "running")
        .count();
    assert_eq!(running, 1, "{timeline:?}");
}
