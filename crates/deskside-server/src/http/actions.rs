//! Remediation: from an agent's request on a ticket, through approval (a second agent or the
//! device's user, as the catalog says), to a signed order the device long-polls for, and the
//! device's report. Every step is a ticket timeline event and an audit line.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use deskside_core::ticket::TicketCommand;
use deskside_core::{Actor, Role, Tier};
use deskside_remediation::catalog::{Approval, ApprovalPolicy, CatalogEntry};
use deskside_remediation::{ActionParams, ExecutionReport, Order, catalog};
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::{Caller, DeviceAgent};
use super::extract::{AgentJsonBody, JsonBody, Mutation, PathParam, earlier_answer, written};
use super::query::QueryPairs;
use super::requester_actions::RequesterAction;
use crate::AppState;
use crate::audit::AuditEntry;
use crate::error::{ApiError, ApiResult};
use crate::storage::{ActionRequest, ActionState, Idempotency, StaffUser, Written};

/// A request must be approved and picked up within this long, or it expires.
pub const REQUEST_LIFETIME: Duration = Duration::hours(24);
/// Longest a device's order long-poll is held open.
pub const MAX_WAIT_SECONDS: i64 = 55;

/// The action catalog: what can be requested, its parameters, risk and approval rule.
#[utoipa::path(get, path = "/api/v1/actions/catalog", tag = "actions",
    responses((status = 200, body = Vec<Object>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list_catalog(caller: Caller) -> ApiResult<Json<&'static [CatalogEntry]>> {
    caller.staff()?;
    Ok(Json(catalog()))
}

fn new_request_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    format!("act_{}", hex::encode(bytes))
}

/// Who moves a request: as the timeline shows them and as the audit log names them.
struct Mover {
    actor: Actor,
    audit_name: String,
}

impl Mover {
    fn of(caller: &Caller) -> Mover {
        Mover {
            actor: caller.actor(),
            audit_name: caller.audit_name(),
        }
    }
}

/// Writes the request in `to` state with its ticket event and audit line; with a client's
/// `Idempotency-Key` (`once`), a retry gets the first answer back instead of a second move.
#[allow(clippy::too_many_arguments)]
async fn record(
    state: &AppState,
    mut request: ActionRequest,
    from: Option<ActionState>,
    to: ActionState,
    mover: Mover,
    detail: Option<String>,
    once: Option<Idempotency>,
    now: DateTime<Utc>,
) -> ApiResult<Written<ActionRequest>> {
    let Mover { actor, audit_name } = mover;
    request.state = to;
    request.updated_at = now;
    let sla = state.sla();
    let rules = sla.clone();
    let deciding = actor.clone();
    let event_state = match (from, to) {
        // Asking the user is itself the request, and the one step the user must see.
        (None, ActionState::AwaitingConsent) => "awaiting_consent".to_owned(),
        (None, _) => "requested".to_owned(),
        (Some(ActionState::AwaitingConsent), ActionState::Queued) => "consented".to_owned(),
        (Some(ActionState::AwaitingConsent), ActionState::Denied) => "consent_refused".to_owned(),
        _ => to.as_str().to_owned(),
    };
    let command = TicketCommand::RecordAction {
        request_id: request.id.clone(),
        action: request.action.clone(),
        state: event_state.clone(),
        detail: detail.clone(),
    };
    let decider = Box::new(move |ticket: &deskside_core::Ticket| {
        deskside_core::ticket::decide(ticket, &deciding, command, &rules, now)
    });
    let audit = AuditEntry {
        actor: audit_name,
        action: format!("action.{event_state}"),
        subject: format!("action:{}", request.id),
        details: serde_json::json!({
            "ticketId": request.ticket_id,
            "deviceId": request.device_id,
            "action": request.action,
            "params": request.params,
            "detail": detail,
        }),
    };
    let device_id = request.device_id.clone();
    let saved = state
        .storage
        .save_action_request(request, from, once, actor, decider, sla, audit, now)
        .await?;
    if to == ActionState::Queued && matches!(saved, Written::Fresh(_)) {
        state.order_wakeups.wake(&device_id);
    }
    Ok(saved)
}

/// The stored request's action, typed again.
fn stored_action(request: &ActionRequest) -> ApiResult<ActionParams> {
    ActionParams::from_parts(&request.action, Some(&request.params))
        .map_err(|errors| ApiError::internal(format!("stored action no longer valid: {errors:?}")))
}

/// Signs the order the device will receive, with who approved it (the endpoint checks
/// that too); valid until the request expires.
fn sign(
    state: &AppState,
    request: &mut ActionRequest,
    approval: Approval,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let action = stored_action(request)?;
    let lifetime = (request.expires_at - now).max(Duration::minutes(1));
    let order = Order::new(
        request.id.clone(),
        request.device_id.clone(),
        action,
        now,
        lifetime,
    )
    .approved(approval);
    let signed = state.order_signer.sign(&order);
    request.order = Some(serde_json::to_value(&signed).map_err(ApiError::internal)?);
    Ok(())
}

fn invalid_action(errors: deskside_remediation::ValidationErrors) -> ApiError {
    let mut fields = deskside_core::ValidationErrors::default();
    for error in errors.0 {
        fields.add(&error.field, error.message);
    }
    ApiError::validation(fields)
}

/// Request a catalog action on the ticket's device (staff). Body: `{"action": "service.restart",
/// "params": {"name": "cups"}}`.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/actions", tag = "actions",
    params(("id" = i64, Path, description = "ticket id")),
    request_body(content = Object, description = "{action, params}"),
    responses((status = 201, body = ActionRequest), (status = 422, body = crate::error::ErrorBody)))]
pub async fn request(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(ticket_id): PathParam<i64>,
    mutation: Mutation,
    body: JsonBody<serde_json::Value>,
) -> ApiResult<Response> {
    let user = caller.staff()?.clone();
    let once = mutation.idempotency(&caller.principal(), &body.raw);
    if let Some(answer) = earlier_answer(&*state.storage, once.as_ref()).await? {
        return Ok(written(answer, StatusCode::OK));
    }
    let action = ActionParams::from_request(&body.value).map_err(invalid_action)?;
    let ticket = state
        .storage
        .ticket(ticket_id)
        .await?
        .ok_or_else(|| ApiError::not_found("ticket"))?;
    let device_id = ticket.device_id.clone().ok_or_else(|| {
        ApiError::conflict("the ticket has no device: actions run on the requester's device")
    })?;
    let device = state
        .storage
        .device_record(&device_id)
        .await?
        .ok_or_else(|| ApiError::conflict("the ticket's device is not enrolled"))?;
    let entry = action.id().entry();
    if let Some(platform) = device.platform.as_deref()
        && !entry
            .platforms
            .iter()
            .any(|p| platform_name(*p) == platform)
    {
        return Err(ApiError::field(
            "action",
            format!("{} is not available on {platform}", entry.id.as_str()),
        ));
    }
    let now = state.clock.now();
    let mut request = ActionRequest {
        id: new_request_id(),
        ticket_id,
        device_id,
        action: action.id().as_str().to_owned(),
        params: serde_json::Value::Object(action.params_json()),
        state: ActionState::AwaitingApproval,
        requested_by: user.id,
        requested_by_name: user.display_name.clone(),
        requested_tier: user.tier,
        decided_by: None,
        decision_reason: None,
        order: None,
        result: None,
        created_at: now,
        updated_at: now,
        expires_at: now + REQUEST_LIFETIME,
    };
    // The catalog's rule, refined by whose account the action changes (the remediation
    // domain decides: only an account's own user may consent to changing it).
    let approval = action.required_approval(ticket.requester.username.as_deref());
    let to = match approval {
        ApprovalPolicy::None => {
            sign(&state, &mut request, Approval::NotRequired, now)?;
            ActionState::Queued
        }
        ApprovalPolicy::SecondAgent => ActionState::AwaitingApproval,
        ApprovalPolicy::UserConsent => ActionState::AwaitingConsent,
    };
    let saved = record(
        &state,
        request,
        None,
        to,
        Mover::of(&caller),
        None,
        once,
        now,
    )
    .await?;
    Ok(written(saved, StatusCode::CREATED))
}

fn platform_name(platform: deskside_remediation::catalog::Platform) -> &'static str {
    use deskside_remediation::catalog::Platform;
    match platform {
        Platform::Linux => "linux",
        Platform::Windows => "windows",
        Platform::Macos => "macos",
    }
}

/// The requests on one ticket, oldest first. Staff get each `ActionRequest`; a requester,
/// on their own ticket, gets `RequesterAction`s: what is done and how it ended, without the
/// agents' approval traffic.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/actions", tag = "actions",
    params(("id" = i64, Path, description = "ticket id")),
    responses((status = 200, body = Vec<ActionRequest>,
               description = "staff: ActionRequest; a requester: RequesterAction"),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn for_ticket(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(ticket_id): PathParam<i64>,
) -> ApiResult<Response> {
    super::tickets::visible_ticket(&state, &caller, ticket_id).await?;
    let requests = state.storage.action_requests_for_ticket(ticket_id).await?;
    Ok(match &caller {
        Caller::Staff(_) => Json(requests).into_response(),
        Caller::Requester { username, .. } => Json(
            requests
                .iter()
                .map(|request| RequesterAction::of(request, username))
                .collect::<Vec<_>>(),
        )
        .into_response(),
    })
}

/// The approvals inbox: requests in one state (default `awaiting_approval`), oldest first.
#[utoipa::path(get, path = "/api/v1/action-requests", tag = "actions",
    params(("state" = Option<String>, Query, description = "e.g. awaiting_approval, queued, running")),
    responses((status = 200, body = Vec<ActionRequest>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn inbox(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Vec<ActionRequest>>> {
    caller.staff()?;
    let query = QueryPairs::parse(raw.as_deref(), &["state"])?;
    let wanted = match query.get("state") {
        None | Some("") => ActionState::AwaitingApproval,
        Some(text) => serde_json::from_value(serde_json::Value::String(text.to_owned()))
            .map_err(|_| ApiError::field("state", "not an action state"))?,
    };
    Ok(Json(
        state.storage.action_requests_in_state(wanted, 200).await?,
    ))
}

async fn pending(state: &AppState, id: &str, now: DateTime<Utc>) -> ApiResult<ActionRequest> {
    let request = state
        .storage
        .action_request(id)
        .await?
        .ok_or_else(|| ApiError::not_found("action request"))?;
    if request.expires_at <= now {
        return Err(ApiError::conflict("the request has expired; ask again"));
    }
    Ok(request)
}

/// A second agent may approve when they are not the requester and work at the requester's
/// tier or above; supervisors and admins always may.
fn may_approve(approver: &StaffUser, request: &ActionRequest) -> Result<(), ApiError> {
    if approver.id == request.requested_by {
        return Err(ApiError::forbidden(
            "a second agent must approve; not the one who asked",
        ));
    }
    if matches!(approver.role, Role::Supervisor | Role::Admin) {
        return Ok(());
    }
    let rank = |tier: Option<Tier>| tier.map_or(u8::MAX, |t| t as u8);
    if rank(approver.tier) < rank(request.requested_tier) {
        return Err(ApiError::forbidden(
            "the approver must work at the requester's tier or above",
        ));
    }
    Ok(())
}

/// Approve a request waiting for a second agent; the order is signed and queued.
#[utoipa::path(post, path = "/api/v1/action-requests/{id}/approve", tag = "actions",
    params(("id" = String, Path, description = "request id")),
    responses((status = 200, body = ActionRequest), (status = 403, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn approve(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<String>,
    mutation: Mutation,
) -> ApiResult<Response> {
    let approver = caller.staff()?.clone();
    let once = mutation.idempotency(&caller.principal(), &[]);
    if let Some(answer) = earlier_answer(&*state.storage, once.as_ref()).await? {
        return Ok(written(answer, StatusCode::OK));
    }
    let now = state.clock.now();
    let mut request = pending(&state, &id, now).await?;
    if request.state != ActionState::AwaitingApproval {
        return Err(ApiError::conflict(
            "the request is not waiting for approval",
        ));
    }
    may_approve(&approver, &request)?;
    request.decided_by = Some(approver.display_name.clone());
    sign(&state, &mut request, Approval::SecondAgent, now)?;
    let from = Some(ActionState::AwaitingApproval);
    let detail = Some(format!("approved by {}", approver.display_name));
    let saved = record(
        &state,
        request,
        from,
        ActionState::Queued,
        Mover::of(&caller),
        detail,
        once,
        now,
    )
    .await?;
    Ok(written(saved, StatusCode::OK))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DenyRequest {
    pub reason: String,
}

/// Deny a request waiting for approval (staff).
#[utoipa::path(post, path = "/api/v1/action-requests/{id}/deny", tag = "actions",
    params(("id" = String, Path, description = "request id")), request_body = DenyRequest,
    responses((status = 200, body = ActionRequest), (status = 409, body = crate::error::ErrorBody)))]
pub async fn deny(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<String>,
    mutation: Mutation,
    body: JsonBody<DenyRequest>,
) -> ApiResult<Response> {
    let user = caller.staff()?.clone();
    let once = mutation.idempotency(&caller.principal(), &body.raw);
    if let Some(answer) = earlier_answer(&*state.storage, once.as_ref()).await? {
        return Ok(written(answer, StatusCode::OK));
    }
    let reason = body.value.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(ApiError::field("reason", "say why, in 1–2000 characters"));
    }
    let now = state.clock.now();
    let mut request = pending(&state, &id, now).await?;
    if !matches!(
        request.state,
        ActionState::AwaitingApproval | ActionState::AwaitingConsent
    ) {
        return Err(ApiError::conflict(
            "only a request still waiting can be denied",
        ));
    }
    let from = Some(request.state);
    request.decided_by = Some(user.display_name.clone());
    request.decision_reason = Some(reason.clone());
    let saved = record(
        &state,
        request,
        from,
        ActionState::Denied,
        Mover::of(&caller),
        Some(reason),
        once,
        now,
    )
    .await?;
    Ok(written(saved, StatusCode::OK))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConsentRequest {
    pub granted: bool,
}

/// The device's user gives or refuses consent to a request on their own ticket; only the
/// user of the account an action changes may give it. Answers the requester's view.
#[utoipa::path(post, path = "/api/v1/action-requests/{id}/consent", tag = "actions",
    params(("id" = String, Path, description = "request id")), request_body = ConsentRequest,
    responses((status = 200, body = RequesterAction), (status = 403, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn consent(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<String>,
    mutation: Mutation,
    body: JsonBody<ConsentRequest>,
) -> ApiResult<Response> {
    let Caller::Requester { ref username, .. } = caller else {
        return Err(ApiError::forbidden("only the device's user can consent"));
    };
    let once = mutation.idempotency(&caller.principal(), &body.raw);
    if let Some(answer) = earlier_answer(&*state.storage, once.as_ref()).await? {
        let request = serde_json::from_value(answer.into_value()?).map_err(ApiError::internal)?;
        return requester_answer(request, true, username);
    }
    let now = state.clock.now();
    let mut request = pending(&state, &id, now).await?;
    // Only the person the ticket is for, on the device it is about.
    super::tickets::visible_ticket(&state, &caller, request.ticket_id)
        .await
        .map_err(|_| ApiError::not_found("action request"))?;
    if request.state != ActionState::AwaitingConsent {
        return Err(ApiError::conflict("the request is not waiting for consent"));
    }
    let granted = body.value.granted;
    if granted && !stored_action(&request)?.may_consent(username) {
        // Only requests from before this rule can be here: new ones on someone else's
        // account wait for a second agent instead. Refusing stays possible.
        return Err(ApiError::forbidden(
            "only the user of the account this changes can agree to it",
        ));
    }
    request.decided_by = Some(username.clone());
    let to = if granted {
        let approval = Approval::UserConsent {
            account: username.clone(),
        };
        sign(&state, &mut request, approval, now)?;
        ActionState::Queued
    } else {
        ActionState::Denied
    };
    let from = Some(ActionState::AwaitingConsent);
    let saved = record(
        &state,
        request,
        from,
        to,
        Mover::of(&caller),
        None,
        once,
        now,
    )
    .await?;
    let replayed = matches!(saved, Written::Replayed { .. });
    requester_answer(saved.into_value()?, replayed, username)
}

/// A requester's answer is their projection, a replay's included: the answer stored with
/// the idempotency key is the staff view and must not reach them.
fn requester_answer(request: ActionRequest, replayed: bool, username: &str) -> ApiResult<Response> {
    let projection = serde_json::to_value(RequesterAction::of(&request, username))
        .map_err(ApiError::internal)?;
    let answer = if replayed {
        Written::Replayed {
            status: StatusCode::OK.as_u16(),
            body: projection,
        }
    } else {
        Written::Fresh(projection)
    };
    Ok(written(answer, StatusCode::OK))
}

#[derive(Debug, serde::Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrdersResponse {
    /// Signed orders, oldest first; verify each against the pinned key before acting.
    #[schema(value_type = Vec<Object>)]
    pub orders: Vec<serde_json::Value>,
}

/// A device's long-poll for orders: answers at once when any are queued, else when one is
/// queued or after `waitSeconds` (0–55, default 25) with none.
#[utoipa::path(get, path = "/api/v1/agent/orders", tag = "agent",
    params(("waitSeconds" = Option<u32>, Query, description = "how long to wait for an order")),
    responses((status = 200, body = OrdersResponse), (status = 401, body = crate::error::ErrorBody)))]
pub async fn poll_orders(
    State(state): State<Arc<AppState>>,
    DeviceAgent(device): DeviceAgent,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<OrdersResponse>> {
    let query = QueryPairs::parse(raw.as_deref(), &["waitSeconds"])?;
    let wait = query.number("waitSeconds", 25, 0..=MAX_WAIT_SECONDS)?;
    let wakeup = state.order_wakeups.handle(&device.id);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(wait as u64);
    state
        .storage
        .record_device_contact(&device.id, None, state.clock.now())
        .await?;
    loop {
        let queued = state
            .storage
            .queued_orders(&device.id, state.clock.now())
            .await?;
        if !queued.is_empty() || tokio::time::Instant::now() >= deadline {
            let orders = queued.into_iter().filter_map(|r| r.order).collect();
            return Ok(Json(OrdersResponse { orders }));
        }
        // Woken by a newly queued order, or the deadline passes.
        let _ = tokio::time::timeout_at(deadline, wakeup.notified()).await;
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", tag = "stage")]
pub enum OrderReport {
    /// Verified and executing.
    #[serde(rename = "started")]
    Started,
    #[serde(rename = "finished")]
    Finished {
        #[schema(value_type = Object)]
        report: ExecutionReport,
    },
    /// The endpoint refused the order; `code` is the verifier's reason.
    #[serde(rename = "rejected")]
    Rejected { rejection: Rejection },
    /// The endpoint stopped (crash, kill, power loss) while running it and cannot say how it
    /// ended; sent by the agent after its restart. Newer than the other stages: older
    /// agents never send it.
    #[serde(rename = "interrupted")]
    Interrupted { reason: String },
}

#[derive(Debug, Deserialize, serde::Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rejection {
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// A request that ends `failed` with no execution report: `result` is `{code, message}`,
/// as for a rejection. Returns the new state and the timeline detail.
fn failed_without_outcome(
    request: &mut ActionRequest,
    code: &str,
    message: &str,
) -> (ActionState, Option<String>) {
    request.result = Some(serde_json::json!({"code": code, "message": message}));
    (ActionState::Failed, Some(format!("{code}: {message}")))
}

/// How long a request may stay `running` without a report before the server fails it: the
/// agent's longest execution (2 minutes) plus how long it keeps retrying the final report
/// (15 minutes), with room to spare. An agent that comes back later reports from its
/// journal and is told 409.
pub const RUNNING_REPORT_DEADLINE: Duration = Duration::minutes(30);

/// Fails every request `running` for longer than [`RUNNING_REPORT_DEADLINE`] with no report
/// (the endpoint died mid-order and never came back), each with its timeline event and audit
/// line. Run by the background sweep; returns how many it failed.
pub async fn fail_unreported(state: &AppState) -> anyhow::Result<usize> {
    // Running requests are few (one per device at a time): read them all.
    const MAX_RUNNING: u32 = 100_000;
    let now = state.clock.now();
    let mut failed = 0;
    for mut request in state
        .storage
        .action_requests_in_state(ActionState::Running, MAX_RUNNING)
        .await?
    {
        if request.updated_at + RUNNING_REPORT_DEADLINE > now {
            continue;
        }
        let message = format!(
            "the device did not report within {} minutes of starting; it may have stopped \
             mid-order, so whether the action took effect is unknown",
            RUNNING_REPORT_DEADLINE.num_minutes()
        );
        let (to, detail) = failed_without_outcome(&mut request, "no_report", &message);
        let mover = Mover {
            actor: Actor::system(),
            audit_name: "system".into(),
        };
        let from = Some(ActionState::Running);
        match record(state, request, from, to, mover, detail, None, now).await {
            Ok(_) => failed += 1,
            // Reported meanwhile: the report wins.
            Err(error) if error.status() == StatusCode::CONFLICT => {}
            Err(error) => anyhow::bail!("failing an unreported request: {}", error.status()),
        }
    }
    Ok(failed)
}

/// A device reports on an order: started, finished (with its execution report), rejected,
/// or interrupted (after a restart).
#[utoipa::path(post, path = "/api/v1/agent/orders/{id}/report", tag = "agent",
    params(("id" = String, Path, description = "order id")), request_body = Object,
    responses((status = 204), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn report(
    State(state): State<Arc<AppState>>,
    DeviceAgent(device): DeviceAgent,
    PathParam(id): PathParam<String>,
    mutation: Mutation,
    body: AgentJsonBody<OrderReport>,
) -> ApiResult<Response> {
    let once = mutation.idempotency(&format!("device:{}", device.id), &body.raw);
    if let Some(answer) = earlier_answer(&*state.storage, once.as_ref()).await? {
        return Ok(reported(answer));
    }
    let mut request = state
        .storage
        .action_request(&id)
        .await?
        .filter(|r| r.device_id == device.id)
        .ok_or_else(|| ApiError::not_found("order"))?;
    let now = state.clock.now();
    let from = request.state;
    let (to, detail) = match (from, body.value) {
        (ActionState::Queued, OrderReport::Started) => (ActionState::Running, None),
        (ActionState::Queued | ActionState::Running, OrderReport::Finished { report }) => {
            let succeeded = report.succeeded();
            let detail = Some(report.summary.clone());
            request.result = Some(serde_json::to_value(&report).map_err(ApiError::internal)?);
            let to = if succeeded {
                ActionState::Succeeded
            } else {
                ActionState::Failed
            };
            (to, detail)
        }
        (ActionState::Queued | ActionState::Running, OrderReport::Rejected { rejection }) => {
            let detail = Some(format!("{}: {}", rejection.code, rejection.message));
            request.result = Some(serde_json::to_value(&rejection).map_err(ApiError::internal)?);
            (ActionState::Rejected, detail)
        }
        (ActionState::Queued | ActionState::Running, OrderReport::Interrupted { reason }) => {
            let reason: String = reason.chars().take(2000).collect();
            failed_without_outcome(&mut request, "interrupted", &reason)
        }
        _ => {
            return Err(ApiError::conflict(format!(
                "the order is {}; that report does not apply",
                from.as_str()
            )));
        }
    };
    let actor = Actor {
        kind: deskside_core::ActorKind::System,
        display_name: format!("device {}", device.hostname),
    };
    let mover = Mover {
        actor,
        audit_name: format!("device:{}", device.id),
    };
    let saved = record(&state, request, Some(from), to, mover, detail, once, now).await?;
    Ok(reported(saved))
}

/// A report's answer is always an empty 204, first time or retried (the stored answer is
/// the request the report moved, which the device is not shown).
fn reported<T>(saved: Written<T>) -> Response {
    let answer = match saved {
        Written::Fresh(_) => Written::Fresh(()),
        Written::Replayed { .. } => Written::Replayed {
            status: StatusCode::NO_CONTENT.as_u16(),
            body: serde_json::Value::Null,
        },
    };
    written(answer, StatusCode::NO_CONTENT)
}
