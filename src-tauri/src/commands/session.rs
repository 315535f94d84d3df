//! App status, settings, console sign-in.

use deskside_client::views::AppStatus;
use tauri::{AppHandle, State};

use super::CommandResult;
use crate::Desktop;
use crate::background;

#[tauri::command]
pub fn app_status(desktop: State<'_, Desktop>) -> AppStatus {
    crate::note_interactive();
    desktop.status()
}

#[tauri::command]
pub fn set_server_url(desktop: State<'_, Desktop>, url: String) -> CommandResult<AppStatus> {
    desktop.set_server_url(&url)?;
    desktop.wake.notify_one();
    Ok(desktop.status())
}

#[tauri::command]
pub async fn sign_in(
    desktop: State<'_, Desktop>,
    username: String,
    password: String,
) -> CommandResult<AppStatus> {
    desktop.sign_in(username.trim(), &password).await?;
    desktop.wake.notify_one();
    Ok(desktop.status())
}

#[tauri::command]
pub async fn sign_out(desktop: State<'_, Desktop>) -> CommandResult<AppStatus> {
    desktop.sign_out().await?;
    Ok(desktop.status())
}

/// Delivers the outbox and pulls changes now, then answers with the new status.
#[tauri::command]
pub async fn sync_now(app: AppHandle, desktop: State<'_, Desktop>) -> CommandResult<AppStatus> {
    background::sync_once(&app, &desktop).await;
    Ok(desktop.status())
}
