//! Every write route the API documents, walked from the OpenAPI document: a retry with the
//! same `Idempotency-Key` gets the first answer and changes nothing (a short list of routes
//! is exempt, each with its reason), and a field the route does not know is refused with a
//! 422 naming it (the agent protocol excepted: a newer agent may report more).

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

/// A real snapshot recorded by the diagnostics crate.
const SNAPSHOT: &str =
    include_str!("../../../deskside-diagnostics/tests/fixtures/debian12-vm.json");
const DEVICE_USER: &str = "dana";

/// Routes a key does not make retry-safe, and why that is right for each.
const EXEMPT: &[(&str, &str, &str)] = &[
    (
        "POST",
        "/api/v1/auth/login",
        "answers with a new session token, a secret never stored in clear: a retry signs in again",
    ),
    (
        "POST",
        "/api/v1/auth/logout",
        "ends the very session the request is signed with: a retry is a 401 and nothing happens twice",
    ),
    (
        "POST",
        "/api/v1/devices/enroll",
        "answers with the device credential, a secret never stored in clear; the one-time token refuses a second enrollment",
    ),
    (
        "POST",
        "/api/v1/devices/user-sessions",
        "answers with a requester session token, a secret never stored in clear",
    ),
    (
        "POST",
        "/api/v1/enrollment-tokens",
        "answers with a one-time enrollment token, a secret never stored in clear; an unused one expires",
    ),
    (
        "POST",
        "/api/v1/agent/heartbeat",
        "changes only the device's last-seen time, the same on a retry; its answer is the server's current time, which a stored answer would falsify",
    ),
];

/// Who sends a case's request (owned, so a case outlives the fixture that made it).
#[derive(Clone)]
enum Sender {
    Anonymous,
    Staff(String),
    /// The enrolled device: its agent, or its signed-in local user.
    Device(String),
}

enum Body {
    Empty,
    Json(Value),
    File(&'static str, Vec<u8>),
}

/// One concrete request on a route, prepared on fresh state.
struct Case {
    sender: Sender,
    path: String,
    body: Body,
    /// Another request on the route, to send with the same key: refused.
    other: (String, Body),
    /// Fields to add one at a time (dotted paths into the JSON body) that must be refused.
    unknown: &'static [&'static str],
    /// The agent reporting on its machine: fields it adds are accepted.
    agent_protocol: bool,
}

struct World {
    app: TestApp,
    admin: String,
    alice: String,
    bob: String,
    carol: String,
    alice_id: i64,
    device: String,
    sla: Value,
}

impl World {
    async fn new() -> World {
        let app = spawn_app().await;
        let admin = app.login("admin").await;
        let device = app.enroll_device(&admin, "ws-mutations").await;
        let alice_id = app.staff_id(&admin, "alice").await;
        let (_, sla) = app
            .call(Method::GET, "/api/v1/sla", Some(&admin), None)
            .await;
        World {
            alice: app.login("alice").await,
            bob: app.login("bob").await,
            carol: app.login("carol").await,
            app,
            admin,
            alice_id,
            device,
            sla,
        }
    }

    fn who<'a>(&'a self, sender: &'a Sender) -> Who<'a> {
        match sender {
            Sender::Anonymous => Who::Anonymous,
            Sender::Staff(token) => Who::Staff(token),
            Sender::Device(credential) => Who::Device {
                credential,
                user: DEVICE_USER,
            },
        }
    }

    fn device_user(&self) -> Who<'_> {
        Who::Device {
            credential: &self.device,
            user: DEVICE_USER,
        }
    }

    /// A fresh ticket filed by the device's user, so actions can run on its device.
    async fn ticket(&self) -> i64 {
        let (status, ticket) = self
            .app
            .send(
                self.app
                    .builder(Method::POST, "/api/v1/tickets", self.device_user())
                    .json(&printer_ticket()),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ticket}");
        id_of(&ticket)
    }

    /// An action request by bob (L2) on a fresh ticket; returns its id.
    async fn action_request(&self, body: Value) -> String {
        let ticket = self.ticket().await;
        let (status, request) = self
            .app
            .call(
                Method::POST,
                &format!("/api/v1/tickets/{ticket}/actions"),
                Some(&self.bob),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{request}");
        request["id"].as_str().unwrap().to_owned()
    }

    async fn awaiting_approval(&self) -> String {
        self.action_request(json!({"action": "process.kill", "params": {"pid": 4242}}))
            .await
    }

    async fn awaiting_consent(&self) -> String {
        self.action_request(json!({
            "action": "account.reset_password",
            "params": {"username": DEVICE_USER}
        }))
        .await
    }

    async fn queued_order(&self) -> String {
        self.action_request(json!({"action": "network.flush_dns", "params": {}}))
            .await
    }

    async fn enrolled_device_id(&self, hostname: &str) -> String {
        let enrolled = self.app.enroll(&self.admin, hostname).await;
        enrolled["deviceId"].as_str().unwrap().to_owned()
    }

    async fn enrollment_token(&self) -> String {
        let (_, issued) = self
            .app
            .call(
                Method::POST,
                "/api/v1/enrollment-tokens",
                Some(&self.admin),
                Some(json!({})),
            )
            .await;
        issued["token"].as_str().unwrap().to_owned()
    }

    /// A request on `path` as the OpenAPI document names it, on fresh state.
    async fn case(&self, method: &str, path: &str) -> Case {
        let staff = |token: &String| Sender::Staff(token.clone());
        let device = Sender::Device(self.device.clone());
        let json_case = |sender: Sender, path: String, body: Value, other: Value| Case {
            sender,
            other: (path.clone(), Body::Json(other)),
            path,
            body: Body::Json(body),
            unknown: &["bogusField"],
            agent_protocol: false,
        };
        let on_ticket = |id: i64, tail: &str| format!("/api/v1/tickets/{id}{tail}");
        match (method, path) {
            ("POST", "/api/v1/auth/login") => json_case(
                Sender::Anonymous,
                path.to_owned(),
                json!({"username": "carol", "password": PASSWORD}),
                json!({"username": "bob", "password": PASSWORD}),
            ),
            ("POST", "/api/v1/auth/logout") => {
                let token = self.app.login("sam").await;
                Case {
                    sender: Sender::Staff(token),
                    path: path.to_owned(),
                    body: Body::Empty,
                    other: (path.to_owned(), Body::Empty),
                    unknown: &[],
                    agent_protocol: false,
                }
            }
            ("POST", "/api/v1/devices/enroll") => json_case(
                Sender::Anonymous,
                path.to_owned(),
                json!({"token": self.enrollment_token().await, "hostname": "ws-new"}),
                json!({"token": self.enrollment_token().await, "hostname": "ws-other"}),
            ),
            ("POST", "/api/v1/devices/user-sessions") => json_case(
                device,
                path.to_owned(),
                json!({"localUser": DEVICE_USER, "displayName": "Dana Schulz"}),
                json!({"localUser": "erin"}),
            ),
            ("POST", "/api/v1/enrollment-tokens") => json_case(
                staff(&self.admin),
                path.to_owned(),
                json!({}),
                json!({"expiresInHours": 2}),
            ),
            ("POST", "/api/v1/tickets") => {
                let mut other = printer_ticket();
                other["title"] = json!("Another problem entirely");
                Case {
                    unknown: &["descripton", "requester.nickname"],
                    ..json_case(staff(&self.alice), path.to_owned(), printer_ticket(), other)
                }
            }
            ("PATCH", "/api/v1/tickets/{id}") => {
                let id = self.ticket().await;
                let version = self.app.ticket(Who::Staff(&self.alice), id).await["version"].clone();
                Case {
                    unknown: &["titel"],
                    ..json_case(
                        staff(&self.alice),
                        on_ticket(id, ""),
                        json!({"version": version, "title": "Renamed"}),
                        json!({"version": version, "title": "Renamed again"}),
                    )
                }
            }
            ("POST", "/api/v1/tickets/{id}/assign") => json_case(
                staff(&self.alice),
                on_ticket(self.ticket().await, "/assign"),
                json!({"assigneeId": self.alice_id}),
                json!({"assigneeId": null}),
            ),
            ("POST", "/api/v1/tickets/{id}/escalate") => json_case(
                staff(&self.alice),
                on_ticket(self.ticket().await, "/escalate"),
                json!({"reason": "needs L2"}),
                json!({"reason": "needs L3"}),
            ),
            ("POST", "/api/v1/tickets/{id}/status") => json_case(
                staff(&self.alice),
                on_ticket(self.ticket().await, "/status"),
                json!({"status": "resolved"}),
                json!({"status": "closed"}),
            ),
            ("POST", "/api/v1/tickets/{id}/priority") => json_case(
                staff(&self.alice),
                on_ticket(self.ticket().await, "/priority"),
                json!({"priority": "P1", "reason": "CEO's printer"}),
                json!({"priority": "P2", "reason": "CEO's printer"}),
            ),
            ("POST", "/api/v1/tickets/{id}/replies") => json_case(
                staff(&self.alice),
                on_ticket(self.ticket().await, "/replies"),
                json!({"body": "Any news?"}),
                json!({"body": "Other news?"}),
            ),
            ("POST", "/api/v1/tickets/{id}/notes") => json_case(
                staff(&self.alice),
                on_ticket(self.ticket().await, "/notes"),
                json!({"body": "internal"}),
                json!({"body": "more internal"}),
            ),
            ("POST", "/api/v1/tickets/{id}/attachments") => {
                let path = on_ticket(self.ticket().await, "/attachments?fileName=notes.txt");
                Case {
                    sender: staff(&self.alice),
                    other: (path.clone(), Body::File("text/plain", b"other".to_vec())),
                    path,
                    body: Body::File("text/plain", b"hello".to_vec()),
                    unknown: &[],
                    agent_protocol: false,
                }
            }
            ("POST", "/api/v1/users") => {
                let user = |name: &str| {
                    json!({
                        "username": name,
                        "displayName": "New Bie",
                        "role": "agent",
                        "tier": "L1",
                        "password": "a long enough password"
                    })
                };
                let name = format!("newbie{}", unique_suffix());
                json_case(
                    staff(&self.admin),
                    path.to_owned(),
                    user(&name),
                    user(&format!("{name}x")),
                )
            }
            ("PUT", "/api/v1/sla") => {
                let mut other = self.sla.clone();
                other["atRiskPercent"] = json!(60);
                Case {
                    unknown: &["bogusField", "calendar.timeZon"],
                    ..json_case(staff(&self.admin), path.to_owned(), self.sla.clone(), other)
                }
            }
            ("POST", "/api/v1/agent/heartbeat") => Case {
                agent_protocol: true,
                unknown: &["uptimeSecs"],
                ..json_case(
                    device,
                    path.to_owned(),
                    json!({"agentVersion": "0.0.0"}),
                    json!({"agentVersion": "0.0.1"}),
                )
            },
            ("POST", "/api/v1/agent/snapshots") => {
                let snapshot: Value = serde_json::from_str(SNAPSHOT).unwrap();
                let mut other = snapshot.clone();
                other["collectedAt"] = json!("2026-03-02T08:00:00Z");
                Case {
                    agent_protocol: true,
                    unknown: &["batteryHealth", "system.available.secureBoot"],
                    ..json_case(device, path.to_owned(), snapshot, other)
                }
            }
            ("POST", "/api/v1/tickets/{id}/actions") => {
                let path = on_ticket(self.ticket().await, "/actions");
                Case {
                    unknown: &["reason"],
                    ..json_case(
                        staff(&self.bob),
                        path,
                        json!({"action": "network.flush_dns", "params": {}}),
                        json!({"action": "process.kill", "params": {"pid": 4242}}),
                    )
                }
            }
            ("POST", "/api/v1/action-requests/{id}/approve") => {
                let approve = |id: String| format!("/api/v1/action-requests/{id}/approve");
                Case {
                    sender: staff(&self.carol),
                    path: approve(self.awaiting_approval().await),
                    body: Body::Empty,
                    other: (approve(self.awaiting_approval().await), Body::Empty),
                    unknown: &[],
                    agent_protocol: false,
                }
            }
            ("POST", "/api/v1/action-requests/{id}/deny") => json_case(
                staff(&self.carol),
                format!(
                    "/api/v1/action-requests/{}/deny",
                    self.awaiting_approval().await
                ),
                json!({"reason": "not now"}),
                json!({"reason": "not ever"}),
            ),
            ("POST", "/api/v1/action-requests/{id}/consent") => json_case(
                device,
                format!(
                    "/api/v1/action-requests/{}/consent",
                    self.awaiting_consent().await
                ),
                json!({"granted": true}),
                json!({"granted": false}),
            ),
            ("POST", "/api/v1/agent/orders/{id}/report") => Case {
                agent_protocol: true,
                unknown: &["progressPercent"],
                ..json_case(
                    device,
                    format!("/api/v1/agent/orders/{}/report", self.queued_order().await),
                    json!({"stage": "started"}),
                    json!({"stage": "rejected", "rejection": {"code": "policy", "message": "no"}}),
                )
            },
            ("DELETE", "/api/v1/devices/{id}") => {
                let remove = |id: String| format!("/api/v1/devices/{id}");
                Case {
                    sender: staff(&self.admin),
                    path: remove(self.enrolled_device_id("ws-retired").await),
                    body: Body::Empty,
                    other: (
                        remove(self.enrolled_device_id("ws-other").await),
                        Body::Empty,
                    ),
                    unknown: &[],
                    agent_protocol: false,
                }
            }
            _ => panic!(
                "{method} {path} is a write route this test does not know: add a case \
                 (and decide whether a key makes it retry-safe)"
            ),
        }
    }

    /// Sends `body` to `path` as `sender`, with `key` when given: status, replay header, body.
    async fn send(
        &self,
        method: &str,
        sender: &Sender,
        path: &str,
        body: &Body,
        key: Option<&str>,
    ) -> (StatusCode, bool, Value) {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.app.builder(method, path, self.who(sender));
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        request = match body {
            Body::Empty => request,
            Body::Json(value) => request.json(value),
            Body::File(content_type, bytes) => request
                .header("content-type", *content_type)
                .body(bytes.clone()),
        };
        let response = request.send().await.expect("request sent");
        let replayed = response.headers().get("idempotent-replayed").is_some();
        let (status, body) = read(response).await;
        (status, replayed, body)
    }

    /// What every write leaves behind, read straight from the database.
    fn effects(&self) -> Vec<String> {
        let counts = [
            "SELECT count(*) FROM audit_log",
            "SELECT count(*) FROM events",
            "SELECT count(*) FROM tickets",
            "SELECT coalesce(sum(version), 0) FROM tickets",
            "SELECT count(*) FROM attachments",
            "SELECT count(*) FROM users",
            "SELECT count(*) FROM device_snapshots",
            "SELECT count(*) FROM action_requests",
            "SELECT coalesce(group_concat(id || '=' || state), '') FROM \
             (SELECT id, state FROM action_requests ORDER BY id)",
            "SELECT coalesce(group_concat(value), '') FROM settings",
        ];
        let db = self.app.database();
        counts
            .iter()
            .map(|sql| {
                db.query_row(sql, [], |row| row.get::<_, rusqlite::types::Value>(0))
                    .map(|value| format!("{sql}: {value:?}"))
                    .unwrap()
            })
            .collect()
    }

    /// Every (method, path) the OpenAPI document lists that writes.
    async fn documented_writes(&self) -> Vec<(String, String)> {
        let (_, doc) = self
            .app
            .call(Method::GET, "/api/v1/openapi.json", None, None)
            .await;
        let mut writes = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                let method = method.to_uppercase();
                if ["POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                    writes.push((method, path.clone()));
                }
            }
        }
        writes
    }
}

/// A suffix no earlier case used, so each case creates a new username.
fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed).to_string()
}

/// `body` with `field` (a dotted path) added, holding a value no route would accept.
fn with_field(body: &Value, field: &str) -> Value {
    let mut body = body.clone();
    let mut target = &mut body;
    let mut parts = field.split('.').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            target[part] = json!("surprise");
        } else {
            target = &mut target[part];
        }
    }
    body
}

#[tokio::test]
async fn every_write_route_honours_the_idempotency_key() {
    let world = World::new().await;
    let writes = world.documented_writes().await;
    let exempt: BTreeSet<(String, String)> = EXEMPT
        .iter()
        .map(|(method, path, reason)| {
            assert!(!reason.is_empty());
            ((*method).to_owned(), (*path).to_owned())
        })
        .collect();
    let documented: BTreeSet<(String, String)> = writes.iter().cloned().collect();
    let stale: Vec<_> = exempt.difference(&documented).collect();
    assert!(
        stale.is_empty(),
        "exempt routes that no longer exist: {stale:?}"
    );

    let mut failures = Vec::new();
    for (index, (method, route)) in writes.iter().enumerate() {
        if exempt.contains(&(method.clone(), route.clone())) {
            continue;
        }
        let case = world.case(method, route).await;
        let key = format!("retry-{index}");
        let name = format!("{method} {route}");
        let before = world.effects();
        let (status, replayed, first) = world
            .send(method, &case.sender, &case.path, &case.body, Some(&key))
            .await;
        if !status.is_success() || replayed {
            failures.push(format!("{name}: the first try failed: {status} {first}"));
            continue;
        }
        let once = world.effects();
        if once == before {
            failures.push(format!("{name}: the first try changed nothing"));
        }
        let (again, replayed, second) = world
            .send(method, &case.sender, &case.path, &case.body, Some(&key))
            .await;
        if again != status || second != first || !replayed {
            failures.push(format!(
                "{name}: the retry got {again} (replayed: {replayed}) {second}, \
                 not the first answer {status} {first}"
            ));
        }
        if world.effects() != once {
            failures.push(format!("{name}: the retry changed something"));
        }
        let (other_path, other_body) = &case.other;
        let (refused, _, body) = world
            .send(method, &case.sender, other_path, other_body, Some(&key))
            .await;
        if refused != StatusCode::UNPROCESSABLE_ENTITY || body["code"] != "idempotency_key_reused" {
            failures.push(format!(
                "{name}: the key reused for another request got {refused} {body}"
            ));
        }
        if world.effects() != once {
            failures.push(format!("{name}: the refused request changed something"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn unknown_fields_are_refused_except_from_the_agent_protocol() {
    let world = World::new().await;
    let mut failures = Vec::new();
    for (method, route) in world.documented_writes().await {
        let probes = world.case(&method, &route).await.unknown;
        for field in probes {
            // Fresh state for each probe: an accepted one must not spoil the next.
            let case = world.case(&method, &route).await;
            let Body::Json(body) = &case.body else {
                panic!("{method} {route}: only JSON bodies can carry a field");
            };
            let body = Body::Json(with_field(body, field));
            let (status, _, answer) = world
                .send(&method, &case.sender, &case.path, &body, None)
                .await;
            let named = error_fields(&answer).iter().any(|f| f == field);
            let ok = if case.agent_protocol {
                status.is_success()
            } else {
                status == StatusCode::UNPROCESSABLE_ENTITY
                    && answer["code"] == "validation_failed"
                    && named
            };
            if !ok {
                let wanted = if case.agent_protocol {
                    "accepted"
                } else {
                    "a 422 naming it"
                };
                failures.push(format!(
                    "{method} {route} with `{field}`: wanted {wanted}, got {status} {answer}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
