//! The agents' console: queue, ticket view, ticket changes.

use deskside_client::api::TicketFilter;
use deskside_client::views::{QueuePage, QueueQuery, StaffMember, TicketChange, TicketDetail};
use deskside_core::Ticket;
use tauri::State;

use super::CommandResult;
use crate::Desktop;

/// One page of the queue from the server; the local cache when the server is out of reach.
#[tauri::command]
pub async fn queue(desktop: State<'_, Desktop>, query: QueueQuery) -> CommandResult<QueuePage> {
    let filter = filter(&query);
    match desktop
        .staff_call(|client| async move { client.list_tickets(&filter).await })
        .await
    {
        Ok(page) => Ok(QueuePage {
            items: page.items,
            next_cursor: page.next_cursor,
            from_cache: false,
        }),
        Err(error) if error.code == "offline" && query.cursor.is_none() => {
            let me = desktop.status().staff.map(|s| s.user_id);
            let mut items: Vec<Ticket> = desktop
                .store
                .cached_tickets()?
                .into_iter()
                .filter(|ticket| matches_offline(ticket, &query, me))
                .collect();
            items.sort_by_key(|t| std::cmp::Reverse(t.updated_at));
            Ok(QueuePage {
                items,
                next_cursor: None,
                from_cache: true,
            })
        }
        Err(error) => Err(error),
    }
}

#[tauri::command]
pub async fn ticket_detail(desktop: State<'_, Desktop>, id: i64) -> CommandResult<TicketDetail> {
    detail(&desktop, id).await
}

/// Applies one change, naming the version the agent saw: a stale one fails with
/// `conflict`, and the UI shows the current ticket.
#[tauri::command]
pub async fn change_ticket(
    desktop: State<'_, Desktop>,
    id: i64,
    version: i64,
    change: TicketChange,
) -> CommandResult<TicketDetail> {
    let version = Some(version);
    desktop
        .staff_call(|client| async move {
            match change {
                TicketChange::Reply { body } => client.reply(id, &body).await,
                TicketChange::Note { body } => client.note(id, &body).await,
                TicketChange::Assign { assignee_id } => {
                    client.assign(id, assignee_id, version).await
                }
                TicketChange::Escalate { reason } => client.escalate(id, &reason, version).await,
                TicketChange::Status { status } => client.change_status(id, status, version).await,
                TicketChange::Priority { priority, reason } => {
                    client
                        .override_priority(id, Some(priority), &reason, version)
                        .await
                }
            }
        })
        .await?;
    detail(&desktop, id).await
}

#[tauri::command]
pub async fn staff_members(desktop: State<'_, Desktop>) -> CommandResult<Vec<StaffMember>> {
    desktop
        .staff_call(|client| async move { client.staff_members().await })
        .await
}

async fn detail(desktop: &Desktop, id: i64) -> CommandResult<TicketDetail> {
    let result = desktop
        .staff_call(|client| async move {
            let (ticket, timeline, actions) = tokio::join!(
                client.ticket(id),
                client.timeline(id),
                client.ticket_actions(id)
            );
            Ok((ticket?, timeline?, actions?))
        })
        .await;
    match result {
        Ok((ticket, timeline, actions)) => Ok(TicketDetail {
            ticket,
            timeline,
            actions,
        }),
        // Offline: the cached ticket, without the conversation the cache does not hold.
        Err(error) if error.code == "offline" => match desktop.store.cached_ticket(id)? {
            Some(ticket) => Ok(TicketDetail {
                ticket,
                timeline: Vec::new(),
                actions: Vec::new(),
            }),
            None => Err(error),
        },
        Err(error) => Err(error),
    }
}

fn filter(query: &QueueQuery) -> TicketFilter {
    fn names<T: Copy>(values: &[T], name: impl Fn(T) -> &'static str) -> Vec<String> {
        values.iter().map(|v| name(*v).to_owned()).collect()
    }
    TicketFilter {
        status: names(&query.status, |s| s.as_str()),
        priority: names(&query.priority, |p| p.as_str()),
        category: names(&query.category, |c| c.as_str()),
        tier: names(&query.tier, |t| t.as_str()),
        sla_state: names(&query.sla_state, |s| s.as_str()),
        assignee: query.assignee.clone(),
        requester: None,
        q: query.q.clone().filter(|q| !q.trim().is_empty()),
        cursor: query.cursor.clone(),
        limit: query.limit,
    }
}

/// The cached queue, filtered as the server would (search: words in title or description).
fn matches_offline(ticket: &Ticket, query: &QueueQuery, me: Option<i64>) -> bool {
    fn listed<T: PartialEq>(values: &[T], value: T) -> bool {
        values.is_empty() || values.contains(&value)
    }
    let assignee_ok = match query.assignee.as_deref() {
        None | Some("") => true,
        Some("me") => ticket.assignee_id.is_some() && ticket.assignee_id == me,
        Some("none") => ticket.assignee_id.is_none(),
        Some(id) => ticket.assignee_id.map(|a| a.to_string()).as_deref() == Some(id),
    };
    let text_ok = query.q.as_deref().is_none_or(|q| {
        let haystack = format!("{} {}", ticket.title, ticket.description).to_lowercase();
        q.split_whitespace()
            .all(|word| haystack.contains(&word.to_lowercase()))
    });
    listed(&query.status, ticket.status)
        && listed(&query.priority, ticket.priority)
        && listed(&query.category, ticket.category)
        && listed(&query.tier, ticket.tier)
        && assignee_ok
        && text_ok
}
