//! The server's Ed25519 order-signing key, kept beside the database. Endpoints pin its
//! public half at enrollment, so whoever holds this file can have endpoints run catalog
//! actions (within their local policy): it is created readable by the server's user only.

use std::path::Path;

use anyhow::Context;
use deskside_remediation::OrderSigner;

use crate::private_files;

const KEY_FILE: &str = "order-signing.key";

/// Loads the key, creating it on first start.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<OrderSigner> {
    let path = data_dir.join(KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => OrderSigner::from_secret_string(text.trim())
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let signer = OrderSigner::generate().map_err(|e| anyhow::anyhow!("{e}"))?;
            private_files::write_new(&path, &signer.to_secret_string())?;
            Ok(signer)
        }
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}
