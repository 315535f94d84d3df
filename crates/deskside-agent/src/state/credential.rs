//! Where the device credential lives.
//!
//! The credential (`dsd_…`) is what the server knows this machine by: whoever holds it can
//! speak for the device. It must survive reboots (the agent enrolls once) and be readable
//! only by the agent, which runs as a system service (root on Linux and macOS, LocalSystem
//! on Windows), with no user logged in.
//!
//! - **Windows**: the Credential Manager of the service's account (LocalSystem), through the
//!   `keyring` crate's `windows-native` store. The vault persists across reboots and is
//!   encrypted with DPAPI under that account, so other users cannot read it.
//! - **macOS**: the System keychain (`/Library/Keychains/System.keychain`), through
//!   `keyring`'s `apple-native` store. A launch daemon has no login keychain; the System
//!   keychain is root's, persistent and encrypted.
//! - **Linux** (and other Unix): a root-only file, `<state-dir>/credential`, mode 0600 in a
//!   0700 directory, written atomically (temporary file, fsync, rename, fsync of the
//!   directory). The OS keyrings do not fit a system service here: the Secret Service
//!   (GNOME Keyring, KWallet) lives in a user's desktop session over D-Bus, and a daemon
//!   started at boot has neither a session nor anyone to unlock it; the kernel keyring
//!   (keyutils) is not persistent: session keyrings die with the session and the user's
//!   persistent keyring expires after a few days and is lost at reboot. A file readable only
//!   by root is what other system daemons do for their secrets (sshd host keys, NetworkManager
//!   system connections), and root can read any keyring anyway, so it is no weaker. The
//!   `keyring` crate is not compiled on Linux at all: without a store feature it would
//!   silently fall back to an in-memory mock.
//!
//! The credential itself never appears in a log line, an error message or `status` output.

use std::fmt;

#[cfg(not(any(windows, target_os = "macos")))]
use std::path::PathBuf;

/// The device credential: sent as `Authorization: Bearer …`, never shown. Its `Debug`
/// redacts it and its memory is overwritten when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceCredential(String);

impl DeviceCredential {
    /// Accepts what the server issued; refuses what could not be one (empty, whitespace,
    /// control characters, absurd length), so a damaged file is reported as such.
    pub fn new(value: impl Into<String>) -> Result<Self, CredentialError> {
        let value = value.into();
        let plausible =
            !value.is_empty() && value.len() <= 512 && value.bytes().all(|b| b.is_ascii_graphic());
        if plausible {
            Ok(DeviceCredential(value))
        } else {
            Err(CredentialError::Damaged)
        }
    }

    /// The secret itself, for the `Authorization` header and the store only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DeviceCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceCredential([redacted])")
    }
}

impl Drop for DeviceCredential {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.fill(0);
        std::hint::black_box(&bytes);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("the stored device credential is damaged; enroll again with --force")]
    Damaged,
    #[error("{store}: {detail}")]
    Store { store: String, detail: String },
}

/// The platform's credential store (see the module documentation for which and why).
#[derive(Debug, Clone)]
pub struct CredentialStore {
    #[cfg(not(any(windows, target_os = "macos")))]
    file: PathBuf,
}

/// What the credential is filed under in the OS credential stores.
#[cfg(any(windows, target_os = "macos"))]
const KEYRING_SERVICE: &str = "Deskside agent";
#[cfg(any(windows, target_os = "macos"))]
const KEYRING_ACCOUNT: &str = "device-credential";

#[cfg(not(any(windows, target_os = "macos")))]
impl CredentialStore {
    pub fn new(state_dir: &super::StateDir) -> Self {
        CredentialStore {
            file: state_dir.root().join("credential"),
        }
    }

    /// Where it is, in words, for `status` and error messages.
    pub fn describe(&self) -> String {
        format!("root-only file {}", self.file.display())
    }

    /// Stores (or replaces) the credential. The state directory has been checked private.
    pub fn save(&self, credential: &DeviceCredential) -> Result<(), CredentialError> {
        let mut bytes = Vec::with_capacity(credential.expose().len() + 1);
        bytes.extend_from_slice(credential.expose().as_bytes());
        bytes.push(b'\n');
        let result = super::files::write_atomic(&self.file, &bytes, super::Visibility::Private);
        bytes.fill(0);
        result.map_err(|e| self.error(e))
    }

    /// The stored credential, or `None` when there is none.
    pub fn load(&self) -> Result<Option<DeviceCredential>, CredentialError> {
        match std::fs::read_to_string(&self.file) {
            Ok(mut text) => {
                let credential = DeviceCredential::new(text.trim());
                // Overwrite our copy; `DeviceCredential` cleans up its own.
                let mut bytes = std::mem::take(&mut text).into_bytes();
                bytes.fill(0);
                credential.map(Some)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    fn error(&self, e: std::io::Error) -> CredentialError {
        CredentialError::Store {
            store: self.file.display().to_string(),
            detail: e.to_string(),
        }
    }
}

#[cfg(any(windows, target_os = "macos"))]
impl CredentialStore {
    pub fn new(_state_dir: &super::StateDir) -> Self {
        CredentialStore {}
    }

    pub fn describe(&self) -> String {
        #[cfg(windows)]
        let store = "Windows Credential Manager";
        #[cfg(target_os = "macos")]
        let store = "System keychain";
        format!("{store} (\"{KEYRING_SERVICE}\" / {KEYRING_ACCOUNT})")
    }

    fn entry(&self) -> Result<keyring::Entry, CredentialError> {
        // A launch daemon has no login keychain: file it in the System keychain.
        #[cfg(target_os = "macos")]
        let entry = keyring::Entry::new_with_target("System", KEYRING_SERVICE, KEYRING_ACCOUNT);
        #[cfg(windows)]
        let entry = keyring::Entry::new(KEYRING_SERVICE, KEYRING_ACCOUNT);
        entry.map_err(|e| self.error(e))
    }

    pub fn save(&self, credential: &DeviceCredential) -> Result<(), CredentialError> {
        self.entry()?
            .set_password(credential.expose())
            .map_err(|e| self.error(e))
    }

    pub fn load(&self) -> Result<Option<DeviceCredential>, CredentialError> {
        match self.entry()?.get_password() {
            Ok(mut secret) => {
                let credential = DeviceCredential::new(secret.trim());
                let mut bytes = std::mem::take(&mut secret).into_bytes();
                bytes.fill(0);
                credential.map(Some)
            }
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    fn error(&self, e: keyring::Error) -> CredentialError {
        CredentialError::Store {
            store: self.describe(),
            detail: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_checked_and_never_shown() {
        let credential = DeviceCredential::new("dsd_0123abcd").unwrap();
        assert_eq!(credential.expose(), "dsd_0123abcd");
        assert_eq!(format!("{credential:?}"), "DeviceCredential([redacted])");
        for bad in ["", "dsd_ with space", "dsd_\nnewline", &"x".repeat(513)] {
            assert!(DeviceCredential::new(bad).is_err(), "{bad:?}");
        }
    }

    #[cfg(not(any(windows, target_os = "macos")))]
    #[test]
    fn the_linux_store_is_a_root_only_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let state = super::super::StateDir::new(dir.path());
        let store = CredentialStore::new(&state);
        assert!(store.load().unwrap().is_none());
        store
            .save(&DeviceCredential::new("dsd_first").unwrap())
            .unwrap();
        store
            .save(&DeviceCredential::new("dsd_second").unwrap())
            .unwrap();
        let file = dir.path().join("credential");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(store.load().unwrap().unwrap().expose(), "dsd_second");
        assert!(store.describe().contains(&file.display().to_string()));
        std::fs::write(&file, "not a credential\n").unwrap();
        assert!(matches!(store.load(), Err(CredentialError::Damaged)));
    }
}
