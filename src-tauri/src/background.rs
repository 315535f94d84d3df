//! Work that runs without the user asking: delivering the outbox, pulling the console's
//! changes into the cache, telling the endpoint agent what the user does not share, and
//! telling the end user when an agent replied. Runs every few
//! seconds, and at once when a command pokes `Desktop::wake`; every round ends by pushing
//! the status bar's state to the window.

use std::time::Duration;

use chrono::Utc;
use deskside_client::outbox::FlushReport;
use deskside_client::views::TimelineEntry;
use deskside_core::EventKind;
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_notification::NotificationExt;

use crate::Desktop;

const STATUS_EVENT: &str = "status-changed";
const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

pub fn start(app: AppHandle) {
    let interval = std::env::var("DESKSIDE_SYNC_INTERVAL_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_INTERVAL);
    tauri::async_runtime::spawn(async move {
        let desktop = app.state::<Desktop>();
        desktop.restore_staff_session().await;
        let mut replies = ReplyWatch::default();
        loop {
            sync_once(&app, &desktop).await;
            replies.check(&app, &desktop).await;
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = desktop.wake.notified() => {}
            }
        }
    });
}

/// One round: outbox first (the user's own tickets matter most), then the console cache.
pub async fn sync_once(app: &AppHandle, desktop: &Desktop) {
    deliver_outbox(desktop).await;
    desktop.tell_agent_sharing().await;
    if let Ok(client) = desktop.staff_client() {
        match desktop.store.sync(&client).await {
            Ok(_) => desktop.mark_synced(Utc::now()),
            Err(deskside_client::StoreError::Api(error)) => desktop.observe::<()>(&Err(error)),
            Err(error) => tracing::warn!("sync failed: {error}"),
        }
    }
    emit_status(app, desktop);
}

/// Sends what waits in the outbox as the local user; `None` when nothing could be tried
/// (no identity from the endpoint agent yet).
pub async fn deliver_outbox(desktop: &Desktop) -> Option<FlushReport> {
    let _one_at_a_time = desktop.delivering.lock().await;
    let waiting = desktop
        .store
        .outbox_counts()
        .map_or(0, |counts| counts.pending);
    if waiting == 0 {
        return Some(FlushReport::default());
    }
    let client = match desktop.requester_client().await {
        Ok(client) => client,
        Err(error) => {
            tracing::info!("outbox waits: {}", error.message);
            return None;
        }
    };
    match desktop.store.flush(&client).await {
        Ok(report) => {
            match &report.stopped {
                Some(error) => desktop.observe::<()>(&Err(error.clone())),
                None => desktop.mark_synced(Utc::now()),
            }
            Some(report)
        }
        Err(error) => {
            tracing::warn!("outbox delivery failed: {error}");
            None
        }
    }
}

pub fn emit_status(app: &AppHandle, desktop: &Desktop) {
    if let Err(error) = app.emit(STATUS_EVENT, desktop.status()) {
        tracing::warn!("cannot send the status to the window: {error}");
    }
}

/// Follows the end user's own tickets through `/sync` and raises a desktop notification
/// when an agent replies. The first round only finds the current position, so starting
/// the app never replays old replies.
#[derive(Default)]
struct ReplyWatch {
    cursor: Option<i64>,
}

impl ReplyWatch {
    async fn check(&mut self, app: &AppHandle, desktop: &Desktop) {
        let mut cursor = self.cursor.unwrap_or(0);
        let baseline = self.cursor.is_none();
        loop {
            let changes = desktop
                .requester_call(|client| async move { client.sync(cursor).await })
                .await;
            let Ok(changes) = changes else { return };
            if !baseline {
                for event in &changes.events {
                    if let Ok(entry) = serde_json::from_value::<TimelineEntry>(event.clone()) {
                        self.notify(app, desktop, &entry);
                    }
                }
            }
            cursor = changes.cursor;
            if !changes.has_more {
                break;
            }
        }
        self.cursor = Some(cursor);
    }

    fn notify(&self, app: &AppHandle, desktop: &Desktop, entry: &TimelineEntry) {
        let EventKind::PublicReply { body } = &entry.event else {
            return;
        };
        if entry.actor.kind != "staff" {
            return;
        }
        let number = desktop
            .store
            .cached_ticket(entry.ticket_id)
            .ok()
            .flatten()
            .map(|t| format!("HD-{}", t.number))
            .unwrap_or_else(|| "your ticket".to_owned());
        let preview: String = body.chars().take(140).collect();
        let shown = app
            .notification()
            .builder()
            .title(format!("{} replied on {number}", entry.actor.name))
            .body(preview)
            .show();
        if let Err(error) = shown {
            tracing::warn!("cannot show a notification: {error}");
        }
    }
}
