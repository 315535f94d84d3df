//! The outbox delivers each queued ticket exactly once, whatever happens on the way.

use deskside_client::api::TicketFilter;
use deskside_client::outbox::OutboxState;
use deskside_client::{Auth, Client};
use serde_json::json;

use crate::support::{Desk, count_titled, new_ticket};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_queued_offline_is_delivered_once_when_the_server_is_back() {
    let mut desk = Desk::start();
    let client = desk.staff("admin").await;
    desk.stop_server();

    let title = "Submitted while the server was down";
    let item = desk.store.enqueue_ticket(&new_ticket(title)).unwrap();
    assert_eq!(item.idempotency_key.len(), 32, "128 bits in hex");
    assert!(item.idempotency_key.chars().all(|c| c.is_ascii_hexdigit()));

    let report = desk.store.flush(&client).await.unwrap();
    assert!(report.delivered.is_empty());
    assert_eq!(report.stopped.as_ref().map(|e| e.code()), Some("offline"));
    let waiting = desk.store.outbox().unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].state, OutboxState::Pending);
    assert_eq!(waiting[0].attempts, 1);
    assert_eq!(waiting[0].idempotency_key, item.idempotency_key);
    assert_eq!(waiting[0].last_error.as_ref().unwrap().code, "offline");
    let counts = desk.store.outbox_counts().unwrap();
    assert_eq!((counts.pending, counts.failed), (1, 0));

    // Back on the very address the client knows.
    desk.restart_server();
    let report = desk.store.flush(&client).await.unwrap();
    assert!(report.stopped.is_none(), "{:?}", report.stopped);
    assert_eq!(report.delivered.len(), 1);
    let ticket = &report.delivered[0].ticket;
    assert_eq!(ticket.title, title);
    assert!(desk.store.outbox().unwrap().is_empty());
    assert_eq!(desk.store.outbox_counts().unwrap(), Default::default());
    assert_eq!(
        desk.store.cached_ticket(ticket.id).unwrap().as_ref(),
        Some(ticket),
        "the server's ticket is cached"
    );

    let again = desk.store.flush(&client).await.unwrap();
    assert!(again.delivered.is_empty() && again.failed.is_empty() && again.stopped.is_none());
    assert_eq!(count_titled(&client, title).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resend_after_a_lost_answer_gets_the_replay_not_a_second_ticket() {
    let desk = Desk::start();
    let client = desk.staff("admin").await;
    let title = "Answer lost on the way back";
    let item = desk.store.enqueue_ticket(&new_ticket(title)).unwrap();
    let (key, payload): (String, String) = {
        let db = rusqlite::Connection::open(desk.db_path()).unwrap();
        db.query_row(
            "SELECT idempotency_key, payload FROM outbox WHERE id = ?1",
            [item.id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap()
    };

    let first = desk.store.flush(&client).await.unwrap();
    assert_eq!(first.delivered.len(), 1);
    assert!(!first.delivered[0].replayed);

    // As if the answer had been lost: the item is still in the outbox, byte for byte.
    {
        let db = rusqlite::Connection::open(desk.db_path()).unwrap();
        db.execute(
            "INSERT INTO outbox (kind, idempotency_key, payload, created_at)
             VALUES ('create_ticket', ?1, ?2, '2025-01-01T00:00:00Z')",
            [&key, &payload],
        )
        .unwrap();
    }
    let second = desk.store.flush(&client).await.unwrap();
    assert_eq!(second.delivered.len(), 1);
    assert!(
        second.delivered[0].replayed,
        "the server replays its answer"
    );
    assert_eq!(second.delivered[0].ticket.id, first.delivered[0].ticket.id);
    assert!(desk.store.outbox().unwrap().is_empty());
    assert_eq!(count_titled(&client, title).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_ticket_is_kept_as_failed_and_the_rest_still_go() {
    let desk = Desk::start();
    let client = desk.staff("admin").await;
    let bad = desk.store.enqueue_ticket(&new_ticket("   ")).unwrap();
    let good = desk
        .store
        .enqueue_ticket(&new_ticket("Queued after a bad one"))
        .unwrap();

    let report = desk.store.flush(&client).await.unwrap();
    assert_eq!(report.failed, vec![bad.id]);
    assert_eq!(report.delivered.len(), 1);
    assert!(report.stopped.is_none());

    let items = desk.store.outbox().unwrap();
    assert_eq!(items.len(), 1, "never silently dropped");
    let failed = &items[0];
    assert_eq!(failed.id, bad.id);
    assert_ne!(failed.id, good.id);
    assert_eq!(failed.state, OutboxState::Failed);
    assert_eq!(failed.attempts, 1);
    let error = failed.last_error.as_ref().unwrap();
    assert_eq!(error.code, "validation_failed");
    assert_eq!(error.status, Some(422));
    assert!(error.fields.iter().any(|f| f.field == "title"), "{error:?}");
    let counts = desk.store.outbox_counts().unwrap();
    assert_eq!((counts.pending, counts.failed), (0, 1));

    // Failed items wait for the user: a later flush does not resend them.
    let again = desk.store.flush(&client).await.unwrap();
    assert!(again.delivered.is_empty() && again.failed.is_empty());
    assert!(desk.store.discard(bad.id).unwrap());
    assert!(desk.store.outbox().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_files_for_its_local_user() {
    let desk = Desk::start();
    let admin = desk.staff("admin").await;
    let credential = enroll(&desk, &admin).await;
    let device = Client::new(&desk.url()).unwrap().with_auth(Auth::Device {
        credential,
        local_user: "jdoe".into(),
    });
    desk.store
        .enqueue_ticket(&new_ticket("Filed from the workstation"))
        .unwrap();
    let report = desk.store.flush(&device).await.unwrap();
    assert!(report.stopped.is_none(), "{:?}", report.stopped);
    let ticket = &report.delivered[0].ticket;
    assert_eq!(ticket.requester.username.as_deref(), Some("jdoe"));
    assert!(ticket.device_id.is_some());
    assert_eq!(device.ticket(ticket.id).await.unwrap().id, ticket.id);

    // A device sees only its user's tickets; others are "not found", with the server's code.
    let own = device.list_tickets(&TicketFilter::default()).await.unwrap();
    assert_eq!(own.items.len(), 1);
    let error = device.ticket(ticket.id + 1000).await.unwrap_err();
    assert_eq!(error.status(), Some(404), "{error:?}");
    assert_eq!(error.code(), "not_found");
}

/// Enrolls a device through the API; returns its credential.
async fn enroll(desk: &Desk, admin: &Client) -> String {
    let Some(Auth::Staff { token }) = admin.auth() else {
        panic!("staff client")
    };
    let http = reqwest::Client::new();
    let enrollment: serde_json::Value = http
        .post(format!("{}/api/v1/enrollment-tokens", desk.url()))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let enrolled: serde_json::Value = http
        .post(format!("{}/api/v1/devices/enroll", desk.url()))
        .json(&json!({"token": enrollment["token"], "hostname": "ws-client-test"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    enrolled["credential"]
        .as_str()
        .unwrap_or_else(|| panic!("{enrolled}"))
        .to_owned()
}
