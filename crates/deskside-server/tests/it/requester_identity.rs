//! A requester is a local account on one device, named exactly as the operating system
//! names it: `DSK_U1` and `dsk_u1` are two people, and neither reaches the other's tickets
//! by any route (ticket, list, sync, timeline, reply, attachments, actions, consent).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::requester_sessions::session_for;
use crate::support::*;

#[tokio::test]
async fn accounts_differing_only_in_letter_case_are_different_requesters() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let credential = app.enroll_device(&admin, "ws-shared").await;
    let lower = session_for(&app, &credential, json!({"localUser": "dsk_u1"})).await;
    let upper = session_for(&app, &credential, json!({"localUser": "DSK_U1"})).await;

    let ticket = app.create_ticket(&lower, printer_ticket()).await;
    let id = id_of(&ticket);
    let (status, attachment) = app
        .send(
            app.builder(
                Method::POST,
                &format!("/api/v1/tickets/{id}/attachments?fileName=notes.txt"),
                Who::Session(&lower),
            )
            .header("content-type", "text/plain")
            .body("dsk_u1's notes"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{attachment}");
    let attachment_id = attachment["id"].as_i64().unwrap();
    let (status, asked) = app
        .call(
            Method::POST,
            &format!("/api/v1/tickets/{id}/actions"),
            Some(&alice),
            Some(json!({"action": "account.reset_password", "params": {"username": "dsk_u1"}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{asked}");
    assert_eq!(asked["state"], "awaiting_consent", "{asked}");
    let request_id = asked["id"].as_str().unwrap();

    // Every route answers DSK_U1 as if the ticket did not exist; the header path too.
    let by_header = Who::Device {
        credential: &credential,
        user: "DSK_U1",
    };
    for who in [Who::Session(&upper), by_header] {
        for (method, path, body) in [
            (Method::GET, format!("/api/v1/tickets/{id}"), None),
            (Method::GET, format!("/api/v1/tickets/{id}/timeline"), None),
            (Method::GET, format!("/api/v1/tickets/{id}/actions"), None),
            (
                Method::GET,
                format!("/api/v1/tickets/{id}/attachments/{attachment_id}"),
                None,
            ),
            (
                Method::POST,
                format!("/api/v1/tickets/{id}/replies"),
                Some(json!({"body": "it is me"})),
            ),
            (
                Method::POST,
                format!("/api/v1/action-requests/{request_id}/consent"),
                Some(json!({"granted": false})),
            ),
        ] {
            let (status, body) = app.call_as(method.clone(), &path, who, body).await;
            assert_error((status, &body), StatusCode::NOT_FOUND, "not_found");
        }
        assert_eq!(app.list_ids(who, "").await, Vec::<i64>::new());
        let (status, changes) = app.call_as(Method::GET, "/api/v1/sync", who, None).await;
        assert_eq!(status, StatusCode::OK, "{changes}");
        assert_eq!(changes["tickets"], json!([]), "{changes}");
        assert_eq!(changes["events"], json!([]), "{changes}");
    }
    // Nor can DSK_U1 file a ticket in dsk_u1's name.
    let mut body = printer_ticket();
    body["requester"]["username"] = json!("dsk_u1");
    let (status, refused) = app
        .call(Method::POST, "/api/v1/tickets", Some(&upper), Some(body))
        .await;
    assert_field_error((status, &refused), "requester.username");

    // The account itself still has all of it, and the consent request waits untouched.
    assert_eq!(app.list_ids(Who::Session(&lower), "").await, vec![id]);
    let (status, changes) = app
        .call(Method::GET, "/api/v1/sync", Some(&lower), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{changes}");
    assert_eq!(changes["tickets"].as_array().unwrap().len(), 1, "{changes}");
    let (status, consented) = app
        .call(
            Method::POST,
            &format!("/api/v1/action-requests/{request_id}/consent"),
            Some(&lower),
            Some(json!({"granted": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{consented}");
    assert_eq!(consented["state"], "queued", "{consented}");
    let timeline = app.timeline(Who::Session(&lower), id).await;
    assert!(
        !event_types(&timeline).contains(&"public_reply".to_owned()),
        "DSK_U1's reply must not have landed: {timeline:?}"
    );

    // Staff searching by requester still find the ticket whatever the letter case.
    assert_eq!(
        app.list_ids(Who::Staff(&alice), "&requester=DSK_U1").await,
        vec![id]
    );
}
