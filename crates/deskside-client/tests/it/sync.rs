//! Cursor-based sync fetches what changed, and only that.

use deskside_client::api::TicketFilter;
use deskside_client::{Auth, Client};
use serde_json::json;

use crate::support::{Desk, new_ticket};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_caches_everything_then_only_what_changed() {
    let desk = Desk::start();
    let client = desk.staff("admin").await;
    let mut ids = Vec::new();
    for title in ["Sync one", "Sync two", "Sync three"] {
        ids.push(
            client
                .create_ticket(&new_ticket(title), None)
                .await
                .unwrap()
                .ticket
                .id,
        );
    }
    assert_eq!(desk.store.sync_cursor().unwrap(), 0);

    let first = desk.store.sync(&client).await.unwrap();
    let mut fetched = first.fetched.clone();
    fetched.sort();
    assert_eq!(fetched, ids);
    assert!(first.cursor > 0);
    assert_eq!(desk.store.sync_cursor().unwrap(), first.cursor);
    assert_eq!(desk.store.cached_tickets().unwrap().len(), 3);

    let unchanged = desk.store.sync(&client).await.unwrap();
    assert!(unchanged.fetched.is_empty());
    assert_eq!(unchanged.cursor, first.cursor);

    let changed = ids[1];
    let before = desk.store.cached_ticket(changed).unwrap().unwrap();
    reply(&desk, &client, changed).await;

    let second = desk.store.sync(&client).await.unwrap();
    assert_eq!(second.fetched, vec![changed]);
    assert!(second.cursor > first.cursor, "the cursor advanced");
    assert_eq!(desk.store.sync_cursor().unwrap(), second.cursor);
    let after = desk.store.cached_ticket(changed).unwrap().unwrap();
    assert!(after.version > before.version);
    assert_eq!(after, client.ticket(changed).await.unwrap());

    // The queue through the typed filters agrees with the cache.
    let filter = TicketFilter {
        category: vec!["printer".into()],
        limit: Some(2),
        ..TicketFilter::default()
    };
    let page = client.list_tickets(&filter).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert!(page.next_cursor.is_some());
    let rest = client
        .list_tickets(&TicketFilter {
            cursor: page.next_cursor.clone(),
            ..filter.clone()
        })
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    let bad = client
        .list_tickets(&TicketFilter {
            status: vec!["sleeping".into()],
            ..TicketFilter::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), "validation_failed");
    assert!(bad.fields().iter().any(|f| f.field == "status"));
}

/// A public reply from staff: one change to the ticket.
async fn reply(desk: &Desk, client: &Client, id: i64) {
    let Some(Auth::Staff { token }) = client.auth() else {
        panic!("staff client")
    };
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/tickets/{id}/replies", desk.url()))
        .bearer_auth(token)
        .json(&json!({"body": "We are looking at it."}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}
