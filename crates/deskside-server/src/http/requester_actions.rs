//! What a requester sees of the remediation on their ticket: what is being done to their
//! computer, where it stands and how it ended, in plain words. The same rule as the
//! timeline's: the approval traffic between agents (who asked, who approved or denied and
//! why, the parameters, the signed order, the endpoint's report) stays with staff.

use chrono::{DateTime, Utc};
use deskside_remediation::ActionParams;
use serde::Serialize;
use utoipa::ToSchema;

use crate::storage::{ActionRequest, ActionState};

/// A remediation request as the ticket's requester sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequesterAction {
    pub id: String,
    /// Catalog action id, e.g. `account.reset_password`.
    pub action: String,
    /// The catalog's title, e.g. `Reset a local account's password`.
    pub title: String,
    pub state: ActionState,
    /// The local account the action changes, when it changes one. Any user of the device
    /// can list its accounts; what matters is that the requester sees whose it is.
    pub account: Option<String>,
    /// True while it waits for this requester's consent and the consent is theirs to give
    /// (an action on another account can only be approved by a second agent).
    pub may_consent: bool,
    /// How it ended, in plain words; `None` while still under way.
    pub outcome: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl RequesterAction {
    /// The projection of `request` for the requester `username`.
    pub fn of(request: &ActionRequest, username: &str) -> RequesterAction {
        let action = ActionParams::from_parts(&request.action, Some(&request.params)).ok();
        let title = deskside_remediation::ActionId::parse(&request.action)
            .map_or_else(|| request.action.clone(), |id| id.entry().title.to_owned());
        let may_consent = request.state == ActionState::AwaitingConsent
            && action.as_ref().is_some_and(|a| a.may_consent(username));
        RequesterAction {
            id: request.id.clone(),
            action: request.action.clone(),
            title,
            state: request.state,
            account: action
                .as_ref()
                .and_then(ActionParams::account)
                .map(|account| account.as_str().to_owned()),
            may_consent,
            outcome: outcome(request),
            created_at: request.created_at,
            updated_at: request.updated_at,
        }
    }
}

/// Plain words for how a request ended. Never the endpoint's output or the reason an agent
/// gave: those may name processes, files or colleagues.
fn outcome(request: &ActionRequest) -> Option<String> {
    let words = match request.state {
        ActionState::AwaitingApproval
        | ActionState::AwaitingConsent
        | ActionState::Queued
        | ActionState::Running => return None,
        ActionState::Succeeded => "Done.",
        ActionState::Failed => "It did not work. The help desk has the details.",
        ActionState::Rejected => {
            "Your computer's settings did not allow it. The help desk has the details."
        }
        // A refused consent carries no reason; an agent's denial always does.
        ActionState::Denied if request.decision_reason.is_none() => "Not done: you declined.",
        ActionState::Denied => "Not done: the help desk decided against it.",
        ActionState::Expired => "Not done: it was not approved in time.",
    };
    Some(words.to_owned())
}
