//! The role × route matrix, and what a requester's device may see and do.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

/// The kinds of caller, in the order of the matrix columns.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Anonymous,
    Device,
    AgentL1,
    Supervisor,
    Admin,
}

const KINDS: [Kind; 5] = [
    Kind::Anonymous,
    Kind::Device,
    Kind::AgentL1,
    Kind::Supervisor,
    Kind::Admin,
];

/// What a row needs prepared besides a fresh ticket filed by the device's user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Attachment,
    EnrollmentToken,
    /// A snapshot uploaded by the matrix's device; `{id}` in device paths is that device.
    Snapshot,
    /// An action request on the cell's ticket, in the state the route acts on; `{id}` in
    /// action-request and order paths is its id.
    AwaitingApproval,
    AwaitingConsent,
    QueuedOrder,
    /// A device enrolled for the cell alone (removing it must not spoil later cells);
    /// `{id}` in device paths is that device.
    SpareDevice,
}

/// A real snapshot recorded by the diagnostics crate.
const SNAPSHOT: &str =
    include_str!("../../../deskside-diagnostics/tests/fixtures/debian12-vm.json");

/// Fresh state for one cell of the matrix, so cells cannot influence each other.
struct Fixture {
    ticket: i64,
    version: i64,
    attachment: Option<i64>,
    enrollment_token: Option<String>,
    alice_id: i64,
    sla: Value,
    cell: usize,
}

enum Body {
    Empty,
    Json(Value),
    File(&'static str, Vec<u8>),
}

struct Route {
    method: Method,
    /// The path as the OpenAPI document writes it; `{id}` and `{attachment_id}` are filled in.
    path: &'static str,
    query: &'static str,
    needs: &'static [Need],
    body: fn(&Fixture) -> Body,
    /// Anonymous, device user, agent L1, supervisor, admin.
    expect: [u16; 5],
}

fn empty(_: &Fixture) -> Body {
    Body::Empty
}

fn routes() -> Vec<Route> {
    use Method as M;
    vec![
        Route {
            method: M::POST,
            path: "/api/v1/auth/login",
            query: "",
            needs: &[],
            body: |_| Body::Json(json!({"username": "carol", "password": PASSWORD})),
            expect: [200, 200, 200, 200, 200],
        },
        Route {
            method: M::POST,
            path: "/api/v1/auth/logout",
            query: "",
            needs: &[],
            body: empty,
            expect: [401, 403, 204, 204, 204],
        },
        Route {
            method: M::GET,
            path: "/api/v1/auth/me",
            query: "",
            needs: &[],
            body: empty,
            expect: [401, 200, 200, 200, 200],
        },
        Route {
            method: M::POST,
            path: "/api/v1/devices/enroll",
            query: "",
            needs: &[Need::EnrollmentToken],
            body: |f| {
                Body::Json(
                    json!({"token": f.enrollment_token, "hostname": format!("ws-{}", f.cell)}),
                )
            },
            expect: [201, 201, 201, 201, 201],
        },
        Route {
            method: M::POST,
            path: "/api/v1/devices/user-sessions",
            query: "",
            needs: &[],
            body: |_| Body::Json(json!({"localUser": DEVICE_USER, "displayName": "Dana Schulz"})),
            // The device credential only: the agent vouches for its local user.
            expect: [401, 201, 403, 403, 403],
        },
        Route {
            method: M::POST,
            path: "/api/v1/enrollment-tokens",
            query: "",
            needs: &[],
            body: |_| Body::Json(json!({})),
            expect: [401, 403, 403, 201, 201],
        },
        Route {
            method: M::POST,
            path: "/api/v1/tickets",
            query: "",
            needs: &[],
            body: |_| Body::Json(printer_ticket()),
            expect: [401, 201, 201, 201, 201],
        },
        Route {
            method: M::GET,
            path: "/api/v1/tickets",
            query: "",
            needs: &[],
            body: empty,
            expect: [401, 200, 200, 200, 200],
        },
        Route {
            method: M::GET,
            path: "/api/v1/tickets/{id}",
            query: "",
            needs: &[],
            body: empty,
            expect: [401, 200, 200, 200, 200],
        },
        Route {
            method: M::PATCH,
            path: "/api/v1/tickets/{id}",
            query: "",
            needs: &[],
            body: |f| Body::Json(json!({"version": f.version, "title": "Renamed"})),
            expect: [401, 403, 200, 200, 200],
        },
        Route {
            method: M::POST,
            path: "/api/v1/tickets/{id}/assign",
            query: "",
            needs: &[],
            body: |f| Body::Json(json!({"assigneeId": f.alice_id})),
            expect: [401, 403, 200, 200, 200],
        },
        Route {
            method: M::POST,
            path: "/api/v1/tickets/{id}/escalate",
            query: "",
            needs: &[],
            body: |_| Body::Json(json!({"reason": "needs L2"})),
            expect: [401, 403, 200, 200, 200],
        },
        Route {
            method: M::POST,
            path: "/api/v1/tickets/{id}/status",
            query: "",
            needs: &[],
            body: |_| Body::Json(json!({"status": "resolved"})),
            expect: [401, 403, 200, 200, 200],
        },
        Route {
            method: M::POST,
            path: "/api/v1/tickets/{id}/priority",
            query: "",
            needs: &[],
            body: |_| Body::Json(json!({"priority": "P1", "reason": "CEO's printer"})),
            expect: [401, 403, 200, 200, 200],
        },
        Route {
            method: M::POST,
            path: "/api/v1/tickets/{id}/replies",
            query: "",
            needs: &[],
            body: |_| Body::Json(json!({"body": "Any news?"})),
            expect: [401, 200, 200, 200, 200],
        },
        Route {
            method: M::POST,
            path: "/api/v1/tickets/{id}/notes",
            query: "",
            needs: &[],
            body: |_| Body::Json(json!({"body": "internal"})),
            expect: [401, 403, 200, 200, 200],
        },
        Route {
            method: M::GET,
            path: "/api/v1/tickets/{id}/timeline",
            query: "",
            needs: &[],
            body: empty,
            expect: [401, 200, 200, 200, 200],
        },
        Route {
            method: M::POST,
            path: "/api/v1/tickets/{id}/attachments",
            query: "?fileName=notes.txt",
            needs: &[],
            body: |_| Body::File("text/plain", b"hello".to_vec()),
            expect: [401, 201, 201, 201, 201],
        },
        Route {
            method: M::GET,
            path: "/api/v1/tickets/{id}/attachments/{attachment_id}",
            query: "",
            needs: &[Need::Attachment],
            body: empty,
            expect: [401, 200, 200, 200, 200],
        },
        Route {
            method: M::GET,
            path: "/api/v1/agents",
            query: "",
            needs: &[],
            body: empty,
            expect: [401, 403, 200, 200, 200],
        },
        Route {
            method: M::POST,
            path: "/api/v1/users",
            query: "",
            needs: &[],
            body: |f| {
                Body::Json(json!({
                    "username": format!("newbie{}", f.cell),
                    "displayName": "New Bie",
                    "role": "agent",
                    "tier": "L1",
                    "password": "a long enough password"
                }))
            },
            expect: [401, 403, 403, 403, 201],
        },
        Route {
            method: M::GET,
            path: "/api/v1/sla",
            query: "",
            needs: &[],
            body: empty,
            expect: [401, 403, 200, 200, 200],
        },
        Route {
            method: M::PUT,
            path: "/api/v1/sla",
            query: "",
            needs: &[],
            body: |f| Body::Json(f.sla.clone()),
            expect: [401, 403, 403, 403, 200],
        },
        Route {
            method: M::GET,
            path: "/api/v1/sync",
            query: "?cursor=0",
            needs: &[],
            body: empty,
            expect: [401, 200, 200, 200, 200],
        },
        Route {
            method: M::GET,
            path: "/api/v1/audit",
            query: "",
            needs: &[],
            body: empty,
            expect: [401, 403, 403, 403, 200],
        },
        Route {
            method: M::GET,
            path: "/api/v1/audit/verify",
            query: "",
            needs: &[],
            body: empty,
            expect: [401, 403, 403, 403, 200],
        },
        Route {
            method: M::GET,
            path: "/api/v1/openapi.json",
            query: "",
            needs: &[],
            body: empty,
            expect: [200, 200, 200, 200, 200],
        },
        Route {
            method: M::GET,
            path: "/healthz",
            query: "",
            needs: &[],
            body: empty,
            expect: [200, 200, 200, 200, 200],
        },
        Route {
            method: M::POST,
            path: "/api/v1/agent/heartbeat",
            query: "",
            needs: &[],
            body: |_| Body::Json(json!({"agentVersion": "0.0.0"})),
            expect: [401, 200, 403, 403, 403],
        },
        Route {
            method: M::POST,
            path: "/api/v1/agent/snapshots",
            query: "",
            needs: &[],
            body: |_| Body::File("application/json", SNAPSHOT.as_bytes().to_vec()),
            expect: [401, 201, 403, 403, 403],
        },
        Route {
            method: M::GET,
            path: "/api/v1/devices",
            query: "",
            needs: &[],
            body: empty,
            expect: [401, 403, 200, 200, 200],
        },
        Route {
            method: M::GET,
            path: "/api/v1/devices/{id}",
            query: "",
            needs: &[Need::Snapshot],
            body: empty,
            expect: [401, 403, 200, 200, 200],
        },
        Route {
            method: M::GET,
            path: "/api/v1/devices/{id}/snapshots",
            query: "",
            needs: &[Need::Snapshot],
            body: empty,
            expect: [401, 403, 200, 200, 200],
        },
        Route {
            method: M::GET,
            path: "/api/v1/devices/{id}/snapshots/{snapshot_id}",
            query: "",
            needs: &[Need::Snapshot],
            body: empty,
            expect: [401, 403, 200, 200, 200],
        },
        Route {
            method: M::GET,
            path: "/api/v1/devices/{id}/diff",
            query: "?from={snapshot_id}",
            needs: &[Need::Snapshot],
            body: empty,
            expect: [401, 403, 200, 200, 200],
        },
        Route {
            method: M::GET,
            path: "/api/v1/actions/catalog",
            query: "",
            needs: &[],
            body: empty,
            expect: [401, 403, 200, 200, 200],
        },
        Route {
            method: M::POST,
            path: "/api/v1/tickets/{id}/actions",
            query: "",
            needs: &[],
            body: |_| Body::Json(json!({"action": "network.flush_dns", "params": {}})),
            expect: [401, 403, 201, 201, 201],
        },
        Route {
            method: M::GET,
            path: "/api/v1/tickets/{id}/actions",
            query: "",
            needs: &[],
            body: empty,
            expect: [401, 200, 200, 200, 200],
        },
        Route {
            method: M::GET,
            path: "/api/v1/action-requests",
            query: "",
            needs: &[],
            body: empty,
            expect: [401, 403, 200, 200, 200],
        },
        Route {
            method: M::POST,
            path: "/api/v1/action-requests/{id}/approve",
            query: "",
            needs: &[Need::AwaitingApproval],
            body: empty,
            // Requested by an L2 agent: an L1 agent may not approve it.
            expect: [401, 403, 403, 200, 200],
        },
        Route {
            method: M::POST,
            path: "/api/v1/action-requests/{id}/deny",
            query: "",
            needs: &[Need::AwaitingApproval],
            body: |_| Body::Json(json!({"reason": "not now"})),
            expect: [401, 403, 200, 200, 200],
        },
        Route {
            method: M::POST,
            path: "/api/v1/action-requests/{id}/consent",
            query: "",
            needs: &[Need::AwaitingConsent],
            body: |_| Body::Json(json!({"granted": true})),
            expect: [401, 200, 403, 403, 403],
        },
        Route {
            method: M::GET,
            path: "/api/v1/agent/orders",
            query: "?waitSeconds=0",
            needs: &[],
            body: empty,
            expect: [401, 200, 403, 403, 403],
        },
        Route {
            method: M::POST,
            path: "/api/v1/agent/orders/{id}/report",
            query: "",
            needs: &[Need::QueuedOrder],
            body: |_| Body::Json(json!({"stage": "started"})),
            expect: [401, 204, 403, 403, 403],
        },
        Route {
            method: M::DELETE,
            path: "/api/v1/devices/{id}",
            query: "",
            needs: &[Need::SpareDevice],
            body: empty,
            expect: [401, 403, 403, 204, 204],
        },
    ]
}

const DEVICE_USER: &str = "dana";

#[tokio::test]
async fn every_route_for_every_kind_of_caller() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let credential = app.enroll_device(&admin, "ws-matrix").await;
    let alice_id = app.staff_id(&admin, "alice").await;
    let (_, sla) = app
        .call(Method::GET, "/api/v1/sla", Some(&admin), None)
        .await;
    let device = Who::Device {
        credential: &credential,
        user: DEVICE_USER,
    };
    let (_, me) = app
        .send(app.builder(Method::GET, "/api/v1/auth/me", device))
        .await;
    let device_id = me["device"]["id"].as_str().unwrap().to_owned();

    // The matrix covers every route the API documents.
    let (_, doc) = app
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    let table = routes();
    let covered: BTreeSet<(String, String)> = table
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_owned()))
        .collect();
    let missing: Vec<_> = documented.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the matrix: {missing:?}"
    );

    let mut failures = Vec::new();
    let mut cell = 0;
    for route in &table {
        for (kind, expected) in KINDS.iter().zip(route.expect) {
            cell += 1;
            // A fresh ticket filed by the device's user, so the device may act on it.
            let ticket = app
                .send(
                    app.builder(Method::POST, "/api/v1/tickets", device)
                        .json(&printer_ticket()),
                )
                .await
                .1;
            let ticket_id = id_of(&ticket);
            let attachment = if route.needs.contains(&Need::Attachment) {
                let (status, meta) = app
                    .send(
                        app.builder(
                            Method::POST,
                            &format!("/api/v1/tickets/{ticket_id}/attachments?fileName=a.txt"),
                            Who::Staff(&admin),
                        )
                        .header("content-type", "text/plain")
                        .body("attached"),
                    )
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{meta}");
                meta["id"].as_i64()
            } else {
                None
            };
            let snapshot = if route.needs.contains(&Need::Snapshot) {
                let (status, receipt) = app
                    .send(
                        app.builder(Method::POST, "/api/v1/agent/snapshots", device)
                            .header("content-type", "application/json")
                            .body(SNAPSHOT),
                    )
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{receipt}");
                receipt["snapshot"]["id"].as_i64()
            } else {
                None
            };
            let request_as = |who: &'static str, body: Value| {
                let app = &app;
                async move {
                    let token = app.login(who).await;
                    let (status, request) = app
                        .call(
                            Method::POST,
                            &format!("/api/v1/tickets/{ticket_id}/actions"),
                            Some(&token),
                            Some(body),
                        )
                        .await;
                    assert_eq!(status, StatusCode::CREATED, "{request}");
                    request["id"].as_str().unwrap().to_owned()
                }
            };
            let action_request = if route.needs.contains(&Need::AwaitingApproval) {
                Some(
                    request_as(
                        "bob",
                        json!({"action": "process.kill", "params": {"pid": 4242}}),
                    )
                    .await,
                )
            } else if route.needs.contains(&Need::AwaitingConsent) {
                Some(
                    request_as(
                        "bob",
                        json!({"action": "account.reset_password", "params": {"username": DEVICE_USER}}),
                    )
                    .await,
                )
            } else if route.needs.contains(&Need::QueuedOrder) {
                Some(request_as("bob", json!({"action": "network.flush_dns", "params": {}})).await)
            } else {
                None
            };
            let enrollment_token = if route.needs.contains(&Need::EnrollmentToken) {
                let (_, issued) = app
                    .call(
                        Method::POST,
                        "/api/v1/enrollment-tokens",
                        Some(&admin),
                        Some(json!({})),
                    )
                    .await;
                issued["token"].as_str().map(str::to_owned)
            } else {
                None
            };
            let fixture = Fixture {
                ticket: ticket_id,
                version: app.ticket(Who::Staff(&admin), ticket_id).await["version"]
                    .as_i64()
                    .unwrap(),
                attachment,
                enrollment_token,
                alice_id,
                sla: sla.clone(),
                cell,
            };
            // Staff sign in afresh for every cell: logout must not spoil later cells.
            let token = match kind {
                Kind::AgentL1 => Some(app.login("alice").await),
                Kind::Supervisor => Some(app.login("sam").await),
                Kind::Admin => Some(app.login("admin").await),
                Kind::Anonymous | Kind::Device => None,
            };
            let who = match kind {
                Kind::Anonymous => Who::Anonymous,
                Kind::Device => device,
                _ => Who::Staff(token.as_deref().unwrap()),
            };
            let subject = if route.needs.contains(&Need::SpareDevice) {
                let spare = app.enroll_device(&admin, "ws-spare").await;
                let (_, me) = app
                    .send(app.builder(
                        Method::GET,
                        "/api/v1/auth/me",
                        Who::Device {
                            credential: &spare,
                            user: DEVICE_USER,
                        },
                    ))
                    .await;
                me["device"]["id"].as_str().unwrap().to_owned()
            } else if route.path.starts_with("/api/v1/devices/{id}") {
                device_id.clone()
            } else if let Some(request) = &action_request {
                request.clone()
            } else {
                fixture.ticket.to_string()
            };
            let path = (route.path.to_owned() + route.query)
                .replace("{id}", &subject)
                .replace(
                    "{attachment_id}",
                    &fixture.attachment.unwrap_or(0).to_string(),
                )
                .replace("{snapshot_id}", &snapshot.unwrap_or(0).to_string());
            let mut request = app.builder(route.method.clone(), &path, who);
            request = match (route.body)(&fixture) {
                Body::Empty => request,
                Body::Json(value) => request.json(&value),
                Body::File(content_type, bytes) => {
                    request.header("content-type", content_type).body(bytes)
                }
            };
            let (status, body) = app.send(request).await;
            if status.as_u16() != expected {
                failures.push(format!(
                    "{} {} as {kind:?}: expected {expected}, got {status}: {body}",
                    route.method, route.path
                ));
                continue;
            }
            let expected_code = match expected {
                401 => Some("unauthorized"),
                403 => Some("forbidden"),
                _ => None,
            };
            if let Some(code) = expected_code
                && (body["code"] != code || !body["message"].is_string())
            {
                failures.push(format!(
                    "{} {} as {kind:?}: error body without code {code}: {body}",
                    route.method, route.path
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_device_user_sees_and_touches_only_their_own_tickets() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let front_desk = app.enroll_device(&admin, "ws-front-desk").await;
    let lab = app.enroll_device(&admin, "ws-lab").await;
    let dana = Who::Device {
        credential: &front_desk,
        user: "dana",
    };
    // Another person signed in on the same machine.
    let eve = Who::Device {
        credential: &front_desk,
        user: "eve",
    };
    // Someone with the same username on another machine.
    let dana_elsewhere = Who::Device {
        credential: &lab,
        user: "dana",
    };

    let create = |who: Who<'_>, title: &str| {
        let mut body = printer_ticket();
        body["title"] = json!(title);
        app.send(
            app.builder(Method::POST, "/api/v1/tickets", who)
                .json(&body),
        )
    };
    let (status, own) = create(dana, "Dana's printer").await;
    assert_eq!(status, StatusCode::CREATED, "{own}");
    let own_id = id_of(&own);
    let (_, eves) = create(eve, "Eve's printer").await;
    let (_, lab_ticket) = create(dana_elsewhere, "Lab printer").await;
    let staff_ticket = app.create_ticket(&alice, printer_ticket()).await;

    // Staff see everything; each device user only their own.
    assert_eq!(app.list_ids(Who::Staff(&alice), "").await.len(), 4);
    assert_eq!(app.list_ids(dana, "").await, vec![own_id]);
    assert_eq!(app.list_ids(eve, "").await, vec![id_of(&eves)]);
    assert_eq!(
        app.list_ids(dana_elsewhere, "").await,
        vec![id_of(&lab_ticket)]
    );
    // Account names are case-sensitive: `DANA` is another account on that machine.
    let shouting = Who::Device {
        credential: &front_desk,
        user: "DANA",
    };
    assert_eq!(app.list_ids(shouting, "").await, Vec::<i64>::new());
    let (status, body) = app
        .call_as(
            Method::GET,
            &format!("/api/v1/tickets/{own_id}"),
            shouting,
            None,
        )
        .await;
    assert_error((status, &body), StatusCode::NOT_FOUND, "not_found");
    // Filters cannot widen the scope.
    assert_eq!(
        app.list_ids(dana, "&requester=Dana%20Schulz").await,
        vec![own_id]
    );
    assert_eq!(app.list_ids(dana, "&q=printer").await, vec![own_id]);
    let (status, body) = app
        .call_as(Method::GET, "/api/v1/tickets?assignee=me", dana, None)
        .await;
    assert_error((status, &body), StatusCode::FORBIDDEN, "forbidden");

    // Every other ticket is "not found", whatever the request.
    for other in [
        id_of(&eves),
        id_of(&lab_ticket),
        id_of(&staff_ticket),
        999_999,
    ] {
        let requests: Vec<(Method, String, Option<Value>)> = vec![
            (Method::GET, format!("/api/v1/tickets/{other}"), None),
            (
                Method::GET,
                format!("/api/v1/tickets/{other}/timeline"),
                None,
            ),
            (
                Method::POST,
                format!("/api/v1/tickets/{other}/replies"),
                Some(json!({"body": "me too"})),
            ),
            (
                Method::POST,
                format!("/api/v1/tickets/{other}/status"),
                Some(json!({"status": "closed"})),
            ),
            (
                Method::GET,
                format!("/api/v1/tickets/{other}/attachments/1"),
                None,
            ),
        ];
        for (method, path, body) in requests {
            let (status, answer) = app.call_as(method.clone(), &path, dana, body).await;
            assert_error((status, &answer), StatusCode::NOT_FOUND, "not_found");
        }
        let (status, answer) = app
            .send(
                app.builder(
                    Method::POST,
                    &format!("/api/v1/tickets/{other}/attachments?fileName=x.txt"),
                    dana,
                )
                .header("content-type", "text/plain")
                .body("x"),
            )
            .await;
        assert_error((status, &answer), StatusCode::NOT_FOUND, "not_found");
    }

    // Staff talk on Dana's ticket, publicly and internally.
    app.act(
        Who::Staff(&alice),
        own_id,
        "notes",
        json!({"body": "Probably the fuser again; user is impatient."}),
    )
    .await;
    app.act(
        Who::Staff(&alice),
        own_id,
        "replies",
        json!({"body": "We are on our way."}),
    )
    .await;
    let alice_id = app.staff_id(&alice, "alice").await;
    app.act(
        Who::Staff(&alice),
        own_id,
        "assign",
        json!({"assigneeId": alice_id}),
    )
    .await;

    let staff_view = app.timeline(Who::Staff(&alice), own_id).await;
    let types = event_types(&staff_view);
    assert!(types.contains(&"internal_note".to_owned()), "{types:?}");
    assert!(types.contains(&"assigned".to_owned()), "{types:?}");
    let own_view = app.timeline(dana, own_id).await;
    assert!(!own_view.is_empty());
    for event in &own_view {
        assert_eq!(event["visibility"], "public", "{event}");
        assert!(
            !event.to_string().contains("fuser"),
            "internal text leaked: {event}"
        );
    }
    assert!(event_types(&own_view).contains(&"public_reply".to_owned()));

    let (status, body) = app
        .call_as(Method::GET, "/api/v1/sync?cursor=0", dana, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let synced: Vec<i64> = body["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(synced, vec![own_id]);
    for event in body["events"].as_array().unwrap() {
        assert_eq!(event["visibility"], "public", "{event}");
        assert_eq!(event["ticketId"], own_id, "{event}");
    }
    assert!(!body.to_string().contains("fuser"), "{body}");

    // What a requester may and may not do on their own ticket.
    let (status, body) = app
        .call_as(
            Method::POST,
            &format!("/api/v1/tickets/{own_id}/notes"),
            dana,
            Some(json!({"body": "psst"})),
        )
        .await;
    assert_error((status, &body), StatusCode::FORBIDDEN, "forbidden");
    let replied = app
        .act(
            dana,
            own_id,
            "replies",
            json!({"body": "Thanks, it is urgent."}),
        )
        .await;
    assert_eq!(replied["status"], "open");
    let (status, body) = app
        .call_as(
            Method::POST,
            &format!("/api/v1/tickets/{own_id}/status"),
            dana,
            Some(json!({"status": "resolved"})),
        )
        .await;
    assert_error((status, &body), StatusCode::FORBIDDEN, "forbidden");
    for (action, body) in [
        ("escalate", json!({"reason": "faster please"})),
        ("priority", json!({"priority": "P1", "reason": "urgent"})),
        ("assign", json!({"assigneeId": null})),
    ] {
        let (status, answer) = app
            .call_as(
                Method::POST,
                &format!("/api/v1/tickets/{own_id}/{action}"),
                dana,
                Some(body),
            )
            .await;
        assert_error((status, &answer), StatusCode::FORBIDDEN, "forbidden");
    }
    let version = app.ticket(dana, own_id).await["version"].clone();
    let (status, body) = app
        .call_as(
            Method::PATCH,
            &format!("/api/v1/tickets/{own_id}"),
            dana,
            Some(json!({"version": version, "title": "mine now"})),
        )
        .await;
    assert_error((status, &body), StatusCode::FORBIDDEN, "forbidden");

    // Staff resolve; the user says it is not fixed, then confirms the second fix.
    app.move_status(Who::Staff(&alice), own_id, "resolved")
        .await;
    let reopened = app.move_status(dana, own_id, "open").await;
    assert_eq!(reopened["status"], "open");
    app.move_status(Who::Staff(&alice), own_id, "resolved")
        .await;
    let closed = app.move_status(dana, own_id, "closed").await;
    assert_eq!(closed["status"], "closed");
    // A closed ticket is reopened by a supervisor, not by the user.
    let (status, body) = app
        .call_as(
            Method::POST,
            &format!("/api/v1/tickets/{own_id}/status"),
            dana,
            Some(json!({"status": "open"})),
        )
        .await;
    assert_error((status, &body), StatusCode::FORBIDDEN, "forbidden");
}
