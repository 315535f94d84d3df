//! The ticket aggregate. Every change goes through [`decide`]: it checks who is acting,
//! applies the command, keeps the SLA clocks right, and returns the events that explain the
//! change. Nothing changes without an event.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::actor::{Actor, Tier};
use crate::classification::{Category, Impact, Priority, Urgency, UserKind, priority_matrix};
use crate::event::{EventKind, SlaTarget};
use crate::sla::{SlaSettings, SlaState, SlaTimer};
use crate::status::Status;
use crate::validation::ValidationErrors;

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 20_000;
pub const MAX_BODY_CHARS: usize = 50_000;
pub const MAX_REASON_CHARS: usize = 2_000;
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 40;
/// A resolved ticket the requester neither confirms nor reopens closes after this long.
pub const AUTO_CLOSE_AFTER: Duration = Duration::days(5);

/// The person the ticket is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Requester {
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    pub user_kind: UserKind,
    /// The requester's local account on their device, when the ticket came from one.
    #[serde(default)]
    pub username: Option<String>,
}

/// The two SLA clocks of a ticket plus what has been announced about them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TicketSla {
    /// `None` when no policy covers the ticket's priority and user kind.
    pub first_response: Option<SlaTimer>,
    pub resolution: Option<SlaTimer>,
    /// Alerts already written to the timeline, so each is written once.
    pub first_response_alerts: SlaAlerts,
    pub resolution_alerts: SlaAlerts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SlaAlerts {
    pub at_risk: bool,
    pub breached: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Ticket {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: i64,
    /// Human number: shown as `HD-{number}`.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub number: i64,
    pub title: String,
    pub description: String,
    pub category: Category,
    pub impact: Impact,
    pub urgency: Urgency,
    pub priority: Priority,
    /// Set when an agent overrode the matrix priority, with their reason.
    pub priority_override_reason: Option<String>,
    pub requester: Requester,
    pub device_id: Option<String>,
    pub tier: Tier,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub assignee_id: Option<i64>,
    pub status: Status,
    pub tags: Vec<String>,
    /// Bumped on every change; a write naming an older version is refused.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub first_responded_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub sla: TicketSla,
}

/// What a new ticket is made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewTicket {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub category: Category,
    pub impact: Impact,
    pub urgency: Urgency,
    pub requester: Requester,
    #[serde(default)]
    pub device_id: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A partial edit of plain fields; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketEdit {
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<Category>,
    pub impact: Option<Impact>,
    pub urgency: Option<Urgency>,
    pub user_kind: Option<UserKind>,
    pub tags: Option<Vec<String>>,
}

/// Everything that can be done to an existing ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketCommand {
    Reply {
        body: String,
    },
    Note {
        body: String,
    },
    Edit(TicketEdit),
    /// `priority: None` drops an override and goes back to the matrix.
    OverridePriority {
        priority: Option<Priority>,
        reason: String,
    },
    Assign {
        assignee_id: Option<i64>,
    },
    Escalate {
        reason: String,
    },
    ChangeStatus {
        to: Status,
    },
    AttachmentAdded {
        attachment_id: i64,
        file_name: String,
        content_type: String,
        size_bytes: i64,
    },
    /// The background sweep: SLA alerts, auto-escalation, auto-close.
    SlaSweep,
    /// A remediation action on the ticket's device changed state. Who may make which change
    /// is the action flow's to check; this records it on the timeline.
    RecordAction {
        request_id: String,
        action: String,
        state: String,
        detail: Option<String>,
    },
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("{0}")]
    Forbidden(String),
    #[error("a ticket cannot move from {from} to {to}")]
    InvalidTransition { from: Status, to: Status },
    #[error("invalid input")]
    Invalid(ValidationErrors),
    #[error("{0}")]
    Conflict(String),
}

/// The ticket after a command and the events that explain it. Empty `events` means
/// nothing changed and nothing needs to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketDecision {
    pub ticket: Ticket,
    pub events: Vec<EventKind>,
}

pub fn validate_new_ticket(new: &NewTicket) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    errors.require_text("title", &new.title, MAX_TITLE_CHARS);
    errors.limit_text("description", &new.description, MAX_DESCRIPTION_CHARS);
    errors.require_text("requester.name", &new.requester.name, MAX_NAME_CHARS);
    if let Some(email) = &new.requester.email {
        validate_email(&mut errors, "requester.email", email);
    }
    if let Some(username) = &new.requester.username {
        errors.require_text("requester.username", username, MAX_NAME_CHARS);
    }
    if let Some(device_id) = &new.device_id {
        errors.require_text("deviceId", device_id, MAX_NAME_CHARS);
    }
    validate_tags(&mut errors, &new.tags);
    errors.into_result()
}

fn validate_email(errors: &mut ValidationErrors, field: &str, email: &str) {
    let plausible = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.chars().any(char::is_whitespace);
    if !plausible {
        errors.add(field, "must be an e-mail address like name@example.com");
    }
}

fn validate_tags(errors: &mut ValidationErrors, tags: &[String]) {
    if tags.len() > MAX_TAGS {
        errors.add("tags", format!("at most {MAX_TAGS} tags"));
    }
    for (index, tag) in tags.iter().enumerate() {
        let valid = !tag.is_empty()
            && tag.chars().count() <= MAX_TAG_CHARS
            && tag
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid {
            errors.add(
                &format!("tags[{index}]"),
                format!("1–{MAX_TAG_CHARS} letters, digits, '-', '_' or '.'"),
            );
        }
    }
}

/// Tags are case-insensitive and unique; stored lowercased in first-seen order.
fn normalise_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags {
        let tag = tag.to_lowercase();
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    out
}

impl Ticket {
    /// Opens a ticket. `id` and `number` come from storage; SLA clocks start now.
    pub fn open(
        new: NewTicket,
        id: i64,
        number: i64,
        sla: &SlaSettings,
        now: DateTime<Utc>,
    ) -> Result<TicketDecision, DomainError> {
        validate_new_ticket(&new).map_err(DomainError::Invalid)?;
        let priority = priority_matrix(new.impact, new.urgency);
        let mut ticket = Ticket {
            id,
            number,
            title: new.title.trim().to_owned(),
            description: new.description,
            category: new.category,
            impact: new.impact,
            urgency: new.urgency,
            priority,
            priority_override_reason: None,
            requester: new.requester,
            device_id: new.device_id,
            tier: Tier::L1,
            assignee_id: None,
            status: Status::New,
            tags: normalise_tags(&new.tags),
            version: 1,
            created_at: now,
            updated_at: now,
            first_responded_at: None,
            resolved_at: None,
            closed_at: None,
            sla: TicketSla::default(),
        };
        if let Some(policy) = sla.policy_for(priority, ticket.requester.user_kind) {
            let calendar = &sla.calendar;
            let first = i64::from(policy.first_response_minutes) * 60;
            let resolve = i64::from(policy.resolution_minutes) * 60;
            ticket.sla.first_response = Some(SlaTimer::start(first, now, calendar));
            ticket.sla.resolution = Some(SlaTimer::start(resolve, now, calendar));
        }
        Ok(TicketDecision {
            ticket,
            events: vec![EventKind::Created],
        })
    }

    /// `HD-1042`.
    pub fn display_number(&self) -> String {
        format!("HD-{}", self.number)
    }

    /// The worst state over both clocks: what queues show and sort on.
    pub fn sla_state(&self, sla: &SlaSettings, now: DateTime<Utc>) -> Option<SlaState> {
        let states = self
            .timers()
            .map(|(_, timer)| timer.state_at(now, &sla.calendar, sla.at_risk_percent));
        states.max_by_key(|state| sla_state_severity(*state))
    }

    /// The earliest instant a running clock falls due: the queue's "SLA risk" sort key.
    pub fn risk_due_at(&self) -> Option<DateTime<Utc>> {
        if !self.status.is_active() {
            return None;
        }
        self.timers().filter_map(|(_, timer)| timer.due_at).min()
    }

    /// When the background sweep next has something to do for this ticket: an at-risk or
    /// breach alert to write, or a resolved ticket to close.
    pub fn next_sweep_at(&self, sla: &SlaSettings) -> Option<DateTime<Utc>> {
        let mut next: Option<DateTime<Utc>> = None;
        let mut consider = |at: Option<DateTime<Utc>>| {
            if let Some(at) = at {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        };
        for (target, timer) in self.timers() {
            let alerts = self.sla.alerts(target);
            if !alerts.at_risk {
                consider(timer.at_risk_at(&sla.calendar, sla.at_risk_percent));
            }
            if !alerts.breached {
                consider(timer.due_at);
            }
        }
        if self.status == Status::Resolved {
            consider(self.resolved_at.map(|at| at + AUTO_CLOSE_AFTER));
        }
        next
    }

    fn timers(&self) -> impl Iterator<Item = (SlaTarget, &SlaTimer)> {
        [
            (SlaTarget::FirstResponse, self.sla.first_response.as_ref()),
            (SlaTarget::Resolution, self.sla.resolution.as_ref()),
        ]
        .into_iter()
        .filter_map(|(target, timer)| timer.map(|t| (target, t)))
    }
}

impl TicketSla {
    fn alerts(&self, target: SlaTarget) -> SlaAlerts {
        match target {
            SlaTarget::FirstResponse => self.first_response_alerts,
            SlaTarget::Resolution => self.resolution_alerts,
        }
    }

    fn alerts_mut(&mut self, target: SlaTarget) -> &mut SlaAlerts {
        match target {
            SlaTarget::FirstResponse => &mut self.first_response_alerts,
            SlaTarget::Resolution => &mut self.resolution_alerts,
        }
    }

    fn timer_mut(&mut self, target: SlaTarget) -> Option<&mut SlaTimer> {
        match target {
            SlaTarget::FirstResponse => self.first_response.as_mut(),
            SlaTarget::Resolution => self.resolution.as_mut(),
        }
    }

    fn for_each_timer(&mut self, mut apply: impl FnMut(&mut SlaTimer)) {
        self.first_response.iter_mut().for_each(&mut apply);
        self.resolution.iter_mut().for_each(&mut apply);
    }
}

/// Higher is worse; used to pick the state a queue shows.
pub fn sla_state_severity(state: SlaState) -> u8 {
    match state {
        SlaState::Met => 0,
        SlaState::Paused => 1,
        SlaState::OnTrack => 2,
        SlaState::AtRisk => 3,
        SlaState::Breached => 4,
    }
}

fn forbid(message: &str) -> DomainError {
    DomainError::Forbidden(message.to_owned())
}

fn require_staff(actor: &Actor, what: &str) -> Result<(), DomainError> {
    if actor.is_staff() {
        Ok(())
    } else {
        Err(DomainError::Forbidden(format!("only staff may {what}")))
    }
}

fn require_text(field: &str, value: &str, max: usize) -> Result<(), DomainError> {
    let mut errors = ValidationErrors::default();
    errors.require_text(field, value, max);
    errors.into_result().map_err(DomainError::Invalid)
}

/// Applies `command` by `actor` at `now`. Ownership (a requester's own ticket) and the
/// existence of referenced users are the caller's to check; everything else is here.
pub fn decide(
    ticket: &Ticket,
    actor: &Actor,
    command: TicketCommand,
    sla: &SlaSettings,
    now: DateTime<Utc>,
) -> Result<TicketDecision, DomainError> {
    let mut next = ticket.clone();
    let mut events = Vec::new();
    match command {
        TicketCommand::Reply { body } => {
            require_text("body", &body, MAX_BODY_CHARS)?;
            if ticket.status == Status::Closed {
                return Err(DomainError::Conflict(
                    "the ticket is closed; reopen it to reply".into(),
                ));
            }
            events.push(EventKind::PublicReply { body });
            if actor.is_staff() {
                if next.first_responded_at.is_none() {
                    next.first_responded_at = Some(now);
                    if let Some(timer) = next.sla.first_response.as_mut() {
                        timer.stop(now, &sla.calendar);
                    }
                }
                if next.status == Status::New {
                    move_status(&mut next, &mut events, Status::Open, sla, now);
                }
            } else if matches!(next.status, Status::PendingUser | Status::Resolved) {
                // The user answered, or says the fix did not hold: back to the desk.
                move_status(&mut next, &mut events, Status::Open, sla, now);
            }
        }
        TicketCommand::Note { body } => {
            require_staff(actor, "write internal notes")?;
            require_text("body", &body, MAX_BODY_CHARS)?;
            events.push(EventKind::InternalNote { body });
        }
        TicketCommand::Edit(edit) => {
            require_staff(actor, "edit tickets")?;
            apply_edit(&mut next, &mut events, edit, sla, now)?;
        }
        TicketCommand::OverridePriority { priority, reason } => {
            require_staff(actor, "override priority")?;
            require_text("reason", &reason, MAX_REASON_CHARS)?;
            let target = priority.unwrap_or_else(|| priority_matrix(next.impact, next.urgency));
            next.priority_override_reason = priority.map(|_| reason.clone());
            if target != next.priority {
                events.push(EventKind::PriorityOverridden {
                    from: next.priority,
                    to: target,
                    reason,
                });
                next.priority = target;
                retarget_sla(&mut next, sla, now);
            } else if next.priority_override_reason != ticket.priority_override_reason {
                events.push(EventKind::FieldChanged {
                    field: "priorityOverrideReason".into(),
                    from: ticket.priority_override_reason.clone(),
                    to: next.priority_override_reason.clone(),
                });
            }
        }
        TicketCommand::Assign { assignee_id } => {
            require_staff(actor, "assign tickets")?;
            if !ticket.status.is_active() {
                return Err(DomainError::Conflict(
                    "only tickets still being worked on can be assigned".into(),
                ));
            }
            if assignee_id != next.assignee_id {
                events.push(EventKind::Assigned {
                    from: next.assignee_id,
                    to: assignee_id,
                });
                next.assignee_id = assignee_id;
                if next.status == Status::New && assignee_id.is_some() {
                    move_status(&mut next, &mut events, Status::Open, sla, now);
                }
            }
        }
        TicketCommand::Escalate { reason } => {
            require_staff(actor, "escalate tickets")?;
            require_text("reason", &reason, MAX_REASON_CHARS)?;
            if let crate::ActorKind::Staff {
                tier: Some(own), ..
            } = actor.kind
                && !actor.is_supervisor_or_admin()
                && own < ticket.tier
            {
                return Err(forbid(
                    "agents may escalate only tickets at their own tier or below",
                ));
            }
            escalate(&mut next, &mut events, reason, false)?;
        }
        TicketCommand::ChangeStatus { to } => {
            if !ticket.status.may_move(to, actor) {
                if ticket.status == to || !actor_may_move_anywhere(ticket.status, to) {
                    return Err(DomainError::InvalidTransition {
                        from: ticket.status,
                        to,
                    });
                }
                return Err(DomainError::Forbidden(format!(
                    "you may not move a ticket from {} to {to}",
                    ticket.status
                )));
            }
            move_status(&mut next, &mut events, to, sla, now);
        }
        TicketCommand::AttachmentAdded {
            attachment_id,
            file_name,
            content_type,
            size_bytes,
        } => {
            if ticket.status == Status::Closed {
                return Err(DomainError::Conflict(
                    "the ticket is closed; reopen it to attach files".into(),
                ));
            }
            events.push(EventKind::AttachmentAdded {
                attachment_id,
                file_name,
                content_type,
                size_bytes,
            });
        }
        TicketCommand::RecordAction {
            request_id,
            action,
            state,
            detail,
        } => {
            if matches!(state.as_str(), "requested" | "awaiting_consent")
                && !ticket.status.is_active()
            {
                return Err(DomainError::Conflict(
                    "actions can be requested only on tickets still being worked on".into(),
                ));
            }
            if actor.is_requester() && !matches!(state.as_str(), "consented" | "consent_refused") {
                return Err(forbid("requesters may only give or refuse consent"));
            }
            events.push(EventKind::Action {
                request_id,
                action,
                state,
                detail,
            });
        }
        TicketCommand::SlaSweep => {
            if actor.is_requester() {
                return Err(forbid("only the system runs SLA sweeps"));
            }
            sweep(&mut next, &mut events, sla, now);
        }
    }
    if !events.is_empty() {
        next.version = ticket.version + 1;
        next.updated_at = now;
    }
    Ok(TicketDecision {
        ticket: next,
        events,
    })
}

/// Whether anyone at all may make this move: tells a bad transition from a missing right.
fn actor_may_move_anywhere(from: Status, to: Status) -> bool {
    let admin = Actor {
        kind: crate::ActorKind::Staff {
            user_id: 0,
            role: crate::Role::Admin,
            tier: None,
        },
        display_name: String::new(),
    };
    from.may_move(to, &admin) || from.may_move(to, &Actor::system())
}

fn apply_edit(
    next: &mut Ticket,
    events: &mut Vec<EventKind>,
    edit: TicketEdit,
    sla: &SlaSettings,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    let mut errors = ValidationErrors::default();
    if let Some(title) = &edit.title {
        errors.require_text("title", title, MAX_TITLE_CHARS);
    }
    if let Some(description) = &edit.description {
        errors.limit_text("description", description, MAX_DESCRIPTION_CHARS);
    }
    if let Some(tags) = &edit.tags {
        validate_tags(&mut errors, tags);
    }
    errors.into_result().map_err(DomainError::Invalid)?;

    let mut changed = |field: &str, from: String, to: String| {
        if from != to {
            events.push(EventKind::FieldChanged {
                field: field.to_owned(),
                from: Some(from),
                to: Some(to),
            });
            true
        } else {
            false
        }
    };
    if let Some(title) = edit.title {
        let title = title.trim().to_owned();
        changed("title", next.title.clone(), title.clone());
        next.title = title;
    }
    if let Some(description) = edit.description {
        changed("description", next.description.clone(), description.clone());
        next.description = description;
    }
    if let Some(category) = edit.category {
        changed("category", next.category.to_string(), category.to_string());
        next.category = category;
    }
    let mut reclassified = false;
    if let Some(impact) = edit.impact {
        reclassified |= changed("impact", next.impact.to_string(), impact.to_string());
        next.impact = impact;
    }
    if let Some(urgency) = edit.urgency {
        reclassified |= changed("urgency", next.urgency.to_string(), urgency.to_string());
        next.urgency = urgency;
    }
    if let Some(kind) = edit.user_kind {
        reclassified |= changed(
            "requester.userKind",
            next.requester.user_kind.to_string(),
            kind.to_string(),
        );
        next.requester.user_kind = kind;
    }
    if let Some(tags) = edit.tags {
        let tags = normalise_tags(&tags);
        changed("tags", next.tags.join(","), tags.join(","));
        next.tags = tags;
    }
    if reclassified {
        if next.priority_override_reason.is_none() {
            let priority = priority_matrix(next.impact, next.urgency);
            changed("priority", next.priority.to_string(), priority.to_string());
            next.priority = priority;
        }
        retarget_sla(next, sla, now);
    }
    Ok(())
}

/// Priority or user kind changed: the clocks keep what they consumed, with new targets.
fn retarget_sla(ticket: &mut Ticket, sla: &SlaSettings, now: DateTime<Utc>) {
    let Some(policy) = sla.policy_for(ticket.priority, ticket.requester.user_kind) else {
        return;
    };
    let targets = [
        (
            SlaTarget::FirstResponse,
            i64::from(policy.first_response_minutes) * 60,
        ),
        (
            SlaTarget::Resolution,
            i64::from(policy.resolution_minutes) * 60,
        ),
    ];
    for (target, secs) in targets {
        match ticket.sla.timer_mut(target) {
            Some(timer) => timer.retarget(secs, now, &sla.calendar),
            None => {
                // The ticket had no policy before; start counting from now.
                let mut timer = SlaTimer::start(secs, now, &sla.calendar);
                if !ticket.status.is_active()
                    || (target == SlaTarget::FirstResponse && ticket.first_responded_at.is_some())
                {
                    timer.stop(now, &sla.calendar);
                } else if ticket.status == Status::PendingUser {
                    timer.pause(now, &sla.calendar);
                }
                match target {
                    SlaTarget::FirstResponse => ticket.sla.first_response = Some(timer),
                    SlaTarget::Resolution => ticket.sla.resolution = Some(timer),
                }
            }
        }
        // A longer target can take a timer out of danger: let it warn again later.
        let state = ticket
            .sla
            .timer_mut(target)
            .map(|t| t.state_at(now, &sla.calendar, sla.at_risk_percent));
        let alerts = ticket.sla.alerts_mut(target);
        if state == Some(SlaState::OnTrack) {
            *alerts = SlaAlerts::default();
        } else if state == Some(SlaState::AtRisk) {
            alerts.breached = false;
        }
    }
}

fn escalate(
    ticket: &mut Ticket,
    events: &mut Vec<EventKind>,
    reason: String,
    automatic: bool,
) -> Result<(), DomainError> {
    let Some(to) = ticket.tier.next() else {
        return Err(DomainError::Conflict(
            "the ticket is already at the top tier (L3)".into(),
        ));
    };
    events.push(EventKind::Escalated {
        from: ticket.tier,
        to,
        reason,
        automatic,
    });
    ticket.tier = to;
    // The receiving tier picks the ticket up; the old assignee stays in the timeline.
    if ticket.assignee_id.is_some() {
        events.push(EventKind::Assigned {
            from: ticket.assignee_id,
            to: None,
        });
        ticket.assignee_id = None;
    }
    Ok(())
}

/// Moves the status and keeps the SLA clocks in step. The caller checked the move is allowed.
fn move_status(
    ticket: &mut Ticket,
    events: &mut Vec<EventKind>,
    to: Status,
    sla: &SlaSettings,
    now: DateTime<Utc>,
) {
    let from = ticket.status;
    let calendar = &sla.calendar;
    events.push(EventKind::StatusChanged { from, to });
    ticket.status = to;
    match to {
        Status::PendingUser => ticket.sla.for_each_timer(|t| t.pause(now, calendar)),
        Status::Open => {
            if matches!(from, Status::Resolved | Status::Closed) {
                ticket.resolved_at = None;
                ticket.closed_at = None;
                if let Some(timer) = ticket.sla.resolution.as_mut() {
                    timer.restart(now, calendar);
                }
            }
            ticket.sla.for_each_timer(|t| t.resume(now, calendar));
        }
        Status::Resolved => {
            ticket.resolved_at = Some(now);
            ticket.sla.for_each_timer(|t| {
                t.resume(now, calendar);
                t.stop(now, calendar);
            });
        }
        Status::Closed => {
            ticket.closed_at = Some(now);
            ticket.sla.for_each_timer(|t| {
                t.resume(now, calendar);
                t.stop(now, calendar);
            });
        }
        Status::New => {}
    }
}

/// Writes due SLA alerts, escalates on a breach when configured, closes quiet resolved
/// tickets.
fn sweep(ticket: &mut Ticket, events: &mut Vec<EventKind>, sla: &SlaSettings, now: DateTime<Utc>) {
    let mut breached_now = false;
    for target in [SlaTarget::FirstResponse, SlaTarget::Resolution] {
        let Some(timer) = ticket.sla.timer_mut(target) else {
            continue;
        };
        if timer.is_stopped() {
            continue;
        }
        let state = timer.state_at(now, &sla.calendar, sla.at_risk_percent);
        let alerts = ticket.sla.alerts_mut(target);
        if matches!(state, SlaState::AtRisk | SlaState::Breached) && !alerts.at_risk {
            alerts.at_risk = true;
            events.push(EventKind::SlaAtRisk { target });
        }
        if state == SlaState::Breached && !alerts.breached {
            alerts.breached = true;
            breached_now = true;
            events.push(EventKind::SlaBreached { target });
        }
    }
    if breached_now && sla.auto_escalate_on_breach && ticket.tier.next().is_some() {
        let reason = "SLA target breached: escalated automatically".to_owned();
        // Cannot fail: the tier has a next one.
        let _ = escalate(ticket, events, reason, true);
    }
    if ticket.status == Status::Resolved
        && ticket
            .resolved_at
            .is_some_and(|at| now >= at + AUTO_CLOSE_AFTER)
    {
        move_status(ticket, events, Status::Closed, sla, now);
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::actor::{ActorKind, Role};

    fn settings() -> SlaSettings {
        SlaSettings::standard(chrono_tz::Tz::UTC)
    }

    /// Monday 2026-03-02 09:00 UTC, inside desk hours.
    fn monday(hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, hour, minute, 0).unwrap()
    }

    fn staff(role: Role, tier: Option<Tier>) -> Actor {
        Actor {
            kind: ActorKind::Staff {
                user_id: 7,
                role,
                tier,
            },
            display_name: "Alice".into(),
        }
    }

    fn agent(tier: Tier) -> Actor {
        staff(Role::Agent, Some(tier))
    }

    fn requester() -> Actor {
        Actor {
            kind: ActorKind::Requester {
                device_id: "dev_1".into(),
                username: "dana".into(),
            },
            display_name: "Dana".into(),
        }
    }

    fn new_ticket(impact: Impact, urgency: Urgency) -> NewTicket {
        NewTicket {
            title: "  Printer jams  ".into(),
            description: "Every job".into(),
            category: Category::Printer,
            impact,
            urgency,
            requester: Requester {
                name: "Dana".into(),
                email: Some("dana@example.com".into()),
                user_kind: UserKind::InternalStaff,
                username: Some("dana".into()),
            },
            device_id: Some("dev_1".into()),
            tags: vec!["Floor-2".into(), "floor-2".into(), "kyocera".into()],
        }
    }

    fn opened(impact: Impact, urgency: Urgency) -> Ticket {
        Ticket::open(
            new_ticket(impact, urgency),
            1,
            1001,
            &settings(),
            monday(9, 0),
        )
        .unwrap()
        .ticket
    }

    fn apply(
        ticket: &Ticket,
        actor: &Actor,
        command: TicketCommand,
        at: DateTime<Utc>,
    ) -> TicketDecision {
        decide(ticket, actor, command, &settings(), at).unwrap()
    }

    fn kinds(events: &[EventKind]) -> Vec<&'static str> {
        events.iter().map(EventKind::type_name).collect()
    }

    #[test]
    fn opening_classifies_normalises_and_starts_clocks() {
        let decision = Ticket::open(
            new_ticket(Impact::WholeOffice, Urgency::Blocked),
            1,
            1001,
            &settings(),
            monday(9, 0),
        )
        .unwrap();
        let ticket = decision.ticket;
        assert_eq!(kinds(&decision.events), ["created"]);
        assert_eq!(ticket.display_number(), "HD-1001");
        assert_eq!(ticket.title, "Printer jams");
        assert_eq!(ticket.tags, ["floor-2", "kyocera"]);
        assert_eq!(
            (ticket.priority, ticket.tier, ticket.status),
            (Priority::P1, Tier::L1, Status::New)
        );
        // P1 internal staff: 30 minutes to first response, 4 hours to resolve.
        assert_eq!(
            ticket.sla.first_response.as_ref().unwrap().due_at,
            Some(monday(9, 30))
        );
        assert_eq!(
            ticket.sla.resolution.as_ref().unwrap().due_at,
            Some(monday(13, 0))
        );
        assert_eq!(ticket.risk_due_at(), Some(monday(9, 30)));
    }

    #[test]
    fn invalid_new_tickets_name_every_bad_field() {
        let mut bad = new_ticket(Impact::Team, Urgency::Degraded);
        bad.title = "   ".into();
        bad.requester.email = Some("not an address".into());
        bad.tags = vec!["ok".into(), "has space".into()];
        let Err(DomainError::Invalid(errors)) =
            Ticket::open(bad, 1, 1001, &settings(), monday(9, 0))
        else {
            panic!("expected validation errors");
        };
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["title", "requester.email", "tags[1]"]);
    }

    /// (command, actor, expected outcome: Ok(event kinds) or Err(error kind))
    #[test]
    fn who_may_do_what() {
        let ticket = opened(Impact::Team, Urgency::Degraded);
        type Expected = Result<Vec<&'static str>, &'static str>;
        let cases: Vec<(TicketCommand, Actor, Expected)> = vec![
            (
                TicketCommand::Reply {
                    body: "Try this".into(),
                },
                agent(Tier::L1),
                Ok(vec!["public_reply", "status_changed"]),
            ),
            (
                TicketCommand::Reply {
                    body: "Still broken".into(),
                },
                requester(),
                Ok(vec!["public_reply"]),
            ),
            (
                TicketCommand::Reply { body: " ".into() },
                agent(Tier::L1),
                Err("invalid"),
            ),
            (
                TicketCommand::Note {
                    body: "Checked logs".into(),
                },
                agent(Tier::L1),
                Ok(vec!["internal_note"]),
            ),
            (
                TicketCommand::Note {
                    body: "sneaky".into(),
                },
                requester(),
                Err("forbidden"),
            ),
            (
                TicketCommand::Edit(TicketEdit {
                    title: Some("x".into()),
                    ..TicketEdit::default()
                }),
                requester(),
                Err("forbidden"),
            ),
            (
                TicketCommand::Assign {
                    assignee_id: Some(7),
                },
                agent(Tier::L1),
                Ok(vec!["assigned", "status_changed"]),
            ),
            (
                TicketCommand::Assign {
                    assignee_id: Some(7),
                },
                requester(),
                Err("forbidden"),
            ),
            (
                TicketCommand::Escalate {
                    reason: "needs L2".into(),
                },
                agent(Tier::L1),
                Ok(vec!["escalated"]),
            ),
            (
                TicketCommand::Escalate { reason: "".into() },
                agent(Tier::L1),
                Err("invalid"),
            ),
            (
                TicketCommand::Escalate {
                    reason: "please".into(),
                },
                requester(),
                Err("forbidden"),
            ),
            (
                TicketCommand::OverridePriority {
                    priority: Some(Priority::P1),
                    reason: "CEO".into(),
                },
                agent(Tier::L1),
                Ok(vec!["priority_overridden"]),
            ),
            (
                TicketCommand::OverridePriority {
                    priority: Some(Priority::P1),
                    reason: "".into(),
                },
                agent(Tier::L1),
                Err("invalid"),
            ),
            (
                TicketCommand::ChangeStatus {
                    to: Status::Resolved,
                },
                agent(Tier::L1),
                Ok(vec!["status_changed"]),
            ),
            (
                TicketCommand::ChangeStatus {
                    to: Status::Resolved,
                },
                requester(),
                Err("forbidden"),
            ),
            (
                TicketCommand::ChangeStatus { to: Status::Closed },
                agent(Tier::L1),
                Err("forbidden"),
            ),
            (
                TicketCommand::ChangeStatus { to: Status::Closed },
                staff(Role::Supervisor, None),
                Ok(vec!["status_changed"]),
            ),
            (
                TicketCommand::ChangeStatus { to: Status::New },
                staff(Role::Admin, None),
                Err("transition"),
            ),
            (TicketCommand::SlaSweep, requester(), Err("forbidden")),
            (TicketCommand::SlaSweep, Actor::system(), Ok(vec![])),
        ];
        for (command, actor, expected) in cases {
            let label = format!("{command:?} by {:?}", actor.kind);
            let outcome = decide(&ticket, &actor, command, &settings(), monday(9, 5));
            match (outcome, expected) {
                (Ok(decision), Ok(events)) => {
                    assert_eq!(kinds(&decision.events), events, "{label}");
                    let bumped = if events.is_empty() { 0 } else { 1 };
                    assert_eq!(decision.ticket.version, ticket.version + bumped, "{label}");
                }
                (Err(error), Err(kind)) => {
                    let actual = match error {
                        DomainError::Forbidden(_) => "forbidden",
                        DomainError::Invalid(_) => "invalid",
                        DomainError::InvalidTransition { .. } => "transition",
                        DomainError::Conflict(_) => "conflict",
                    };
                    assert_eq!(actual, kind, "{label}");
                }
                (outcome, expected) => panic!("{label}: got {outcome:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn first_staff_reply_stops_first_response_clock_and_opens() {
        let ticket = opened(Impact::Team, Urgency::Degraded);
        let replied = apply(
            &ticket,
            &agent(Tier::L1),
            TicketCommand::Reply {
                body: "On it".into(),
            },
            monday(9, 20),
        )
        .ticket;
        assert_eq!(replied.status, Status::Open);
        assert_eq!(replied.first_responded_at, Some(monday(9, 20)));
        let first = replied.sla.first_response.as_ref().unwrap();
        assert!(first.is_stopped());
        assert_eq!(
            first.state_at(monday(17, 0), &settings().calendar, 75),
            SlaState::Met
        );
        // Only the resolution clock still drives the queue order.
        assert_eq!(
            replied.risk_due_at(),
            replied.sla.resolution.as_ref().unwrap().due_at
        );
    }

    #[test]
    fn pending_user_pauses_and_user_reply_resumes() {
        let ticket = opened(Impact::Team, Urgency::Degraded);
        let pending = apply(
            &ticket,
            &agent(Tier::L1),
            TicketCommand::ChangeStatus {
                to: Status::PendingUser,
            },
            monday(10, 0),
        )
        .ticket;
        assert_eq!(pending.risk_due_at(), None);
        assert_eq!(
            pending.sla_state(&settings(), monday(17, 0)),
            Some(SlaState::Paused)
        );
        // Two desk hours later the user answers: the deadline moves by those two hours.
        let before = ticket.sla.resolution.as_ref().unwrap().due_at.unwrap();
        let answered = apply(
            &pending,
            &requester(),
            TicketCommand::Reply {
                body: "Done".into(),
            },
            monday(12, 0),
        )
        .ticket;
        assert_eq!(answered.status, Status::Open);
        let after = answered.sla.resolution.as_ref().unwrap().due_at.unwrap();
        assert_eq!(
            settings().calendar.business_seconds_between(before, after),
            2 * 3600
        );
    }

    #[test]
    fn escalation_climbs_tiers_and_hands_over() {
        let mut ticket = opened(Impact::Team, Urgency::Degraded);
        ticket = apply(
            &ticket,
            &agent(Tier::L1),
            TicketCommand::Assign {
                assignee_id: Some(7),
            },
            monday(9, 1),
        )
        .ticket;
        let decision = apply(
            &ticket,
            &agent(Tier::L1),
            TicketCommand::Escalate {
                reason: "driver bug".into(),
            },
            monday(9, 2),
        );
        assert_eq!(kinds(&decision.events), ["escalated", "assigned"]);
        assert_eq!(
            (decision.ticket.tier, decision.ticket.assignee_id),
            (Tier::L2, None)
        );
        // An L1 agent may not push an L2 ticket further; an L2 agent may, up to L3 and no more.
        let l2 = decision.ticket;
        let refused = decide(
            &l2,
            &agent(Tier::L1),
            TicketCommand::Escalate { reason: "x".into() },
            &settings(),
            monday(9, 3),
        );
        assert!(matches!(refused, Err(DomainError::Forbidden(_))));
        let l3 = apply(
            &l2,
            &agent(Tier::L2),
            TicketCommand::Escalate {
                reason: "kernel".into(),
            },
            monday(9, 4),
        )
        .ticket;
        assert_eq!(l3.tier, Tier::L3);
        let top = decide(
            &l3,
            &agent(Tier::L3),
            TicketCommand::Escalate { reason: "x".into() },
            &settings(),
            monday(9, 5),
        );
        assert!(matches!(top, Err(DomainError::Conflict(_))));
    }

    #[test]
    fn priority_follows_the_matrix_unless_overridden() {
        let ticket = opened(Impact::OneUser, Urgency::CanWork);
        assert_eq!(ticket.priority, Priority::P4);
        let edit = TicketEdit {
            impact: Some(Impact::WholeOffice),
            urgency: Some(Urgency::Blocked),
            ..TicketEdit::default()
        };
        let raised = apply(
            &ticket,
            &agent(Tier::L1),
            TicketCommand::Edit(edit),
            monday(9, 10),
        )
        .ticket;
        assert_eq!(raised.priority, Priority::P1);
        // Re-prioritised mid-flight: the 10 minutes already used count against the new target.
        assert_eq!(
            raised.sla.first_response.as_ref().unwrap().due_at,
            Some(monday(9, 30))
        );

        let overridden = apply(
            &raised,
            &agent(Tier::L1),
            TicketCommand::OverridePriority {
                priority: Some(Priority::P3),
                reason: "one printer only".into(),
            },
            monday(9, 11),
        )
        .ticket;
        assert_eq!(overridden.priority, Priority::P3);
        let edit = TicketEdit {
            urgency: Some(Urgency::Degraded),
            ..TicketEdit::default()
        };
        let edited = apply(
            &overridden,
            &agent(Tier::L1),
            TicketCommand::Edit(edit),
            monday(9, 12),
        )
        .ticket;
        assert_eq!(
            edited.priority,
            Priority::P3,
            "an override survives reclassification"
        );
        let cleared = apply(
            &edited,
            &agent(Tier::L1),
            TicketCommand::OverridePriority {
                priority: None,
                reason: "back to normal".into(),
            },
            monday(9, 13),
        )
        .ticket;
        assert_eq!(
            (
                cleared.priority,
                cleared.priority_override_reason.as_deref()
            ),
            (Priority::P2, None)
        );
    }

    #[test]
    fn sweep_alerts_once_escalates_on_breach_and_closes_quiet_resolved_tickets() {
        let ticket = opened(Impact::WholeOffice, Urgency::Blocked);
        let system = Actor::system();
        assert!(
            apply(&ticket, &system, TicketCommand::SlaSweep, monday(9, 22))
                .events
                .is_empty()
        );
        let at_risk = apply(&ticket, &system, TicketCommand::SlaSweep, monday(9, 23));
        assert_eq!(kinds(&at_risk.events), ["sla_at_risk"]);
        assert!(
            apply(
                &at_risk.ticket,
                &system,
                TicketCommand::SlaSweep,
                monday(9, 24)
            )
            .events
            .is_empty()
        );
        let breached = apply(
            &at_risk.ticket,
            &system,
            TicketCommand::SlaSweep,
            monday(9, 30),
        );
        assert_eq!(kinds(&breached.events), ["sla_breached", "escalated"]);
        assert_eq!(breached.ticket.tier, Tier::L2);

        let resolved = apply(
            &breached.ticket,
            &agent(Tier::L2),
            TicketCommand::ChangeStatus {
                to: Status::Resolved,
            },
            monday(10, 0),
        )
        .ticket;
        assert_eq!(
            resolved.next_sweep_at(&settings()),
            Some(monday(10, 0) + AUTO_CLOSE_AFTER)
        );
        let early = apply(
            &resolved,
            &system,
            TicketCommand::SlaSweep,
            monday(10, 0) + Duration::days(4),
        );
        assert!(early.events.is_empty());
        let closed = apply(
            &resolved,
            &system,
            TicketCommand::SlaSweep,
            monday(10, 0) + AUTO_CLOSE_AFTER,
        );
        assert_eq!(closed.ticket.status, Status::Closed);
    }

    #[test]
    fn reopening_restarts_the_resolution_clock_where_it_stopped() {
        let ticket = opened(Impact::Team, Urgency::Degraded);
        let resolved = apply(
            &ticket,
            &agent(Tier::L1),
            TicketCommand::ChangeStatus {
                to: Status::Resolved,
            },
            monday(10, 0),
        )
        .ticket;
        let reopened = apply(
            &resolved,
            &requester(),
            TicketCommand::ChangeStatus { to: Status::Open },
            monday(14, 0),
        )
        .ticket;
        let timer = reopened.sla.resolution.as_ref().unwrap();
        assert!(timer.is_running());
        assert_eq!(timer.elapsed_at(monday(14, 0), &settings().calendar), 3600);
        assert_eq!(
            (reopened.resolved_at, reopened.status),
            (None, Status::Open)
        );
    }

    #[test]
    fn closed_tickets_take_no_replies_or_files() {
        let ticket = opened(Impact::Team, Urgency::Degraded);
        let closed = apply(
            &ticket,
            &staff(Role::Supervisor, None),
            TicketCommand::ChangeStatus { to: Status::Closed },
            monday(10, 0),
        )
        .ticket;
        for command in [
            TicketCommand::Reply {
                body: "hello?".into(),
            },
            TicketCommand::AttachmentAdded {
                attachment_id: 1,
                file_name: "a.txt".into(),
                content_type: "text/plain".into(),
                size_bytes: 1,
            },
        ] {
            let outcome = decide(&closed, &requester(), command, &settings(), monday(10, 5));
            assert!(matches!(outcome, Err(DomainError::Conflict(_))));
        }
    }
}
