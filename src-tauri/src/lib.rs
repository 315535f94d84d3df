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

pub(crate) use desktop::Desktop;

/// Logs, once, that the web view is up and asking for data: the app is interactive.
pub(crate) fn note_interactive() {
    static NOTED: std::sync::Once = std::sync::Once::new();
    NOTED.call_once(|| {
        let elapsed = STARTED.get().map(|s| s.elapsed().as_millis()).unwrap_or(0);
        tracing::info!("interactive: the window's first request came {elapsed} ms after start");
    });
}

/// When `run` began, for the start-up figure `cargo xtask bench` reads from the log.
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Starts the app (the `deskside` binary's whole `main`).
pub fn run() {
    STARTED.get_or_init(std::time::Instant::now);
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
