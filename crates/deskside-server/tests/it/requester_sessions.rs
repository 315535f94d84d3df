//! Requester sessions: a device's agent vouches for its signed-in local user, and the token
//! it gets back makes the caller that user on that device, and nothing more.

use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

const ISSUE: &str = "/api/v1/devices/user-sessions";

/// Issues a requester session with the device credential; returns status and body.
async fn issue(app: &TestApp, credential: &str, body: Value) -> (StatusCode, Value) {
    app.call(Method::POST, ISSUE, Some(credential), Some(body))
        .await
}

/// A fresh requester session token for `local_user` on the device behind `credential`.
pub(crate) async fn session_for(app: &TestApp, credential: &str, body: Value) -> String {
    let (status, issued) = issue(app, credential, body).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    issued["token"].as_str().expect("token").to_owned()
}

#[tokio::test]
async fn a_device_issues_a_session_that_files_and_lists_as_its_local_user() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let credential = app.enroll_device(&admin, "ws-floor2-07").await;

    let (status, issued) = issue(
        &app,
        &credential,
        json!({"localUser": "alice", "displayName": "Alice Example"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let token = issued["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("dsr_") && token.len() > 40, "{token}");
    let expires_at: DateTime<Utc> = issued["expiresAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires_at, monday_morning() + Duration::days(30));

    // The token is the user on that device, whatever headers say.
    let (status, me) = app
        .send(
            app.http
                .get(app.url("/api/v1/auth/me"))
                .bearer_auth(&token)
                .header("x-deskside-local-user", "bob"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["kind"], "requester");
    assert_eq!(me["username"], "alice");
    assert_eq!(me["displayName"], "Alice Example");
    assert_eq!(me["device"]["hostname"], "ws-floor2-07");
    let device_id = me["device"]["id"].as_str().unwrap().to_owned();

    let mut body = printer_ticket();
    body["title"] = json!("Alice's printer");
    let (status, ticket) = app
        .send(
            app.http
                .post(app.url("/api/v1/tickets"))
                .bearer_auth(&token)
                .header("x-deskside-local-user", "bob")
                .json(&body),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    assert_eq!(ticket["requester"]["username"], "alice", "{ticket}");
    assert_eq!(ticket["deviceId"], device_id.as_str(), "{ticket}");
    let alices = id_of(&ticket);

    // Another user of the same machine (the device + header path still works), and a
    // session for another user: each sees only their own tickets.
    let bob = Who::Device {
        credential: &credential,
        user: "bob",
    };
    let (status, bobs) = app
        .call_as(Method::POST, "/api/v1/tickets", bob, Some(printer_ticket()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bobs}");
    let carol = session_for(&app, &credential, json!({"localUser": "carol"})).await;
    let (_, carols) = app
        .call(
            Method::POST,
            "/api/v1/tickets",
            Some(&carol),
            Some(printer_ticket()),
        )
        .await;
    assert_eq!(app.list_ids(Who::Session(&token), "").await, vec![alices]);
    assert_eq!(app.list_ids(bob, "").await, vec![id_of(&bobs)]);
    assert_eq!(
        app.list_ids(Who::Session(&carol), "").await,
        vec![id_of(&carols)]
    );
    // The device + header path sees the session's tickets as the same requester.
    let alice_by_header = Who::Device {
        credential: &credential,
        user: "alice",
    };
    assert_eq!(app.list_ids(alice_by_header, "").await, vec![alices]);
    // Without a display name, the local user's name stands in.
    let (_, me) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&carol), None)
        .await;
    assert_eq!(me["displayName"], "carol");
    let (status, other) = app
        .call(
            Method::GET,
            &format!("/api/v1/tickets/{}", id_of(&bobs)),
            Some(&token),
            None,
        )
        .await;
    assert_error((status, &other), StatusCode::NOT_FOUND, "not_found");

    // Issuance is audited; the token itself is stored only as its hash.
    let (status, audit) = app
        .call(Method::GET, "/api/v1/audit", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let issued_lines: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "device.user_session_create")
        .collect();
    assert_eq!(issued_lines.len(), 2, "{audit}");
    assert_eq!(issued_lines[0]["actor"], format!("device:{device_id}"));
    assert_eq!(
        issued_lines[0]["subject"],
        format!("device:{device_id}/alice")
    );
    assert!(!audit.to_string().contains(&token), "{audit}");
    let stored: Vec<(String, String, Option<String>)> = {
        let db = app.database();
        let mut statement = db
            .prepare(
                "SELECT token_hash, local_user, display_name FROM requester_sessions
                 ORDER BY created_at, local_user",
            )
            .unwrap();
        statement
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(stored.len(), 2);
    assert_eq!(
        stored[0].0,
        deskside_server::secrets::secret_hash(&token),
        "only the SHA-256 of the token is kept"
    );
    assert_eq!(stored[0].1, "alice");
    assert_eq!(stored[0].2.as_deref(), Some("Alice Example"));
    assert_eq!(stored[1].2, None);
}

#[tokio::test]
async fn a_requester_session_cannot_do_staff_or_device_things() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let credential = app.enroll_device(&admin, "ws-lab").await;
    let token = session_for(&app, &credential, json!({"localUser": "dana"})).await;
    let (_, ticket) = app
        .call(
            Method::POST,
            "/api/v1/tickets",
            Some(&token),
            Some(printer_ticket()),
        )
        .await;
    let id = id_of(&ticket);

    let forbidden: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/v1/agents".into(), None),
        (Method::GET, "/api/v1/devices".into(), None),
        (Method::GET, "/api/v1/audit".into(), None),
        (Method::GET, "/api/v1/sla".into(), None),
        (Method::GET, "/api/v1/action-requests".into(), None),
        (
            Method::POST,
            "/api/v1/enrollment-tokens".into(),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/api/v1/tickets/{id}/notes"),
            Some(json!({"body": "psst"})),
        ),
        (
            Method::POST,
            format!("/api/v1/tickets/{id}/escalate"),
            Some(json!({"reason": "faster"})),
        ),
        (
            Method::POST,
            format!("/api/v1/tickets/{id}/status"),
            Some(json!({"status": "resolved"})),
        ),
        // Nor may it speak for the machine: these need the device credential itself.
        (
            Method::POST,
            "/api/v1/agent/heartbeat".into(),
            Some(json!({})),
        ),
        (
            Method::GET,
            "/api/v1/agent/orders?waitSeconds=0".into(),
            None,
        ),
        (
            Method::POST,
            ISSUE.into(),
            Some(json!({"localUser": "root"})),
        ),
    ];
    for (method, path, body) in forbidden {
        let (status, answer) = app.call(method.clone(), &path, Some(&token), body).await;
        assert_error((status, &answer), StatusCode::FORBIDDEN, "forbidden");
    }
    // What a requester may do still works.
    let replied = app
        .act(
            Who::Session(&token),
            id,
            "replies",
            json!({"body": "Any news?"}),
        )
        .await;
    assert_eq!(replied["id"], id);
}

#[tokio::test]
async fn a_requester_session_expires_after_thirty_days() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let credential = app.enroll_device(&admin, "ws-lab").await;
    let token = session_for(&app, &credential, json!({"localUser": "dana"})).await;
    let me = || app.call(Method::GET, "/api/v1/auth/me", Some(&token), None);
    assert_eq!(me().await.0, StatusCode::OK);

    app.clock.advance(Duration::days(30) - Duration::seconds(1));
    let (status, body) = me().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.clock.advance(Duration::seconds(1));
    let (status, body) = me().await;
    assert_error((status, &body), StatusCode::UNAUTHORIZED, "unauthorized");
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/tickets",
            Some(&token),
            Some(printer_ticket()),
        )
        .await;
    assert_error((status, &body), StatusCode::UNAUTHORIZED, "unauthorized");

    // The device gets a new one for the user at once; the old one stays dead.
    let fresh = session_for(&app, &credential, json!({"localUser": "dana"})).await;
    assert_ne!(fresh, token);
    let (status, body) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&fresh), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(me().await.0, StatusCode::UNAUTHORIZED);
    // An expired session is swept when a new one is stored.
    let rows: i64 = app
        .database()
        .query_row("SELECT count(*) FROM requester_sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1);
}

#[tokio::test]
async fn user_session_requests_are_validated_field_by_field() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let credential = app.enroll_device(&admin, "ws-lab").await;

    let cases = [
        (json!({}), "localUser"),
        (json!({"localUser": ""}), "localUser"),
        (json!({"localUser": "   "}), "localUser"),
        (json!({"localUser": "a".repeat(65)}), "localUser"),
        (json!({"localUser": "ali\nce"}), "localUser"),
        (json!({"localUser": "alice\u{0}"}), "localUser"),
        (json!({"localUser": " alice"}), "localUser"),
        (json!({"localUser": 42}), "localUser"),
        (
            json!({"localUser": "alice", "displayName": "x".repeat(201)}),
            "displayName",
        ),
        (
            json!({"localUser": "alice", "displayName": "Alice\u{7}"}),
            "displayName",
        ),
        (json!({"localUser": "alice", "admin": true}), "admin"),
    ];
    for (body, field) in cases {
        let (status, answer) = issue(&app, &credential, body.clone()).await;
        assert_field_error((status, &answer), field);
        assert_eq!(
            error_fields(&answer).len(),
            1,
            "one message for {body}: {answer}"
        );
    }
    // Both fields wrong: both named.
    let (status, answer) = issue(
        &app,
        &credential,
        json!({"localUser": "", "displayName": "y".repeat(201)}),
    )
    .await;
    assert_field_error((status, &answer), "localUser");
    assert_field_error((status, &answer), "displayName");

    // The limits themselves are fine; a blank display name counts as none.
    let token = session_for(
        &app,
        &credential,
        json!({"localUser": "a".repeat(64), "displayName": "z".repeat(200)}),
    )
    .await;
    let (_, me) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&token), None)
        .await;
    assert_eq!(me["username"], "a".repeat(64));
    let token = session_for(
        &app,
        &credential,
        json!({"localUser": "émilie", "displayName": "  "}),
    )
    .await;
    let (_, me) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&token), None)
        .await;
    assert_eq!(me["displayName"], "émilie");
}

#[tokio::test]
async fn only_a_device_credential_can_issue_user_sessions() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let credential = app.enroll_device(&admin, "ws-lab").await;
    let body = json!({"localUser": "dana"});

    let (status, answer) = app
        .call(Method::POST, ISSUE, None, Some(body.clone()))
        .await;
    assert_error((status, &answer), StatusCode::UNAUTHORIZED, "unauthorized");
    for staff in ["admin", "alice"] {
        let token = app.login(staff).await;
        let (status, answer) = issue(&app, &token, body.clone()).await;
        assert_error((status, &answer), StatusCode::FORBIDDEN, "forbidden");
    }
    let (status, answer) = issue(&app, "dsd_not-a-credential-anyone-was-given", body.clone()).await;
    assert_error((status, &answer), StatusCode::UNAUTHORIZED, "unauthorized");
    let session = session_for(&app, &credential, body.clone()).await;
    let (status, answer) = issue(&app, &session, body).await;
    assert_error((status, &answer), StatusCode::FORBIDDEN, "forbidden");
}

/// The `device.user_session_create` audit lines so far.
async fn issuance_lines(app: &TestApp, admin: &str) -> Vec<Value> {
    let (status, audit) = app
        .call(Method::GET, "/api/v1/audit?limit=1000", Some(admin), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "device.user_session_create")
        .cloned()
        .collect()
}

async fn me_status(app: &TestApp, token: &str) -> StatusCode {
    app.call(Method::GET, "/api/v1/auth/me", Some(token), None)
        .await
        .0
}

#[tokio::test]
async fn a_flood_of_session_requests_mints_a_bounded_few_and_audits_only_those() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let credential = app.enroll_device(&admin, "ws-flood").await;

    // 200 at once from one device for one account, as the probe's loop did.
    let calls: Vec<_> = (0..200)
        .map(|_| {
            let request = app
                .http
                .post(app.url(ISSUE))
                .bearer_auth(&credential)
                .json(&json!({"localUser": "dana"}));
            tokio::spawn(async move { read(request.send().await.unwrap()).await })
        })
        .collect();
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.unwrap());
    }
    let issued: Vec<String> = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .map(|(_, body)| body["token"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(issued.len(), 5, "the burst allowed for one account");
    for (status, body) in answers.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_error(
            (*status, body),
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
        );
    }
    // The refusal says when to come back.
    let refused = app
        .http
        .post(app.url(ISSUE))
        .bearer_auth(&credential)
        .json(&json!({"localUser": "dana"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["retry-after"], "60");

    // One audit line per session minted, none for the refusals; at most three stay live.
    assert_eq!(issuance_lines(&app, &admin).await.len(), 5);
    let mut live = 0;
    for token in &issued {
        if me_status(&app, token).await == StatusCode::OK {
            live += 1;
        }
    }
    assert_eq!(live, 3, "issuing more revoked the oldest");
    let stored: i64 = app
        .database()
        .query_row(
            "SELECT count(*) FROM requester_sessions WHERE local_user = 'dana'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 3);

    // Another account of the same device is not held back; dana is again a minute later,
    // and the newest session then revokes her oldest live one.
    session_for(&app, &credential, json!({"localUser": "erik"})).await;
    app.clock.advance(Duration::seconds(60));
    let newest = session_for(&app, &credential, json!({"localUser": "dana"})).await;
    assert_eq!(me_status(&app, &newest).await, StatusCode::OK);
    let mut still_live = 0;
    for token in &issued {
        if me_status(&app, token).await == StatusCode::OK {
            still_live += 1;
        }
    }
    assert_eq!(still_live, 2);
    let lines = issuance_lines(&app, &admin).await;
    assert_eq!(lines.len(), 7);
    assert_eq!(lines.last().unwrap()["details"]["revokedOlder"], 1);
}

#[tokio::test]
async fn a_requester_signs_its_own_session_out() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let credential = app.enroll_device(&admin, "ws-logout").await;
    let first = session_for(&app, &credential, json!({"localUser": "dana"})).await;
    let second = session_for(&app, &credential, json!({"localUser": "dana"})).await;
    assert_eq!(me_status(&app, &first).await, StatusCode::OK);

    let (status, body) = app
        .call(Method::POST, "/api/v1/auth/logout", Some(&first), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&first), None)
        .await;
    assert_error((status, &body), StatusCode::UNAUTHORIZED, "unauthorized");
    let (status, body) = app
        .call(Method::GET, "/api/v1/tickets", Some(&first), None)
        .await;
    assert_error((status, &body), StatusCode::UNAUTHORIZED, "unauthorized");
    // Only that session: the account's other one, and the device, go on.
    assert_eq!(me_status(&app, &second).await, StatusCode::OK);
    // The device credential with a local-user header is not a session to end.
    let (status, body) = app
        .send(app.device_request(Method::POST, "/api/v1/auth/logout", &credential, "dana"))
        .await;
    assert_error((status, &body), StatusCode::FORBIDDEN, "forbidden");
    let (status, _) = app
        .send(app.device_request(Method::GET, "/api/v1/auth/me", &credential, "dana"))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn removing_a_device_revokes_its_credential_and_every_session_on_it() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let credential = app.enroll_device(&admin, "ws-retired").await;
    let other = app.enroll_device(&admin, "ws-kept").await;
    let dana = session_for(&app, &credential, json!({"localUser": "dana"})).await;
    let erik = session_for(&app, &credential, json!({"localUser": "erik"})).await;
    let kept = session_for(&app, &other, json!({"localUser": "dana"})).await;
    let ticket = app.create_ticket(&dana, printer_ticket()).await;
    // Resolved once, so the credential cache holds each of them.
    for token in [&dana, &erik, &credential] {
        let (status, _) = app
            .send(app.builder(
                Method::GET,
                "/api/v1/auth/me",
                Who::Device {
                    credential: token,
                    user: "dana",
                },
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (_, me) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&dana), None)
        .await;
    let device_id = me["device"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/devices/{device_id}");

    let (status, body) = app.call(Method::DELETE, &path, Some(&alice), None).await;
    assert_error((status, &body), StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = app.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    for token in [&dana, &erik] {
        let (status, body) = app
            .call(Method::GET, "/api/v1/auth/me", Some(token), None)
            .await;
        assert_error((status, &body), StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let (status, body) = app
        .send(app.device_request(Method::GET, "/api/v1/auth/me", &credential, "dana"))
        .await;
    assert_error((status, &body), StatusCode::UNAUTHORIZED, "unauthorized");
    let (status, body) = issue(&app, &credential, json!({"localUser": "dana"})).await;
    assert_error((status, &body), StatusCode::UNAUTHORIZED, "unauthorized");
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/agent/heartbeat",
            Some(&credential),
            Some(json!({})),
        )
        .await;
    assert_error((status, &body), StatusCode::UNAUTHORIZED, "unauthorized");
    let remaining: i64 = app
        .database()
        .query_row(
            "SELECT count(*) FROM requester_sessions WHERE device_id = ?1",
            [&device_id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(remaining, 0);

    // Out of the registry, its ticket kept; the other device untouched; removed once.
    let (_, devices) = app
        .call(Method::GET, "/api/v1/devices", Some(&alice), None)
        .await;
    assert!(!devices.to_string().contains(&device_id), "{devices}");
    let (status, body) = app.call(Method::GET, &path, Some(&alice), None).await;
    assert_error((status, &body), StatusCode::NOT_FOUND, "not_found");
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/api/v1/tickets/{}", id_of(&ticket)),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me_status(&app, &kept).await, StatusCode::OK);
    let (status, body) = app.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_error((status, &body), StatusCode::NOT_FOUND, "not_found");
    let (_, audit) = app
        .call(Method::GET, "/api/v1/audit?limit=1000", Some(&admin), None)
        .await;
    let removal: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "device.remove")
        .collect();
    assert_eq!(removal.len(), 1, "{audit}");
    assert_eq!(removal[0]["subject"], format!("device:{device_id}"));
    assert_eq!(removal[0]["details"]["revokedSessions"], 2);
}
