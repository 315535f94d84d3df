//! The HTTP edge: routes, the OpenAPI document, and the fallbacks that keep every error
//! in the one JSON shape.

pub mod actions;
pub mod admin;
pub mod auth;
pub mod client_addr;
pub mod credential_cache;
pub mod devices;
pub mod extract;
pub mod issuance_limit;
pub mod login_throttle;
pub mod query;
pub mod requester_actions;
pub mod tickets;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Json, Router};
use utoipa::OpenApi;

use crate::AppState;
use crate::error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(title = "Deskside API", description = "Help desk with remote diagnostics. Errors are always `{code, message, fields?}`; mutations accept an `Idempotency-Key` header."),
    paths(
        auth::login, auth::logout, auth::me, auth::enroll, auth::create_enrollment_token,
        auth::create_user_session,
        tickets::create, tickets::list, tickets::get, tickets::edit, tickets::assign,
        tickets::escalate, tickets::change_status, tickets::override_priority, tickets::reply,
        tickets::note, tickets::timeline, tickets::add_attachment, tickets::get_attachment,
        admin::agents, admin::create_user, admin::sla_settings, admin::put_sla_settings,
        admin::sync, admin::audit_log, admin::audit_verify,
        devices::heartbeat, devices::upload_snapshot, devices::list, devices::get, devices::remove,
        devices::snapshots, devices::snapshot, devices::diff,
        actions::list_catalog, actions::request, actions::for_ticket, actions::inbox,
        actions::approve, actions::deny, actions::consent, actions::poll_orders, actions::report,
    ),
    components(schemas(crate::error::ErrorBody, deskside_core::FieldError,
        requester_actions::RequesterAction)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    let openapi = ApiDoc::openapi();
    let api = Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/me", get(auth::me))
        .route("/devices/enroll", post(auth::enroll))
        .route("/devices/user-sessions", post(auth::create_user_session))
        .route("/enrollment-tokens", post(auth::create_enrollment_token))
        .route("/tickets", post(tickets::create).get(tickets::list))
        .route("/tickets/{id}", get(tickets::get).patch(tickets::edit))
        .route("/tickets/{id}/assign", post(tickets::assign))
        .route("/tickets/{id}/escalate", post(tickets::escalate))
        .route("/tickets/{id}/status", post(tickets::change_status))
        .route("/tickets/{id}/priority", post(tickets::override_priority))
        .route("/tickets/{id}/replies", post(tickets::reply))
        .route("/tickets/{id}/notes", post(tickets::note))
        .route("/tickets/{id}/timeline", get(tickets::timeline))
        .route(
            "/tickets/{id}/attachments",
            post(tickets::add_attachment)
                .layer(DefaultBodyLimit::max(tickets::MAX_ATTACHMENT_BYTES)),
        )
        .route(
            "/tickets/{id}/attachments/{attachment_id}",
            get(tickets::get_attachment),
        )
        .route("/agent/heartbeat", post(devices::heartbeat))
        .route(
            "/agent/snapshots",
            post(devices::upload_snapshot)
                .layer(DefaultBodyLimit::max(devices::MAX_SNAPSHOT_BYTES)),
        )
        .route("/agent/orders", get(actions::poll_orders))
        .route("/agent/orders/{id}/report", post(actions::report))
        .route("/actions/catalog", get(actions::list_catalog))
        .route(
            "/tickets/{id}/actions",
            post(actions::request).get(actions::for_ticket),
        )
        .route("/action-requests", get(actions::inbox))
        .route("/action-requests/{id}/approve", post(actions::approve))
        .route("/action-requests/{id}/deny", post(actions::deny))
        .route("/action-requests/{id}/consent", post(actions::consent))
        .route("/devices", get(devices::list))
        .route("/devices/{id}", get(devices::get).delete(devices::remove))
        .route("/devices/{id}/snapshots", get(devices::snapshots))
        .route(
            "/devices/{id}/snapshots/{snapshot_id}",
            get(devices::snapshot),
        )
        .route("/devices/{id}/diff", get(devices::diff))
        .route("/agents", get(admin::agents))
        .route("/users", post(admin::create_user))
        .route(
            "/sla",
            get(admin::sla_settings).put(admin::put_sla_settings),
        )
        .route("/sync", get(admin::sync))
        .route("/audit", get(admin::audit_log))
        .route("/audit/verify", get(admin::audit_verify))
        .route("/openapi.json", get(move || async move { Json(openapi) }))
        .fallback(|| async { ApiError::not_found("route") })
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(extract::MAX_JSON_BYTES));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .nest("/api/v1", api)
        .fallback(|| async { ApiError::not_found("route") })
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}
