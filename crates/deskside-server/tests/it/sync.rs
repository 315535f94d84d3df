//! `GET /api/v1/sync`: everything from cursor 0, then only what changed, in pages, scoped
//! to what the caller may see.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

async fn sync(app: &TestApp, who: Who<'_>, query: &str) -> Value {
    let (status, body) = app
        .call_as(Method::GET, &format!("/api/v1/sync{query}"), who, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

fn ticket_ids(changes: &Value) -> Vec<i64> {
    changes["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect()
}

fn event_ids(changes: &Value) -> Vec<i64> {
    changes["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect()
}

fn cursor(changes: &Value) -> i64 {
    changes["cursor"].as_i64().unwrap()
}

#[tokio::test]
async fn sync_returns_everything_then_only_what_changed() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    let mut ids = Vec::new();
    for title in ["first", "second", "third"] {
        ids.push(id_of(&app.create_ticket(&alice, p1_ticket(title)).await));
    }
    app.act(staff, ids[1], "notes", json!({"body": "internal detail"}))
        .await;

    let everything = sync(&app, staff, "?cursor=0").await;
    assert_eq!(
        ticket_ids(&everything),
        vec![ids[0], ids[2], ids[1]],
        "in change order"
    );
    assert_eq!(everything["hasMore"], false);
    let types: Vec<&str> = everything["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec!["created", "created", "created", "internal_note"]
    );
    let first_cursor = cursor(&everything);
    let events = event_ids(&everything);
    assert!(events.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(first_cursor, *events.last().unwrap());
    // No cursor means from the start.
    assert_eq!(sync(&app, staff, "").await, everything);

    // One change: only that ticket, in its new state, and only its new events.
    app.act(staff, ids[0], "replies", json!({"body": "We are on it."}))
        .await;
    let changed = sync(&app, staff, &format!("?cursor={first_cursor}")).await;
    assert_eq!(ticket_ids(&changed), vec![ids[0]]);
    assert_eq!(changed["tickets"][0]["status"], "open");
    assert_eq!(changed["tickets"][0], app.ticket(staff, ids[0]).await);
    let types: Vec<&str> = changed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["public_reply", "status_changed"]);
    assert!(event_ids(&changed).iter().all(|id| *id > first_cursor));
    let second_cursor = cursor(&changed);
    assert!(second_cursor > first_cursor);

    // Nothing new: empty, and the cursor stays.
    let quiet = sync(&app, staff, &format!("?cursor={second_cursor}")).await;
    assert_eq!(ticket_ids(&quiet), Vec::<i64>::new());
    assert_eq!(event_ids(&quiet), Vec::<i64>::new());
    assert_eq!(cursor(&quiet), second_cursor);
    assert_eq!(quiet["hasMore"], false);

    // Changes by the system and attachments count as changes too.
    app.clock.advance(chrono::Duration::minutes(25));
    assert!(app.sweep().await > 0);
    let swept = sync(&app, staff, &format!("?cursor={second_cursor}")).await;
    let swept_ids: BTreeSet<i64> = ticket_ids(&swept).into_iter().collect();
    assert_eq!(
        swept_ids,
        [ids[1], ids[2]].into_iter().collect(),
        "the unanswered two"
    );
    let third_cursor = cursor(&swept);
    assert!(third_cursor > second_cursor);
    let (status, _) = app
        .send(
            app.builder(
                Method::POST,
                &format!("/api/v1/tickets/{}/attachments?fileName=log.txt", ids[2]),
                staff,
            )
            .body("disk full"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let attached = sync(&app, staff, &format!("?cursor={third_cursor}")).await;
    assert_eq!(ticket_ids(&attached), vec![ids[2]]);
    assert_eq!(attached["events"][0]["event"]["type"], "attachment_added");

    // Replaying from an older cursor gives the newer state, never an older one.
    let again = sync(&app, staff, &format!("?cursor={first_cursor}")).await;
    for ticket in again["tickets"].as_array().unwrap() {
        assert_eq!(ticket, &app.ticket(staff, id_of(ticket)).await);
    }
}

#[tokio::test]
async fn small_pages_deliver_every_change_once_and_the_cursor_only_grows() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    let mut ids = Vec::new();
    for n in 0..7 {
        ids.push(id_of(
            &app.create_ticket(&alice, p1_ticket(&format!("ticket {n}")))
                .await,
        ));
    }
    for id in &ids[..3] {
        app.act(staff, *id, "notes", json!({"body": "looked at it"}))
            .await;
    }
    let all_events: BTreeSet<i64> = event_ids(&sync(&app, staff, "?cursor=0&limit=1000").await)
        .into_iter()
        .collect();

    // Walk in pages of 2, changing tickets while walking: one already delivered, one not.
    let mut latest: BTreeMap<i64, Value> = BTreeMap::new();
    let mut seen_events = BTreeSet::new();
    let mut position = 0;
    let mut pages = 0;
    let mut changed_midway = false;
    loop {
        let page = sync(&app, staff, &format!("?cursor={position}&limit=2")).await;
        pages += 1;
        assert!(pages < 20, "the walk ends");
        assert!(page["tickets"].as_array().unwrap().len() <= 2);
        for ticket in page["tickets"].as_array().unwrap() {
            latest.insert(id_of(ticket), ticket.clone());
        }
        for id in event_ids(&page) {
            assert!(
                id > position,
                "event {id} is newer than the cursor {position}"
            );
            assert!(seen_events.insert(id), "event {id} delivered twice");
        }
        let next = cursor(&page);
        assert!(next >= position, "the cursor never goes back");
        position = next;
        if !changed_midway {
            changed_midway = true;
            app.act(staff, ids[3], "replies", json!({"body": "after delivery"}))
                .await;
            app.act(staff, ids[6], "replies", json!({"body": "before delivery"}))
                .await;
        }
        if page["hasMore"] == false {
            break;
        }
    }
    assert!(pages >= 4, "{pages}");
    assert_eq!(latest.len(), 7, "every ticket arrived");
    for (id, ticket) in &latest {
        assert_eq!(
            ticket,
            &app.ticket(staff, *id).await,
            "ticket {id} is current"
        );
    }
    // Every event arrived, the ones made during the walk included.
    let final_events: BTreeSet<i64> = event_ids(&sync(&app, staff, "?cursor=0&limit=1000").await)
        .into_iter()
        .collect();
    assert!(final_events.is_superset(&all_events));
    assert_eq!(seen_events, final_events);
}

#[tokio::test]
async fn a_requesters_sync_holds_only_their_tickets_and_public_events() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    let credential = app.enroll_device(&admin, "ws-sync").await;
    let dana = Who::Device {
        credential: &credential,
        user: "dana",
    };
    let eve = Who::Device {
        credential: &credential,
        user: "eve",
    };
    let create = |who: Who<'_>| {
        app.send(
            app.builder(Method::POST, "/api/v1/tickets", who)
                .json(&printer_ticket()),
        )
    };
    let own = id_of(&create(dana).await.1);
    let evening = id_of(&create(eve).await.1);
    let desk = id_of(&app.create_ticket(&alice, printer_ticket()).await);
    let alice_id = app.staff_id(&alice, "alice").await;
    app.act(
        staff,
        own,
        "notes",
        json!({"body": "secret: user deleted the driver"}),
    )
    .await;
    app.act(staff, own, "assign", json!({"assigneeId": alice_id}))
        .await;
    app.act(
        staff,
        own,
        "replies",
        json!({"body": "Reinstalling the driver."}),
    )
    .await;
    app.act(staff, evening, "replies", json!({"body": "For Eve"}))
        .await;
    app.act(staff, desk, "replies", json!({"body": "For the desk"}))
        .await;

    let mine = sync(&app, dana, "?cursor=0").await;
    assert_eq!(ticket_ids(&mine), vec![own]);
    let types: Vec<&str> = mine["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["created", "status_changed", "public_reply"]);
    for event in mine["events"].as_array().unwrap() {
        assert_eq!(event["ticketId"], own);
        assert_eq!(event["visibility"], "public");
    }
    let text = mine.to_string();
    for leak in ["secret", "For Eve", "For the desk"] {
        assert!(!text.contains(leak), "{leak} leaked: {text}");
    }
    let mut position = cursor(&mine);

    // Internal work on Dana's ticket gives her no events; others' changes give her nothing.
    app.act(staff, own, "notes", json!({"body": "secret: second note"}))
        .await;
    app.act(staff, evening, "replies", json!({"body": "For Eve again"}))
        .await;
    let later = sync(&app, dana, &format!("?cursor={position}")).await;
    assert_eq!(event_ids(&later), Vec::<i64>::new());
    assert!(ticket_ids(&later).iter().all(|id| *id == own));
    assert!(!later.to_string().contains("secret"));
    assert!(cursor(&later) >= position);
    position = cursor(&later);

    // A public change reaches her, and only her.
    app.act(
        staff,
        own,
        "replies",
        json!({"body": "Done, please check."}),
    )
    .await;
    let news = sync(&app, dana, &format!("?cursor={position}")).await;
    assert_eq!(ticket_ids(&news), vec![own]);
    let bodies: Vec<&str> = news["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["body"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(bodies, vec!["Done, please check."]);
    assert!(cursor(&news) > position);

    let eves = sync(&app, eve, "?cursor=0").await;
    assert_eq!(ticket_ids(&eves), vec![evening]);
    assert!(!eves.to_string().contains("driver"));
}

#[tokio::test]
async fn bad_cursors_and_limits_are_refused() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    app.create_ticket(&alice, printer_ticket()).await;
    for (query, field) in [
        ("cursor=abc", "cursor"),
        ("cursor=-1", "cursor"),
        ("cursor=1.5", "cursor"),
        ("cursor=99999999999999999999", "cursor"),
        ("cursor=0x10", "cursor"),
        ("cursor=0&limit=0", "limit"),
        ("cursor=0&limit=1001", "limit"),
        ("cursor=0&limit=many", "limit"),
        ("since=0", "since"),
    ] {
        let (status, body) = app
            .call(
                Method::GET,
                &format!("/api/v1/sync?{query}"),
                Some(&alice),
                None,
            )
            .await;
        assert_field_error((status, &body), field);
    }
    // A cursor from the future is not an error: there is just nothing newer.
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/api/v1/sync?cursor={}", i64::MAX),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["tickets"], json!([]));
    assert_eq!(body["cursor"], i64::MAX);
}
