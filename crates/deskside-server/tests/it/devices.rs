//! The device registry: heartbeats, snapshot uploads, history, findings and diffs, as an
//! enrolled agent and staff see them over HTTP.

use chrono::Duration;
use deskside_server::clock::Clock;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

const WORKING: &str = include_str!("../../../deskside-diagnostics/tests/fixtures/debian12-vm.json");
const TROUBLE: &str =
    include_str!("../../../deskside-diagnostics/tests/fixtures/debian12-trouble.json");
const UPGRADED: &str =
    include_str!("../../../deskside-diagnostics/tests/fixtures/debian12-after-upgrade.json");

struct Agent<'a> {
    app: &'a TestApp,
    credential: String,
}

impl Agent<'_> {
    async fn post(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let response = self
            .app
            .http
            .post(self.app.url(path))
            .bearer_auth(&self.credential)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request sent");
        read(response).await
    }

    async fn upload(&self, snapshot: &str) -> Value {
        let (status, receipt) = self
            .post(
                "/api/v1/agent/snapshots",
                "application/json",
                snapshot.to_owned(),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{receipt}");
        receipt
    }
}

async fn enrolled<'a>(app: &'a TestApp, admin: &str, hostname: &str) -> (Agent<'a>, String) {
    let credential = app.enroll_device(admin, hostname).await;
    let agent = Agent { app, credential };
    let (_, me) = read(
        app.device_request(Method::GET, "/api/v1/auth/me", &agent.credential, "x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let id = me["device"]["id"].as_str().unwrap().to_owned();
    (agent, id)
}

fn finding_ids(findings: &Value) -> Vec<String> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn heartbeats_keep_a_device_online_until_it_falls_silent() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (agent, id) = enrolled(&app, &admin, "ws-front-desk").await;

    let (_, devices) = app
        .call(Method::GET, "/api/v1/devices", Some(&admin), None)
        .await;
    assert_eq!(devices[0]["online"], false, "never heard from: {devices}");

    let (status, answer) = agent
        .post(
            "/api/v1/agent/heartbeat",
            "application/json",
            r#"{"agentVersion":"1.2.3"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["serverTime"], json!(app.clock.now()));
    assert!(answer["heartbeatSeconds"].as_i64().unwrap() > 0);

    let path = format!("/api/v1/devices/{id}");
    let (_, device) = app.call(Method::GET, &path, Some(&admin), None).await;
    assert_eq!(
        (device["online"].clone(), device["agentVersion"].clone()),
        (json!(true), json!("1.2.3"))
    );
    assert_eq!(device["hostname"], "ws-front-desk");

    app.clock.advance(Duration::minutes(2));
    let (_, device) = app.call(Method::GET, &path, Some(&admin), None).await;
    assert_eq!(device["online"], false);
}

#[tokio::test]
async fn snapshots_build_a_history_with_findings_and_diffs() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (agent, id) = enrolled(&app, &admin, "ws-lab").await;

    let first = agent.upload(WORKING).await;
    app.clock.advance(Duration::days(7));
    let trouble = agent.upload(TROUBLE).await;
    let found = finding_ids(&trouble["findings"]);
    for expected in [
        "disk_almost_full",
        "memory_pressure",
        "print_queue_stuck",
        "dns_failure",
    ] {
        assert!(
            found.iter().any(|f| f == expected),
            "{expected} in {found:?}"
        );
    }
    app.clock.advance(Duration::days(1));
    let last = agent.upload(UPGRADED).await;
    // A week later: sign in afresh.
    let alice = app.login("alice").await;

    // The registry takes inventory from the newest snapshot.
    let (_, device) = app
        .call(
            Method::GET,
            &format!("/api/v1/devices/{id}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(
        device["latestSnapshot"]["id"], last["snapshot"]["id"],
        "{device}"
    );
    assert_eq!(device["platform"], "linux");
    assert!(device["os"].is_string(), "{device}");
    assert!(device["findings"].is_array());

    let (_, history) = app
        .call(
            Method::GET,
            &format!("/api/v1/devices/{id}/snapshots"),
            Some(&alice),
            None,
        )
        .await;
    let ids: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["id"])
        .collect();
    assert_eq!(
        ids,
        [
            &last["snapshot"]["id"],
            &trouble["snapshot"]["id"],
            &first["snapshot"]["id"]
        ],
        "newest first"
    );

    // The stored document is what the agent sent, byte for byte.
    let response = app
        .http
        .get(app.url(&format!(
            "/api/v1/devices/{id}/snapshots/{}",
            first["snapshot"]["id"]
        )))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), WORKING);

    // "What changed since it last worked": from the first to the latest by default.
    let (status, diff) = app
        .call(
            Method::GET,
            &format!("/api/v1/devices/{id}/diff?from={}", first["snapshot"]["id"]),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{diff}");
    let upgraded: Vec<&str> = diff["software"]["upgraded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        upgraded.contains(&"bash") && upgraded.contains(&"tzdata"),
        "{diff}"
    );
    let installed = diff["software"]["installed"].to_string();
    assert!(installed.contains("htop"), "{diff}");
}

#[tokio::test]
async fn history_stays_bounded() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (agent, id) = enrolled(&app, &admin, "ws-busy").await;
    let first = agent.upload(WORKING).await;
    for _ in 0..50 {
        agent.upload(WORKING).await;
    }
    let (_, history) = app
        .call(
            Method::GET,
            &format!("/api/v1/devices/{id}/snapshots"),
            Some(&admin),
            None,
        )
        .await;
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 50);
    assert!(history.iter().all(|s| s["id"] != first["snapshot"]["id"]));
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/api/v1/devices/{id}/snapshots/{}", first["snapshot"]["id"]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_uploads_and_wrong_callers_are_refused() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (agent, id) = enrolled(&app, &admin, "ws-1").await;
    let (_, other_id) = enrolled(&app, &admin, "ws-2").await;
    let stored = agent.upload(WORKING).await;

    let (status, error) = agent
        .post(
            "/api/v1/agent/snapshots",
            "application/json",
            r#"{"schemaVersion":"one"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["fields"][0]["field"], "schemaVersion");

    let (status, error) = agent
        .post("/api/v1/agent/snapshots", "application/json", "{not json")
        .await;
    assert_eq!(
        (status, error["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("bad_request"))
    );

    let huge = format!(
        r#"{{"schemaVersion":1,"padding":"{}"}}"#,
        "x".repeat(1024 * 1024)
    );
    let (status, error) = agent
        .post("/api/v1/agent/snapshots", "application/json", huge)
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{error}");

    // Staff tokens are not device credentials, and devices do not read the registry.
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/agent/heartbeat",
            Some(&admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = read(
        app.device_request(Method::GET, "/api/v1/devices", &agent.credential, "dana")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A snapshot belongs to its device; ids of others read as missing.
    let snapshot = &stored["snapshot"]["id"];
    for path in [
        format!("/api/v1/devices/{other_id}/snapshots/{snapshot}"),
        format!("/api/v1/devices/{other_id}/diff?from={snapshot}"),
        "/api/v1/devices/dev_unknown".to_owned(),
    ] {
        let (status, body) = app.call(Method::GET, &path, Some(&admin), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/api/v1/devices/{id}/diff"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

/// Staff must tell the agent's own uploads from what the user chose to attach: every
/// stored snapshot carries its source, and the device view returns it.
#[tokio::test]
async fn the_device_view_says_where_each_snapshot_came_from() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (agent, id) = enrolled(&app, &admin, "ws-sources").await;

    // An agent that predates sources, then the agent's own upload, then "Refresh now".
    let old = agent.upload(WORKING).await;
    assert_eq!(old["snapshot"]["source"], "background", "{old}");
    let (status, background) = agent
        .post(
            "/api/v1/agent/snapshots?source=background",
            "application/json",
            WORKING.to_owned(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{background}");
    let (status, on_request) = agent
        .post(
            "/api/v1/agent/snapshots?source=on_request",
            "application/json",
            UPGRADED.to_owned(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{on_request}");
    // An agent cannot pass its upload off as the user's, nor invent a source.
    for query in ["source=ticket", "source=user", "sauce=background"] {
        let (status, error) = agent
            .post(
                &format!("/api/v1/agent/snapshots?{query}"),
                "application/json",
                WORKING.to_owned(),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {error}");
    }

    // The device's user attaches the sections they kept to their ticket, as Get help does.
    let ticket = id_of(
        &read(
            app.device_request(Method::POST, "/api/v1/tickets", &agent.credential, "dana")
                .json(&printer_ticket())
                .send()
                .await
                .unwrap(),
        )
        .await
        .1,
    );
    let mut kept: Value = serde_json::from_str(WORKING).unwrap();
    kept.as_object_mut().unwrap().remove("processes");
    kept["withheld"] = json!({"processes": "user"});
    kept["processes"] = json!({"unavailable": {"reason": "not shared by the user"}});
    kept["system"]["available"]["hostname"] = json!("renamed-by-a-user");
    let (status, attached) = read(
        app.device_request(
            Method::POST,
            &format!("/api/v1/tickets/{ticket}/attachments?fileName=diagnostics.json"),
            &agent.credential,
            "dana",
        )
        .header("content-type", "application/json")
        .body(kept.to_string())
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{attached}");
    // Another JSON file on the ticket, or staff attaching one, is only an attachment.
    let (status, _) = read(
        app.device_request(
            Method::POST,
            &format!("/api/v1/tickets/{ticket}/attachments?fileName=notes.json"),
            &agent.credential,
            "dana",
        )
        .header("content-type", "application/json")
        .body(WORKING)
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let staff_attachment = app
        .http
        .post(app.url(&format!(
            "/api/v1/tickets/{ticket}/attachments?fileName=diagnostics.json"
        )))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(WORKING);
    let (status, _) = read(staff_attachment.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED);

    let (_, ticket_view) = app
        .call(
            Method::GET,
            &format!("/api/v1/tickets/{ticket}"),
            Some(&admin),
            None,
        )
        .await;
    let number = format!("HD-{}", ticket_view["number"]);
    let (_, history) = app
        .call(
            Method::GET,
            &format!("/api/v1/devices/{id}/snapshots"),
            Some(&admin),
            None,
        )
        .await;
    let sources: Vec<(Value, Value, Value)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["source"].clone(),
                s["ticketId"].clone(),
                s["ticketNumber"].clone(),
            )
        })
        .collect();
    assert_eq!(
        sources,
        [
            (json!("ticket"), json!(ticket), json!(number)),
            (json!("on_request"), Value::Null, Value::Null),
            (json!("background"), Value::Null, Value::Null),
            (json!("background"), Value::Null, Value::Null),
        ],
        "{history}"
    );
    let (_, device) = app
        .call(
            Method::GET,
            &format!("/api/v1/devices/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(device["latestSnapshot"]["source"], "ticket", "{device}");
    assert_eq!(device["latestSnapshot"]["ticketNumber"], json!(number));
    // The user's snapshot is kept as they sent it, withheld section marked.
    let (_, document) = app
        .call(
            Method::GET,
            &format!(
                "/api/v1/devices/{id}/snapshots/{}",
                device["latestSnapshot"]["id"]
            ),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(document["withheld"]["processes"], "user", "{document}");
    assert_ne!(
        device["hostname"], "renamed-by-a-user",
        "only the agent speaks for the machine"
    );
}
