use reqwest::{Method, StatusCode};

use crate::support::*;

#[tokio::test]
async fn health_openapi_and_a_ticket_round_trip() {
    let app = spawn_app().await;
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let (status, doc) = app
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["paths"]["/api/v1/tickets"].is_object());

    let alice = app.login("alice").await;
    let ticket = app.create_ticket(&alice, printer_ticket()).await;
    assert_eq!(ticket["priority"], "P3");
    assert_eq!(ticket["status"], "new");
    let path = format!("/api/v1/tickets/{}", ticket["id"]);
    let (status, fetched) = app.call(Method::GET, &path, Some(&alice), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched, ticket);
}
