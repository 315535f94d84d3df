//! The Deskside desktop app: a thin Tauri layer over `deskside-client`.
//!
//! - `commands/` — one module per screen; each command parses, calls the client, converts.
//! - `desktop.rs` — the app's state: settings, local store, sessions, connection.
//! - `credentials.rs` — the agent's session token in the OS keyring (never in JavaScript).
//! - `background.rs` — outbox delivery, cache sync and reply notifications on a timer.
//! - `screenshot.rs` — capturing the screen for "Get help".

mod background;
mod commands;
mod credentials;
mod desktop;
mod screenshot;
mod settings;

use tauri::Manager;

pub use desktop::Desktop;

/// Starts the app (the `deskside` binary's whole `main`).
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DESKSIDE_LOG")
                .unwrap_or_else(|_| "warn,deskside_desktop=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();

    let app = tauri::Builder::default()
        .plugin(tauri_plugin_notification::init())
        .setup(|app| {
            let data_dir = match std::env::var_os("DESKSIDE_DATA_DIR") {
                Some(dir) => dir.into(),
                None => app.path().app_data_dir()?,
            };
            let desktop = Desktop::open(&data_dir)?;
            app.manage(desktop);
            background::start(app.handle().clone());
            Ok(())
        })
        .invoke_handler(commands::handler());
    if let Err(error) = app.run(tauri::generate_context!()) {
        tracing::error!("the app stopped: {error}");
        std::process::exit(1);
    }
}
