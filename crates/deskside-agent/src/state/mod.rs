//! The agent's durable state: one directory, owned by the agent.
//!
//! ```text
//! <state-dir>/              0700 (made so if others could read it; refused if others could
//!                           write it or it belongs to another user)
//!   agent.json              0600  enrollment: server URL, device id, pinned order key
//!   credential              0600  the device credential (Linux; OS keyring elsewhere)
//!   status.json             0600  the daemon's last contact and policy in force
//!   policy.toml             0644  the administrator's policy (default written at first run)
//!   replay.json             0600  nonces of orders already received (FileReplayGuard)
//!   pending-secrets/        0700  temporary passwords waiting for the user's desktop app
//!   sharing/<uid>.json      0600  sections each local user chose not to share (0700 dir)
//! ```
//!
//! Default location: `/var/lib/deskside-agent` on Linux, `%ProgramData%\Deskside` on
//! Windows, `/Library/Application Support/Deskside` on macOS; `--state-dir` or
//! `DESKSIDE_AGENT_STATE_DIR` override it.

pub mod credential;
pub mod files;

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};
use deskside_remediation::OrderVerifier;
use serde::{Deserialize, Serialize};

pub use credential::{CredentialStore, DeviceCredential};
pub use files::Visibility;

pub const STATE_DIR_ENV: &str = "DESKSIDE_AGENT_STATE_DIR";

/// Where the state lives unless told otherwise.
pub fn default_state_dir() -> PathBuf {
    #[cfg(windows)]
    {
        let program_data = std::env::var_os("ProgramData")
            .filter(|v| !v.is_empty())
            .map_or_else(|| PathBuf::from(r"C:\ProgramData"), PathBuf::from);
        program_data.join("Deskside")
    }
    #[cfg(target_os = "macos")]
    {
        PathBuf::from("/Library/Application Support/Deskside")
    }
    #[cfg(not(any(windows, target_os = "macos")))]
    {
        PathBuf::from("/var/lib/deskside-agent")
    }
}

/// `--state-dir`, shared by the subcommands that use the state.
#[derive(Debug, Clone, clap::Args)]
pub struct StateDirArg {
    /// The agent's state directory [default: /var/lib/deskside-agent on Linux,
    /// %ProgramData%\Deskside on Windows, /Library/Application Support/Deskside on macOS].
    #[arg(long = "state-dir", value_name = "DIR", env = STATE_DIR_ENV)]
    state_dir: Option<PathBuf>,
}

impl StateDirArg {
    pub fn resolve(&self) -> StateDir {
        StateDir::new(self.state_dir.clone().unwrap_or_else(default_state_dir))
    }
}

/// The paths inside the state directory, and reading and writing what is there.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        StateDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn enrollment_file(&self) -> PathBuf {
        self.root.join("agent.json")
    }

    pub fn status_file(&self) -> PathBuf {
        self.root.join("status.json")
    }

    pub fn default_policy_file(&self) -> PathBuf {
        self.root.join("policy.toml")
    }

    pub fn replay_file(&self) -> PathBuf {
        self.root.join("replay.json")
    }

    pub fn pending_secrets_dir(&self) -> PathBuf {
        self.root.join("pending-secrets")
    }

    /// Orders started and not yet reported to the end (`orders::journal`).
    pub fn orders_journal_dir(&self) -> PathBuf {
        self.root.join("orders-in-flight")
    }

    /// Each local account's remembered sharing choices (`sharing`).
    pub fn sharing_dir(&self) -> PathBuf {
        self.root.join("sharing")
    }

    /// Creates the directory (0700) if needed and makes sure nobody else can get in.
    pub fn prepare(&self) -> anyhow::Result<()> {
        files::create_private_dir(&self.root)
            .with_context(|| format!("creating the state directory {}", self.root.display()))?;
        if let Some(mode) = files::secure_private_dir(&self.root).map_err(anyhow::Error::msg)? {
            tracing::warn!(
                "made the state directory {} private (it was mode {mode:03o})",
                self.root.display()
            );
        }
        Ok(())
    }

    /// The enrollment, if this machine is enrolled.
    pub fn load_enrollment(&self) -> anyhow::Result<Option<Enrollment>> {
        let Some(bytes) = read_if_exists(&self.enrollment_file())? else {
            return Ok(None);
        };
        let enrollment: Enrollment = serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{} is damaged; enroll again with --force",
                self.enrollment_file().display()
            )
        })?;
        anyhow::ensure!(
            enrollment.version == Enrollment::VERSION,
            "{} has version {}; this agent reads version {}",
            self.enrollment_file().display(),
            enrollment.version,
            Enrollment::VERSION
        );
        Ok(Some(enrollment))
    }

    pub fn save_enrollment(&self, enrollment: &Enrollment) -> anyhow::Result<()> {
        let mut bytes = serde_json::to_vec_pretty(enrollment)?;
        bytes.push(b'\n');
        files::write_atomic(&self.enrollment_file(), &bytes, Visibility::Private)
            .with_context(|| format!("writing {}", self.enrollment_file().display()))
    }

    /// What the daemon last wrote, if it ever ran since enrollment.
    pub fn load_status(&self) -> anyhow::Result<Option<DaemonStatus>> {
        let Some(bytes) = read_if_exists(&self.status_file())? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .with_context(|| format!("reading {}", self.status_file().display()))
    }

    pub fn save_status(&self, status: &DaemonStatus) -> anyhow::Result<()> {
        let mut bytes = serde_json::to_vec_pretty(status)?;
        bytes.push(b'\n');
        files::write_atomic(&self.status_file(), &bytes, Visibility::Private)
            .with_context(|| format!("writing {}", self.status_file().display()))
    }

    pub fn remove_status(&self) -> anyhow::Result<()> {
        match std::fs::remove_file(self.status_file()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("removing {}", self.status_file().display())),
        }
    }
}

fn read_if_exists(path: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// What enrollment established (`agent.json`). Nothing here is secret: the credential is
/// kept apart, in the [`CredentialStore`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Enrollment {
    pub version: u32,
    /// Normalised, without a trailing slash: `https://desk.example.org`.
    pub server_url: String,
    pub device_id: String,
    pub hostname: String,
    pub enrolled_at: DateTime<Utc>,
    /// The server's Ed25519 order-signing public key, standard base64 of 32 bytes, pinned
    /// at enrollment: only orders signed with it are ever considered.
    pub order_signing_key: String,
    /// `key_id_of` that key (checked at enrollment and at every start).
    pub order_key_id: String,
}

impl Enrollment {
    pub const VERSION: u32 = 1;

    /// The verifier for the pinned key. Fails if the stored key is damaged or does not
    /// match its id.
    pub fn verifier(&self) -> anyhow::Result<OrderVerifier> {
        let verifier = OrderVerifier::from_public_key_base64(&self.order_signing_key)
            .context("the pinned order-signing key is damaged; enroll again with --force")?;
        anyhow::ensure!(
            verifier.key_id() == self.order_key_id,
            "the pinned order-signing key has id {}, but {} was recorded; enroll again with --force",
            verifier.key_id(),
            self.order_key_id
        );
        Ok(verifier)
    }
}

/// What the daemon reports about itself (`status.json`), rewritten after every contact with
/// the server and every policy change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonStatus {
    pub pid: u32,
    pub agent_version: String,
    pub started_at: DateTime<Utc>,
    /// Set when the daemon stopped cleanly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<DateTime<Utc>>,
    /// The last time the server answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_contact_at: Option<DateTime<Utc>>,
    /// The last failure to reach the server, cleared by the next success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When `last_error` happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_snapshot_at: Option<DateTime<Utc>>,
    pub policy: PolicySummary,
}

/// The policy in force, as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicySummary {
    pub path: PathBuf,
    pub actions: Vec<AcceptedAction>,
    /// Diagnostics sections the policy lets the agent send on its own (before the users'
    /// own choices narrow them).
    #[serde(default)]
    pub background_sections: Vec<String>,
    /// Why the file on disk is not the policy in force (it is invalid), if it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcceptedAction {
    pub action: String,
    pub require_consent: bool,
}

impl PolicySummary {
    pub fn of(path: &Path, policy: &deskside_remediation::Policy) -> Self {
        PolicySummary {
            path: path.to_owned(),
            actions: policy
                .actions
                .iter()
                .map(|(id, rule)| AcceptedAction {
                    action: id.as_str().to_owned(),
                    require_consent: rule.require_consent,
                })
                .collect(),
            background_sections: policy
                .diagnostics
                .background_sections
                .iter()
                .map(|section| section.as_str().to_owned())
                .collect(),
            error: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use deskside_remediation::OrderSigner;

    use super::*;

    fn enrollment(signer: &OrderSigner) -> Enrollment {
        Enrollment {
            version: Enrollment::VERSION,
            server_url: "https://desk.example.org".into(),
            device_id: "dev_1".into(),
            hostname: "ws-1".into(),
            enrolled_at: Utc::now(),
            order_signing_key: signer.public_key_base64(),
            order_key_id: signer.key_id().to_owned(),
        }
    }

    #[test]
    fn an_enrollment_round_trips_and_yields_the_pinned_verifier() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path().join("state"));
        state.prepare().unwrap();
        assert!(state.load_enrollment().unwrap().is_none());
        let signer = OrderSigner::generate().unwrap();
        let enrollment = enrollment(&signer);
        state.save_enrollment(&enrollment).unwrap();
        let loaded = state.load_enrollment().unwrap().unwrap();
        assert_eq!(loaded, enrollment);
        assert_eq!(loaded.verifier().unwrap().key_id(), signer.key_id());
    }

    #[test]
    fn a_key_that_does_not_match_its_id_is_refused() {
        let signer = OrderSigner::generate().unwrap();
        let other = OrderSigner::generate().unwrap();
        let mut enrollment = enrollment(&signer);
        enrollment.order_key_id = other.key_id().to_owned();
        let error = enrollment.verifier().unwrap_err().to_string();
        assert!(error.contains("enroll again"), "{error}");
        enrollment.order_signing_key = "AAAA".into();
        assert!(enrollment.verifier().is_err());
    }

    #[test]
    fn a_damaged_state_file_says_how_to_recover() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        std::fs::write(state.enrollment_file(), "{").unwrap();
        let error = format!("{:#}", state.load_enrollment().unwrap_err());
        assert!(
            error.contains("damaged") && error.contains("--force"),
            "{error}"
        );
    }
}
