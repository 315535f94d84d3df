//! Staff directory, staff accounts, SLA settings, sync and the audit log.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use deskside_core::sla::SlaSettings;
use deskside_core::{Role, Tier, ValidationErrors};
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::Caller;
use super::extract::{JsonBody, Mutation, written};
use super::query::QueryPairs;
use crate::AppState;
use crate::audit::{AuditEntry, AuditRecord, AuditReport};
use crate::error::{ApiError, ApiResult};
use crate::secrets::{hash_password, validate_password};
use crate::storage::{ChangeSet, NewStaffUser, StaffUser, Written};

/// Who works the desk, by tier: for assignment pickers.
#[utoipa::path(get, path = "/api/v1/agents", tag = "staff",
    responses((status = 200, body = Vec<StaffUser>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn agents(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> ApiResult<Json<Vec<StaffUser>>> {
    caller.staff()?;
    let staff = state.storage.list_staff().await?;
    Ok(Json(staff.into_iter().filter(|u| u.active).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewStaffRequest {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// Required for agents: the tier they work.
    #[serde(default)]
    pub tier: Option<Tier>,
    pub password: String,
}

/// Checks a new account's fields; shared by the API and the CLI.
pub fn validate_new_staff(
    username: &str,
    display_name: &str,
    role: Role,
    tier: Option<Tier>,
    password: &str,
) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let username_ok = (2..=64).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !username_ok {
        errors.add("username", "2–64 letters, digits, '.', '_' or '-'");
    }
    errors.require_text("displayName", display_name, 200);
    if role == Role::Agent && tier.is_none() {
        errors.add("tier", "an agent needs a tier: L1, L2 or L3");
    }
    if let Err(message) = validate_password(password) {
        errors.add("password", message);
    }
    errors.into_result()
}

/// Create a staff account (admin).
#[utoipa::path(post, path = "/api/v1/users", tag = "staff", request_body = NewStaffRequest,
    responses((status = 201, body = StaffUser), (status = 403, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_user(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    mutation: Mutation,
    body: JsonBody<NewStaffRequest>,
) -> ApiResult<Response> {
    caller.require_role(&[Role::Admin])?;
    let request = body.value;
    validate_new_staff(
        &request.username,
        &request.display_name,
        request.role,
        request.tier,
        &request.password,
    )
    .map_err(ApiError::validation)?;
    let cost = state.password_cost;
    let password = request.password;
    let password_hash = tokio::task::spawn_blocking(move || hash_password(&password, cost))
        .await
        .map_err(ApiError::internal)?;
    let audit = AuditEntry {
        actor: caller.audit_name(),
        action: "user.create".into(),
        subject: format!("user:{}", request.username),
        details: serde_json::json!({ "role": request.role, "tier": request.tier }),
    };
    let user = NewStaffUser {
        username: request.username,
        display_name: request.display_name.trim().to_owned(),
        role: request.role,
        tier: request.tier,
        password_hash,
    };
    let once = mutation.idempotency(&caller.principal(), &body.raw);
    let created = state
        .storage
        .create_staff(user, once, audit, state.clock.now())
        .await?;
    Ok(written(created, StatusCode::CREATED))
}

/// The SLA calendar, policies and thresholds.
#[utoipa::path(get, path = "/api/v1/sla", tag = "sla",
    responses((status = 200, body = SlaSettings), (status = 403, body = crate::error::ErrorBody)))]
pub async fn sla_settings(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> ApiResult<Json<SlaSettings>> {
    caller.staff()?;
    Ok(Json(state.sla().as_ref().clone()))
}

/// Replace the SLA calendar, policies and thresholds (admin). Running timers keep what they
/// consumed; new targets apply from each ticket's next change.
#[utoipa::path(put, path = "/api/v1/sla", tag = "sla", request_body = SlaSettings,
    responses((status = 200, body = SlaSettings), (status = 403, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn put_sla_settings(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    mutation: Mutation,
    body: JsonBody<SlaSettings>,
) -> ApiResult<Response> {
    caller.require_role(&[Role::Admin])?;
    let settings = body.value;
    settings.validate().map_err(ApiError::validation)?;
    let audit = AuditEntry {
        actor: caller.audit_name(),
        action: "sla.update".into(),
        subject: "sla".into(),
        details: serde_json::to_value(&settings).map_err(ApiError::internal)?,
    };
    let once = mutation.idempotency(&caller.principal(), &body.raw);
    let saved = state
        .storage
        .save_sla_settings(settings.clone(), once, audit, state.clock.now())
        .await?;
    // A replay changed nothing: the settings in force stay those saved since.
    if let Written::Fresh(_) = saved {
        *state.sla.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(settings);
    }
    Ok(written(saved, StatusCode::OK))
}

/// What changed for the caller since `cursor` (0 for everything). Requesters get only their
/// own tickets and public events.
#[utoipa::path(get, path = "/api/v1/sync", tag = "sync",
    params(("cursor" = Option<i64>, Query, description = "the cursor from the last answer; 0 to start"),
           ("limit" = Option<u32>, Query, description = "tickets per answer, 1–1000, default 500")),
    responses((status = 200, body = ChangeSet), (status = 422, body = crate::error::ErrorBody)))]
pub async fn sync(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<ChangeSet>> {
    let query = QueryPairs::parse(raw.as_deref(), &["cursor", "limit"])?;
    let cursor = query.number("cursor", 0, 0..=i64::MAX)?;
    let limit = query.number("limit", 500, 1..=1000)? as u32;
    let changes = state
        .storage
        .changes_since(cursor, caller.requester_scope(), limit)
        .await?;
    Ok(Json(changes))
}

/// Audit log rows after `after` (admin).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(("after" = Option<i64>, Query, description = "last id seen"),
           ("limit" = Option<u32>, Query, description = "1–1000, default 200")),
    responses((status = 200, body = Vec<AuditRecord>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn audit_log(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Vec<AuditRecord>>> {
    caller.require_role(&[Role::Admin])?;
    let query = QueryPairs::parse(raw.as_deref(), &["after", "limit"])?;
    let after = query.number("after", 0, 0..=i64::MAX)?;
    let limit = query.number("limit", 200, 1..=1000)? as u32;
    Ok(Json(state.storage.audit_records(after, limit).await?))
}

/// Verify the audit hash chain (admin).
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, body = AuditReport), (status = 403, body = crate::error::ErrorBody)))]
pub async fn audit_verify(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> ApiResult<Json<AuditReport>> {
    caller.require_role(&[Role::Admin])?;
    let checkpoint_key = state.order_signer.verifying_key();
    Ok(Json(state.storage.verify_audit(&checkpoint_key).await?))
}
