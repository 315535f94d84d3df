//! Tickets over HTTP: create, read, the queue (filters, SLA-risk order, pages, search),
//! optimistic concurrency, assignment, escalation, status moves, priority overrides,
//! replies and notes, attachments.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

fn titled(title: &str) -> Value {
    let mut body = printer_ticket();
    body["title"] = json!(title);
    body
}

fn due(timer: &Value) -> Option<DateTime<Utc>> {
    timer["dueAt"].as_str().map(|t| t.parse().unwrap())
}

#[tokio::test]
async fn staff_create_tickets_for_anyone_with_the_matrix_priority() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    // (impact, urgency, priority)
    let matrix = [
        ("whole_office", "blocked", "P1"),
        ("whole_office", "degraded", "P2"),
        ("whole_office", "can_work", "P3"),
        ("team", "blocked", "P2"),
        ("team", "degraded", "P3"),
        ("team", "can_work", "P4"),
        ("one_user", "blocked", "P3"),
        ("one_user", "degraded", "P4"),
        ("one_user", "can_work", "P4"),
    ];
    let mut numbers = Vec::new();
    for (impact, urgency, priority) in matrix {
        let mut body = ticket_with(&format!("{impact} {urgency}"), impact, urgency);
        body["tags"] = json!(["Printer", "floor-2", "printer"]);
        body["requester"]["email"] = json!("dana@example.com");
        let ticket = app.create_ticket(&alice, body).await;
        assert_eq!(ticket["priority"], priority, "{impact} × {urgency}");
        assert_eq!(ticket["status"], "new");
        assert_eq!(ticket["tier"], "L1");
        assert_eq!(ticket["version"], 1);
        assert_eq!(ticket["assigneeId"], Value::Null);
        assert_eq!(ticket["deviceId"], Value::Null);
        assert_eq!(ticket["requester"]["name"], "Dana Schulz");
        assert_eq!(ticket["requester"]["email"], "dana@example.com");
        assert_eq!(
            ticket["tags"],
            json!(["printer", "floor-2"]),
            "lowercased, unique"
        );
        assert_eq!(ticket["createdAt"], "2026-03-02T09:00:00Z");
        assert!(ticket["sla"]["firstResponse"]["dueAt"].is_string());
        assert_eq!(ticket["number"], id_of(&ticket) + 1000);
        numbers.push(ticket["number"].as_i64().unwrap());
        assert_eq!(app.ticket(Who::Staff(&alice), id_of(&ticket)).await, ticket);
    }
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "{numbers:?}");

    let timeline = app.timeline(Who::Staff(&alice), numbers[0] - 1000).await;
    assert_eq!(event_types(&timeline), vec!["created"]);
    assert_eq!(timeline[0]["actor"]["name"], "Alice Meyer");
    assert_eq!(timeline[0]["actor"]["kind"], "staff");

    let (status, body) = app
        .call(Method::GET, "/api/v1/tickets/424242", Some(&alice), None)
        .await;
    assert_error((status, &body), StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn a_device_files_tickets_for_its_local_user_only() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let credential = app.enroll_device(&admin, "ws-12").await;
    let dana = Who::Device {
        credential: &credential,
        user: "dana",
    };
    let (_, me) = app
        .call_as(Method::GET, "/api/v1/auth/me", dana, None)
        .await;
    let device_id = me["device"]["id"].as_str().unwrap().to_owned();

    let (status, ticket) = app
        .call_as(
            Method::POST,
            "/api/v1/tickets",
            dana,
            Some(printer_ticket()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    assert_eq!(ticket["deviceId"], device_id.as_str());
    assert_eq!(ticket["requester"]["username"], "dana");
    let timeline = app.timeline(dana, id_of(&ticket)).await;
    assert_eq!(timeline[0]["actor"]["kind"], "requester");

    // Naming itself explicitly is fine.
    let mut explicit = printer_ticket();
    explicit["deviceId"] = json!(device_id);
    explicit["requester"]["username"] = json!("dana");
    let (status, body) = app
        .call_as(Method::POST, "/api/v1/tickets", dana, Some(explicit))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["requester"]["username"], "dana");

    // Naming anyone or anything else is refused; `DANA` is another account.
    let mut shouting = printer_ticket();
    shouting["requester"]["username"] = json!("DANA");
    let (status, body) = app
        .call_as(Method::POST, "/api/v1/tickets", dana, Some(shouting))
        .await;
    assert_field_error((status, &body), "requester.username");
    let mut other_user = printer_ticket();
    other_user["requester"]["username"] = json!("boss");
    let (status, body) = app
        .call_as(Method::POST, "/api/v1/tickets", dana, Some(other_user))
        .await;
    assert_field_error((status, &body), "requester.username");
    let mut other_device = printer_ticket();
    other_device["deviceId"] = json!("dev_someone_else");
    let (status, body) = app
        .call_as(Method::POST, "/api/v1/tickets", dana, Some(other_device))
        .await;
    assert_field_error((status, &body), "deviceId");
    assert_eq!(app.list_ids(Who::Staff(&admin), "").await.len(), 2);
}

/// A ticket's device is where its actions run: staff may name only an enrolled device, so
/// nobody can aim actions at an arbitrary machine id by filing a ticket naming it.
#[tokio::test]
async fn staff_name_only_an_enrolled_device_on_a_new_ticket() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    app.enroll_device(&admin, "ws-dana").await;
    let (_, devices) = app
        .call(Method::GET, "/api/v1/devices", Some(&admin), None)
        .await;
    let device_id = devices[0]["id"].as_str().expect("the device").to_owned();
    for unknown in ["dev_nonexistent", "dev_someone_else", "x"] {
        let mut body = printer_ticket();
        body["deviceId"] = json!(unknown);
        let (status, error) = app
            .call(Method::POST, "/api/v1/tickets", Some(&alice), Some(body))
            .await;
        assert_field_error((status, &error), "deviceId");
    }
    assert!(app.list_ids(Who::Staff(&admin), "").await.is_empty());

    let mut body = printer_ticket();
    body["deviceId"] = json!(device_id);
    let ticket = app.create_ticket(&alice, body).await;
    assert_eq!(ticket["deviceId"], device_id.as_str());
}

/// A desk with tickets in many shapes, for the filter table.
struct Desk {
    ids: std::collections::HashMap<&'static str, i64>,
    alice_id: i64,
    bob_id: i64,
}

async fn varied_desk(app: &TestApp, alice: &str, sam: &str, device: Who<'_>) -> Desk {
    let staff = Who::Staff(alice);
    let alice_id = app.staff_id(alice, "alice").await;
    let bob_id = app.staff_id(alice, "bob").await;
    let mut ids = std::collections::HashMap::new();
    let make =
        |title: &str, category: &str, impact: &str, urgency: &str, name: &str, kind: &str| {
            json!({
                "title": title, "category": category, "impact": impact, "urgency": urgency,
                "requester": {"name": name, "userKind": kind}
            })
        };
    let printer = app
        .create_ticket(
            alice,
            make(
                "Printer jam",
                "printer",
                "team",
                "degraded",
                "Dana Schulz",
                "internal_staff",
            ),
        )
        .await;
    ids.insert("printer", id_of(&printer));
    let vpn = app
        .create_ticket(
            alice,
            make(
                "VPN down",
                "network",
                "whole_office",
                "blocked",
                "Marco Rossi",
                "internal_staff",
            ),
        )
        .await;
    ids.insert("vpn", id_of(&vpn));
    app.act(
        staff,
        id_of(&vpn),
        "assign",
        json!({"assigneeId": alice_id}),
    )
    .await;
    let password = app
        .create_ticket(
            alice,
            make(
                "Password expired",
                "account_password",
                "one_user",
                "blocked",
                "Priya N",
                "internal_staff",
            ),
        )
        .await;
    ids.insert("password", id_of(&password));
    app.move_status(staff, id_of(&password), "pending_user")
        .await;
    let excel = app
        .create_ticket(
            alice,
            make(
                "Excel crash",
                "software",
                "team",
                "blocked",
                "Jonas Weber",
                "internal_staff",
            ),
        )
        .await;
    ids.insert("excel", id_of(&excel));
    app.act(
        staff,
        id_of(&excel),
        "escalate",
        json!({"reason": "macro engine; L2"}),
    )
    .await;
    app.act(
        staff,
        id_of(&excel),
        "assign",
        json!({"assigneeId": bob_id}),
    )
    .await;
    let mail = app
        .create_ticket(
            alice,
            make(
                "Mail bounce",
                "email",
                "one_user",
                "can_work",
                "Tom Becker",
                "internal_staff",
            ),
        )
        .await;
    ids.insert("mail", id_of(&mail));
    app.move_status(staff, id_of(&mail), "resolved").await;
    let laptop = app
        .create_ticket(
            alice,
            make(
                "Laptop battery",
                "hardware",
                "whole_office",
                "degraded",
                "Acme GmbH",
                "business_customer",
            ),
        )
        .await;
    ids.insert("laptop", id_of(&laptop));
    app.move_status(Who::Staff(sam), id_of(&laptop), "closed")
        .await;
    let (status, monitor) = app
        .call_as(
            Method::POST,
            "/api/v1/tickets",
            device,
            Some(make(
                "Monitor black",
                "hardware",
                "one_user",
                "degraded",
                "Dana Device",
                "internal_staff",
            )),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{monitor}");
    ids.insert("monitor", id_of(&monitor));
    Desk {
        ids,
        alice_id,
        bob_id,
    }
}

#[tokio::test]
async fn the_queue_filters_by_every_field() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    let sam = app.login("sam").await;
    let admin = app.login("admin").await;
    let credential = app.enroll_device(&admin, "ws-3").await;
    let device = Who::Device {
        credential: &credential,
        user: "dana",
    };
    let desk = varied_desk(&app, &alice, &sam, device).await;
    let alice_id = desk.alice_id.to_string();
    let bob_id = desk.bob_id.to_string();

    // (caller, query, expected tickets)
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "alice",
            "".into(),
            vec![
                "printer", "vpn", "password", "excel", "mail", "laptop", "monitor",
            ],
        ),
        ("alice", "&status=new".into(), vec!["printer", "monitor"]),
        (
            "alice",
            "&status=open,pending_user".into(),
            vec!["vpn", "password", "excel"],
        ),
        ("alice", "&status=resolved".into(), vec!["mail"]),
        ("alice", "&status=closed".into(), vec!["laptop"]),
        (
            "alice",
            "&status=".into(),
            vec![
                "printer", "vpn", "password", "excel", "mail", "laptop", "monitor",
            ],
        ),
        ("alice", "&priority=P1".into(), vec!["vpn"]),
        ("alice", "&priority=P2".into(), vec!["excel", "laptop"]),
        (
            "alice",
            "&priority=P3,P4".into(),
            vec!["printer", "password", "mail", "monitor"],
        ),
        (
            "alice",
            "&category=hardware".into(),
            vec!["laptop", "monitor"],
        ),
        (
            "alice",
            "&category=account_password,email".into(),
            vec!["password", "mail"],
        ),
        ("alice", "&tier=L2".into(), vec!["excel"]),
        ("alice", "&tier=L3".into(), vec![]),
        ("alice", "&assignee=me".into(), vec!["vpn"]),
        ("bob", "&assignee=me".into(), vec!["excel"]),
        ("sam", "&assignee=me".into(), vec![]),
        ("alice", format!("&assignee={bob_id}"), vec!["excel"]),
        ("alice", format!("&assignee={alice_id}"), vec!["vpn"]),
        (
            "alice",
            "&assignee=none".into(),
            vec!["printer", "password", "mail", "laptop", "monitor"],
        ),
        ("alice", "&requester=Dana%20Schulz".into(), vec!["printer"]),
        ("alice", "&requester=dana+schulz".into(), vec!["printer"]),
        ("alice", "&requester=dana".into(), vec!["monitor"]),
        ("alice", "&requester=Nobody".into(), vec![]),
        ("alice", "&slaState=paused".into(), vec!["password"]),
        ("alice", "&slaState=met".into(), vec!["mail", "laptop"]),
        (
            "alice",
            "&slaState=on_track".into(),
            vec!["printer", "vpn", "excel", "monitor"],
        ),
        ("alice", "&slaState=at_risk,breached".into(), vec![]),
        (
            "alice",
            "&status=new&category=printer".into(),
            vec!["printer"],
        ),
        (
            "alice",
            "&status=open&tier=L1&assignee=me".into(),
            vec!["vpn"],
        ),
        ("alice", "&q=jam".into(), vec!["printer"]),
        ("alice", "&q=Rossi".into(), vec!["vpn"]),
        ("alice", "&q=crash&status=closed".into(), vec![]),
    ];
    let mut failures = Vec::new();
    for (who, query, expected) in &cases {
        let token = match *who {
            "alice" => &alice,
            "bob" => &bob,
            _ => &sam,
        };
        let got: BTreeSet<i64> = app
            .list_ids(Who::Staff(token), query)
            .await
            .into_iter()
            .collect();
        let want: BTreeSet<i64> = expected.iter().map(|name| desk.ids[name]).collect();
        if got != want {
            let names = |set: &BTreeSet<i64>| -> Vec<&str> {
                desk.ids
                    .iter()
                    .filter(|(_, id)| set.contains(id))
                    .map(|(name, _)| *name)
                    .collect()
            };
            failures.push(format!(
                "{who} {query}: expected {expected:?}, got {:?}",
                names(&got)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Unknown filter values name the parameter and the allowed values.
    for (query, field) in [
        ("status=done", "status"),
        ("priority=P0", "priority"),
        ("category=toaster", "category"),
        ("tier=L4", "tier"),
        ("slaState=late", "slaState"),
        ("assignee=someone", "assignee"),
        ("status=new,bogus", "status"),
    ] {
        let (status, body) = app
            .call(
                Method::GET,
                &format!("/api/v1/tickets?{query}"),
                Some(&alice),
                None,
            )
            .await;
        assert_field_error((status, &body), field);
    }
}

#[tokio::test]
async fn the_queue_is_ordered_by_sla_risk() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    let kind = |mut body: Value, kind: &str| {
        body["requester"]["userKind"] = json!(kind);
        body
    };
    // Created in scrambled order; (name, body, first-response target from 09:00).
    let plan = [
        (
            "p4 private",
            kind(ticket_with("a", "one_user", "can_work"), "private_customer"),
        ),
        ("p1 internal", p1_ticket("b")),
        ("p3 internal", ticket_with("c", "team", "degraded")),
        ("p1 business", kind(p1_ticket("d"), "business_customer")),
        ("p2 internal", ticket_with("e", "team", "blocked")),
        ("resolved p1", p1_ticket("f")),
        ("pending p1", p1_ticket("g")),
        ("p1 internal twin", p1_ticket("h")),
    ];
    let mut ids = std::collections::HashMap::new();
    for (name, body) in plan {
        ids.insert(name, id_of(&app.create_ticket(&alice, body).await));
    }
    app.move_status(staff, ids["resolved p1"], "resolved").await;
    app.move_status(staff, ids["pending p1"], "pending_user")
        .await;

    let queue = app.list_all(staff, "").await;
    let order: Vec<i64> = queue.iter().map(id_of).collect();
    let expected: Vec<i64> = [
        "p1 business",      // 15 min
        "p1 internal",      // 30 min, lower id first
        "p1 internal twin", // 30 min
        "p2 internal",      // 1 h
        "p3 internal",      // 4 h
        "p4 private",       // 16 h
        "pending p1",       // no running clock
        "resolved p1",      // done
    ]
    .iter()
    .map(|name| ids[name])
    .collect();
    assert_eq!(order, expected);
    let deadlines: Vec<DateTime<Utc>> = queue[..6]
        .iter()
        .map(|t| due(&t["sla"]["firstResponse"]).unwrap())
        .collect();
    assert!(deadlines.windows(2).all(|w| w[0] <= w[1]), "{deadlines:?}");
    assert_eq!(
        deadlines[0],
        monday_morning() + Duration::minutes(15),
        "P1 business customer: 15 minutes"
    );

    // Once answered, the most urgent sorts by its next deadline: resolution within 3 h.
    app.act(
        staff,
        ids["p1 business"],
        "replies",
        json!({"body": "On it."}),
    )
    .await;
    let order = app.list_ids(staff, "").await;
    assert_eq!(order[0], ids["p1 internal"]);
    let position = order
        .iter()
        .position(|id| *id == ids["p1 business"])
        .unwrap();
    assert_eq!(order[position - 1], ids["p2 internal"], "{order:?}");
}

#[tokio::test]
async fn cursor_pages_walk_every_ticket_exactly_once() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    // Many share a deadline, so the id breaks ties.
    let shapes = [
        ("whole_office", "blocked"),
        ("team", "degraded"),
        ("one_user", "can_work"),
        ("team", "blocked"),
    ];
    let mut created = Vec::new();
    for n in 0..23 {
        let (impact, urgency) = shapes[n % shapes.len()];
        let ticket = app
            .create_ticket(
                &alice,
                ticket_with(&format!("paged ticket {n}"), impact, urgency),
            )
            .await;
        created.push(id_of(&ticket));
        if n % 5 == 0 {
            app.move_status(staff, id_of(&ticket), "resolved").await;
        }
    }
    let everything = app.list_ids(staff, "").await;
    assert_eq!(everything.len(), 23);

    for (limit, query) in [
        (1, ""),
        (4, ""),
        (7, ""),
        (23, ""),
        (50, ""),
        (3, "&status=new"),
        (2, "&q=paged&priority=P1,P2"),
    ] {
        let reference = app.list_ids(staff, query).await;
        let mut walked = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut path = format!("/api/v1/tickets?limit={limit}{query}");
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let (status, page) = app.call(Method::GET, &path, Some(&alice), None).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= limit, "{path}");
            walked.extend(items.iter().map(id_of));
            pages += 1;
            assert!(pages <= 30, "pagination does not end: {path}");
            match page["nextCursor"].as_str() {
                Some(next) => {
                    assert_eq!(items.len(), limit, "only the last page may be short");
                    cursor = Some(next.to_owned());
                }
                None => break,
            }
        }
        assert_eq!(walked, reference, "limit {limit}{query}");
        let unique: BTreeSet<i64> = walked.iter().copied().collect();
        assert_eq!(unique.len(), walked.len(), "no ticket twice");
        assert_eq!(
            pages,
            reference.len().div_ceil(limit).max(1),
            "limit {limit}{query}"
        );
    }
    let unique: BTreeSet<i64> = everything.into_iter().collect();
    assert_eq!(unique, created.into_iter().collect());
}

#[tokio::test]
async fn full_text_search_finds_unicode_and_keeps_hostile_text_verbatim() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    let titles = [
        "Drucker für Büro druckt nicht",
        "Café-Kasse offline",
        "'; DROP TABLE tickets; --",
        "Quote \"unbalanced in the title",
        "title:x OR y",
        "NEAR(a b) AND c* ^d -e",
        "日本語のテスト",
        "Monitor flickers",
    ];
    let mut ids = std::collections::HashMap::new();
    for title in titles {
        let ticket = app.create_ticket(&alice, titled(title)).await;
        assert_eq!(ticket["title"], title, "stored verbatim");
        ids.insert(title, id_of(&ticket));
    }
    for title in titles {
        assert_eq!(app.ticket(staff, ids[title]).await["title"], title);
    }

    // (query, expected titles)
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("Drucker für Büro", vec![titles[0]]),
        ("drucker", vec![titles[0]]),
        ("DRUCK", vec![titles[0]]),
        ("fur buro", vec![titles[0]]),
        ("für", vec![titles[0]]),
        ("cafe", vec![titles[1]]),
        ("Café-Kasse", vec![titles[1]]),
        ("'; DROP TABLE tickets; --", vec![titles[2]]),
        ("DROP TABLE", vec![titles[2]]),
        ("\"unbalanced", vec![titles[3]]),
        ("unbalanced\"", vec![titles[3]]),
        ("title:x OR", vec![titles[4]]),
        ("title:x", vec![titles[4]]),
        ("x OR y", vec![titles[4]]),
        ("NEAR(a b)", vec![titles[5]]),
        ("c* ^d -e", vec![titles[5]]),
        ("日本語のテスト", vec![titles[6]]),
        ("flickers", vec![titles[7]]),
        ("flick", vec![titles[7]]),
        ("Monitor Drucker", vec![]),
        ("'\";--", vec![]),
        ("*", vec![]),
        ("\"", vec![]),
        ("OR", vec![titles[4]]),
        ("AND", vec![titles[5]]),
        ("NOT", vec![]),
        ("Schulz", titles.to_vec()),
    ];
    let mut failures = Vec::new();
    for (q, expected) in &cases {
        let encoded: String = url_encode(q);
        let (status, page) = app
            .call(
                Method::GET,
                &format!("/api/v1/tickets?q={encoded}"),
                Some(&alice),
                None,
            )
            .await;
        if status != StatusCode::OK {
            failures.push(format!("{q:?}: {status} {page}"));
            continue;
        }
        let got: BTreeSet<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap())
            .collect();
        let want: BTreeSet<&str> = expected.iter().copied().collect();
        if got != want {
            failures.push(format!("{q:?}: expected {want:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The table is still there, with everything in it.
    assert_eq!(app.list_ids(staff, "").await.len(), titles.len());

    // Editing the title re-indexes it.
    let id = ids["Monitor flickers"];
    let version = app.ticket(staff, id).await["version"].clone();
    let (status, body) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/tickets/{id}"),
            Some(&alice),
            Some(json!({"version": version, "title": "Beamer flackert"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.list_ids(staff, "&q=flickers").await, Vec::<i64>::new());
    assert_eq!(app.list_ids(staff, "&q=flackert").await, vec![id]);

    // Queries are bounded.
    let long = "a".repeat(201);
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/api/v1/tickets?q={long}"),
            Some(&alice),
            None,
        )
        .await;
    assert_field_error((status, &body), "q");
}

/// Percent-encodes everything but unreserved characters.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn a_stale_edit_gets_409_with_the_current_ticket() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    let ticket = app.create_ticket(&alice, printer_ticket()).await;
    let path = format!("/api/v1/tickets/{}", id_of(&ticket));

    let (status, edited) = app
        .call(
            Method::PATCH,
            &path,
            Some(&alice),
            Some(json!({"version": 1, "title": "Printer on floor 2 jams on every job", "tags": ["jam"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["version"], 2);
    assert_eq!(edited["tags"], json!(["jam"]));

    // Bob edited version 1 too: refused, with what is there now.
    let (status, conflict) = app
        .call(
            Method::PATCH,
            &path,
            Some(&bob),
            Some(json!({"version": 1, "title": "Bob's title"})),
        )
        .await;
    assert_error(
        (status, &conflict),
        StatusCode::CONFLICT,
        "version_conflict",
    );
    assert_eq!(conflict["current"], edited);
    assert_eq!(app.ticket(Who::Staff(&bob), id_of(&ticket)).await, edited);

    // A guarded command with a stale version is refused the same way.
    let (status, conflict) = app
        .call(
            Method::POST,
            &format!("{path}/status"),
            Some(&bob),
            Some(json!({"status": "open", "version": 1})),
        )
        .await;
    assert_error(
        (status, &conflict),
        StatusCode::CONFLICT,
        "version_conflict",
    );
    assert_eq!(conflict["current"]["version"], 2);

    // Reclassifying recomputes the priority and says so in the timeline.
    let (status, reclassified) = app
        .call(
            Method::PATCH,
            &path,
            Some(&bob),
            Some(json!({"version": 2, "impact": "whole_office", "urgency": "blocked"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reclassified}");
    assert_eq!(reclassified["priority"], "P1");
    assert_eq!(reclassified["version"], 3);
    let timeline = app.timeline(Who::Staff(&bob), id_of(&ticket)).await;
    let changed: Vec<(String, String, String)> = timeline
        .iter()
        .filter(|e| e["event"]["type"] == "field_changed")
        .map(|e| {
            (
                e["event"]["field"].as_str().unwrap().to_owned(),
                e["event"]["from"].as_str().unwrap_or("").to_owned(),
                e["event"]["to"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expect = |f: &str, a: &str, b: &str| (f.to_owned(), a.to_owned(), b.to_owned());
    assert!(
        changed.contains(&expect("impact", "team", "whole_office")),
        "{changed:?}"
    );
    assert!(
        changed.contains(&expect("urgency", "degraded", "blocked")),
        "{changed:?}"
    );
    assert!(
        changed.contains(&expect("priority", "P3", "P1")),
        "{changed:?}"
    );
    assert!(changed.contains(&expect("tags", "", "jam")), "{changed:?}");

    // An edit without the version, or with an invalid field, is refused before anything.
    let (status, body) = app
        .call(
            Method::PATCH,
            &path,
            Some(&bob),
            Some(json!({"title": "x"})),
        )
        .await;
    assert_field_error((status, &body), "version");
    let (status, body) = app
        .call(
            Method::PATCH,
            &path,
            Some(&bob),
            Some(json!({"version": 3, "title": " "})),
        )
        .await;
    assert_field_error((status, &body), "title");
    let (status, body) = app
        .call(
            Method::PATCH,
            &path,
            Some(&bob),
            Some(json!({"version": 3, "status": "closed"})),
        )
        .await;
    assert_field_error((status, &body), "status");
    assert_eq!(
        app.ticket(Who::Staff(&bob), id_of(&ticket)).await["version"],
        3
    );
}

#[tokio::test]
async fn assignment_needs_an_active_staff_member() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    let bob_id = app.staff_id(&alice, "bob").await;
    let ticket = app.create_ticket(&alice, printer_ticket()).await;
    let id = id_of(&ticket);

    let assigned = app
        .act(staff, id, "assign", json!({"assigneeId": bob_id}))
        .await;
    assert_eq!(assigned["assigneeId"], bob_id);
    assert_eq!(
        assigned["status"], "open",
        "assigning a new ticket opens it"
    );
    let timeline = app.timeline(staff, id).await;
    let last = timeline
        .iter()
        .rfind(|e| e["event"]["type"] == "assigned")
        .unwrap();
    assert_eq!(last["event"]["to"], bob_id);
    assert_eq!(last["event"]["from"], Value::Null);
    assert_eq!(last["visibility"], "internal");

    for unknown in [json!(9999), json!(0), json!(-1)] {
        let (status, body) = app
            .call(
                Method::POST,
                &format!("/api/v1/tickets/{id}/assign"),
                Some(&alice),
                Some(json!({"assigneeId": unknown})),
            )
            .await;
        assert_field_error((status, &body), "assigneeId");
    }
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/v1/tickets/{id}/assign"),
            Some(&alice),
            Some(json!({"assigneeId": "bob"})),
        )
        .await;
    assert_field_error((status, &body), "assigneeId");
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/v1/tickets/{id}/assign"),
            Some(&alice),
            Some(json!({"assigneeId": null, "version": 1})),
        )
        .await;
    assert_error((status, &body), StatusCode::CONFLICT, "version_conflict");

    let unassigned = app
        .act(staff, id, "assign", json!({"assigneeId": null}))
        .await;
    assert_eq!(unassigned["assigneeId"], Value::Null);
    assert_eq!(unassigned["status"], "open");

    // Done tickets are not assigned.
    app.move_status(staff, id, "resolved").await;
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/v1/tickets/{id}/assign"),
            Some(&alice),
            Some(json!({"assigneeId": bob_id})),
        )
        .await;
    assert_error((status, &body), StatusCode::CONFLICT, "conflict");
}

#[tokio::test]
async fn escalation_climbs_one_tier_at_a_time_up_to_l3() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    let carol = app.login("carol").await;
    let sam = app.login("sam").await;
    let ticket = app.create_ticket(&alice, printer_ticket()).await;
    let id = id_of(&ticket);
    let bob_id = app.staff_id(&alice, "bob").await;
    let escalate = |token: &str, reason: &str| {
        let token = token.to_owned();
        let body = json!({"reason": reason});
        let app = &app;
        async move {
            app.call(
                Method::POST,
                &format!("/api/v1/tickets/{id}/escalate"),
                Some(&token),
                Some(body),
            )
            .await
        }
    };

    let (status, body) = escalate(&alice, "   ").await;
    assert_field_error((status, &body), "reason");

    let (status, at_l2) = escalate(&alice, "Fuser unit faulty; needs L2 hardware").await;
    assert_eq!(status, StatusCode::OK, "{at_l2}");
    assert_eq!(at_l2["tier"], "L2");

    // L1 may not push a ticket that is already above their tier.
    let (status, body) = escalate(&alice, "again").await;
    assert_error((status, &body), StatusCode::FORBIDDEN, "forbidden");

    // The assignee is released when the ticket changes tier.
    app.act(
        Who::Staff(&bob),
        id,
        "assign",
        json!({"assigneeId": bob_id}),
    )
    .await;
    let (status, at_l3) = escalate(&bob, "Board-level fault: L3").await;
    assert_eq!(status, StatusCode::OK, "{at_l3}");
    assert_eq!(at_l3["tier"], "L3");
    assert_eq!(at_l3["assigneeId"], Value::Null);

    for token in [&carol, &sam] {
        let (status, body) = escalate(token, "higher?").await;
        assert_error((status, &body), StatusCode::CONFLICT, "conflict");
    }

    let escalations: Vec<Value> = app
        .timeline(Who::Staff(&carol), id)
        .await
        .into_iter()
        .filter(|e| e["event"]["type"] == "escalated")
        .collect();
    assert_eq!(escalations.len(), 2);
    assert_eq!(escalations[0]["event"]["from"], "L1");
    assert_eq!(escalations[0]["event"]["to"], "L2");
    assert_eq!(
        escalations[0]["event"]["reason"],
        "Fuser unit faulty; needs L2 hardware"
    );
    assert_eq!(escalations[0]["event"]["automatic"], false);
    assert_eq!(escalations[1]["event"]["to"], "L3");
    assert_eq!(escalations[1]["actor"]["name"], "Bob Novak");

    // A supervisor escalates from any tier; an L2 agent may escalate an L1 ticket.
    let other = id_of(&app.create_ticket(&alice, printer_ticket()).await);
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/v1/tickets/{other}/escalate"),
            Some(&bob),
            Some(json!({"reason": "taking it myself"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/v1/tickets/{other}/escalate"),
            Some(&sam),
            Some(json!({"reason": "straight to L3"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["tier"], "L3");
}

#[tokio::test]
async fn status_moves_follow_the_state_machine() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let sam = app.login("sam").await;
    // (path to the start state as sam, mover, target, expected status, expected code)
    let cases: Vec<(&[&str], &str, &str, u16, &str)> = vec![
        (&[], "alice", "open", 200, ""),
        (&[], "alice", "pending_user", 200, ""),
        (&[], "alice", "resolved", 200, ""),
        (&[], "alice", "closed", 403, "forbidden"),
        (&[], "sam", "closed", 200, ""),
        (&[], "alice", "new", 409, "invalid_transition"),
        (&["open"], "alice", "new", 409, "invalid_transition"),
        (&["open"], "alice", "open", 409, "invalid_transition"),
        (&["open"], "alice", "pending_user", 200, ""),
        (&["pending_user"], "alice", "open", 200, ""),
        (&["pending_user"], "alice", "resolved", 200, ""),
        (&["pending_user"], "alice", "closed", 403, "forbidden"),
        (&["resolved"], "alice", "open", 200, ""),
        (&["resolved"], "alice", "closed", 200, ""),
        (&["resolved"], "alice", "new", 409, "invalid_transition"),
        (
            &["resolved"],
            "alice",
            "pending_user",
            409,
            "invalid_transition",
        ),
        (&["resolved", "closed"], "alice", "open", 403, "forbidden"),
        (&["resolved", "closed"], "sam", "open", 200, ""),
        (
            &["resolved", "closed"],
            "sam",
            "resolved",
            409,
            "invalid_transition",
        ),
        (
            &["resolved", "closed"],
            "sam",
            "pending_user",
            409,
            "invalid_transition",
        ),
        (
            &["resolved", "closed"],
            "sam",
            "closed",
            409,
            "invalid_transition",
        ),
    ];
    let mut failures = Vec::new();
    for (setup, mover, to, expected, code) in cases {
        let id = id_of(&app.create_ticket(&alice, printer_ticket()).await);
        for step in setup {
            app.move_status(Who::Staff(&sam), id, step).await;
        }
        let token = if mover == "sam" { &sam } else { &alice };
        let (status, body) = app
            .call(
                Method::POST,
                &format!("/api/v1/tickets/{id}/status"),
                Some(token),
                Some(json!({"status": to})),
            )
            .await;
        let ok = status.as_u16() == expected && (code.is_empty() || body["code"] == code);
        if !ok {
            failures.push(format!("{setup:?} → {to} by {mover}: {status} {body}"));
            continue;
        }
        if expected == 200 {
            assert_eq!(body["status"], to);
            let timeline = app.timeline(Who::Staff(&sam), id).await;
            let last = timeline.last().unwrap();
            assert_eq!(last["event"]["type"], "status_changed");
            assert_eq!(last["event"]["to"], to);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Timestamps follow the status.
    let id = id_of(&app.create_ticket(&alice, printer_ticket()).await);
    app.clock.advance(Duration::minutes(5));
    let resolved = app.move_status(Who::Staff(&alice), id, "resolved").await;
    assert_eq!(resolved["resolvedAt"], "2026-03-02T09:05:00Z");
    let closed = app.move_status(Who::Staff(&alice), id, "closed").await;
    assert_eq!(closed["closedAt"], "2026-03-02T09:05:00Z");
    let reopened = app.move_status(Who::Staff(&sam), id, "open").await;
    assert_eq!(reopened["resolvedAt"], Value::Null);
    assert_eq!(reopened["closedAt"], Value::Null);

    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/v1/tickets/{id}/status"),
            Some(&alice),
            Some(json!({"status": "done"})),
        )
        .await;
    assert_field_error((status, &body), "status");
}

#[tokio::test]
async fn a_priority_override_needs_a_reason_and_is_recorded() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    let id = id_of(&app.create_ticket(&alice, printer_ticket()).await);
    let path = format!("/api/v1/tickets/{id}/priority");

    for (body, field) in [
        (json!({"priority": "P1"}), "reason"),
        (json!({"priority": "P1", "reason": ""}), "reason"),
        (json!({"priority": "P1", "reason": "  \n "}), "reason"),
        (
            json!({"priority": "P1", "reason": "x".repeat(2001)}),
            "reason",
        ),
        (json!({"priority": "P0", "reason": "typo"}), "priority"),
        (json!({"priority": 1, "reason": "number"}), "priority"),
    ] {
        let (status, answer) = app
            .call(Method::POST, &path, Some(&alice), Some(body))
            .await;
        assert_field_error((status, &answer), field);
    }
    assert_eq!(app.ticket(staff, id).await["priority"], "P3", "unchanged");

    let overridden = app
        .act(
            staff,
            id,
            "priority",
            json!({"priority": "P1", "reason": "The CEO's assistant cannot print"}),
        )
        .await;
    assert_eq!(overridden["priority"], "P1");
    assert_eq!(
        overridden["priorityOverrideReason"],
        "The CEO's assistant cannot print"
    );
    // The SLA follows the new priority: P1 internal staff answers within 30 minutes.
    assert_eq!(
        due(&overridden["sla"]["firstResponse"]).unwrap(),
        monday_morning() + Duration::minutes(30)
    );
    let timeline = app.timeline(staff, id).await;
    let event = &timeline.last().unwrap()["event"];
    assert_eq!(event["type"], "priority_overridden");
    assert_eq!(event["from"], "P3");
    assert_eq!(event["to"], "P1");
    assert_eq!(event["reason"], "The CEO's assistant cannot print");

    // An override survives reclassification; dropping it goes back to the matrix.
    let version = overridden["version"].clone();
    let (status, edited) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/tickets/{id}"),
            Some(&alice),
            Some(json!({"version": version, "urgency": "can_work"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["priority"], "P1");
    let dropped = app
        .act(
            staff,
            id,
            "priority",
            json!({"priority": null, "reason": "back to normal"}),
        )
        .await;
    assert_eq!(dropped["priority"], "P4", "team × can work");
    assert_eq!(dropped["priorityOverrideReason"], Value::Null);
}

#[tokio::test]
async fn replies_are_public_and_notes_internal() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let admin = app.login("admin").await;
    let credential = app.enroll_device(&admin, "ws-5").await;
    let dana = Who::Device {
        credential: &credential,
        user: "dana",
    };
    let (_, ticket) = app
        .call_as(
            Method::POST,
            "/api/v1/tickets",
            dana,
            Some(printer_ticket()),
        )
        .await;
    let id = id_of(&ticket);
    let staff = Who::Staff(&alice);

    app.clock.advance(Duration::minutes(7));
    let noted = app
        .act(
            staff,
            id,
            "notes",
            json!({"body": "Known issue with this model."}),
        )
        .await;
    assert_eq!(noted["status"], "new", "a note is no answer");
    assert_eq!(noted["firstRespondedAt"], Value::Null);
    let replied = app
        .act(
            staff,
            id,
            "replies",
            json!({"body": "Try tray 2 meanwhile. 🙂"}),
        )
        .await;
    assert_eq!(replied["status"], "open");
    assert_eq!(replied["firstRespondedAt"], "2026-03-02T09:07:00Z");
    assert!(replied["sla"]["firstResponse"]["stoppedAt"].is_string());
    app.act(dana, id, "replies", json!({"body": "Tray 2 works, thanks"}))
        .await;

    let staff_view = app.timeline(staff, id).await;
    let summary: Vec<(String, String, String)> = staff_view
        .iter()
        .map(|e| {
            (
                e["event"]["type"].as_str().unwrap().to_owned(),
                e["visibility"].as_str().unwrap().to_owned(),
                e["actor"]["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let row = |t: &str, v: &str, k: &str| (t.to_owned(), v.to_owned(), k.to_owned());
    assert_eq!(
        summary,
        vec![
            row("created", "public", "requester"),
            row("internal_note", "internal", "staff"),
            row("public_reply", "public", "staff"),
            row("status_changed", "public", "staff"),
            row("public_reply", "public", "requester"),
        ]
    );
    assert_eq!(staff_view[2]["event"]["body"], "Try tray 2 meanwhile. 🙂");
    let ids: Vec<i64> = staff_view
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first: {ids:?}");

    let user_view = app.timeline(dana, id).await;
    assert_eq!(
        event_types(&user_view),
        vec!["created", "public_reply", "status_changed", "public_reply"]
    );

    for action in ["replies", "notes"] {
        for body in [
            json!({"body": ""}),
            json!({"body": "x".repeat(50_001)}),
            json!({}),
        ] {
            let (status, answer) = app
                .call(
                    Method::POST,
                    &format!("/api/v1/tickets/{id}/{action}"),
                    Some(&alice),
                    Some(body),
                )
                .await;
            assert_field_error((status, &answer), "body");
        }
    }
    // A closed ticket takes no replies until it is reopened.
    app.move_status(staff, id, "resolved").await;
    app.move_status(staff, id, "closed").await;
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/v1/tickets/{id}/replies"),
            Some(&alice),
            Some(json!({"body": "one more thing"})),
        )
        .await;
    assert_error((status, &body), StatusCode::CONFLICT, "conflict");
}

#[tokio::test]
async fn attachments_round_trip_byte_for_byte_within_limits() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    let id = id_of(&app.create_ticket(&alice, printer_ticket()).await);
    let upload = |name: Option<&str>, content_type: Option<&str>, bytes: Vec<u8>| {
        let path = match name {
            Some(name) => format!(
                "/api/v1/tickets/{id}/attachments?fileName={}",
                url_encode(name)
            ),
            None => format!("/api/v1/tickets/{id}/attachments"),
        };
        let mut request = app.builder(Method::POST, &path, staff).body(bytes);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        app.send(request)
    };
    let download = |attachment: i64| {
        app.builder(
            Method::GET,
            &format!("/api/v1/tickets/{id}/attachments/{attachment}"),
            staff,
        )
        .send()
    };

    // A diagnostics snapshot: JSON, kept exactly as sent (spacing and key order too).
    let snapshot = b"{\"version\": 1,  \"system\": {\"hostname\": \"ws-07\", \"uptimeSecs\": 86400},\n \"disks\": [{\"mount\": \"/\", \"freePercent\": 3.5}], \"note\": \"Gr\xc3\xbc\xc3\x9fe\"}".to_vec();
    let (status, meta) = upload(
        Some("diagnostics.json"),
        Some("application/json; charset=utf-8"),
        snapshot.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{meta}");
    assert_eq!(meta["fileName"], "diagnostics.json");
    assert_eq!(meta["contentType"], "application/json");
    assert_eq!(meta["sizeBytes"], snapshot.len());
    assert_eq!(meta["ticketId"], id);
    let response = download(meta["id"].as_i64().unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"diagnostics.json\""
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(
        response.bytes().await.unwrap().as_ref(),
        snapshot.as_slice()
    );

    // Arbitrary binary, 1 MiB: above the JSON limit, below the attachment limit.
    let binary: Vec<u8> = (0..1024 * 1024)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let (status, meta) = upload(
        Some("screen shot (1).png"),
        Some("image/png"),
        binary.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{meta}");
    let response = download(meta["id"].as_i64().unwrap()).await.unwrap();
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"screen shot (1).png\""
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), binary.as_slice());

    // Exactly 5 MiB is allowed; one byte more is not.
    let limit = 5 * 1024 * 1024;
    let (status, meta) = upload(Some("full.bin"), None, vec![7; limit]).await;
    assert_eq!(status, StatusCode::CREATED, "{meta}");
    assert_eq!(meta["contentType"], "application/octet-stream");
    let (status, body) = upload(Some("big.bin"), None, vec![7; limit + 1]).await;
    assert_error(
        (status, &body),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );

    // HTML is stored, but only ever served as a download.
    let (status, meta) = upload(
        Some("evil\".html"),
        Some("text/html"),
        b"<script>alert(1)</script>".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{meta}");
    let response = download(meta["id"].as_i64().unwrap()).await.unwrap();
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert_eq!(
        disposition,
        "attachment; filename=\"evil_.html\"; filename*=UTF-8''evil%22.html"
    );

    let refusals = vec![
        (
            Some("broken.json"),
            Some("application/json"),
            b"{\"disks\": [".to_vec(),
            "body",
        ),
        (Some("empty.txt"), Some("text/plain"), Vec::new(), "body"),
        (None, Some("text/plain"), b"x".to_vec(), "fileName"),
        (Some(""), Some("text/plain"), b"x".to_vec(), "fileName"),
        (
            Some("../../etc/passwd"),
            Some("text/plain"),
            b"x".to_vec(),
            "fileName",
        ),
        (
            Some("..\\boot.ini"),
            Some("text/plain"),
            b"x".to_vec(),
            "fileName",
        ),
        (Some(".."), Some("text/plain"), b"x".to_vec(), "fileName"),
    ];
    for (name, content_type, bytes, field) in refusals {
        let (status, body) = upload(name, content_type, bytes).await;
        assert_field_error((status, &body), field);
    }
    let long_name = "n".repeat(256);
    let (status, body) = upload(Some(&long_name), None, b"x".to_vec()).await;
    assert_field_error((status, &body), "fileName");

    // Every stored file is in the timeline, nothing refused is.
    let added: Vec<Value> = app
        .timeline(staff, id)
        .await
        .into_iter()
        .filter(|e| e["event"]["type"] == "attachment_added")
        .collect();
    let names: Vec<&str> = added
        .iter()
        .map(|e| e["event"]["fileName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "diagnostics.json",
            "screen shot (1).png",
            "full.bin",
            "evil\".html"
        ]
    );

    // Attachments belong to their ticket.
    let other = id_of(&app.create_ticket(&alice, printer_ticket()).await);
    let first = added[0]["event"]["attachmentId"].as_i64().unwrap();
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/api/v1/tickets/{other}/attachments/{first}"),
            Some(&alice),
            None,
        )
        .await;
    assert_error((status, &body), StatusCode::NOT_FOUND, "not_found");
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/api/v1/tickets/{id}/attachments/99999"),
            Some(&alice),
            None,
        )
        .await;
    assert_error((status, &body), StatusCode::NOT_FOUND, "not_found");
    let (status, body) = upload(Some("late.txt"), None, b"x".to_vec()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.move_status(staff, id, "resolved").await;
    app.move_status(staff, id, "closed").await;
    let (status, body) = upload(Some("too-late.txt"), None, b"x".to_vec()).await;
    assert_error((status, &body), StatusCode::CONFLICT, "conflict");
}

/// Names with control characters are refused on upload (they cannot travel in a header);
/// other names, non-ASCII ones included, download with an ASCII fallback beside the exact
/// RFC 6266 `filename*`; a name an older version stored with control characters still
/// downloads, sanitised, never as a 500.
#[tokio::test]
async fn attachment_names_are_checked_on_upload_and_always_downloadable() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    let id = id_of(&app.create_ticket(&alice, printer_ticket()).await);
    let upload = |name: &str| {
        let path = format!(
            "/api/v1/tickets/{id}/attachments?fileName={}",
            url_encode(name)
        );
        app.send(
            app.builder(Method::POST, &path, staff)
                .header("content-type", "text/plain")
                .body(b"log line".to_vec()),
        )
    };
    let disposition = |attachment: i64| {
        let request = app.builder(
            Method::GET,
            &format!("/api/v1/tickets/{id}/attachments/{attachment}"),
            staff,
        );
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };

    for name in [
        "a\u{1}b.txt",
        "del\u{7f}.txt",
        "tab\there.txt",
        "c1\u{85}.txt",
        "nul\0.txt",
    ] {
        let (status, body) = upload(name).await;
        assert_field_error((status, &body), "fileName");
    }

    let (status, meta) = upload("Grüße résumé €.txt").await;
    assert_eq!(status, StatusCode::CREATED, "{meta}");
    assert_eq!(meta["fileName"], "Grüße résumé €.txt");
    assert_eq!(
        disposition(meta["id"].as_i64().unwrap()).await,
        "attachment; filename=\"Gr__e r_sum_ _.txt\"; \
         filename*=UTF-8''Gr%C3%BC%C3%9Fe%20r%C3%A9sum%C3%A9%20%E2%82%AC.txt"
    );

    // As an older version stored it: the name holds control characters.
    let (status, meta) = upload("legacy.txt").await;
    assert_eq!(status, StatusCode::CREATED, "{meta}");
    let legacy = meta["id"].as_i64().unwrap();
    app.database()
        .execute(
            "UPDATE attachments SET file_name = ?1 WHERE id = ?2",
            rusqlite::params!["le\u{1}ga\u{7f}cy\r\n.txt", legacy],
        )
        .unwrap();
    assert_eq!(
        disposition(legacy).await,
        "attachment; filename=\"le_ga_cy__.txt\""
    );
}

#[tokio::test]
async fn concurrent_writers_lose_nothing() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);

    // Simultaneous creates get distinct ids and numbers.
    let mut tasks = Vec::new();
    for n in 0..24 {
        let request = app
            .builder(Method::POST, "/api/v1/tickets", staff)
            .json(&titled(&format!("burst {n}")));
        tasks.push(tokio::spawn(async move {
            read(request.send().await.unwrap()).await
        }));
    }
    let mut ids = BTreeSet::new();
    let mut numbers = BTreeSet::new();
    for task in tasks {
        let (status, ticket) = task.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{ticket}");
        ids.insert(id_of(&ticket));
        numbers.insert(ticket["number"].as_i64().unwrap());
    }
    assert_eq!(ids.len(), 24);
    assert_eq!(numbers.len(), 24);
    assert_eq!(app.list_ids(staff, "").await.len(), 24);

    // Simultaneous edits of one version: exactly one wins, the rest see the winner.
    let id = *ids.first().unwrap();
    let mut tasks = Vec::new();
    for n in 0..8 {
        let request = app
            .builder(Method::PATCH, &format!("/api/v1/tickets/{id}"), staff)
            .json(&json!({"version": 1, "title": format!("edit {n}")}));
        tasks.push(tokio::spawn(async move {
            read(request.send().await.unwrap()).await
        }));
    }
    let mut winners = Vec::new();
    let mut conflicts = Vec::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            StatusCode::OK => winners.push(body),
            StatusCode::CONFLICT => conflicts.push(body),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(conflicts.len(), 7);
    let current = app.ticket(staff, id).await;
    assert_eq!(current, winners[0]);
    for conflict in &conflicts {
        assert_eq!(conflict["code"], "version_conflict");
        assert_eq!(conflict["current"]["version"], 2);
    }

    // Simultaneous unguarded replies all land, one version each.
    let other = *ids.last().unwrap();
    let mut tasks = Vec::new();
    for n in 0..10 {
        let request = app
            .builder(
                Method::POST,
                &format!("/api/v1/tickets/{other}/replies"),
                staff,
            )
            .json(&json!({"body": format!("reply {n}")}));
        tasks.push(tokio::spawn(async move {
            read(request.send().await.unwrap()).await
        }));
    }
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let ticket = app.ticket(staff, other).await;
    assert_eq!(ticket["version"], 11);
    let replies: BTreeSet<String> = app
        .timeline(staff, other)
        .await
        .iter()
        .filter(|e| e["event"]["type"] == "public_reply")
        .map(|e| e["event"]["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(replies.len(), 10);
}
