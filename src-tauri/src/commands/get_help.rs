//! "Get help": local diagnostics preview, screenshot, and submitting through the outbox.

use deskside_client::diagnostics_preview;
use deskside_client::outbox::OutgoingAttachment;
use deskside_client::views::{
    CommandError, ContactPreference, Delivery, DiagnosticsPreview, ScreenshotPreview,
    SubmitOutcome, TicketDraft,
};
use deskside_core::UserKind;
use deskside_core::ticket::{NewTicket, Requester, validate_new_ticket};
use deskside_diagnostics::{CollectorOptions, SnapshotRequest};
use tauri::{AppHandle, State};

use super::CommandResult;
use crate::desktop::lock;
use crate::{Desktop, background, screenshot};

/// Reads this computer's diagnostics (a fraction of a second) for the user to review, the
/// toggles as the user left them last time.
#[tauri::command]
pub async fn collect_diagnostics(desktop: State<'_, Desktop>) -> CommandResult<DiagnosticsPreview> {
    let snapshot = tokio::task::spawn_blocking(|| {
        deskside_diagnostics::collect(CollectorOptions::default(), &SnapshotRequest::all())
    })
    .await
    .map_err(|e| CommandError::new("internal", format!("diagnostics stopped: {e}")))?;
    let remembered = desktop.withheld_sections();
    let preview = diagnostics_preview::preview(&snapshot, remembered.as_ref());
    *lock(&desktop.diagnostics) = Some(snapshot);
    Ok(preview)
}

#[tauri::command]
pub async fn capture_screenshot(desktop: State<'_, Desktop>) -> CommandResult<ScreenshotPreview> {
    let shot = tokio::task::spawn_blocking(screenshot::capture)
        .await
        .map_err(|e| CommandError::new("internal", format!("screenshot stopped: {e}")))??;
    let preview = shot.preview();
    lock(&desktop.screenshots).insert(preview.id.clone(), shot.png);
    Ok(preview)
}

#[tauri::command]
pub fn discard_screenshot(desktop: State<'_, Desktop>, id: String) {
    lock(&desktop.screenshots).remove(&id);
}

/// Puts the ticket and its attachments in the outbox, then tries to deliver at once. The
/// outbox's idempotency key makes the ticket arrive exactly once however delivery goes.
#[tauri::command]
pub async fn submit_ticket(
    app: AppHandle,
    desktop: State<'_, Desktop>,
    draft: TicketDraft,
) -> CommandResult<SubmitOutcome> {
    let status = desktop.status();
    let new = new_ticket(&draft, &status.end_user.display_name);
    validate_new_ticket(&new).map_err(|errors| CommandError {
        code: "validation_failed".to_owned(),
        message: "Some fields need a look.".to_owned(),
        fields: errors.0,
    })?;
    let contact_error = contact_detail_error(&draft);
    if let Some(field) = contact_error {
        return Err(CommandError {
            code: "validation_failed".to_owned(),
            message: "Some fields need a look.".to_owned(),
            fields: vec![field],
        });
    }
    let attachments = attachments(&desktop, &draft)?;
    let item = desktop
        .store
        .enqueue_ticket_with_attachments(&new, &attachments)?;
    if let Some(id) = &draft.screenshot_id {
        lock(&desktop.screenshots).remove(id);
    }
    // What the user switched off stays off: next time in Get help, and in what the agent
    // sends on its own. Only a choice made over a preview counts. A failure here must not
    // lose the ticket, which is queued already.
    if lock(&desktop.diagnostics).is_some() {
        let withheld = diagnostics_preview::withheld_sections(&draft.included_sections);
        match desktop.remember_withheld_sections(withheld) {
            Ok(()) => desktop.tell_agent_sharing().await,
            Err(error) => tracing::warn!("cannot remember the sharing choices: {}", error.message),
        }
    }

    let report = background::deliver_outbox(&desktop).await;
    background::emit_status(&app, &desktop);
    let delivered = report.as_ref().and_then(|r| {
        r.completed
            .iter()
            .find(|(id, _)| *id == item.id)
            .map(|(_, ticket)| ticket.clone())
    });
    let failed = report.as_ref().is_some_and(|r| r.failed.contains(&item.id));
    Ok(SubmitOutcome {
        outbox_id: item.id,
        delivery: match (&delivered, failed) {
            (Some(_), _) => Delivery::Sent,
            (None, true) => Delivery::Failed,
            (None, false) => Delivery::Waiting,
        },
        ticket: delivered,
    })
}

fn new_ticket(draft: &TicketDraft, display_name: &str) -> NewTicket {
    let mut description = draft.description.trim().to_owned();
    let contact = draft.contact_detail.as_deref().map(str::trim).unwrap_or("");
    let contact_line = match draft.contact_preference {
        ContactPreference::App => None,
        ContactPreference::Email => Some(format!("Preferred contact: email {contact}")),
        ContactPreference::Phone => Some(format!("Preferred contact: phone {contact}")),
    };
    if let Some(line) = contact_line {
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        description.push_str(line.trim_end());
    }
    let email = (draft.contact_preference == ContactPreference::Email && !contact.is_empty())
        .then(|| contact.to_owned());
    NewTicket {
        title: draft.title.trim().to_owned(),
        description,
        category: draft.category,
        impact: draft.impact,
        urgency: draft.urgency,
        requester: Requester {
            name: display_name.to_owned(),
            email,
            user_kind: UserKind::InternalStaff,
            // The server fills in the local user the agent vouched for.
            username: None,
        },
        device_id: None,
        tags: vec![format!(
            "contact-{}",
            match draft.contact_preference {
                ContactPreference::App => "app",
                ContactPreference::Email => "email",
                ContactPreference::Phone => "phone",
            }
        )],
    }
}

fn contact_detail_error(draft: &TicketDraft) -> Option<deskside_core::FieldError> {
    let detail = draft.contact_detail.as_deref().map(str::trim).unwrap_or("");
    let message = match draft.contact_preference {
        ContactPreference::App => return None,
        ContactPreference::Email if !detail.contains('@') || detail.len() > 254 => {
            "enter the email address to reply to"
        }
        ContactPreference::Phone
            if detail.chars().filter(char::is_ascii_digit).count() < 3 || detail.len() > 40 =>
        {
            "enter the phone number to call"
        }
        _ => return None,
    };
    Some(deskside_core::FieldError {
        field: "contactDetail".to_owned(),
        message: message.to_owned(),
    })
}

/// The diagnostics sections the user kept, and the screenshot if they kept one.
fn attachments(desktop: &Desktop, draft: &TicketDraft) -> CommandResult<Vec<OutgoingAttachment>> {
    let mut attachments = Vec::new();
    if !draft.included_sections.is_empty() {
        let snapshot = lock(&desktop.diagnostics).clone().ok_or_else(|| {
            CommandError::new(
                "diagnostics_missing",
                "The diagnostics preview is gone; open Get help again to read them.",
            )
        })?;
        let kept = diagnostics_preview::attachment(&snapshot, &draft.included_sections);
        let bytes =
            serde_json::to_vec(&kept).map_err(|e| CommandError::new("internal", e.to_string()))?;
        attachments.push(OutgoingAttachment {
            file_name: "diagnostics.json".to_owned(),
            content_type: "application/json".to_owned(),
            bytes,
        });
    }
    if let Some(id) = &draft.screenshot_id {
        let png = lock(&desktop.screenshots).get(id).cloned().ok_or_else(|| {
            CommandError::new(
                "screenshot_missing",
                "That screenshot is gone; take it again.",
            )
        })?;
        attachments.push(OutgoingAttachment {
            file_name: "screenshot.png".to_owned(),
            content_type: "image/png".to_owned(),
            bytes: png,
        });
    }
    Ok(attachments)
}
