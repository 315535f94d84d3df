//! The keyed hash chain of the audit log: what lands in it, that it verifies, and that
//! tampering with the database file (edits, rows recomputed without the key, rows cut off
//! the end) is found, through the API and through `deskside-server audit verify`.

use chrono::DateTime;
use deskside_server::audit::{AuditKey, GENESIS_HASH, chain_hash, keyed_chain_hash};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

const DAVE_PASSWORD: &str = "dave's secret passphrase";

/// Does a round of privileged acts; returns the enrollment token and device credential
/// handed out, which must never appear in the log.
async fn privileged_acts(app: &TestApp) -> Vec<String> {
    let admin = app.login("admin").await;
    let sam = app.login("sam").await;
    let alice = app.login("alice").await;
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "mallory", "password": "letmein"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "bob", "password": "wrong guess"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, user) = app
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            Some(json!({
                "username": "dave", "displayName": "Dave Dauer", "role": "agent", "tier": "L2",
                "password": DAVE_PASSWORD
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let (status, issued) = app
        .call(
            Method::POST,
            "/api/v1/enrollment-tokens",
            Some(&sam),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let token = issued["token"].as_str().unwrap().to_owned();
    let (status, enrolled) = app
        .call(
            Method::POST,
            "/api/v1/devices/enroll",
            None,
            Some(json!({"token": token, "hostname": "ws-audit"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{enrolled}");
    let ticket = app.create_ticket(&alice, printer_ticket()).await;
    let id = id_of(&ticket);
    app.act(
        Who::Staff(&alice),
        id,
        "escalate",
        json!({"reason": "fuser needs replacing"}),
    )
    .await;
    app.act(
        Who::Staff(&sam),
        id,
        "priority",
        json!({"priority": "P2", "reason": "whole team waits"}),
    )
    .await;
    vec![token, enrolled["credential"].as_str().unwrap().to_owned()]
}

async fn audit_log(app: &TestApp, query: &str) -> Vec<Value> {
    let admin = app.login("admin").await;
    let (status, rows) = app
        .call(
            Method::GET,
            &format!("/api/v1/audit{query}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    rows.as_array().unwrap().clone()
}

async fn verify(app: &TestApp) -> Value {
    let admin = app.login("admin").await;
    let (status, report) = app
        .call(Method::GET, "/api/v1/audit/verify", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    report
}

fn find<'a>(rows: &'a [Value], action: &str, subject: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["action"] == action && r["subject"] == subject)
        .unwrap_or_else(|| panic!("no {action} on {subject} in {rows:?}"))
}

#[tokio::test]
async fn privileged_acts_are_chained_in_the_audit_log() {
    let app = spawn_app().await;
    let secrets = privileged_acts(&app).await;
    let rows = audit_log(&app, "?limit=1000").await;

    // (action, subject, actor)
    let expected = [
        ("auth.login_failed", "user:mallory", "ip:127.0.0.1"),
        ("auth.login_failed", "user:bob", "ip:127.0.0.1"),
        ("user.create", "user:dave", "user:admin (admin)"),
        (
            "device.enrollment_token_create",
            "enrollment_token",
            "user:sam (supervisor)",
        ),
        ("ticket.escalate", "ticket:HD-1001", "user:alice (agent)"),
        (
            "ticket.priority_override",
            "ticket:HD-1001",
            "user:sam (supervisor)",
        ),
    ];
    for (action, subject, actor) in expected {
        assert_eq!(find(&rows, action, subject)["actor"], actor, "{action}");
    }
    let enroll = rows
        .iter()
        .find(|r| r["action"] == "device.enroll")
        .unwrap();
    assert!(enroll["actor"].as_str().unwrap().starts_with("device:dev_"));
    assert_eq!(enroll["details"]["hostname"], "ws-audit");
    let created = find(&rows, "user.create", "user:dave");
    assert_eq!(created["details"], json!({"role": "agent", "tier": "L2"}));
    let escalation = &find(&rows, "ticket.escalate", "ticket:HD-1001")["details"]["events"][0];
    assert_eq!(escalation["type"], "escalated");
    assert_eq!(escalation["reason"], "fuser needs replacing");

    // No secret ever lands in the log.
    let text = serde_json::to_string(&rows).unwrap();
    for secret in secrets.iter().map(String::as_str).chain([
        DAVE_PASSWORD,
        "letmein",
        "wrong guess",
        "$argon2",
    ]) {
        assert!(!text.contains(secret), "the audit log contains {secret:?}");
    }

    // A chain keyed with the key in the data folder: ids without gaps, each row linking to
    // the one before.
    let key = AuditKey::read(&app.data_dir).unwrap();
    let mut previous = GENESIS_HASH.to_owned();
    for (index, row) in rows.iter().enumerate() {
        assert_eq!(row["id"], index as i64 + 1);
        assert_eq!(row["prevHash"], previous.as_str(), "row {}", row["id"]);
        assert_eq!(row["keyed"], true, "row {}", row["id"]);
        let at: DateTime<chrono::Utc> = row["at"].as_str().unwrap().parse().unwrap();
        let recomputed = keyed_chain_hash(
            &key,
            &previous,
            row["id"].as_i64().unwrap(),
            at,
            row["actor"].as_str().unwrap(),
            row["action"].as_str().unwrap(),
            row["subject"].as_str().unwrap(),
            &row["details"].to_string(),
        );
        assert_eq!(row["hash"], recomputed.as_str(), "row {}", row["id"]);
        previous = recomputed;
    }

    // Paging through the log.
    let page = audit_log(&app, "?after=3&limit=2").await;
    let ids: Vec<i64> = page.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![4, 5]);
    assert!(
        audit_log(&app, &format!("?after={}", rows.len()))
            .await
            .is_empty()
    );

    app.checkpoint_audit().await.unwrap();
    let report = verify(&app).await;
    assert_eq!(report["firstBroken"], Value::Null, "{report}");
    assert_eq!(report["rowsChecked"], rows.len());
    assert_eq!(report["checkpoint"]["rows"], rows.len(), "{report}");
    let run = run_cli(
        &[
            "audit",
            "verify",
            "--data-dir",
            app.data_dir.to_str().unwrap(),
        ],
        None,
        &[],
    )
    .await;
    assert!(run.success, "{run:?}");
    assert!(run.stdout.contains("intact"), "{run:?}");
    assert!(
        run.stdout.contains(&format!("{} rows", rows.len())),
        "{run:?}"
    );
}

/// One way of tampering with the audit table, and the row verification must name.
struct Tampering {
    name: &'static str,
    apply: fn(&rusqlite::Connection, i64),
    /// The row id verification names, relative to the tampered row.
    first_broken_offset: i64,
    /// What the reason says.
    reason: &'static str,
}

/// The keyed chain recomputed without the key from row `from` on, as someone with write
/// access to the database but not the key file would: plain SHA-256 links, marked unkeyed
/// (as an older version's rows are), or still marked keyed.
fn recompute_unkeyed(db: &rusqlite::Connection, from: i64, mark_unkeyed: bool) {
    let prev: String = db
        .query_row(
            "SELECT prev_hash FROM audit_log WHERE id = ?1",
            [from],
            |r| r.get(0),
        )
        .unwrap();
    let rows: Vec<(i64, String, String, String, String, String)> = db
        .prepare("SELECT id, at, actor, action, subject, details FROM audit_log WHERE id >= ?1 ORDER BY id")
        .unwrap()
        .query_map([from], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut prev = prev;
    for (id, at, actor, action, subject, details) in rows {
        let time = DateTime::parse_from_rfc3339(&at).unwrap().to_utc();
        let hash = chain_hash(&prev, id, time, &actor, &action, &subject, &details);
        db.execute(
            "UPDATE audit_log SET prev_hash = ?2, hash = ?3, keyed = ?4 WHERE id = ?1",
            rusqlite::params![id, prev, hash, !mark_unkeyed],
        )
        .unwrap();
        prev = hash;
    }
}

/// Deletes the last five rows.
fn cut_off_the_end(db: &rusqlite::Connection) {
    db.execute(
        "DELETE FROM audit_log WHERE id > (SELECT max(id) - 5 FROM audit_log)",
        [],
    )
    .unwrap();
}

fn tamperings() -> Vec<Tampering> {
    vec![
        Tampering {
            name: "subject edited",
            apply: |db, id| {
                db.execute(
                    "UPDATE audit_log SET subject = 'user:nobody' WHERE id = ?1",
                    [id],
                )
                .unwrap();
            },
            first_broken_offset: 0,
            reason: "do not match its hash",
        },
        Tampering {
            name: "details edited",
            apply: |db, id| {
                db.execute(
                    "UPDATE audit_log SET details = replace(details, 'agent', 'admin') WHERE id = ?1",
                    [id],
                )
                .unwrap();
            },
            first_broken_offset: 0,
            reason: "do not match its hash",
        },
        Tampering {
            name: "details no longer JSON",
            apply: |db, id| {
                db.execute("UPDATE audit_log SET details = '{oops' WHERE id = ?1", [id])
                    .unwrap();
            },
            first_broken_offset: 0,
            reason: "do not match its hash",
        },
        Tampering {
            name: "time moved",
            apply: |db, id| {
                db.execute(
                    "UPDATE audit_log SET at = '2020-01-01T00:00:00.000000Z' WHERE id = ?1",
                    [id],
                )
                .unwrap();
            },
            first_broken_offset: 0,
            reason: "do not match its hash",
        },
        Tampering {
            name: "actor edited",
            apply: |db, id| {
                db.execute("UPDATE audit_log SET actor = 'cli' WHERE id = ?1", [id])
                    .unwrap();
            },
            first_broken_offset: 0,
            reason: "do not match its hash",
        },
        Tampering {
            name: "row deleted",
            apply: |db, id| {
                db.execute("DELETE FROM audit_log WHERE id = ?1", [id])
                    .unwrap();
            },
            first_broken_offset: 1,
            reason: "previous-hash link",
        },
        Tampering {
            name: "edited and rehashed",
            apply: |db, id| {
                let (at, actor, action, details, prev): (String, String, String, String, String) =
                    db.query_row(
                        "SELECT at, actor, action, details, prev_hash FROM audit_log WHERE id = ?1",
                        [id],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                    )
                    .unwrap();
                let at = DateTime::parse_from_rfc3339(&at).unwrap().to_utc();
                let hash = chain_hash(&prev, id, at, &actor, &action, "user:nobody", &details);
                db.execute(
                    "UPDATE audit_log SET subject = 'user:nobody', hash = ?2 WHERE id = ?1",
                    rusqlite::params![id, hash],
                )
                .unwrap();
            },
            first_broken_offset: 0,
            reason: "do not match its hash",
        },
        Tampering {
            name: "two rows swapped",
            apply: |db, id| {
                db.execute_batch(&format!(
                    "UPDATE audit_log SET id = -1 WHERE id = {id};
                     UPDATE audit_log SET id = {id} WHERE id = {id} + 1;
                     UPDATE audit_log SET id = {id} + 1 WHERE id = -1;"
                ))
                .unwrap();
            },
            first_broken_offset: 0,
            reason: "previous-hash link",
        },
        Tampering {
            name: "one row rewritten with a recomputed unkeyed hash",
            apply: |db, id| {
                db.execute(
                    "UPDATE audit_log SET subject = 'user:nobody' WHERE id = ?1",
                    [id],
                )
                .unwrap();
                recompute_unkeyed(db, id, true);
            },
            first_broken_offset: 0,
            reason: "not keyed",
        },
        Tampering {
            name: "the chain recomputed without the key from one row on",
            apply: |db, id| {
                db.execute(
                    "UPDATE audit_log SET subject = 'user:nobody' WHERE id = ?1",
                    [id],
                )
                .unwrap();
                recompute_unkeyed(db, id, false);
            },
            first_broken_offset: 0,
            reason: "do not match its hash",
        },
    ]
}

#[tokio::test]
async fn tampering_with_the_database_file_is_found_at_the_first_broken_row() {
    for tampering in tamperings() {
        let app = spawn_app().await;
        privileged_acts(&app).await;
        let rows = audit_log(&app, "?limit=1000").await;
        let target = find(&rows, "user.create", "user:dave")["id"]
            .as_i64()
            .unwrap();
        assert!(target < rows.len() as i64, "a row follows the target");
        app.checkpoint_audit().await.unwrap();
        assert_eq!(verify(&app).await["firstBroken"], Value::Null);

        (tampering.apply)(&app.database(), target);

        let expected = target + tampering.first_broken_offset;
        let report = verify(&app).await;
        assert_eq!(
            report["firstBroken"]["id"], expected,
            "{}: {report}",
            tampering.name
        );
        let reason = report["firstBroken"]["reason"].as_str().unwrap();
        assert!(
            reason.contains(tampering.reason),
            "{}: {report}",
            tampering.name
        );
        let run = run_cli(
            &[
                "audit",
                "verify",
                "--data-dir",
                app.data_dir.to_str().unwrap(),
            ],
            None,
            &[],
        )
        .await;
        assert!(!run.success, "{}: {run:?}", tampering.name);
        assert_eq!(run.code, Some(1), "{}: {run:?}", tampering.name);
        assert!(
            run.stdout.contains(&format!("row {expected}:"))
                && run.stdout.contains(tampering.reason),
            "{}: {run:?}",
            tampering.name
        );
        // The server keeps working, and keeps appending after the damage.
        let alice = app.login("alice").await;
        app.create_ticket(&alice, printer_ticket()).await;
        assert_eq!(verify(&app).await["firstBroken"]["id"], expected);
    }
}

/// Rows cut off the end are found as far as the newest signed checkpoint, even with the
/// checkpoint rows in the database deleted too (the newest is also kept in a file beside
/// it); and the server refuses to sign a new checkpoint over the damage.
#[tokio::test]
async fn rows_cut_off_the_end_are_found_below_the_newest_checkpoint() {
    for delete_checkpoint_rows in [false, true] {
        let app = spawn_app().await;
        privileged_acts(&app).await;
        app.checkpoint_audit().await.unwrap();
        let rows = audit_log(&app, "?limit=1000").await.len() as i64;
        let untouched = verify(&app).await;
        assert_eq!(untouched["firstBroken"], Value::Null, "{untouched}");

        let db = app.database();
        cut_off_the_end(&db);
        if delete_checkpoint_rows {
            db.execute("DELETE FROM audit_checkpoints", []).unwrap();
        }
        let report = verify(&app).await;
        assert_eq!(report["firstBroken"]["id"], rows - 4, "{report}");
        let reason = report["firstBroken"]["reason"].as_str().unwrap();
        assert!(reason.contains("missing"), "{report}");
        assert!(reason.contains(&format!("covers {rows} rows")), "{report}");
        let run = run_cli(
            &[
                "audit",
                "verify",
                "--data-dir",
                app.data_dir.to_str().unwrap(),
            ],
            None,
            &[],
        )
        .await;
        assert_eq!(run.code, Some(1), "{run:?}");
        assert!(
            run.stdout.contains(&format!("row {}:", rows - 4)) && run.stdout.contains("missing"),
            "{run:?}"
        );
        assert!(
            app.checkpoint_audit().await.is_err(),
            "a checkpoint over the damage would hide it"
        );
    }
}

/// A log written before the chain was keyed (plain SHA-256 links) verifies after the
/// upgrade: the first start creates the key and a checkpoint anchoring the old rows, and
/// new rows are keyed from there. Recomputing a keyed row the old way is still found.
#[tokio::test]
async fn a_log_from_before_the_keyed_chain_is_anchored_at_the_upgrade() {
    let mut app = spawn_app().await;
    privileged_acts(&app).await;
    let legacy_rows = audit_log(&app, "?limit=1000").await.len() as i64;
    // As an older version left the data folder: unkeyed rows, no key, no checkpoints.
    app.server.take().expect("running").stop();
    {
        let db = app.database();
        recompute_unkeyed(&db, 1, true);
        db.execute("DELETE FROM audit_checkpoints", []).unwrap();
    }
    for file in ["audit-chain.key", "audit-checkpoint.json"] {
        let _ = std::fs::remove_file(app.data_dir.join(file));
    }
    app.restart().await;
    assert!(app.data_dir.join("audit-chain.key").exists());

    // New acts after the upgrade: a failed sign-in and an enrollment token.
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "mallory", "password": "again"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let admin = app.login("admin").await;
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/enrollment-tokens",
            Some(&admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    app.checkpoint_audit().await.unwrap();
    let rows = audit_log(&app, "?limit=1000").await;
    assert!(
        rows[..legacy_rows as usize]
            .iter()
            .all(|r| r["keyed"] == false)
    );
    assert!(
        rows[legacy_rows as usize..]
            .iter()
            .all(|r| r["keyed"] == true)
    );
    let report = verify(&app).await;
    assert_eq!(report["firstBroken"], Value::Null, "{report}");
    assert_eq!(
        report["checkpoint"]["keyedFrom"],
        legacy_rows + 1,
        "{report}"
    );

    // A keyed row recomputed the old way, with the rest of the log after it.
    recompute_unkeyed(&app.database(), legacy_rows + 2, true);
    let report = verify(&app).await;
    assert_eq!(report["firstBroken"]["id"], legacy_rows + 2, "{report}");
}
