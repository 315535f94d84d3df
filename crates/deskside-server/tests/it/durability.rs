//! Everything acknowledged survives a restart of the server on the same data dir.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

/// What the API shows staff and the device, gathered in one comparable value.
async fn snapshot(
    app: &TestApp,
    alice: &str,
    admin: &str,
    dana: Who<'_>,
    tickets: [i64; 2],
) -> Vec<Value> {
    let mut parts: Vec<Value> = Vec::new();
    parts.push(Value::Array(app.list_all(Who::Staff(alice), "").await));
    for id in tickets {
        parts.push(Value::Array(app.timeline(Who::Staff(alice), id).await));
    }
    parts.push(Value::Array(app.list_all(dana, "").await));
    parts.push(Value::Array(app.timeline(dana, tickets[0]).await));
    for (token, path) in [
        (alice, "/api/v1/agents"),
        (alice, "/api/v1/sla"),
        (admin, "/api/v1/audit"),
        (alice, "/api/v1/tickets?q=B%C3%BCro"),
        (alice, "/api/v1/sync?cursor=0"),
    ] {
        let (status, body) = app.call(Method::GET, path, Some(token), None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        parts.push(body);
    }
    parts
}

#[tokio::test]
async fn everything_written_is_still_there_after_a_restart() {
    let mut app = spawn_app().await;
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let credential = app.enroll_device(&admin, "ws-durable").await;
    let dana = Who::Device {
        credential: &credential,
        user: "dana",
    };
    let staff = Who::Staff(&alice);

    // A bit of everything.
    let (status, user) = app
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            Some(json!({
                "username": "dave", "displayName": "Dave Dauer", "role": "agent", "tier": "L2",
                "password": "durable password 1"
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let (status, from_device) = app
        .send(
            app.builder(Method::POST, "/api/v1/tickets", dana)
                .header("idempotency-key", "outbox-1")
                .json(&printer_ticket()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{from_device}");
    let device_ticket = id_of(&from_device);
    let mut unicode = p1_ticket("Server für Büro ist weg — 服务器");
    unicode["tags"] = json!(["büro", "server"]);
    let staff_ticket = id_of(&app.create_ticket(&alice, unicode).await);
    app.act(
        staff,
        device_ticket,
        "notes",
        json!({"body": "internal: check the fuser"}),
    )
    .await;
    app.act(
        staff,
        device_ticket,
        "replies",
        json!({"body": "On my way."}),
    )
    .await;
    let dave_id = user["id"].as_i64().unwrap();
    app.act(
        staff,
        staff_ticket,
        "assign",
        json!({"assigneeId": dave_id}),
    )
    .await;
    app.act(
        staff,
        staff_ticket,
        "escalate",
        json!({"reason": "server room"}),
    )
    .await;
    app.move_status(staff, device_ticket, "resolved").await;
    let attachment_bytes: Vec<u8> = (0..=255).cycle().take(70_000).collect();
    let (status, meta) = app
        .send(
            app.builder(
                Method::POST,
                &format!("/api/v1/tickets/{staff_ticket}/attachments?fileName=dump.bin"),
                staff,
            )
            .body(attachment_bytes.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{meta}");
    let (_, mut sla) = app
        .call(Method::GET, "/api/v1/sla", Some(&admin), None)
        .await;
    sla["atRiskPercent"] = json!(80);
    sla["calendar"]["timeZone"] = json!("Europe/Berlin");
    let (status, saved) = app
        .call(Method::PUT, "/api/v1/sla", Some(&admin), Some(sla.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (_, sync_before) = app
        .call(Method::GET, "/api/v1/sync?cursor=0", Some(&alice), None)
        .await;
    let cursor_before = sync_before["cursor"].as_i64().unwrap();

    let before = snapshot(&app, &alice, &admin, dana, [device_ticket, staff_ticket]).await;

    app.restart().await;

    let after = snapshot(&app, &alice, &admin, dana, [device_ticket, staff_ticket]).await;
    assert_eq!(after, before);

    // Sessions live in the database: the old tokens and the device credential still work.
    for token in [&admin, &alice] {
        let (status, _) = app
            .call(Method::GET, "/api/v1/auth/me", Some(token), None)
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _) = app
        .call_as(Method::GET, "/api/v1/auth/me", dana, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    // The new user signs in; the attachment comes back byte for byte.
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "dave", "password": "durable password 1"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let download = app
        .builder(
            Method::GET,
            &format!(
                "/api/v1/tickets/{staff_ticket}/attachments/{}",
                meta["id"].as_i64().unwrap()
            ),
            staff,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        download.bytes().await.unwrap().as_ref(),
        attachment_bytes.as_slice()
    );
    // SLA settings are the saved ones, and apply to new tickets.
    let (_, settings) = app
        .call(Method::GET, "/api/v1/sla", Some(&alice), None)
        .await;
    assert_eq!(settings, saved);
    // An outbox retry after the restart is still recognised.
    let (status, replay) = app
        .send(
            app.builder(Method::POST, "/api/v1/tickets", dana)
                .header("idempotency-key", "outbox-1")
                .json(&printer_ticket()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(replay, from_device);

    // Sync continues from where it was: nothing new, then exactly the next change.
    let (_, nothing) = app
        .call(
            Method::GET,
            &format!("/api/v1/sync?cursor={cursor_before}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(nothing["tickets"], json!([]));
    assert_eq!(nothing["events"], json!([]));
    assert_eq!(nothing["cursor"], cursor_before);
    let new_ticket = app.create_ticket(&alice, printer_ticket()).await;
    assert!(id_of(&new_ticket) > staff_ticket, "ids continue");
    assert_eq!(new_ticket["number"], id_of(&new_ticket) + 1000);
    let (_, next) = app
        .call(
            Method::GET,
            &format!("/api/v1/sync?cursor={cursor_before}"),
            Some(&alice),
            None,
        )
        .await;
    let synced: Vec<i64> = next["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(synced, vec![id_of(&new_ticket)]);
    assert!(next["cursor"].as_i64().unwrap() > cursor_before);
    for event in next["events"].as_array().unwrap() {
        assert!(event["id"].as_i64().unwrap() > cursor_before);
    }

    // The audit chain is intact across the restart.
    let (_, report) = app
        .call(Method::GET, "/api/v1/audit/verify", Some(&admin), None)
        .await;
    assert_eq!(report["firstBroken"], Value::Null);
}

#[tokio::test]
async fn a_logout_and_an_expiry_survive_a_restart_too() {
    let mut app = spawn_app().await;
    let gone = app.login("alice").await;
    let kept = app.login("bob").await;
    let (status, _) = app
        .call(Method::POST, "/api/v1/auth/logout", Some(&gone), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.restart().await;
    let (status, _) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&gone), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&kept), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    app.clock.advance(chrono::Duration::hours(13));
    app.restart().await;
    let (status, _) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&kept), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
