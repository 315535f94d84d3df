//! Findings and diffs over recorded snapshots (`tests/fixtures`), and a live snapshot of
//! this machine.

mod diff;
mod findings;
mod live;

use deskside_diagnostics::Snapshot;

pub fn fixture(name: &str) -> Snapshot {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}
