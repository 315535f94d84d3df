//! The agent's session token in the OS credential store: the Secret Service (GNOME Keyring,
//! KWallet) on Linux, Credential Manager on Windows, the Keychain on macOS. One entry per
//! server, so switching servers never sends a token to the wrong one. The token never
//! reaches the web view.
//!
//! When no credential store answers (a bare session without a Secret Service), the sign-in
//! still works but lasts only until the app quits: a token is never written anywhere else.

use deskside_client::views::CommandError;

const SERVICE: &str = "app.deskside.desktop";

fn account(server_url: &str) -> String {
    format!("staff-session@{server_url}")
}

/// The saved token for `server_url`, if the store has one.
pub async fn load(server_url: &str) -> Option<String> {
    let account = account(server_url);
    let result = off_runtime(move || entry(&account)?.get_password()).await;
    match result {
        Ok(token) => Some(token),
        Err(keyring::Error::NoEntry) => None,
        Err(error) => {
            tracing::warn!("cannot read the session from the credential store: {error}");
            None
        }
    }
}

/// Saves the token; `false` when no credential store is available (the session then lives
/// only in memory).
pub async fn save(server_url: &str, token: &str) -> bool {
    let account = account(server_url);
    let token = token.to_owned();
    match off_runtime(move || entry(&account)?.set_password(&token)).await {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!("cannot save the session in the credential store: {error}");
            false
        }
    }
}

/// Forgets the token (sign out). A missing entry is not an error.
pub async fn clear(server_url: &str) -> Result<(), CommandError> {
    let account = account(server_url);
    match off_runtime(move || entry(&account)?.delete_credential()).await {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(error) => Err(CommandError::new(
            "credential_store",
            format!("Could not remove the saved sign-in from the credential store: {error}"),
        )),
    }
}

fn entry(account: &str) -> keyring::Result<keyring::Entry> {
    keyring::Entry::new(SERVICE, account)
}

/// Runs a credential-store call on its own thread: the stores block, and the Secret
/// Service client must not start its D-Bus connection inside the app's async runtime.
async fn off_runtime<T: Send + 'static>(
    call: impl FnOnce() -> keyring::Result<T> + Send + 'static,
) -> keyring::Result<T> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = sender.send(call());
    });
    receiver.await.unwrap_or_else(|_| {
        Err(keyring::Error::PlatformFailure(
            "the credential store call stopped".into(),
        ))
    })
}
