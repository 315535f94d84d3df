//! The data folder: readable by the server's user only, whatever the umask and whatever an
//! older version left; and a write-ahead log that stays bounded through a burst of writes.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use reqwest::{Method, StatusCode};

use crate::support::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Every file in `dir` and their modes, for the failure message.
fn modes(dir: &Path) -> Vec<(String, u32)> {
    let mut found: Vec<(String, u32)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (
                entry.file_name().to_string_lossy().into_owned(),
                mode(&entry.path()),
            )
        })
        .collect();
    found.sort();
    found
}

#[track_caller]
fn assert_private(dir: &Path, expected_files: &[&str]) {
    assert_eq!(mode(dir), 0o700, "the data folder");
    let found = modes(dir);
    for name in expected_files {
        assert!(
            found.iter().any(|(file, _)| file == name),
            "{name} missing: {found:?}"
        );
    }
    let loose: Vec<_> = found.iter().filter(|(_, m)| *m != 0o600).collect();
    assert!(loose.is_empty(), "files not 0600: {loose:?}");
}

const FILES: &[&str] = &[
    "deskside.db",
    "deskside.db-wal",
    "deskside.db-shm",
    "order-signing.key",
];

#[tokio::test]
async fn the_data_folder_and_its_files_are_private_and_tightened_on_start() {
    let mut app = spawn_app().await;
    let alice = app.login("alice").await;
    app.create_ticket(&alice, printer_ticket()).await;
    assert_private(&app.data_dir, FILES);

    // As an older version (or a careless copy) left it: world-readable.
    app.server.take().expect("running").stop();
    std::fs::set_permissions(&app.data_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for name in FILES {
        let path = app.data_dir.join(name);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    app.restart().await;
    assert_private(&app.data_dir, FILES);
    let (status, _) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&alice), None)
        .await;
    assert_eq!(status, StatusCode::OK, "the tightened server still serves");
}

#[tokio::test]
async fn a_new_data_folder_is_private_even_under_a_permissive_umask() {
    let parent = tempfile::tempdir().unwrap();
    let data_dir = parent.path().join("fresh").join("data");
    // The real binary, creating the folder and database from nothing with umask 000.
    let output = tokio::task::spawn_blocking({
        let data_dir = data_dir.clone();
        move || {
            use std::io::Write;
            let mut child = std::process::Command::new("sh")
                .args(["-c", "umask 000 && exec \"$0\" \"$@\""])
                .arg(env!("CARGO_BIN_EXE_deskside-server"))
                .args(["user", "add", "--username", "ada", "--role", "admin"])
                .arg("--data-dir")
                .arg(&data_dir)
                .arg("--password-stdin")
                .env("DESKSIDE_LOG", "warn")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("the binary starts");
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b"a long enough password\n")
                .unwrap();
            child.wait_with_output().unwrap()
        }
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_private(&data_dir, &["deskside.db", "order-signing.key"]);
}

/// A burst of creates over HTTP while a thread samples the WAL's size: with a 1 MiB bound it
/// stays near it (the bound plus what one batch adds), where without the writer's
/// checkpoints it grows with every ticket written (passive checkpoints cannot restart it
/// while writes keep coming).
#[tokio::test]
async fn the_write_ahead_log_stays_bounded_through_a_burst_of_creates() {
    const LIMIT: u64 = 1024 * 1024;
    // The bound plus the frames of one group-commit batch of this test's 64 writers (under
    // 1 MiB here), with room; without the bound this burst takes the WAL past 14 MB.
    const ALLOWED: u64 = 4 * LIMIT;
    const TICKETS: usize = 4000;
    const WRITERS: usize = 64;
    let app = Arc::new(spawn_app_with(|config| config.wal_limit_bytes = LIMIT).await);
    let token = Arc::new(app.login("alice").await);

    let wal = app.data_dir.join("deskside.db-wal");
    let done = Arc::new(AtomicBool::new(false));
    let largest = Arc::new(AtomicU64::new(0));
    let sampler = std::thread::spawn({
        let (done, largest) = (done.clone(), largest.clone());
        move || {
            while !done.load(Ordering::Relaxed) {
                let size = std::fs::metadata(&wal).map_or(0, |m| m.len());
                largest.fetch_max(size, Ordering::Relaxed);
                std::thread::yield_now();
            }
        }
    });

    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move {
                for _ in 0..TICKETS / WRITERS {
                    app.create_ticket(&token, printer_ticket()).await;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();

    let created = app
        .database()
        .query_row("SELECT count(*) FROM tickets", [], |r| r.get::<_, i64>(0))
        .unwrap();
    assert_eq!(created, (TICKETS / WRITERS * WRITERS) as i64);
    let largest = largest.load(Ordering::Relaxed);
    eprintln!("largest WAL during the burst: {largest} bytes");
    assert!(
        largest <= ALLOWED,
        "the WAL reached {largest} bytes, over its {LIMIT}-byte bound plus one batch"
    );
}
