//! SLA behaviour over HTTP with the injected clock: at-risk and breach alerts from the
//! sweep, automatic escalation, pauses, business hours, auto-close, and the settings API.

use chrono::{DateTime, Duration, TimeZone, Utc};
use deskside_server::clock::Clock;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn due(ticket: &Value, timer: &str) -> Option<DateTime<Utc>> {
    ticket["sla"][timer]["dueAt"]
        .as_str()
        .map(|t| t.parse().unwrap())
}

/// The SLA events (`sla_at_risk`, `sla_breached`, `escalated`) of a timeline, with target.
fn sla_events(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| {
            let kind = e["event"]["type"].as_str().unwrap();
            match kind {
                "sla_at_risk" | "sla_breached" => {
                    Some(format!("{kind}:{}", e["event"]["target"].as_str().unwrap()))
                }
                "escalated" => Some(format!(
                    "escalated:{}→{}:{}",
                    e["event"]["from"].as_str().unwrap(),
                    e["event"]["to"].as_str().unwrap(),
                    if e["event"]["automatic"] == true {
                        "auto"
                    } else {
                        "manual"
                    }
                )),
                _ => None,
            }
        })
        .collect()
}

#[tokio::test]
async fn a_p1_warns_at_75_percent_then_breaches_and_escalates_on_its_own() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    let credential = app.enroll_device(&admin, "ws-reception").await;
    let dana = Who::Device {
        credential: &credential,
        user: "dana",
    };
    let (status, ticket) = app
        .call_as(
            Method::POST,
            "/api/v1/tickets",
            dana,
            Some(p1_ticket("Nobody can work")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let id = id_of(&ticket);
    assert_eq!(ticket["priority"], "P1");
    // Default policy, P1 internal staff: 30 min to answer, 4 h to resolve.
    assert_eq!(due(&ticket, "firstResponse"), Some(at(2026, 3, 2, 9, 30)));
    assert_eq!(due(&ticket, "resolution"), Some(at(2026, 3, 2, 13, 0)));

    // 75 % of 30 minutes is 22:30. One second before: nothing to say.
    app.clock.set(at(2026, 3, 2, 9, 22) + Duration::seconds(29));
    assert_eq!(app.sweep().await, 0);
    assert!(sla_events(&app.timeline(staff, id).await).is_empty());
    assert!(app.list_ids(staff, "&slaState=at_risk").await.is_empty());

    app.clock.advance(Duration::seconds(1));
    assert_eq!(app.sweep().await, 1);
    let timeline = app.timeline(staff, id).await;
    assert_eq!(sla_events(&timeline), vec!["sla_at_risk:first_response"]);
    let alert = timeline.last().unwrap();
    assert_eq!(alert["visibility"], "internal");
    assert_eq!(alert["actor"]["kind"], "system");
    assert_eq!(alert["at"], "2026-03-02T09:22:30Z");
    assert_eq!(app.list_ids(staff, "&slaState=at_risk").await, vec![id]);
    assert!(app.list_ids(staff, "&slaState=on_track").await.is_empty());
    // Said once only.
    assert_eq!(app.sweep().await, 0);
    assert_eq!(sla_events(&app.timeline(staff, id).await).len(), 1);
    // The requester does not see the desk's alarms.
    assert!(sla_events(&app.timeline(dana, id).await).is_empty());

    // Due: breached, and the ticket moves up to L2 by itself.
    app.clock.set(at(2026, 3, 2, 9, 30));
    assert_eq!(app.sweep().await, 1);
    let timeline = app.timeline(staff, id).await;
    assert_eq!(
        sla_events(&timeline),
        vec![
            "sla_at_risk:first_response",
            "sla_breached:first_response",
            "escalated:L1→L2:auto"
        ]
    );
    let escalation = timeline.last().unwrap();
    assert!(
        escalation["event"]["reason"]
            .as_str()
            .unwrap()
            .contains("SLA"),
        "{escalation}"
    );
    let ticket = app.ticket(staff, id).await;
    assert_eq!(ticket["tier"], "L2");
    assert_eq!(app.list_ids(staff, "&slaState=breached").await, vec![id]);
    assert_eq!(app.list_ids(staff, "&tier=L2").await, vec![id]);
    // The requester sees that the ticket went up a tier, not the alarms.
    assert_eq!(
        sla_events(&app.timeline(dana, id).await),
        vec!["escalated:L1→L2:auto"]
    );

    // The resolution clock warns at 3 h and breaches at 4 h: escalated again, to L3.
    app.clock
        .set(at(2026, 3, 2, 11, 59) + Duration::seconds(59));
    assert_eq!(app.sweep().await, 0);
    app.clock.set(at(2026, 3, 2, 12, 0));
    assert_eq!(app.sweep().await, 1);
    app.clock.set(at(2026, 3, 2, 13, 0));
    assert_eq!(app.sweep().await, 1);
    assert_eq!(
        sla_events(&app.timeline(staff, id).await),
        vec![
            "sla_at_risk:first_response",
            "sla_breached:first_response",
            "escalated:L1→L2:auto",
            "sla_at_risk:resolution",
            "sla_breached:resolution",
            "escalated:L2→L3:auto",
        ]
    );
    assert_eq!(app.ticket(staff, id).await["tier"], "L3");
    // Nothing further to do, however long it takes: L3 is the top.
    app.clock.advance(Duration::days(30));
    assert_eq!(app.sweep().await, 0);
    // (Sessions last 12 h: sign in again after the jump.)
    let alice = app.login("alice").await;
    let admin = app.login("admin").await;
    assert_eq!(
        sla_events(&app.timeline(Who::Staff(&alice), id).await).len(),
        6
    );

    // The sweep's changes are audited as the system's.
    let (_, audit) = app
        .call(Method::GET, "/api/v1/audit", Some(&admin), None)
        .await;
    let sweeps: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "ticket.sla_sweep")
        .collect();
    assert_eq!(sweeps.len(), 4);
    assert!(sweeps.iter().all(|r| r["actor"] == "system"));
}

#[tokio::test]
async fn a_staff_reply_stops_the_first_response_clock_and_a_user_reply_does_not() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    let credential = app.enroll_device(&admin, "ws-2").await;
    let dana = Who::Device {
        credential: &credential,
        user: "dana",
    };
    let answered = id_of(
        &app.create_ticket(&alice, p1_ticket("answered in time"))
            .await,
    );
    let (_, chased) = app
        .call_as(
            Method::POST,
            "/api/v1/tickets",
            dana,
            Some(p1_ticket("user chases")),
        )
        .await;
    let chased = id_of(&chased);

    app.clock.advance(Duration::minutes(10));
    let replied = app
        .act(
            staff,
            answered,
            "replies",
            json!({"body": "Looking into it."}),
        )
        .await;
    assert_eq!(replied["firstRespondedAt"], "2026-03-02T09:10:00Z");
    assert_eq!(replied["sla"]["firstResponse"]["dueAt"], Value::Null);
    assert_eq!(replied["sla"]["firstResponse"]["elapsedSecs"], 600);
    let nudged = app
        .act(dana, chased, "replies", json!({"body": "Any news?"}))
        .await;
    assert_eq!(
        nudged["firstRespondedAt"],
        Value::Null,
        "the user is not the desk"
    );

    app.clock.set(at(2026, 3, 2, 9, 45));
    assert_eq!(app.sweep().await, 1, "only the unanswered ticket has news");
    assert!(sla_events(&app.timeline(staff, answered).await).is_empty());
    assert_eq!(
        sla_events(&app.timeline(staff, chased).await),
        vec![
            "sla_at_risk:first_response",
            "sla_breached:first_response",
            "escalated:L1→L2:auto"
        ]
    );
    assert_eq!(app.ticket(staff, answered).await["tier"], "L1");

    // The answered ticket's resolution clock still runs.
    app.clock.set(at(2026, 3, 2, 12, 0));
    app.sweep().await;
    assert_eq!(
        sla_events(&app.timeline(staff, answered).await),
        vec!["sla_at_risk:resolution"]
    );

    // Resolving in time is "met".
    let resolved = app.move_status(staff, answered, "resolved").await;
    assert_eq!(resolved["sla"]["resolution"]["dueAt"], Value::Null);
    assert!(
        app.list_ids(staff, "&slaState=met")
            .await
            .contains(&answered)
    );
}

#[tokio::test]
async fn waiting_on_the_user_pauses_the_clock() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    let credential = app.enroll_device(&admin, "ws-4").await;
    let dana = Who::Device {
        credential: &credential,
        user: "dana",
    };
    let (_, ticket) = app
        .call_as(
            Method::POST,
            "/api/v1/tickets",
            dana,
            Some(p1_ticket("VPN down")),
        )
        .await;
    let id = id_of(&ticket);
    let resolution_due = due(&ticket, "resolution").unwrap();

    app.clock.advance(Duration::minutes(10));
    app.act(
        staff,
        id,
        "replies",
        json!({"body": "Which network are you on?"}),
    )
    .await;
    let waiting = app.move_status(staff, id, "pending_user").await;
    assert_eq!(waiting["sla"]["resolution"]["dueAt"], Value::Null);
    assert_eq!(waiting["sla"]["resolution"]["elapsedSecs"], 600);
    assert_eq!(app.list_ids(staff, "&slaState=paused").await, vec![id]);

    // Three days go by (Monday 09:10 to Thursday 09:10): no alarms while paused.
    let paused_for = Duration::days(3);
    app.clock.advance(paused_for);
    assert_eq!(app.sweep().await, 0);
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    assert!(sla_events(&app.timeline(staff, id).await).is_empty());

    // The user answers: the ticket is back with the desk, the clock runs again, and the
    // deadline has moved by exactly the pause.
    let back = app
        .act(
            dana,
            id,
            "replies",
            json!({"body": "Home Wi-Fi, and it works on cable."}),
        )
        .await;
    assert_eq!(back["status"], "open");
    assert_eq!(due(&back, "resolution"), Some(resolution_due + paused_for));
    assert_eq!(app.list_ids(staff, "&slaState=on_track").await, vec![id]);

    // At risk after 3 h of counted time: 10 min before the pause, 170 min after it.
    app.clock
        .set(at(2026, 3, 5, 11, 59) + Duration::seconds(59));
    assert_eq!(app.sweep().await, 0);
    app.clock.set(at(2026, 3, 5, 12, 0));
    assert_eq!(app.sweep().await, 1);
    assert_eq!(
        sla_events(&app.timeline(staff, id).await),
        vec!["sla_at_risk:resolution"]
    );
}

/// Saves SLA settings as the admin; must succeed.
async fn save_sla(app: &TestApp, admin: &str, settings: &Value) {
    let (status, body) = app
        .call(
            Method::PUT,
            "/api/v1/sla",
            Some(admin),
            Some(settings.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn sla_settings(app: &TestApp, admin: &str) -> Value {
    let (status, settings) = app
        .call(Method::GET, "/api/v1/sla", Some(admin), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    settings
}

/// Sets the P1 internal-staff first-response target.
fn with_p1_first_response(mut settings: Value, minutes: u32) -> Value {
    for policy in settings["policies"].as_array_mut().unwrap() {
        if policy["priority"] == "P1" && policy["userKind"] == "internal_staff" {
            policy["firstResponseMinutes"] = json!(minutes);
        }
    }
    settings
}

#[tokio::test]
async fn targets_count_only_desk_hours() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let standard = with_p1_first_response(sla_settings(&app, &admin).await, 20);
    let berlin = {
        let mut s = standard.clone();
        s["calendar"]["timeZone"] = json!("Europe/Berlin");
        s
    };
    let easter = {
        let mut s = standard.clone();
        s["calendar"]["holidays"] = json!(["2026-03-09"]);
        s
    };
    // (case, settings, created at, first response due (20 min), resolution due (4 h))
    let cases = [
        (
            "inside hours",
            &standard,
            at(2026, 3, 2, 9, 0),
            at(2026, 3, 2, 9, 20),
            at(2026, 3, 2, 13, 0),
        ),
        (
            "friday 17:50",
            &standard,
            at(2026, 3, 6, 17, 50),
            at(2026, 3, 9, 8, 10),
            at(2026, 3, 9, 11, 50),
        ),
        (
            "saturday",
            &standard,
            at(2026, 3, 7, 10, 0),
            at(2026, 3, 9, 8, 20),
            at(2026, 3, 9, 12, 0),
        ),
        (
            "before opening",
            &standard,
            at(2026, 3, 3, 7, 0),
            at(2026, 3, 3, 8, 20),
            at(2026, 3, 3, 12, 0),
        ),
        (
            "after closing",
            &standard,
            at(2026, 3, 3, 19, 0),
            at(2026, 3, 4, 8, 20),
            at(2026, 3, 4, 12, 0),
        ),
        (
            "late on a long day",
            &standard,
            at(2026, 3, 3, 17, 59),
            at(2026, 3, 4, 8, 19),
            at(2026, 3, 4, 11, 59),
        ),
        (
            "holiday monday",
            &easter,
            at(2026, 3, 6, 17, 50),
            at(2026, 3, 10, 8, 10),
            at(2026, 3, 10, 11, 50),
        ),
        // Berlin is UTC+1 in winter: the desk opens at 07:00 UTC.
        (
            "berlin morning",
            &berlin,
            at(2026, 3, 2, 6, 30),
            at(2026, 3, 2, 7, 20),
            at(2026, 3, 2, 11, 0),
        ),
        // Friday 17:50 in Berlin; summer time starts on Sunday: Monday opens at 06:00 UTC.
        (
            "berlin over DST",
            &berlin,
            at(2026, 3, 27, 16, 50),
            at(2026, 3, 30, 6, 10),
            at(2026, 3, 30, 9, 50),
        ),
    ];
    let mut failures = Vec::new();
    for (case, settings, created, first_due, resolution_due) in cases {
        app.clock.set(created);
        let admin = app.login("admin").await;
        save_sla(&app, &admin, settings).await;
        let ticket = app
            .create_ticket(&app.login("alice").await, p1_ticket(case))
            .await;
        let got = (due(&ticket, "firstResponse"), due(&ticket, "resolution"));
        if got != (Some(first_due), Some(resolution_due)) {
            failures.push(format!(
                "{case}: expected {first_due} / {resolution_due}, got {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn the_clock_stands_still_over_the_weekend() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let settings = with_p1_first_response(sla_settings(&app, &admin).await, 20);
    save_sla(&app, &admin, &settings).await;
    app.clock.set(at(2026, 3, 6, 17, 50));
    let alice = app.login("alice").await;
    let id = id_of(
        &app.create_ticket(&alice, p1_ticket("Friday evening outage"))
            .await,
    );

    // 15 min (75 %) are Friday 17:50–18:00 and Monday 08:00–08:05.
    for moment in [
        at(2026, 3, 6, 18, 30),
        at(2026, 3, 7, 12, 0),
        at(2026, 3, 8, 23, 59),
    ] {
        app.clock.set(moment);
        assert_eq!(app.sweep().await, 0, "{moment}");
    }
    app.clock.set(at(2026, 3, 9, 8, 4) + Duration::seconds(59));
    assert_eq!(app.sweep().await, 0);
    app.clock.set(at(2026, 3, 9, 8, 5));
    assert_eq!(app.sweep().await, 1);
    app.clock.set(at(2026, 3, 9, 8, 10));
    assert_eq!(app.sweep().await, 1);
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    assert_eq!(
        sla_events(&app.timeline(staff, id).await),
        vec![
            "sla_at_risk:first_response",
            "sla_breached:first_response",
            "escalated:L1→L2:auto"
        ]
    );
}

#[tokio::test]
async fn resolved_tickets_close_themselves_after_five_quiet_days() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    let quiet = id_of(&app.create_ticket(&alice, printer_ticket()).await);
    let reopened = id_of(&app.create_ticket(&alice, printer_ticket()).await);
    app.clock.advance(Duration::minutes(10));
    app.move_status(staff, quiet, "resolved").await;
    app.move_status(staff, reopened, "resolved").await;
    let resolved_at = app.clock.now();

    app.clock.set(resolved_at + Duration::days(1));
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    app.move_status(staff, reopened, "open").await;

    app.clock
        .set(resolved_at + Duration::days(5) - Duration::seconds(1));
    app.sweep().await;
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    assert_eq!(app.ticket(staff, quiet).await["status"], "resolved");

    app.clock.set(resolved_at + Duration::days(5));
    app.sweep().await;
    let closed = app.ticket(staff, quiet).await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["closedAt"], json!(resolved_at + Duration::days(5)));
    let last = app.timeline(staff, quiet).await.pop().unwrap();
    assert_eq!(last["event"]["type"], "status_changed");
    assert_eq!(last["event"]["from"], "resolved");
    assert_eq!(last["event"]["to"], "closed");
    assert_eq!(last["actor"]["kind"], "system");
    assert_eq!(app.ticket(staff, reopened).await["status"], "open");

    // Once closed, the sweep leaves it alone.
    app.clock.advance(Duration::days(30));
    app.sweep().await;
    let alice = app.login("alice").await;
    assert_eq!(
        app.timeline(Who::Staff(&alice), quiet)
            .await
            .last()
            .unwrap(),
        &last
    );
}

#[tokio::test]
async fn sla_settings_are_validated_field_by_field_and_only_admins_change_them() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let sam = app.login("sam").await;
    let standard = sla_settings(&app, &admin).await;
    assert_eq!(standard["atRiskPercent"], 75);
    assert_eq!(standard["autoEscalateOnBreach"], true);
    assert_eq!(standard["calendar"]["timeZone"], "UTC");
    assert_eq!(
        standard["calendar"]["weeklyHours"][0],
        json!([{"start": "08:00", "end": "18:00"}])
    );
    assert_eq!(standard["calendar"]["weeklyHours"][5], json!([]));
    assert_eq!(standard["policies"].as_array().unwrap().len(), 12);
    assert_eq!(
        sla_settings(&app, &alice).await,
        standard,
        "all staff may read"
    );

    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation, Vec<&str>)> = vec![
        (
            "at risk 0",
            Box::new(|s| s["atRiskPercent"] = json!(0)),
            vec!["atRiskPercent"],
        ),
        (
            "at risk 100",
            Box::new(|s| s["atRiskPercent"] = json!(100)),
            vec!["atRiskPercent"],
        ),
        (
            "at risk 300",
            Box::new(|s| s["atRiskPercent"] = json!(300)),
            vec!["atRiskPercent"],
        ),
        (
            "at risk text",
            Box::new(|s| s["atRiskPercent"] = json!("75")),
            vec!["atRiskPercent"],
        ),
        (
            "auto escalate text",
            Box::new(|s| s["autoEscalateOnBreach"] = json!("yes")),
            vec!["autoEscalateOnBreach"],
        ),
        (
            "zero first response",
            Box::new(|s| s["policies"][0]["firstResponseMinutes"] = json!(0)),
            vec!["policies[0].firstResponseMinutes"],
        ),
        (
            "negative minutes",
            Box::new(|s| s["policies"][0]["firstResponseMinutes"] = json!(-5)),
            vec!["policies[0].firstResponseMinutes"],
        ),
        (
            "zero resolution",
            Box::new(|s| s["policies"][2]["resolutionMinutes"] = json!(0)),
            vec!["policies[2].resolutionMinutes"],
        ),
        (
            "answer after resolve",
            Box::new(|s| s["policies"][1]["firstResponseMinutes"] = json!(10_000)),
            vec!["policies[1].resolutionMinutes"],
        ),
        (
            "unknown priority",
            Box::new(|s| s["policies"][0]["priority"] = json!("P5")),
            vec!["policies[0].priority"],
        ),
        (
            "unknown user kind",
            Box::new(|s| s["policies"][3]["userKind"] = json!("robot")),
            vec!["policies[3].userKind"],
        ),
        (
            "duplicate policy",
            Box::new(|s| {
                let first = s["policies"][0].clone();
                s["policies"].as_array_mut().unwrap().push(first);
            }),
            vec!["policies[12]"],
        ),
        (
            "six days",
            Box::new(|s| {
                s["calendar"]["weeklyHours"].as_array_mut().unwrap().pop();
            }),
            vec!["calendar.weeklyHours"],
        ),
        (
            "never open",
            Box::new(|s| s["calendar"]["weeklyHours"] = json!(vec![json!([]); 7])),
            vec!["calendar.weeklyHours"],
        ),
        (
            "end before start",
            Box::new(|s| {
                s["calendar"]["weeklyHours"][0][0] = json!({"start": "18:00", "end": "08:00"})
            }),
            vec!["calendar.weeklyHours[0][0].end"],
        ),
        (
            "overlap",
            Box::new(|s| {
                s["calendar"]["weeklyHours"][1] =
                    json!([{"start": "08:00", "end": "12:00"}, {"start": "11:00", "end": "18:00"}])
            }),
            vec!["calendar.weeklyHours[1][1].start"],
        ),
        (
            "hour 25",
            Box::new(|s| s["calendar"]["weeklyHours"][0][0]["end"] = json!("25:00")),
            vec!["calendar.weeklyHours[0][0].end"],
        ),
        (
            "one-digit hour",
            Box::new(|s| s["calendar"]["weeklyHours"][2][0]["start"] = json!("8:00")),
            vec!["calendar.weeklyHours[2][0].start"],
        ),
        (
            "unknown time zone",
            Box::new(|s| s["calendar"]["timeZone"] = json!("Mars/Olympus_Mons")),
            vec!["calendar.timeZone"],
        ),
        (
            "bad holiday",
            Box::new(|s| s["calendar"]["holidays"] = json!(["2026-02-30"])),
            vec!["calendar.holidays[0]"],
        ),
        (
            "no calendar",
            Box::new(|s| {
                s.as_object_mut().unwrap().remove("calendar");
            }),
            vec!["calendar"],
        ),
        (
            "two problems",
            Box::new(|s| {
                s["atRiskPercent"] = json!(0);
                s["policies"][4]["resolutionMinutes"] = json!(0);
            }),
            vec!["atRiskPercent", "policies[4].resolutionMinutes"],
        ),
    ];
    let mut failures = Vec::new();
    for (case, mutate, fields) in &cases {
        let mut settings = standard.clone();
        mutate(&mut settings);
        let (status, body) = app
            .call(Method::PUT, "/api/v1/sla", Some(&admin), Some(settings))
            .await;
        let named = error_fields(&body);
        if status != StatusCode::UNPROCESSABLE_ENTITY
            || !fields.iter().all(|f| named.iter().any(|n| n == f))
        {
            failures.push(format!("{case}: {status} {body}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        sla_settings(&app, &admin).await,
        standard,
        "nothing was saved"
    );

    // A valid change: Berlin, a lunch break, a holiday, warn later, no auto-escalation.
    let mut custom = standard.clone();
    custom["calendar"]["timeZone"] = json!("Europe/Berlin");
    custom["calendar"]["weeklyHours"][0] =
        json!([{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}]);
    custom["calendar"]["weeklyHours"][6] = json!([{"start": "00:00", "end": "24:00"}]);
    custom["calendar"]["holidays"] = json!(["2026-04-03", "2026-12-25"]);
    custom["atRiskPercent"] = json!(80);
    custom["autoEscalateOnBreach"] = json!(false);
    for token in [&alice, &sam] {
        let (status, body) = app
            .call(
                Method::PUT,
                "/api/v1/sla",
                Some(token),
                Some(custom.clone()),
            )
            .await;
        assert_error((status, &body), StatusCode::FORBIDDEN, "forbidden");
    }
    let (status, saved) = app
        .call(
            Method::PUT,
            "/api/v1/sla",
            Some(&admin),
            Some(custom.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved, custom);
    assert_eq!(sla_settings(&app, &sam).await, custom);
    let (_, audit) = app
        .call(Method::GET, "/api/v1/audit", Some(&admin), None)
        .await;
    let update = audit
        .as_array()
        .unwrap()
        .iter()
        .rfind(|r| r["action"] == "sla.update")
        .expect("the change is audited");
    assert_eq!(update["actor"], "user:admin (admin)");
    assert_eq!(update["details"]["atRiskPercent"], 80);

    // The new settings apply to new tickets: a breach no longer escalates.
    let id = id_of(
        &app.create_ticket(&alice, p1_ticket("after the change"))
            .await,
    );
    app.clock.advance(Duration::hours(1));
    app.sweep().await;
    let staff = Who::Staff(&alice);
    assert_eq!(
        sla_events(&app.timeline(staff, id).await),
        vec!["sla_at_risk:first_response", "sla_breached:first_response"]
    );
    assert_eq!(app.ticket(staff, id).await["tier"], "L1");
}

#[tokio::test]
async fn raising_the_priority_mid_flight_counts_from_the_start() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let staff = Who::Staff(&alice);
    // P3 internal: 4 h to answer.
    let ticket = app.create_ticket(&alice, printer_ticket()).await;
    let id = id_of(&ticket);
    assert_eq!(due(&ticket, "firstResponse"), Some(at(2026, 3, 2, 13, 0)));

    // 40 minutes in, it turns out the whole office is blocked: P1, 30 minutes to answer,
    // counted from when the ticket came in, so it is already late.
    app.clock.set(at(2026, 3, 2, 9, 40));
    let (status, raised) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/tickets/{id}"),
            Some(&alice),
            Some(json!({"version": 1, "impact": "whole_office", "urgency": "blocked"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{raised}");
    assert_eq!(raised["priority"], "P1");
    assert_eq!(due(&raised, "firstResponse"), Some(at(2026, 3, 2, 9, 30)));
    assert_eq!(due(&raised, "resolution"), Some(at(2026, 3, 2, 13, 0)));

    // The sweep picks it up at once.
    assert_eq!(app.sweep().await, 1);
    assert_eq!(
        sla_events(&app.timeline(staff, id).await),
        vec![
            "sla_at_risk:first_response",
            "sla_breached:first_response",
            "escalated:L1→L2:auto"
        ]
    );
    // Lowering it again gives the clock room: the alarms may sound again later.
    let version = app.ticket(staff, id).await["version"].clone();
    let (status, lowered) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/tickets/{id}"),
            Some(&alice),
            Some(json!({"version": version, "impact": "one_user", "urgency": "can_work"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{lowered}");
    assert_eq!(lowered["priority"], "P4");
    assert_eq!(lowered["sla"]["firstResponseAlerts"]["breached"], false);
    assert_eq!(app.list_ids(staff, "&slaState=on_track").await, vec![id]);
}
