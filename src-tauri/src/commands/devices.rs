//! The ticket view's Device and Actions tabs, and the approvals inbox.

use deskside_client::views::{
    ActionRequestDraft, ActionRequestView, CatalogAction, CommandError, DevicePanel,
};
use deskside_client::{device_panel, diagnostics_preview};
use tauri::State;

use super::CommandResult;
use crate::Desktop;

/// The device's latest diagnostics by section, its findings and stored snapshots, each
/// with its source (the agent's own upload, one an agent asked for, or the user's ticket).
#[tauri::command]
pub async fn device_panel(
    desktop: State<'_, Desktop>,
    device_id: String,
) -> CommandResult<DevicePanel> {
    desktop
        .staff_call(|client| {
            let device_id = device_id.clone();
            async move {
                let (detail, snapshots) = tokio::join!(
                    client.device(&device_id),
                    client.device_snapshots(&device_id)
                );
                let (detail, snapshots) = (detail?, snapshots?);
                let document = match &detail.device.latest_snapshot {
                    Some(latest) => Some(client.device_snapshot(&device_id, latest.id).await?),
                    None => None,
                };
                Ok(DevicePanel {
                    hints: detail
                        .findings
                        .iter()
                        .map(diagnostics_preview::hint)
                        .collect(),
                    device: detail.device,
                    snapshots,
                    sections: document
                        .map(|doc| device_panel::sections(&doc))
                        .unwrap_or_default(),
                })
            }
        })
        .await
}

#[tauri::command]
pub async fn device_diff(
    desktop: State<'_, Desktop>,
    device_id: String,
    from: i64,
    to: i64,
) -> CommandResult<serde_json::Value> {
    desktop
        .staff_call(|client| {
            let device_id = device_id.clone();
            async move { client.device_diff(&device_id, from, to).await }
        })
        .await
}

/// The catalog actions this device's platform supports.
#[tauri::command]
pub async fn action_catalog(
    desktop: State<'_, Desktop>,
    device_id: String,
) -> CommandResult<Vec<CatalogAction>> {
    desktop
        .staff_call(|client| {
            let device_id = device_id.clone();
            async move {
                let (catalog, device) =
                    tokio::join!(client.action_catalog(), client.device(&device_id));
                let platform = device?.device.platform;
                Ok(catalog?
                    .into_iter()
                    .filter(|action| {
                        platform
                            .as_ref()
                            .is_none_or(|p| action.platforms.iter().any(|a| a == p))
                    })
                    .collect())
            }
        })
        .await
}

#[tauri::command]
pub async fn request_action(
    desktop: State<'_, Desktop>,
    ticket_id: i64,
    draft: ActionRequestDraft,
) -> CommandResult<ActionRequestView> {
    if draft.action.trim().is_empty() {
        return Err(CommandError::new("validation_failed", "Choose an action."));
    }
    desktop
        .staff_call(|client| {
            let draft = draft.clone();
            async move {
                client
                    .request_action(ticket_id, &draft.action, &draft.params)
                    .await
            }
        })
        .await
}

#[tauri::command]
pub async fn approvals_inbox(desktop: State<'_, Desktop>) -> CommandResult<Vec<ActionRequestView>> {
    desktop
        .staff_call(|client| async move { client.approvals_inbox().await })
        .await
}

/// Approves, or denies with a reason, a request waiting for a second agent.
#[tauri::command]
pub async fn decide_action(
    desktop: State<'_, Desktop>,
    request_id: String,
    approve: bool,
    reason: Option<String>,
) -> CommandResult<ActionRequestView> {
    let reason = reason.unwrap_or_default();
    if !approve && reason.trim().is_empty() {
        return Err(CommandError {
            code: "validation_failed".to_owned(),
            message: "Say why you deny it; the requesting agent sees the reason.".to_owned(),
            fields: vec![deskside_core::FieldError {
                field: "reason".to_owned(),
                message: "is required to deny".to_owned(),
            }],
        });
    }
    desktop
        .staff_call(|client| {
            let (request_id, reason) = (request_id.clone(), reason.clone());
            async move {
                if approve {
                    client.approve_action(&request_id).await
                } else {
                    client.deny_action(&request_id, &reason).await
                }
            }
        })
        .await
}
