//! The server's Ed25519 order-signing key, kept beside the database. Endpoints pin its
//! public half at enrollment, so whoever holds this file can have endpoints run catalog
//! actions (within their local policy): it is created readable by the server's user only.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use deskside_remediation::OrderSigner;

const KEY_FILE: &str = "order-signing.key";

/// Loads the key, creating it on first start.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<OrderSigner> {
    let path = data_dir.join(KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => OrderSigner::from_secret_string(text.trim())
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let signer = OrderSigner::generate().map_err(|e| anyhow::anyhow!("{e}"))?;
            write_private(&path, &signer.to_secret_string())
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(signer)
        }
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}
