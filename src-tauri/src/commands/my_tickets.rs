//! "My tickets": the end user's own tickets, their public conversation, replies, reopening,
//! consent to remediation, and temporary passwords from a reset.

use deskside_client::agent_bridge;
use deskside_client::api::TicketFilter;
use deskside_client::outbox::OutboxState;
use deskside_client::views::{
    CommandError, ConsentRequest, Delivery, OutboxEntry, RequesterActionView, TemporaryPassword,
    TicketConversation,
};
use deskside_core::{Status, Ticket};
use tauri::{AppHandle, State};

use super::CommandResult;
use crate::{Desktop, background};

/// The user's tickets, newest activity first; from the local cache when offline.
#[tauri::command]
pub async fn my_tickets(desktop: State<'_, Desktop>) -> CommandResult<Vec<Ticket>> {
    let filter = TicketFilter {
        limit: Some(200),
        ..TicketFilter::default()
    };
    match desktop
        .requester_call(|client| {
            let filter = filter.clone();
            async move { client.list_tickets(&filter).await }
        })
        .await
    {
        Ok(page) => Ok(page.items),
        Err(error) if error.code == "offline" || error.code == "agent_unavailable" => {
            let user = desktop.status().end_user.local_user;
            let mut tickets: Vec<Ticket> = desktop
                .store
                .cached_tickets()?
                .into_iter()
                .filter(|t| t.requester.username.as_deref() == Some(user.as_str()))
                .collect();
            tickets.sort_by_key(|t| std::cmp::Reverse(t.updated_at));
            Ok(tickets)
        }
        Err(error) => Err(error),
    }
}

/// Tickets written here that the server does not have yet, or refused.
#[tauri::command]
pub fn outbox_entries(desktop: State<'_, Desktop>) -> CommandResult<Vec<OutboxEntry>> {
    Ok(desktop
        .store
        .outbox()?
        .into_iter()
        .map(|item| OutboxEntry {
            id: item.id,
            title: item.ticket.title,
            category: item.ticket.category,
            delivery: match item.state {
                OutboxState::Pending => Delivery::Waiting,
                OutboxState::Failed => Delivery::Failed,
            },
            created_at: item.created_at,
            attempts: item.attempts,
            last_error: item.last_error.map(|e| CommandError {
                code: e.code,
                message: e.message,
                fields: e.fields,
            }),
        })
        .collect())
}

#[tauri::command]
pub fn discard_outbox_entry(
    app: AppHandle,
    desktop: State<'_, Desktop>,
    id: i64,
) -> CommandResult<()> {
    desktop.store.discard(id)?;
    background::emit_status(&app, &desktop);
    Ok(())
}

#[tauri::command]
pub async fn my_ticket(desktop: State<'_, Desktop>, id: i64) -> CommandResult<TicketConversation> {
    conversation(&desktop, id).await
}

#[tauri::command]
pub async fn reply_to_my_ticket(
    desktop: State<'_, Desktop>,
    id: i64,
    body: String,
) -> CommandResult<TicketConversation> {
    desktop
        .requester_call(|client| {
            let body = body.clone();
            async move { client.reply(id, &body).await }
        })
        .await?;
    conversation(&desktop, id).await
}

/// Reopens a resolved ticket ("it is not fixed after all").
#[tauri::command]
pub async fn reopen_my_ticket(
    desktop: State<'_, Desktop>,
    id: i64,
) -> CommandResult<TicketConversation> {
    desktop
        .requester_call(|client| async move { client.change_status(id, Status::Open, None).await })
        .await?;
    conversation(&desktop, id).await
}

#[tauri::command]
pub async fn answer_consent(
    desktop: State<'_, Desktop>,
    request_id: String,
    granted: bool,
) -> CommandResult<RequesterActionView> {
    desktop
        .requester_call(|client| {
            let request_id = request_id.clone();
            async move { client.consent(&request_id, granted).await }
        })
        .await
}

/// Temporary passwords from a reset of this user's account, each handed out once by the
/// endpoint agent and then gone from this computer.
#[tauri::command]
pub async fn take_temporary_passwords(
    desktop: State<'_, Desktop>,
) -> CommandResult<Vec<TemporaryPassword>> {
    match agent_bridge::pending_secrets(desktop.agent_socket()).await {
        Ok(secrets) => Ok(secrets
            .into_iter()
            .map(|secret| TemporaryPassword {
                order_id: secret.order_id,
                account: secret.account,
                password: secret.password,
                created_at: secret.created_at,
            })
            .collect()),
        // No agent here: nothing can be waiting.
        Err(error) if error.code() == "agent_unavailable" => Ok(Vec::new()),
        Err(error) => Err(CommandError::new(error.code(), error.to_string())),
    }
}

async fn conversation(desktop: &Desktop, id: i64) -> CommandResult<TicketConversation> {
    let (ticket, timeline, actions) = desktop
        .requester_call(|client| async move {
            let ticket = client.ticket(id).await?;
            let timeline = client.timeline(id).await?;
            let actions = client.my_ticket_actions(id).await?;
            Ok((ticket, timeline, actions))
        })
        .await?;
    Ok(TicketConversation {
        consent_requests: ConsentRequest::pending_in(&actions),
        ticket,
        timeline,
    })
}
