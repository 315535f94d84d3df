//! Ticket routes. Each handler parses, checks who may act, hands one command to the domain
//! through storage, and renders the result.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use deskside_core::ticket::{DomainError, NewTicket, Ticket, TicketCommand, TicketEdit, decide};
use deskside_core::{Category, Priority, SlaState, Status, Tier};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::extract::{JsonBody, Mutation, PathParam, body_rejection, written};
use super::query::QueryPairs;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::storage::{
    AssigneeFilter, AttachmentMeta, AuditIntent, NewAttachment, QueueCursor, TicketPage,
    TicketQuery, TimelineEvent,
};

pub const MAX_ATTACHMENT_BYTES: usize = 5 * 1024 * 1024;
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

/// Loads a ticket the caller may see. A requester asking for someone else's ticket gets the
/// same 404 as for a missing one, so ticket numbers reveal nothing.
pub(super) async fn visible_ticket(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> ApiResult<Ticket> {
    let ticket = state
        .storage
        .ticket(id)
        .await?
        .ok_or_else(|| ApiError::not_found("ticket"))?;
    if owns(caller, &ticket) {
        Ok(ticket)
    } else {
        Err(ApiError::not_found("ticket"))
    }
}

fn owns(caller: &Caller, ticket: &Ticket) -> bool {
    match caller.requester_scope() {
        None => true,
        Some(scope) => {
            ticket.device_id.as_deref() == Some(scope.device_id.as_str())
                && ticket
                    .requester
                    .username
                    .as_deref()
                    // Exactly: `DSK_U1` and `dsk_u1` are two accounts on the same machine.
                    .is_some_and(|u| u == scope.username)
        }
    }
}

/// Create a ticket. Staff log tickets for anyone (phone, walk-in); a device files them for
/// its local user, who becomes the requester.
#[utoipa::path(post, path = "/api/v1/tickets", tag = "tickets", request_body = NewTicket,
    params(("Idempotency-Key" = Option<String>, Header, description = "retry-safe key")),
    responses((status = 201, body = Ticket), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    mutation: Mutation,
    body: JsonBody<NewTicket>,
) -> ApiResult<Response> {
    let mut new = body.value;
    if let Caller::Requester {
        device, username, ..
    } = &caller
    {
        if new.device_id.as_ref().is_some_and(|d| d != &device.id) {
            return Err(ApiError::field("deviceId", "must be this device's id"));
        }
        if new
            .requester
            .username
            .as_ref()
            .is_some_and(|u| u != username)
        {
            return Err(ApiError::field(
                "requester.username",
                "a device files tickets only for its signed-in local user",
            ));
        }
        new.device_id = Some(device.id.clone());
        new.requester.username = Some(username.clone());
    }
    deskside_core::ticket::validate_new_ticket(&new).map_err(ApiError::validation)?;
    // Actions run on the ticket's device: staff naming a machine that is not enrolled here
    // (or any string at all) could aim actions anywhere. A requester's device is its own.
    if !matches!(caller, Caller::Requester { .. })
        && let Some(device_id) = &new.device_id
        && state.storage.device_record(device_id).await?.is_none()
    {
        return Err(ApiError::field(
            "deviceId",
            "no enrolled device has this id",
        ));
    }
    let now = state.clock.now();
    let sla = state.sla();
    // Decide before queueing for the writer, which only stamps the id: the single writer
    // thread is the server's bottleneck, the request threads are not.
    let opened = Ticket::open(new, 0, 0, &sla, now)?;
    let decider = Box::new(move |id, number| {
        let mut decision = opened;
        decision.ticket.id = id;
        decision.ticket.number = number;
        Ok(decision)
    });
    let result = state
        .storage
        .create_ticket(
            caller.actor(),
            mutation.idempotency(&caller.principal(), &body.raw),
            decider,
            sla,
            None,
            now,
        )
        .await?;
    Ok(written(result, StatusCode::CREATED))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Comma-separated statuses, e.g. `new,open`.
    pub status: Option<String>,
    /// Comma-separated, e.g. `P1,P2`.
    pub priority: Option<String>,
    pub category: Option<String>,
    pub tier: Option<String>,
    /// `on_track`, `at_risk`, `breached`, `paused`, `met`; comma-separated.
    pub sla_state: Option<String>,
    /// A staff user id, `me`, or `none` for unassigned.
    pub assignee: Option<String>,
    /// Requester name or username.
    pub requester: Option<String>,
    /// Full-text search over title, description, tags and requester; results come newest
    /// first instead of by SLA risk.
    pub q: Option<String>,
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<u32>,
}

fn parse_list<T: Copy>(
    errors: &mut deskside_core::ValidationErrors,
    field: &str,
    text: &Option<String>,
    parse: impl Fn(&str) -> Option<T>,
    all: &[T],
    name: impl Fn(&T) -> &'static str,
) -> Vec<T> {
    let Some(text) = text else { return Vec::new() };
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match parse(part) {
            Some(value) => out.push(value),
            None => {
                let allowed: Vec<&str> = all.iter().map(&name).collect();
                errors.add(
                    field,
                    format!("unknown value '{part}'; use one of {}", allowed.join(", ")),
                );
            }
        }
    }
    out
}

const LIST_KEYS: &[&str] = &[
    "status",
    "priority",
    "category",
    "tier",
    "slaState",
    "assignee",
    "requester",
    "q",
    "cursor",
    "limit",
];

fn list_params(raw: Option<&str>) -> ApiResult<ListParams> {
    let query = QueryPairs::parse(raw, LIST_KEYS)?;
    let text = |key: &str| query.get(key).map(str::to_owned);
    Ok(ListParams {
        status: text("status"),
        priority: text("priority"),
        category: text("category"),
        tier: text("tier"),
        sla_state: text("slaState"),
        assignee: text("assignee"),
        requester: text("requester"),
        q: text("q"),
        cursor: text("cursor"),
        limit: Some(
            query.number("limit", i64::from(DEFAULT_PAGE), 1..=i64::from(MAX_PAGE))? as u32,
        ),
    })
}

/// The queue: filtered and ordered by SLA risk, soonest deadline first.
#[utoipa::path(get, path = "/api/v1/tickets", tag = "tickets", params(ListParams),
    responses((status = 200, body = TicketPage), (status = 422, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<TicketPage>> {
    let params = list_params(raw.as_deref())?;
    let mut errors = deskside_core::ValidationErrors::default();
    let mut query = TicketQuery {
        statuses: parse_list(
            &mut errors,
            "status",
            &params.status,
            Status::parse,
            Status::ALL,
            |s| s.as_str(),
        ),
        priorities: parse_list(
            &mut errors,
            "priority",
            &params.priority,
            Priority::parse,
            Priority::ALL,
            |s| s.as_str(),
        ),
        categories: parse_list(
            &mut errors,
            "category",
            &params.category,
            Category::parse,
            Category::ALL,
            |s| s.as_str(),
        ),
        tiers: parse_list(
            &mut errors,
            "tier",
            &params.tier,
            Tier::parse,
            Tier::ALL,
            |s| s.as_str(),
        ),
        sla_states: parse_list(
            &mut errors,
            "slaState",
            &params.sla_state,
            SlaState::parse,
            SlaState::ALL,
            |s| s.as_str(),
        ),
        limit: params.limit.unwrap_or(DEFAULT_PAGE),
        ..TicketQuery::default()
    };
    query.assignee = match params.assignee.as_deref() {
        None | Some("") => None,
        Some("none") => Some(AssigneeFilter::Unassigned),
        Some("me") => Some(AssigneeFilter::User(caller.staff()?.id)),
        Some(id) => match id.parse() {
            Ok(id) => Some(AssigneeFilter::User(id)),
            Err(_) => {
                errors.add("assignee", "must be a user id, 'me' or 'none'");
                None
            }
        },
    };
    query.requester = params.requester.filter(|r| !r.trim().is_empty());
    query.text = params.q.filter(|q| !q.trim().is_empty());
    if let Some(text) = &query.text
        && text.chars().count() > 200
    {
        errors.add("q", "must be at most 200 characters");
    }
    query.after = match params.cursor.as_deref() {
        None | Some("") => None,
        Some(cursor) => match QueueCursor::decode(cursor) {
            Some(cursor) => Some(cursor),
            None => {
                errors.add("cursor", "is not a cursor this server gave out");
                None
            }
        },
    };
    errors.into_result().map_err(ApiError::validation)?;
    query.scope = caller.requester_scope();
    Ok(Json(state.storage.list_tickets(query).await?))
}

/// One ticket.
#[utoipa::path(get, path = "/api/v1/tickets/{id}", tag = "tickets",
    params(("id" = i64, Path, description = "ticket id")),
    responses((status = 200, body = Ticket), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<i64>,
) -> ApiResult<Json<Ticket>> {
    Ok(Json(visible_ticket(&state, &caller, id).await?))
}

/// One caller's command on a ticket, with what makes it retry-safe.
struct Acting<'a> {
    state: &'a AppState,
    caller: &'a Caller,
    mutation: &'a Mutation,
    raw: &'a [u8],
}

impl Acting<'_> {
    /// Runs `command` on ticket `id`, guarded by `version` when given, auditing it as
    /// `audit_action` when that is set.
    async fn apply(
        &self,
        id: i64,
        version: Option<i64>,
        command: TicketCommand,
        audit_action: Option<&'static str>,
    ) -> ApiResult<Response> {
        let Acting {
            state,
            caller,
            mutation,
            raw,
        } = *self;
        visible_ticket(state, caller, id).await?;
        let now = state.clock.now();
        let sla = state.sla();
        let rules = sla.clone();
        let actor = caller.actor();
        let deciding_actor = actor.clone();
        let decider = Box::new(move |ticket: &Ticket| -> Result<_, DomainError> {
            decide(ticket, &deciding_actor, command, &rules, now)
        });
        let audit = audit_action.map(|action| AuditIntent {
            actor: caller.audit_name(),
            action,
        });
        let result = state
            .storage
            .update_ticket(
                id,
                version,
                actor,
                mutation.idempotency(&caller.principal(), raw),
                decider,
                sla,
                audit,
                now,
            )
            .await?;
        Ok(written(result, StatusCode::OK))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EditRequest {
    /// The version you edited; a newer one on the server gives 409 with the current ticket.
    pub version: i64,
    #[serde(flatten)]
    pub edit: TicketEdit,
}

/// Edit plain fields (staff). Needs the version being edited.
#[utoipa::path(patch, path = "/api/v1/tickets/{id}", tag = "tickets", request_body = EditRequest,
    params(("id" = i64, Path, description = "ticket id")),
    responses((status = 200, body = Ticket), (status = 409, body = crate::error::ErrorBody)))]
pub async fn edit(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<i64>,
    mutation: Mutation,
    body: JsonBody<EditRequest>,
) -> ApiResult<Response> {
    caller.staff()?;
    let EditRequest { version, edit } = body.value;
    Acting {
        state: &state,
        caller: &caller,
        mutation: &mutation,
        raw: &body.raw,
    }
    .apply(
        id,
        Some(version),
        TicketCommand::Edit(edit),
        Some("ticket.edit"),
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignRequest {
    /// A staff user id, or null to unassign.
    pub assignee_id: Option<i64>,
    #[serde(default)]
    pub version: Option<i64>,
}

/// Assign to a staff member, or unassign.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/assign", tag = "tickets", request_body = AssignRequest,
    params(("id" = i64, Path, description = "ticket id")),
    responses((status = 200, body = Ticket), (status = 422, body = crate::error::ErrorBody)))]
pub async fn assign(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<i64>,
    mutation: Mutation,
    body: JsonBody<AssignRequest>,
) -> ApiResult<Response> {
    caller.staff()?;
    let request = body.value;
    if let Some(assignee) = request.assignee_id {
        let valid = state
            .storage
            .staff_by_id(assignee)
            .await?
            .is_some_and(|u| u.active);
        if !valid {
            return Err(ApiError::field(
                "assigneeId",
                "no active staff member has this id",
            ));
        }
    }
    let command = TicketCommand::Assign {
        assignee_id: request.assignee_id,
    };
    Acting {
        state: &state,
        caller: &caller,
        mutation: &mutation,
        raw: &body.raw,
    }
    .apply(id, request.version, command, Some("ticket.assign"))
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EscalateRequest {
    /// What was tried and why the next tier is needed.
    pub reason: String,
    #[serde(default)]
    pub version: Option<i64>,
}

/// Escalate to the next support tier, with a reason.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/escalate", tag = "tickets", request_body = EscalateRequest,
    params(("id" = i64, Path, description = "ticket id")),
    responses((status = 200, body = Ticket), (status = 409, body = crate::error::ErrorBody)))]
pub async fn escalate(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<i64>,
    mutation: Mutation,
    body: JsonBody<EscalateRequest>,
) -> ApiResult<Response> {
    caller.staff()?;
    let request = body.value;
    let command = TicketCommand::Escalate {
        reason: request.reason,
    };
    Acting {
        state: &state,
        caller: &caller,
        mutation: &mutation,
        raw: &body.raw,
    }
    .apply(id, request.version, command, Some("ticket.escalate"))
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusRequest {
    pub status: Status,
    #[serde(default)]
    pub version: Option<i64>,
}

/// Move the ticket's status. Requesters may confirm a fix (close) or reopen a resolved ticket.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/status", tag = "tickets", request_body = StatusRequest,
    params(("id" = i64, Path, description = "ticket id")),
    responses((status = 200, body = Ticket), (status = 409, body = crate::error::ErrorBody)))]
pub async fn change_status(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<i64>,
    mutation: Mutation,
    body: JsonBody<StatusRequest>,
) -> ApiResult<Response> {
    let request = body.value;
    let command = TicketCommand::ChangeStatus { to: request.status };
    Acting {
        state: &state,
        caller: &caller,
        mutation: &mutation,
        raw: &body.raw,
    }
    .apply(id, request.version, command, Some("ticket.status"))
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriorityRequest {
    /// The priority to set, or null to go back to the impact × urgency matrix.
    pub priority: Option<Priority>,
    pub reason: String,
    #[serde(default)]
    pub version: Option<i64>,
}

/// Override the matrix priority (staff, with a reason).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/priority", tag = "tickets", request_body = PriorityRequest,
    params(("id" = i64, Path, description = "ticket id")),
    responses((status = 200, body = Ticket), (status = 422, body = crate::error::ErrorBody)))]
pub async fn override_priority(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<i64>,
    mutation: Mutation,
    body: JsonBody<PriorityRequest>,
) -> ApiResult<Response> {
    caller.staff()?;
    let request = body.value;
    let command = TicketCommand::OverridePriority {
        priority: request.priority,
        reason: request.reason,
    };
    Acting {
        state: &state,
        caller: &caller,
        mutation: &mutation,
        raw: &body.raw,
    }
    .apply(
        id,
        request.version,
        command,
        Some("ticket.priority_override"),
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MessageRequest {
    pub body: String,
}

/// A public reply: the requester sees it.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/replies", tag = "tickets", request_body = MessageRequest,
    params(("id" = i64, Path, description = "ticket id")),
    responses((status = 200, body = Ticket), (status = 404, body = crate::error::ErrorBody)))]
pub async fn reply(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<i64>,
    mutation: Mutation,
    body: JsonBody<MessageRequest>,
) -> ApiResult<Response> {
    let command = TicketCommand::Reply {
        body: body.value.body,
    };
    Acting {
        state: &state,
        caller: &caller,
        mutation: &mutation,
        raw: &body.raw,
    }
    .apply(id, None, command, None)
    .await
}

/// An internal note: staff only, never shown to the requester.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/notes", tag = "tickets", request_body = MessageRequest,
    params(("id" = i64, Path, description = "ticket id")),
    responses((status = 200, body = Ticket), (status = 403, body = crate::error::ErrorBody)))]
pub async fn note(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<i64>,
    mutation: Mutation,
    body: JsonBody<MessageRequest>,
) -> ApiResult<Response> {
    caller.staff()?;
    let command = TicketCommand::Note {
        body: body.value.body,
    };
    Acting {
        state: &state,
        caller: &caller,
        mutation: &mutation,
        raw: &body.raw,
    }
    .apply(id, None, command, None)
    .await
}

/// The ticket's timeline, oldest first. Requesters see only public events.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/timeline", tag = "tickets",
    params(("id" = i64, Path, description = "ticket id")),
    responses((status = 200, body = Vec<TimelineEvent>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn timeline(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<i64>,
) -> ApiResult<Json<Vec<TimelineEvent>>> {
    visible_ticket(&state, &caller, id).await?;
    let include_internal = caller.staff().is_ok();
    Ok(Json(state.storage.timeline(id, include_internal).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AttachmentParams {
    /// The file's name as the user sees it.
    #[allow(dead_code)]
    pub file_name: String,
}

fn attachment_file_name(raw_query: Option<&str>) -> ApiResult<String> {
    let query = QueryPairs::parse(raw_query, &["fileName"])?;
    let name = query.get("fileName").unwrap_or("").trim().to_owned();
    // Control characters (C0, DEL, C1) have no place in a name a person reads, and cannot
    // travel in the download's Content-Disposition header: refuse them rather than store a
    // name that changes on the way out.
    let safe = !name.is_empty()
        && name.chars().count() <= 255
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control)
        && name != "."
        && name != "..";
    if safe {
        Ok(name)
    } else {
        Err(ApiError::field(
            "fileName",
            "give a file name of 1–255 characters without slashes or control characters",
        ))
    }
}

/// `Content-Disposition` for a download (RFC 6266): always an attachment, with an ASCII
/// `filename="…"` every client understands and, when the name is not plain ASCII, the exact
/// name as `filename*=UTF-8''…`. Names stored by older versions may hold control
/// characters: they become `_` here, so the header is always valid (never a 500).
fn content_disposition(file_name: &str) -> String {
    let name: String = file_name
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    let fallback: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '_',
        })
        .collect();
    if fallback == name {
        return format!("attachment; filename=\"{fallback}\"");
    }
    // RFC 8187 `attr-char`s go as they are, every other byte of the UTF-8 percent-encoded.
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// Attach a file (raw body, its type in Content-Type, name in `?fileName=`). A diagnostics
/// snapshot is an `application/json` attachment and must be valid JSON. At most 5 MiB.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/attachments", tag = "tickets",
    params(("id" = i64, Path, description = "ticket id"), AttachmentParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = AttachmentMeta), (status = 413, body = crate::error::ErrorBody)))]
pub async fn add_attachment(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<i64>,
    mutation: Mutation,
    headers: HeaderMap,
    RawQuery(raw_query): RawQuery,
    request: Request,
) -> ApiResult<Response> {
    let file_name = attachment_file_name(raw_query.as_deref())?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|v| !v.is_empty() && v.len() <= 100 && v.contains('/'))
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let bytes = Bytes::from_request(request, &())
        .await
        .map_err(|rejection| body_rejection(rejection.status()))?;
    if bytes.is_empty() {
        return Err(ApiError::field("body", "the file is empty"));
    }
    if content_type == "application/json"
        && serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_err()
    {
        return Err(ApiError::field(
            "body",
            "a JSON attachment must be valid JSON",
        ));
    }
    let ticket = visible_ticket(&state, &caller, id).await?;
    let device_snapshot =
        super::devices::attached_snapshot(&caller, &ticket, &file_name, &content_type, &bytes);
    let now = state.clock.now();
    let sla = state.sla();
    let rules = sla.clone();
    let actor = caller.actor();
    let deciding_actor = actor.clone();
    let size_bytes = bytes.len() as i64;
    let (name, kind) = (file_name.clone(), content_type.clone());
    let decider = Box::new(move |ticket: &Ticket, attachment_id| {
        let command = TicketCommand::AttachmentAdded {
            attachment_id,
            file_name: name,
            content_type: kind,
            size_bytes,
        };
        decide(ticket, &deciding_actor, command, &rules, now)
    });
    let fingerprint_source = [file_name.as_bytes(), content_type.as_bytes(), &bytes].concat();
    let idempotency = mutation.idempotency(&caller.principal(), &fingerprint_source);
    let attachment = NewAttachment {
        file_name,
        content_type,
        bytes: bytes.to_vec(),
        device_snapshot,
    };
    let result = state
        .storage
        .add_attachment(id, attachment, actor, idempotency, decider, sla, now)
        .await?;
    Ok(written(result, StatusCode::CREATED))
}

/// Download an attachment.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/attachments/{attachment_id}", tag = "tickets",
    params(("id" = i64, Path, description = "ticket id"), ("attachment_id" = i64, Path, description = "attachment id")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_attachment(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam((id, attachment_id)): PathParam<(i64, i64)>,
) -> ApiResult<Response> {
    visible_ticket(&state, &caller, id).await?;
    let (meta, bytes) = state
        .storage
        .attachment(id, attachment_id)
        .await?
        .ok_or_else(|| ApiError::not_found("attachment"))?;
    // Served as a download, never rendered inline: an uploaded HTML file must not run in
    // the viewer's origin.
    let disposition = content_disposition(&meta.file_name);
    Ok((
        [
            (header::CONTENT_TYPE, meta.content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        bytes,
    )
        .into_response())
}
