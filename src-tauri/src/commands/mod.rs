//! The commands the web view may call, one module per screen. Each parses its arguments,
//! calls `deskside-client`, and converts; every failure is a `CommandError`
//! `{code, message, fields}` the UI branches on by `code`.

mod console;
mod devices;
mod get_help;
mod my_tickets;
mod session;

use deskside_client::views::CommandError;

pub type CommandResult<T> = Result<T, CommandError>;

pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        session::app_status,
        session::set_server_url,
        session::sign_in,
        session::sign_out,
        session::sync_now,
        get_help::collect_diagnostics,
        get_help::capture_screenshot,
        get_help::discard_screenshot,
        get_help::submit_ticket,
        my_tickets::my_tickets,
        my_tickets::outbox_entries,
        my_tickets::discard_outbox_entry,
        my_tickets::my_ticket,
        my_tickets::reply_to_my_ticket,
        my_tickets::reopen_my_ticket,
        my_tickets::answer_consent,
        my_tickets::take_temporary_passwords,
        console::queue,
        console::ticket_detail,
        console::change_ticket,
        console::staff_members,
        devices::device_panel,
        devices::device_diff,
        devices::action_catalog,
        devices::request_action,
        devices::approvals_inbox,
        devices::decide_action,
    ]
}
