//! `deskside-agent enroll --server URL --token TOKEN [--state-dir DIR] [--force]`: registers
//! this machine with the server once, stores the device credential privately and pins the
//! server's order-signing key.

use anyhow::Context;
use chrono::Utc;
use deskside_remediation::OrderVerifier;

use crate::client::{ApiClient, ApiError, is_cleartext_remote, normalize_server_url};
use crate::state::{CredentialStore, DeviceCredential, Enrollment, StateDirArg};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Deskside server, e.g. https://desk.example.org
    #[arg(long, value_name = "URL", env = "DESKSIDE_SERVER")]
    server: String,
    /// A one-time enrollment token from an administrator (`dse_…`).
    #[arg(long, value_name = "TOKEN", env = "DESKSIDE_ENROLLMENT_TOKEN")]
    token: String,
    /// The name this machine is registered under [default: its host name].
    #[arg(long, value_name = "NAME")]
    hostname: Option<String>,
    /// Replace an existing enrollment (the old device stays registered on the server).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    state_dir: StateDirArg,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let state = args.state_dir.resolve();
    let server_url = normalize_server_url(&args.server).map_err(anyhow::Error::msg)?;
    let token = args.token.trim();
    anyhow::ensure!(!token.is_empty(), "the enrollment token is empty");
    let hostname = match args.hostname {
        Some(name) => name,
        None => sysinfo::System::host_name()
            .ok()
            .filter(|n| !n.trim().is_empty())
            .context("this machine's host name is unknown: pass --hostname")?,
    };

    // Everything that can fail locally is checked before the one-time token is spent.
    state.prepare()?;
    if state.enrollment_file().exists() && !args.force {
        let what = match state.load_enrollment() {
            Ok(Some(existing)) => format!("as {} with {}", existing.device_id, existing.server_url),
            _ => "(its state file is damaged)".to_owned(),
        };
        anyhow::bail!(
            "this machine is already enrolled {what}, state in {}; pass --force to enroll again",
            state.root().display()
        );
    }
    if is_cleartext_remote(&server_url) {
        eprintln!(
            "warning: {server_url} is plain HTTP: the device credential will cross the network \
             unencrypted; use https:// outside a lab"
        );
    }

    let client = ApiClient::new(&server_url)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let answer =
        runtime
            .block_on(client.enroll(token, &hostname))
            .map_err(|error| match error {
                ApiError::Unauthorized { message } => anyhow::anyhow!(
                    "the server refused the enrollment token ({message}): ask an administrator for \
                 a new one"
                ),
                other => anyhow::anyhow!("enrolling with {server_url} failed: {other}"),
            })?;

    let key = answer.order_signing_key.as_deref().context(
        "the server did not send its order-signing key (orderSigningKey): it is older than \
         this agent; upgrade the server",
    )?;
    let verifier = OrderVerifier::from_public_key_base64(key)
        .context("the server's order-signing key is not valid")?;
    if let Some(key_id) = &answer.order_key_id {
        anyhow::ensure!(
            key_id == verifier.key_id(),
            "the server's order-signing key has id {}, but the server called it {key_id}: \
             refusing to pin it",
            verifier.key_id()
        );
    }
    let credential = DeviceCredential::new(answer.credential.as_str())
        .context("the server sent an unusable device credential")?;
    let enrollment = Enrollment {
        version: Enrollment::VERSION,
        server_url: server_url.clone(),
        device_id: answer.device_id.clone(),
        hostname,
        enrolled_at: Utc::now(),
        order_signing_key: key.trim().to_owned(),
        order_key_id: verifier.key_id().to_owned(),
    };

    // The credential first: `agent.json` is what says "enrolled", so it is written last.
    let store = CredentialStore::new(&state);
    store
        .save(&credential)
        .with_context(|| format!("storing the device credential ({})", store.describe()))?;
    state.remove_status()?;
    state.save_enrollment(&enrollment)?;

    println!(
        "enrolled as {} with {}\norder-signing key pinned: {} (compare with the server's)\n\
         credential stored in the {}",
        enrollment.device_id,
        enrollment.server_url,
        enrollment.order_key_id,
        store.describe()
    );
    Ok(())
}
