//! What the desktop app's commands take and return: the contract between the Rust side and
//! the web view. Every type here derives `ts_rs::TS` and is generated into
//! `ui/src/bindings/` (see `tests/it/bindings.rs`, which fails when the committed files are
//! stale). Field names are camelCase on the wire, like the server's API.
//!
//! Server answers the desktop needs but `deskside-core` does not define are mirrored here
//! (the server crate is too heavy to link into the app); their deep, open-ended parts (action
//! parameters and results, snapshot sections) stay JSON.

use chrono::{DateTime, Utc};
use deskside_core::{
    Category, EventKind, FieldError, Impact, Priority, Role, SlaState, Status, Ticket, Tier,
    Urgency, Visibility,
};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Any JSON value, for the open-ended parts of server answers.
pub type JsonValue = serde_json::Value;

/// How every command fails: a stable `code` the UI branches on, a sentence for people, and
/// per-field problems on `validation_failed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CommandError {
    pub code: String,
    pub message: String,
    pub fields: Vec<FieldError>,
}

impl CommandError {
    pub fn new(code: &str, message: impl Into<String>) -> CommandError {
        CommandError {
            code: code.to_owned(),
            message: message.into(),
            fields: Vec::new(),
        }
    }
}

impl From<crate::ApiError> for CommandError {
    fn from(error: crate::ApiError) -> CommandError {
        let message = match &error {
            crate::ApiError::Offline(_) => {
                "The help desk server cannot be reached right now.".to_owned()
            }
            crate::ApiError::Server { message, .. } => message.clone(),
            other => other.to_string(),
        };
        CommandError {
            code: error.code().to_owned(),
            fields: error.fields().to_vec(),
            message,
        }
    }
}

impl From<crate::StoreError> for CommandError {
    fn from(error: crate::StoreError) -> CommandError {
        CommandError::new(
            "local_store",
            format!("The local data file failed: {error}"),
        )
    }
}

/// The app's state as the status bar and the router need it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    pub server_url: String,
    /// `DESKSIDE_SERVER_URL` is set and wins over the saved setting.
    pub server_url_locked: bool,
    pub connection: Connection,
    pub last_synced_at: Option<DateTime<Utc>>,
    /// Tickets written offline, waiting to be sent.
    #[ts(type = "number")]
    pub outbox_waiting: u32,
    /// Tickets the server refused; the user must look at them.
    #[ts(type = "number")]
    pub outbox_failed: u32,
    /// The signed-in agent, if any.
    pub staff: Option<StaffProfile>,
    /// The person signed in on this computer, for "Get help".
    pub end_user: EndUserProfile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Connection {
    Online,
    Offline,
    /// Not tried yet.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StaffProfile {
    #[ts(type = "number")]
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub tier: Option<Tier>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct EndUserProfile {
    /// The operating-system account name.
    pub local_user: String,
    pub display_name: String,
    /// The endpoint agent on this computer answered: tickets can be filed as this user.
    pub device_linked: bool,
}

// ---------------------------------------------------------------- Get help (end user)

/// The diagnostics the app would attach, shown before sending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticsPreview {
    pub collected_at: DateTime<Utc>,
    #[ts(type = "number")]
    pub duration_ms: u64,
    pub sections: Vec<DiagnosticsSection>,
    /// Problems found, most severe first, in plain words.
    pub hints: Vec<FindingHint>,
    /// The toggles (`included_by_default`) are the user's own choices from last time
    /// rather than the app's defaults.
    pub remembered_choices: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticsSection {
    /// `system`, `hardware`, `network`, `processes`, `services`, `printers`, `software`, `logs`.
    pub id: String,
    pub title: String,
    /// A few lines saying what is in it ("Debian GNU/Linux 12, up 3 days").
    pub summary: Vec<String>,
    /// `None` when the section could be read; otherwise why not.
    pub unavailable_reason: Option<String>,
    #[ts(type = "number")]
    pub size_bytes: u32,
    /// Off by default for sections that may say more than the user expects (logs,
    /// processes), and for those the user switched off last time; the user decides.
    pub included_by_default: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FindingHint {
    pub id: String,
    pub severity: HintSeverity,
    /// "Disk / is 97 % full".
    pub title: String,
    pub detail: String,
    /// A catalog action an agent could run for it, if any.
    pub suggested_action: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum HintSeverity {
    Info,
    Warning,
    Critical,
}

/// How the requester wants to hear back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ContactPreference {
    App,
    Email,
    Phone,
}

/// The "Get help" form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TicketDraft {
    pub category: Category,
    pub title: String,
    pub description: String,
    pub urgency: Urgency,
    pub impact: Impact,
    pub contact_preference: ContactPreference,
    /// Email address or phone number for the chosen preference, when not `app`.
    pub contact_detail: Option<String>,
    /// Section ids of the previewed diagnostics to attach; empty attaches none.
    pub included_sections: Vec<String>,
    /// The id of a screenshot from `capture_screenshot` the user kept.
    pub screenshot_id: Option<String>,
}

/// What became of a submitted ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SubmitOutcome {
    #[ts(type = "number")]
    pub outbox_id: i64,
    pub delivery: Delivery,
    /// Set once the server has it.
    pub ticket: Option<Ticket>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Sent,
    /// In the outbox; sent automatically once the server is reachable.
    Waiting,
    /// The server refused it; see the outbox entry.
    Failed,
}

/// One ticket in the outbox, as "My tickets" lists it until it is delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OutboxEntry {
    #[ts(type = "number")]
    pub id: i64,
    pub title: String,
    pub category: Category,
    pub delivery: Delivery,
    pub created_at: String,
    #[ts(type = "number")]
    pub attempts: i64,
    pub last_error: Option<CommandError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ScreenshotPreview {
    pub id: String,
    /// `data:image/png;base64,…`, for the preview only.
    pub data_url: String,
    #[ts(type = "number")]
    pub width: u32,
    #[ts(type = "number")]
    pub height: u32,
    #[ts(type = "number")]
    pub size_bytes: u32,
}

// ---------------------------------------------------------------- My tickets (end user)

/// One ticket with its conversation. For a requester the server sends public events only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TicketConversation {
    pub ticket: Ticket,
    pub timeline: Vec<TimelineEntry>,
    /// Remediation waiting for this user's consent.
    pub consent_requests: Vec<ConsentRequest>,
}

/// The help desk asks to run an action on this user's computer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConsentRequest {
    pub request_id: String,
    /// Catalog action id, e.g. `print.clear_queue`.
    pub action: String,
    /// The local account the action changes, if it changes one (a password reset).
    pub account: Option<String>,
    /// Whether this user may allow it: only an account's own user can agree to changing it.
    pub may_consent: bool,
    pub requested_at: DateTime<Utc>,
}

impl ConsentRequest {
    /// Requests on the ticket still waiting for this user's answer.
    pub fn pending_in(actions: &[RequesterActionView]) -> Vec<ConsentRequest> {
        actions
            .iter()
            .filter(|a| a.state == "awaiting_consent")
            .map(|a| ConsentRequest {
                request_id: a.id.clone(),
                action: a.action.clone(),
                account: a.account.clone(),
                may_consent: a.may_consent,
                requested_at: a.created_at,
            })
            .collect()
    }
}

/// A remediation request on one of this user's tickets, as the server shows it to them:
/// what is done and how it ended, without the help desk's internal approval steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RequesterActionView {
    pub id: String,
    /// Catalog action id, e.g. `account.reset_password`.
    pub action: String,
    pub title: String,
    /// `awaiting_approval`, `awaiting_consent`, `queued`, `running`, `succeeded`, `failed`,
    /// `rejected`, `denied`, `expired`.
    pub state: String,
    /// The local account the action changes, if it changes one.
    pub account: Option<String>,
    /// It waits for this user's consent, and the consent is theirs to give.
    pub may_consent: bool,
    /// How it ended, in plain words.
    pub outcome: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A timeline event as the server sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    #[ts(type = "number")]
    pub id: i64,
    #[ts(type = "number")]
    pub ticket_id: i64,
    pub at: DateTime<Utc>,
    pub actor: TimelineActor,
    pub visibility: Visibility,
    pub event: EventKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TimelineActor {
    /// `staff`, `requester` or `system`.
    pub kind: String,
    pub name: String,
    #[ts(type = "number | null")]
    pub user_id: Option<i64>,
}

/// A temporary password from a password reset, shown once to the account's owner.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TemporaryPassword {
    pub order_id: String,
    pub account: String,
    pub password: String,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for TemporaryPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemporaryPassword")
            .field("order_id", &self.order_id)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------- Console (agents)

/// Queue filters; empty lists filter nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueQuery {
    pub status: Vec<Status>,
    pub priority: Vec<Priority>,
    pub category: Vec<Category>,
    pub tier: Vec<Tier>,
    pub sla_state: Vec<SlaState>,
    /// A staff user id, `me`, or `none`.
    pub assignee: Option<String>,
    /// Full-text search.
    pub q: Option<String>,
    pub cursor: Option<String>,
    #[ts(type = "number | null")]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct QueuePage {
    pub items: Vec<Ticket>,
    pub next_cursor: Option<String>,
    /// Served from the local cache because the server is out of reach.
    pub from_cache: bool,
}

/// Everything the ticket view shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TicketDetail {
    pub ticket: Ticket,
    pub timeline: Vec<TimelineEntry>,
    pub actions: Vec<ActionRequestView>,
}

/// A staff account, for assignment pickers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StaffMember {
    #[ts(type = "number")]
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub tier: Option<Tier>,
    pub active: bool,
}

/// A ticket change from the ticket view. Each carries the version the agent saw, so a
/// change made on stale data is refused with `conflict` and the current ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(
    rename_all = "snake_case",
    tag = "kind",
    rename_all_fields = "camelCase"
)]
pub enum TicketChange {
    Reply {
        body: String,
    },
    Note {
        body: String,
    },
    Assign {
        #[ts(type = "number | null")]
        assignee_id: Option<i64>,
    },
    Escalate {
        reason: String,
    },
    Status {
        status: Status,
    },
    Priority {
        priority: Priority,
        reason: String,
    },
}

/// An enrolled device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeviceSummary {
    pub id: String,
    pub hostname: String,
    pub online: bool,
    pub enrolled_at: DateTime<Utc>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub agent_version: Option<String>,
    pub platform: Option<String>,
    pub os: Option<String>,
    pub latest_snapshot: Option<SnapshotInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotInfo {
    #[ts(type = "number")]
    pub id: i64,
    pub collected_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    #[ts(type = "number")]
    pub size_bytes: i64,
    /// Who sent it (a server that predates sources only had the agent's own uploads).
    #[serde(default)]
    pub source: SnapshotSource,
    /// For `ticket`: the ticket the user attached it to.
    #[serde(default)]
    #[ts(type = "number | null")]
    pub ticket_id: Option<i64>,
    /// `HD-1042`.
    #[serde(default)]
    pub ticket_number: Option<String>,
}

/// Where a stored snapshot came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotSource {
    /// The agent's periodic upload.
    #[default]
    Background,
    /// A fresh snapshot an agent asked for ("Refresh now").
    OnRequest,
    /// Attached to a ticket by the device's user, with the sections they chose.
    Ticket,
}

/// Who kept a section out of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum WithheldBy {
    /// The device's user chose not to share it.
    User,
    /// The device's policy keeps it out of what the agent sends on its own.
    Policy,
}

/// The device panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DevicePanel {
    pub device: DeviceSummary,
    pub hints: Vec<FindingHint>,
    /// Stored snapshots, newest first, for the diff picker.
    pub snapshots: Vec<SnapshotInfo>,
    /// The latest snapshot's sections by id (`system`, `network`…); each is the section's
    /// data or `{"unavailable": {"reason": …}}`.
    pub sections: Vec<SnapshotSection>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotSection {
    pub id: String,
    pub title: String,
    #[ts(type = "unknown")]
    pub data: JsonValue,
    /// Set when the section was deliberately not sent (its data then says why).
    pub withheld_by: Option<WithheldBy>,
}

/// One action of the remediation catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CatalogAction {
    pub id: String,
    pub title: String,
    pub description: String,
    /// `low`, `medium`, `high`.
    pub risk: String,
    /// `linux`, `windows`, `macos`.
    pub platforms: Vec<String>,
    /// `none`, `second_agent`, `user_consent`.
    pub approval: String,
    pub verification: String,
    pub params: Vec<CatalogParam>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CatalogParam {
    pub name: String,
    /// `string` or `integer`.
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    #[ts(type = "number | null")]
    pub max_length: Option<u32>,
    #[serde(default)]
    #[ts(type = "number | null")]
    pub minimum: Option<u64>,
    #[serde(default)]
    #[ts(type = "number | null")]
    pub maximum: Option<u64>,
}

/// A remediation request and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ActionRequestView {
    pub id: String,
    #[ts(type = "number")]
    pub ticket_id: i64,
    pub device_id: String,
    pub action: String,
    #[ts(type = "Record<string, unknown>")]
    pub params: JsonValue,
    /// `awaiting_approval`, `awaiting_consent`, `queued`, `running`, `succeeded`, `failed`,
    /// `rejected`, `denied`, `expired`.
    pub state: String,
    pub requested_by_name: String,
    pub requested_tier: Option<Tier>,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
    /// The endpoint's report or rejection.
    #[ts(type = "unknown")]
    pub result: Option<JsonValue>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// An agent asks for a catalog action on a ticket's device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ActionRequestDraft {
    pub action: String,
    #[ts(type = "Record<string, unknown>")]
    pub params: JsonValue,
}

/// Every type the UI receives or sends, for the bindings generator.
pub fn export_bindings(dir: &std::path::Path) -> Result<(), ts_rs::ExportError> {
    macro_rules! export {
        ($($ty:ty),* $(,)?) => {$(
            <$ty as TS>::export_all_to(dir)?;
        )*};
    }
    export!(
        CommandError,
        AppStatus,
        DiagnosticsPreview,
        TicketDraft,
        SubmitOutcome,
        OutboxEntry,
        ScreenshotPreview,
        TicketConversation,
        TemporaryPassword,
        QueueQuery,
        QueuePage,
        TicketDetail,
        StaffMember,
        TicketChange,
        DevicePanel,
        CatalogAction,
        ActionRequestDraft,
        RequesterActionView,
    );
    Ok(())
}
