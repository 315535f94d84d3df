//! The device registry: what enrolled agents report (heartbeats, diagnostics snapshots) and
//! what staff read from it (devices, snapshot history, findings, diffs).

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use deskside_diagnostics::{Finding, FindingRules, Snapshot, SnapshotDiff};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Caller, DeviceAgent};
use super::extract::{AgentJsonBody, Mutation, PathParam, written};
use super::query::QueryPairs;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::storage::{DeviceRecord, NewSnapshot, SnapshotMeta, SnapshotSource, Written};

/// Largest snapshot accepted: a typical one is 25 KiB, the agent aims for under 64 KiB.
pub const MAX_SNAPSHOT_BYTES: usize = 1024 * 1024;
/// Snapshots kept per device: enough to compare with "when it last worked".
pub const SNAPSHOTS_KEPT: u32 = 50;
/// How often agents are asked to check in; a device silent for three intervals is offline.
pub const HEARTBEAT_SECONDS: i64 = 30;
pub const SNAPSHOT_SECONDS: i64 = 15 * 60;

fn online(device: &DeviceRecord, now: DateTime<Utc>) -> bool {
    device
        .last_seen_at
        .is_some_and(|seen| now - seen < Duration::seconds(3 * HEARTBEAT_SECONDS))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatRequest {
    #[serde(default)]
    pub agent_version: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatResponse {
    /// The server's clock, for the agent to judge its own skew.
    pub server_time: DateTime<Utc>,
    pub heartbeat_seconds: i64,
    pub snapshot_seconds: i64,
}

/// An agent checks in.
#[utoipa::path(post, path = "/api/v1/agent/heartbeat", tag = "agent", request_body = HeartbeatRequest,
    responses((status = 200, body = HeartbeatResponse), (status = 401, body = crate::error::ErrorBody)))]
pub async fn heartbeat(
    State(state): State<Arc<AppState>>,
    DeviceAgent(device): DeviceAgent,
    body: AgentJsonBody<HeartbeatRequest>,
) -> ApiResult<Json<HeartbeatResponse>> {
    let now = state.clock.now();
    let version = body
        .value
        .agent_version
        .filter(|v| !v.is_empty() && v.len() <= 64);
    state
        .storage
        .record_device_contact(&device.id, version, now)
        .await?;
    Ok(Json(HeartbeatResponse {
        server_time: now,
        heartbeat_seconds: HEARTBEAT_SECONDS,
        snapshot_seconds: SNAPSHOT_SECONDS,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotReceipt {
    pub snapshot: SnapshotMeta,
    /// What the rules found in it, judged against the server's clock.
    #[schema(value_type = Vec<Object>)]
    pub findings: Vec<Finding>,
}

/// What the registry keeps of a snapshot document, stored as `source`.
pub fn new_snapshot(
    snapshot: &Snapshot,
    document: String,
    source: SnapshotSource,
    ticket: Option<(i64, String)>,
) -> NewSnapshot {
    let system = snapshot.system();
    NewSnapshot {
        collected_at: snapshot.collected_at,
        document,
        hostname: system.and_then(|s| s.hostname.clone()),
        os: system.and_then(|s| s.long_os_version.clone().or_else(|| s.os_name.clone())),
        agent_version: snapshot.agent_version.clone(),
        platform: snapshot.platform.clone(),
        source,
        ticket,
    }
}

/// The name under which Get help attaches the diagnostics the user kept.
pub const DIAGNOSTICS_ATTACHMENT: &str = "diagnostics.json";

/// A diagnostics snapshot the device's user attached to their own ticket, to keep in the
/// device's history as theirs (`ticket` source): only a requester's `diagnostics.json`, on
/// a ticket filed from their device, that reads as a snapshot within the size limit.
/// Anything else stays a plain attachment.
pub fn attached_snapshot(
    caller: &Caller,
    ticket: &deskside_core::Ticket,
    file_name: &str,
    content_type: &str,
    bytes: &[u8],
) -> Option<(String, NewSnapshot, u32)> {
    let scope = caller.requester_scope()?;
    let from_this_device = ticket.device_id.as_deref() == Some(scope.device_id.as_str());
    if !from_this_device
        || file_name != DIAGNOSTICS_ATTACHMENT
        || content_type != "application/json"
        || bytes.len() > MAX_SNAPSHOT_BYTES
    {
        return None;
    }
    let snapshot: Snapshot = serde_json::from_slice(bytes).ok()?;
    let document = String::from_utf8(bytes.to_vec()).ok()?;
    let ticket_ref = (ticket.id, ticket.display_number());
    let new = new_snapshot(
        &snapshot,
        document,
        SnapshotSource::Ticket,
        Some(ticket_ref),
    );
    Some((scope.device_id, new, SNAPSHOTS_KEPT))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// Why the agent took it: `background` (its periodic upload, the default) or
    /// `on_request` (a `diagnostics.collect` order). Only the device's user attaches one to
    /// a ticket, through the ticket.
    #[allow(dead_code)]
    pub source: Option<String>,
}

/// An agent uploads a diagnostics snapshot (the JSON `deskside-agent diagnose --json` prints).
#[utoipa::path(post, path = "/api/v1/agent/snapshots", tag = "agent", params(UploadParams),
    request_body(content = Object, description = "a deskside-diagnostics snapshot"),
    responses((status = 201, body = SnapshotReceipt), (status = 413, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn upload_snapshot(
    State(state): State<Arc<AppState>>,
    DeviceAgent(device): DeviceAgent,
    RawQuery(raw): RawQuery,
    mutation: Mutation,
    body: AgentJsonBody<Snapshot>,
) -> ApiResult<axum::response::Response> {
    let query = QueryPairs::parse(raw.as_deref(), &["source"])?;
    let source = match query.get("source") {
        None => SnapshotSource::Background,
        Some(text) => SnapshotSource::parse(text)
            .filter(|source| *source != SnapshotSource::Ticket)
            .ok_or_else(|| ApiError::field("source", "must be background or on_request"))?,
    };
    let snapshot = body.value;
    let now = state.clock.now();
    let document = String::from_utf8_lossy(&body.raw).into_owned();
    let new = new_snapshot(&snapshot, document, source, None);
    let once = mutation.idempotency(&format!("device:{}", device.id), &body.raw);
    let stored = state
        .storage
        .store_snapshot(&device.id, new, SNAPSHOTS_KEPT, once, now)
        .await?;
    // Findings are a pure function of the snapshot (the same bytes on a retry: the key's
    // fingerprint says so) and the clock: a retry gets them recomputed beside the stored
    // receipt of the one snapshot kept.
    let findings = deskside_diagnostics::findings(&snapshot, &FindingRules::default(), Some(now));
    let receipt = |snapshot| SnapshotReceipt { snapshot, findings };
    let answer = match stored {
        Written::Fresh(meta) => Written::Fresh(receipt(meta)),
        Written::Replayed { status, body } => Written::Replayed {
            status,
            body: serde_json::to_value(receipt(
                serde_json::from_value(body).map_err(ApiError::internal)?,
            ))
            .map_err(ApiError::internal)?,
        },
    };
    Ok(written(answer, StatusCode::CREATED))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    #[serde(flatten)]
    pub device: DeviceRecord,
    pub online: bool,
}

/// Enrolled devices, with when each was last seen.
#[utoipa::path(get, path = "/api/v1/devices", tag = "devices",
    responses((status = 200, body = Vec<DeviceView>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> ApiResult<Json<Vec<DeviceView>>> {
    caller.staff()?;
    let now = state.clock.now();
    let devices = state.storage.devices().await?;
    Ok(Json(
        devices
            .into_iter()
            .map(|device| DeviceView {
                online: online(&device, now),
                device,
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceDetail {
    #[serde(flatten)]
    pub device: DeviceView,
    /// Findings in the latest snapshot, most severe first.
    #[schema(value_type = Vec<Object>)]
    pub findings: Vec<Finding>,
}

async fn device_or_404(state: &AppState, id: &str) -> ApiResult<DeviceRecord> {
    state
        .storage
        .device_record(id)
        .await?
        .ok_or_else(|| ApiError::not_found("device"))
}

async fn stored_snapshot(
    state: &AppState,
    device_id: &str,
    id: i64,
) -> ApiResult<(SnapshotMeta, Snapshot)> {
    let (meta, document) = state
        .storage
        .device_snapshot(device_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("snapshot"))?;
    let snapshot = serde_json::from_str(&document).map_err(ApiError::internal)?;
    Ok((meta, snapshot))
}

/// One device, with the findings of its latest snapshot.
#[utoipa::path(get, path = "/api/v1/devices/{id}", tag = "devices",
    params(("id" = String, Path, description = "device id")),
    responses((status = 200, body = DeviceDetail), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<String>,
) -> ApiResult<Json<DeviceDetail>> {
    caller.staff()?;
    let device = device_or_404(&state, &id).await?;
    let findings = match &device.latest_snapshot {
        Some(latest) => {
            let (meta, snapshot) = stored_snapshot(&state, &id, latest.id).await?;
            // Skew is judged against the server clock when the snapshot arrived.
            deskside_diagnostics::findings(
                &snapshot,
                &FindingRules::default(),
                Some(meta.received_at),
            )
        }
        None => Vec::new(),
    };
    let now = state.clock.now();
    Ok(Json(DeviceDetail {
        device: DeviceView {
            online: online(&device, now),
            device,
        },
        findings,
    }))
}

/// The device's stored snapshots, newest first.
#[utoipa::path(get, path = "/api/v1/devices/{id}/snapshots", tag = "devices",
    params(("id" = String, Path, description = "device id")),
    responses((status = 200, body = Vec<SnapshotMeta>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn snapshots(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<String>,
) -> ApiResult<Json<Vec<SnapshotMeta>>> {
    caller.staff()?;
    device_or_404(&state, &id).await?;
    Ok(Json(
        state.storage.device_snapshots(&id, SNAPSHOTS_KEPT).await?,
    ))
}

/// One snapshot, exactly as the agent sent it.
#[utoipa::path(get, path = "/api/v1/devices/{id}/snapshots/{snapshot_id}", tag = "devices",
    params(("id" = String, Path, description = "device id"), ("snapshot_id" = i64, Path, description = "snapshot id")),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)))]
pub async fn snapshot(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam((id, snapshot_id)): PathParam<(String, i64)>,
) -> ApiResult<([(axum::http::HeaderName, &'static str); 1], String)> {
    caller.staff()?;
    let (_, document) = state
        .storage
        .device_snapshot(&id, snapshot_id)
        .await?
        .ok_or_else(|| ApiError::not_found("snapshot"))?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        document,
    ))
}

/// What changed between two snapshots of a device (`from` older, `to` newer; `to`
/// defaults to the latest).
#[utoipa::path(get, path = "/api/v1/devices/{id}/diff", tag = "devices",
    params(("id" = String, Path, description = "device id"),
           ("from" = i64, Query, description = "the earlier snapshot"),
           ("to" = Option<i64>, Query, description = "the later snapshot; default: latest")),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn diff(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<SnapshotDiff>> {
    caller.staff()?;
    let query = QueryPairs::parse(raw.as_deref(), &["from", "to"])?;
    if query.get("from").is_none() {
        return Err(ApiError::field("from", "name the earlier snapshot's id"));
    }
    let from = query.number("from", 0, 1..=i64::MAX)?;
    let device = device_or_404(&state, &id).await?;
    let latest = device.latest_snapshot.map_or(0, |s| s.id);
    let to = query.number("to", latest, 1..=i64::MAX)?;
    let (_, old) = stored_snapshot(&state, &id, from).await?;
    let (_, new) = stored_snapshot(&state, &id, to).await?;
    Ok(Json(deskside_diagnostics::diff(&old, &new)))
}

/// Remove a device (supervisor or admin): its credential stops working at once, every
/// requester session on it is revoked, and it leaves the registry; its tickets and
/// history stay. Enrolling the machine again makes a new device.
#[utoipa::path(delete, path = "/api/v1/devices/{id}", tag = "devices",
    params(("id" = String, Path, description = "device id")),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn remove(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<String>,
    mutation: Mutation,
) -> ApiResult<Response> {
    caller.require_role(&[deskside_core::Role::Supervisor, deskside_core::Role::Admin])?;
    let once = mutation.idempotency(&caller.principal(), &[]);
    let audit = crate::audit::AuditEntry {
        actor: caller.audit_name(),
        action: "device.remove".into(),
        subject: format!("device:{id}"),
        details: serde_json::json!({}),
    };
    let now = state.clock.now();
    let removed = state
        .storage
        .remove_device(id.clone(), audit, once, now)
        .await?;
    state.credentials.evict_device(&id);
    Ok(written(removed, StatusCode::NO_CONTENT))
}
