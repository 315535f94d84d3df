//! Storage behind one trait. Handlers see only [`Storage`]; the embedded SQLite store is the
//! default, and a PostgreSQL store can implement the same trait without touching them.
//!
//! Ticket writes take a *decider*: a closure that gets the current ticket and returns the
//! domain's decision. The store runs it inside its write transaction, so the decision is
//! made on the state it replaces (no lost updates), while the rules stay in deskside-core.

mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deskside_core::event::{EventKind, Visibility};
use deskside_core::sla::SlaSettings;
use deskside_core::ticket::{DomainError, Ticket, TicketDecision};
use deskside_core::{Actor, Category, Priority, Role, SlaState, Status, Tier};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use sqlite::{DEFAULT_WAL_LIMIT_BYTES, SqliteStorage, number_for};

use crate::audit::{AuditCheckpoint, AuditEntry, AuditHead, AuditRecord, AuditReport};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// The write named an older version; carries the current resource.
    #[error("stale version")]
    Stale(serde_json::Value),
    #[error(transparent)]
    Domain(DomainError),
    #[error("idempotency key reused for a different request")]
    IdempotencyKeyReused,
    #[error("storage failure: {0}")]
    Internal(String),
}

impl From<DomainError> for StorageError {
    fn from(error: DomainError) -> StorageError {
        StorageError::Domain(error)
    }
}

pub type StorageResult<T> = Result<T, StorageError>;

/// A staff account as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StaffUser {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub tier: Option<Tier>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewStaffUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub tier: Option<Tier>,
    pub password_hash: String,
}

/// An enrolled endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub id: String,
    pub hostname: String,
    pub enrolled_at: DateTime<Utc>,
}

/// A device as the registry shows it to staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRecord {
    pub id: String,
    pub hostname: String,
    pub enrolled_at: DateTime<Utc>,
    /// Last heartbeat or upload.
    pub last_seen_at: Option<DateTime<Utc>>,
    pub agent_version: Option<String>,
    /// `linux`, `windows`, `macos`.
    pub platform: Option<String>,
    /// Operating system as the latest snapshot names it, e.g. `Debian GNU/Linux 12`.
    pub os: Option<String>,
    pub latest_snapshot: Option<SnapshotMeta>,
}

/// One stored diagnostics snapshot, without its document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotMeta {
    pub id: i64,
    pub device_id: String,
    pub collected_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub size_bytes: i64,
    /// Who sent it, and why: staff must tell the agent's own uploads from what the user
    /// chose to attach.
    pub source: SnapshotSource,
    /// For [`SnapshotSource::Ticket`]: the ticket it was attached to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<i64>,
    /// Its number as people see it, `HD-1042`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_number: Option<String>,
}

/// Where a stored snapshot came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotSource {
    /// The agent's periodic upload (and every snapshot from agents that predate sources).
    Background,
    /// A `diagnostics.collect` order an agent asked for.
    OnRequest,
    /// Attached to a ticket by the device's user, with the sections they chose.
    Ticket,
}

impl SnapshotSource {
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotSource::Background => "background",
            SnapshotSource::OnRequest => "on_request",
            SnapshotSource::Ticket => "ticket",
        }
    }

    pub fn parse(text: &str) -> Option<SnapshotSource> {
        [
            SnapshotSource::Background,
            SnapshotSource::OnRequest,
            SnapshotSource::Ticket,
        ]
        .into_iter()
        .find(|source| source.as_str() == text)
    }
}

/// A snapshot to store, with what the registry keeps from it.
#[derive(Debug, Clone)]
pub struct NewSnapshot {
    pub collected_at: DateTime<Utc>,
    /// The document exactly as the agent sent it: a newer agent's extra fields survive.
    pub document: String,
    pub hostname: Option<String>,
    pub os: Option<String>,
    pub agent_version: String,
    pub platform: String,
    pub source: SnapshotSource,
    /// For [`SnapshotSource::Ticket`]: the ticket's id and `HD-` number.
    pub ticket: Option<(i64, String)>,
}

/// Where a remediation request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionState {
    /// Waits for a second agent of equal or higher tier.
    AwaitingApproval,
    /// Waits for the device's user to agree.
    AwaitingConsent,
    /// Signed and waiting for the device to pick it up.
    Queued,
    /// The device verified it and started.
    Running,
    Succeeded,
    Failed,
    /// The endpoint refused it (signature, policy, consent, …).
    Rejected,
    Denied,
    Expired,
}

impl ActionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionState::AwaitingApproval => "awaiting_approval",
            ActionState::AwaitingConsent => "awaiting_consent",
            ActionState::Queued => "queued",
            ActionState::Running => "running",
            ActionState::Succeeded => "succeeded",
            ActionState::Failed => "failed",
            ActionState::Rejected => "rejected",
            ActionState::Denied => "denied",
            ActionState::Expired => "expired",
        }
    }
}

/// A request to run a catalog action on a ticket's device, and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionRequest {
    /// Also the order id the device sees.
    pub id: String,
    pub ticket_id: i64,
    pub device_id: String,
    pub action: String,
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
    pub state: ActionState,
    pub requested_by: i64,
    pub requested_by_name: String,
    pub requested_tier: Option<Tier>,
    /// Who approved, denied or consented.
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
    /// The signed order, once approved: exactly what the device receives.
    #[schema(value_type = Option<Object>)]
    pub order: Option<serde_json::Value>,
    /// The endpoint's report or rejection.
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Approval and delivery must happen before this.
    pub expires_at: DateTime<Utc>,
}

/// A requester session to store: what a device's agent vouched for. The token itself is
/// never stored, only its hash.
#[derive(Debug, Clone)]
pub struct NewRequesterSession {
    pub token_hash: String,
    pub device_id: String,
    pub local_user: String,
    pub display_name: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// A live requester session, with the device it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequesterSession {
    pub device: Device,
    pub local_user: String,
    pub display_name: Option<String>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewDevice {
    pub id: String,
    pub hostname: String,
    pub credential_hash: String,
}

/// A retry-safe write: the same principal sending the same key gets the first answer back.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub principal: String,
    pub key: String,
    /// Hash of method, path and body: a reused key with another request is refused.
    pub fingerprint: String,
}

/// The result of an idempotent write: freshly made, or the stored answer to an earlier try.
#[derive(Debug)]
pub enum Written<T> {
    Fresh(T),
    Replayed {
        status: u16,
        body: serde_json::Value,
    },
}

impl<T: serde::de::DeserializeOwned> Written<T> {
    /// The value either way: a replay's stored answer read back as the type it was written
    /// from.
    pub fn into_value(self) -> StorageResult<T> {
        match self {
            Written::Fresh(value) => Ok(value),
            Written::Replayed { body, .. } => serde_json::from_value(body)
                .map_err(|e| StorageError::Internal(format!("stored answer unreadable: {e}"))),
        }
    }
}

/// The audit line to write with a ticket change, if the change is privileged.
#[derive(Debug, Clone)]
pub struct AuditIntent {
    pub actor: String,
    pub action: &'static str,
}

pub type TicketDecider =
    Box<dyn FnOnce(&Ticket) -> Result<TicketDecision, DomainError> + Send + 'static>;
/// Gets the ticket and the new attachment's id.
pub type AttachmentDecider =
    Box<dyn FnOnce(&Ticket, i64) -> Result<TicketDecision, DomainError> + Send + 'static>;
/// Gets the new ticket's id and number.
pub type NewTicketDecider =
    Box<dyn FnOnce(i64, i64) -> Result<TicketDecision, DomainError> + Send + 'static>;

/// Who a queue is filtered to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssigneeFilter {
    Unassigned,
    User(i64),
}

/// A requester sees only their own tickets: those they filed from their device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequesterScope {
    pub device_id: String,
    pub username: String,
}

#[derive(Debug, Clone, Default)]
pub struct TicketQuery {
    pub statuses: Vec<Status>,
    pub priorities: Vec<Priority>,
    pub categories: Vec<Category>,
    pub tiers: Vec<Tier>,
    pub sla_states: Vec<SlaState>,
    pub assignee: Option<AssigneeFilter>,
    /// Requester's name or username, exact, case-insensitive.
    pub requester: Option<String>,
    pub scope: Option<RequesterScope>,
    pub text: Option<String>,
    pub after: Option<QueueCursor>,
    pub limit: u32,
}

/// Position in a queue listing: (risk key, id) in SLA-risk order; in a search, which is
/// newest first, only the id counts. Opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueCursor {
    pub risk_key: i64,
    pub id: i64,
}

impl QueueCursor {
    pub fn encode(self) -> String {
        format!("{}.{}", self.risk_key, self.id)
    }

    pub fn decode(text: &str) -> Option<QueueCursor> {
        let (risk, id) = text.split_once('.')?;
        Some(QueueCursor {
            risk_key: risk.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketPage {
    pub items: Vec<Ticket>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Who acted, as the timeline shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventActor {
    /// `staff`, `requester` or `system`.
    pub kind: String,
    pub name: String,
    pub user_id: Option<i64>,
}

impl EventActor {
    pub fn of(actor: &Actor) -> EventActor {
        use deskside_core::ActorKind;
        let (kind, user_id) = match &actor.kind {
            ActorKind::Staff { user_id, .. } => ("staff", Some(*user_id)),
            ActorKind::Requester { .. } => ("requester", None),
            ActorKind::System => ("system", None),
        };
        EventActor {
            kind: kind.to_owned(),
            name: actor.display_name.clone(),
            user_id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEvent {
    /// Also the change sequence number: strictly increasing across all tickets.
    pub id: i64,
    pub ticket_id: i64,
    pub at: DateTime<Utc>,
    pub actor: EventActor,
    pub visibility: Visibility,
    pub event: EventKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentMeta {
    pub id: i64,
    pub ticket_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// A diagnostics snapshot the device's user attached: also kept in that device's
    /// history (device id, snapshot, how many to keep), in the same transaction.
    pub device_snapshot: Option<(String, NewSnapshot, u32)>,
}

/// What changed since a sync cursor.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangeSet {
    /// Tickets changed since the cursor, in their current state.
    pub tickets: Vec<Ticket>,
    /// Timeline events since the cursor that the caller may see, up to the new cursor.
    /// With `has_more`, some may belong to tickets whose current state comes in a later
    /// answer.
    pub events: Vec<TimelineEvent>,
    /// Pass back as `cursor` next time.
    pub cursor: i64,
    /// More changes are waiting: call again at once.
    pub has_more: bool,
}

#[async_trait]
pub trait Storage: Send + Sync + 'static {
    // Staff and sessions.
    async fn staff_count(&self) -> StorageResult<i64>;
    async fn create_staff(
        &self,
        user: NewStaffUser,
        idempotency: Option<Idempotency>,
        audit: AuditEntry,
        now: DateTime<Utc>,
    ) -> StorageResult<Written<StaffUser>>;
    /// The account and its password hash, for login.
    async fn staff_credentials(&self, username: &str)
    -> StorageResult<Option<(StaffUser, String)>>;
    async fn staff_by_id(&self, id: i64) -> StorageResult<Option<StaffUser>>;
    async fn list_staff(&self) -> StorageResult<Vec<StaffUser>>;
    async fn create_session(
        &self,
        token_hash: String,
        user_id: i64,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StorageResult<()>;
    /// The account behind a live session, and when the session expires.
    async fn session_user(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StorageResult<Option<(StaffUser, DateTime<Utc>)>>;
    async fn delete_session(&self, token_hash: String) -> StorageResult<()>;

    // Devices.
    async fn create_enrollment_token(
        &self,
        token_hash: String,
        expires_at: DateTime<Utc>,
        audit: AuditEntry,
        now: DateTime<Utc>,
    ) -> StorageResult<()>;
    /// Consumes a one-time token. `NotFound` for an unknown token, `Conflict` for a used or
    /// expired one.
    async fn enroll_device(
        &self,
        token_hash: String,
        device: NewDevice,
        audit: AuditEntry,
        now: DateTime<Utc>,
    ) -> StorageResult<Device>;
    async fn device_for_credential(&self, credential_hash: &str) -> StorageResult<Option<Device>>;
    /// Stores a session a device's agent obtained for its local user, with its audit line,
    /// in one transaction, and revokes that account's older sessions on the device beyond
    /// the newest `keep_live`. Returns the token hashes it revoked.
    async fn create_requester_session(
        &self,
        session: NewRequesterSession,
        keep_live: u32,
        audit: AuditEntry,
        now: DateTime<Utc>,
    ) -> StorageResult<Vec<String>>;
    /// Ends one requester session (its user signed out).
    async fn delete_requester_session(&self, token_hash: String) -> StorageResult<()>;
    /// Takes a device out of service, with its audit line: its credential stops working,
    /// every requester session on it is revoked, and it leaves the registry. Its tickets,
    /// snapshots and action history stay. `NotFound` for an unknown or removed device.
    async fn remove_device(
        &self,
        device_id: String,
        audit: AuditEntry,
        idempotency: Option<Idempotency>,
        now: DateTime<Utc>,
    ) -> StorageResult<Written<()>>;
    /// The live (unexpired) requester session behind a token hash.
    async fn requester_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StorageResult<Option<RequesterSession>>;
    /// Notes that the device's agent got in touch.
    async fn record_device_contact(
        &self,
        device_id: &str,
        agent_version: Option<String>,
        now: DateTime<Utc>,
    ) -> StorageResult<()>;
    /// Stores a snapshot and keeps only the newest `keep` of the device.
    async fn store_snapshot(
        &self,
        device_id: &str,
        snapshot: NewSnapshot,
        keep: u32,
        idempotency: Option<Idempotency>,
        now: DateTime<Utc>,
    ) -> StorageResult<Written<SnapshotMeta>>;
    async fn devices(&self) -> StorageResult<Vec<DeviceRecord>>;
    async fn device_record(&self, id: &str) -> StorageResult<Option<DeviceRecord>>;
    /// Newest first.
    async fn device_snapshots(
        &self,
        device_id: &str,
        limit: u32,
    ) -> StorageResult<Vec<SnapshotMeta>>;
    async fn device_snapshot(
        &self,
        device_id: &str,
        snapshot_id: i64,
    ) -> StorageResult<Option<(SnapshotMeta, String)>>;

    // Remediation actions.
    /// Inserts (`expected_state: None`) or moves a request from `expected_state`, records the
    /// ticket event the decider returns and the audit line, in one transaction. A request
    /// that is no longer in `expected_state` fails with `Conflict`. With an idempotency key
    /// the answer is stored in the same transaction, and a retry gets it back instead of a
    /// second move.
    #[allow(clippy::too_many_arguments)]
    async fn save_action_request(
        &self,
        request: ActionRequest,
        expected_state: Option<ActionState>,
        idempotency: Option<Idempotency>,
        actor: Actor,
        decide: TicketDecider,
        sla: Arc<SlaSettings>,
        audit: AuditEntry,
        now: DateTime<Utc>,
    ) -> StorageResult<Written<ActionRequest>>;
    async fn action_request(&self, id: &str) -> StorageResult<Option<ActionRequest>>;
    async fn action_requests_for_ticket(&self, ticket_id: i64)
    -> StorageResult<Vec<ActionRequest>>;
    async fn action_requests_in_state(
        &self,
        state: ActionState,
        limit: u32,
    ) -> StorageResult<Vec<ActionRequest>>;
    /// Queued, unexpired orders for a device, oldest first.
    async fn queued_orders(
        &self,
        device_id: &str,
        now: DateTime<Utc>,
    ) -> StorageResult<Vec<ActionRequest>>;

    // Tickets.
    async fn create_ticket(
        &self,
        actor: Actor,
        idempotency: Option<Idempotency>,
        decide: NewTicketDecider,
        sla: Arc<SlaSettings>,
        audit: Option<AuditIntent>,
        now: DateTime<Utc>,
    ) -> StorageResult<Written<Ticket>>;
    /// Applies a decision to ticket `id`. With `expected_version`, a different current version
    /// fails with `Stale` carrying the current ticket.
    #[allow(clippy::too_many_arguments)]
    async fn update_ticket(
        &self,
        id: i64,
        expected_version: Option<i64>,
        actor: Actor,
        idempotency: Option<Idempotency>,
        decide: TicketDecider,
        sla: Arc<SlaSettings>,
        audit: Option<AuditIntent>,
        now: DateTime<Utc>,
    ) -> StorageResult<Written<Ticket>>;
    /// Stores a file and records it on the ticket in one transaction.
    #[allow(clippy::too_many_arguments)]
    async fn add_attachment(
        &self,
        ticket_id: i64,
        attachment: NewAttachment,
        actor: Actor,
        idempotency: Option<Idempotency>,
        decide: AttachmentDecider,
        sla: Arc<SlaSettings>,
        now: DateTime<Utc>,
    ) -> StorageResult<Written<AttachmentMeta>>;
    async fn ticket(&self, id: i64) -> StorageResult<Option<Ticket>>;
    async fn list_tickets(&self, query: TicketQuery) -> StorageResult<TicketPage>;
    async fn timeline(
        &self,
        ticket_id: i64,
        include_internal: bool,
    ) -> StorageResult<Vec<TimelineEvent>>;
    async fn attachment(
        &self,
        ticket_id: i64,
        attachment_id: i64,
    ) -> StorageResult<Option<(AttachmentMeta, Vec<u8>)>>;
    async fn changes_since(
        &self,
        cursor: i64,
        scope: Option<RequesterScope>,
        limit: u32,
    ) -> StorageResult<ChangeSet>;
    /// Active tickets whose next SLA check is due at `now`.
    async fn tickets_due_for_sweep(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StorageResult<Vec<i64>>;

    // Settings.
    async fn sla_settings(&self) -> StorageResult<Option<SlaSettings>>;
    async fn save_sla_settings(
        &self,
        settings: SlaSettings,
        idempotency: Option<Idempotency>,
        audit: AuditEntry,
        now: DateTime<Utc>,
    ) -> StorageResult<Written<SlaSettings>>;

    /// The answer stored for an earlier request with this key, if there was one; a key
    /// reused for a different request fails with `IdempotencyKeyReused`. Lets a handler
    /// answer a retry before checks the first try's own effect would now fail (approving a
    /// request twice: "no longer waiting").
    async fn idempotent_answer(
        &self,
        idempotency: &Idempotency,
    ) -> StorageResult<Option<Written<serde_json::Value>>>;

    /// Forgets idempotency records written before `before`; returns how many.
    async fn purge_idempotency(&self, before: DateTime<Utc>) -> StorageResult<u64>;

    // Audit.
    async fn append_audit(&self, entry: AuditEntry, now: DateTime<Utc>) -> StorageResult<()>;
    async fn audit_records(&self, after_id: i64, limit: u32) -> StorageResult<Vec<AuditRecord>>;
    /// Verifies the keyed chain and holds it against the newest checkpoint that
    /// `checkpoint_key` (the server's public key) signed.
    async fn verify_audit(
        &self,
        checkpoint_key: &ed25519_dalek::VerifyingKey,
    ) -> StorageResult<AuditReport>;
    /// The log's head and the newest checkpoint, for the next checkpoint.
    async fn audit_head(&self) -> StorageResult<AuditHead>;
    /// Stores a signed checkpoint; `Conflict` when the log no longer has the head it attests.
    async fn save_audit_checkpoint(&self, checkpoint: AuditCheckpoint) -> StorageResult<()>;
}
