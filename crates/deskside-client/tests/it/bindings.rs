//! The TypeScript bindings in `ui/src/bindings/` are generated from `deskside_client::views`
//! and committed; this fails when they are stale. `UPDATE_BINDINGS=1 cargo test -p
//! deskside-client bindings` rewrites them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn read_dir(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|entry| entry.expect("bindings dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "ts"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).expect("read binding"))
        })
        .collect()
}

#[test]
fn typescript_bindings_are_fresh() {
    let committed_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/bindings");
    let fresh_dir = tempfile::tempdir().unwrap();
    deskside_client::views::export_bindings(fresh_dir.path()).expect("export bindings");
    let fresh = read_dir(fresh_dir.path());
    assert!(
        fresh.contains_key("Ticket.ts"),
        "core types are exported too"
    );

    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::create_dir_all(&committed_dir).unwrap();
        for stale in read_dir(&committed_dir).keys() {
            std::fs::remove_file(committed_dir.join(stale)).unwrap();
        }
        for (name, text) in &fresh {
            std::fs::write(committed_dir.join(name), text).unwrap();
        }
        return;
    }
    let committed = read_dir(&committed_dir);
    let missing: Vec<_> = fresh
        .keys()
        .filter(|k| !committed.contains_key(*k))
        .collect();
    let extra: Vec<_> = committed
        .keys()
        .filter(|k| !fresh.contains_key(*k))
        .collect();
    let changed: Vec<_> = fresh
        .iter()
        .filter(|(k, v)| committed.get(*k).is_some_and(|c| c != *v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && changed.is_empty(),
        "ui/src/bindings is stale (missing {missing:?}, extra {extra:?}, changed {changed:?}): \
         run `UPDATE_BINDINGS=1 cargo test -p deskside-client bindings` and commit the result"
    );
}
