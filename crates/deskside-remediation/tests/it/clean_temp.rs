use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use deskside_remediation::execute::{LinuxExecutor, clean_temp};
use deskside_remediation::{ActionParams, Executor, Verification};
use rustix::fs::{AtFlags, CWD, Timespec, Timestamps};

use crate::support::{Cleanup, requires, sh, skip, verified};

const DAY: Duration = Duration::from_secs(86_400);

/// Sets access and modification times `age` ago, on the entry itself (never a link target).
fn age(path: &Path, age: Duration) {
    let t = SystemTime::now() - age;
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
    let ts = Timespec {
        tv_sec: secs,
        tv_nsec: 0,
    };
    rustix::fs::utimensat(
        CWD,
        path,
        &Timestamps {
            last_access: ts,
            last_modification: ts,
        },
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn write(path: &Path, bytes: usize, days_old: u64) {
    std::fs::write(path, vec![b'x'; bytes]).unwrap();
    age(path, DAY * days_old as u32);
}

fn executor(root: &Path) -> LinuxExecutor {
    LinuxExecutor {
        temp_roots: vec![root.to_owned()],
        ..LinuxExecutor::default()
    }
}

#[test]
fn old_files_go_young_files_links_targets_sockets_and_sessions_stay() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("tmp");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&outside).unwrap();

    write(&root.join("old.log"), 1000, 8);
    write(&root.join("young.log"), 10, 1);
    // An old directory holding only old files disappears entirely…
    std::fs::create_dir(root.join("old-dir")).unwrap();
    write(&root.join("old-dir/a"), 200, 30);
    // …a young one keeps its young content and itself.
    std::fs::create_dir(root.join("young-dir")).unwrap();
    write(&root.join("young-dir/old"), 300, 10);
    write(&root.join("young-dir/new"), 1, 0);
    // An old symlink to an old file outside: the link goes, the target stays.
    write(&outside.join("precious"), 5, 100);
    std::os::unix::fs::symlink(outside.join("precious"), root.join("link-to-file")).unwrap();
    age(&root.join("link-to-file"), DAY * 9);
    // A young symlink to a directory outside: never followed into.
    std::os::unix::fs::symlink(&outside, root.join("link-to-dir")).unwrap();
    // An old socket: skipped.
    let _listener = UnixListener::bind(root.join("app.sock")).unwrap();
    age(&root.join("app.sock"), DAY * 30);
    // A session directory at the top: left alone whatever its age.
    std::fs::create_dir(root.join(".X11-unix")).unwrap();
    write(&root.join(".X11-unix/old"), 1, 30);
    // Old young-dir set last: writing inside it refreshed its mtime.
    age(&root.join("old-dir"), DAY * 30);

    let order = verified(ActionParams::DiskCleanTemp);
    let report = executor(&root).run(&order, Duration::from_secs(60)).report;
    assert!(report.succeeded(), "{report:#?}");
    assert!(
        matches!(report.verification, Verification::Verified { .. }),
        "{report:#?}"
    );

    let exists = |p: &str| root.join(p).symlink_metadata().is_ok();
    for gone in ["old.log", "old-dir", "young-dir/old", "link-to-file"] {
        assert!(!exists(gone), "{gone} should be gone");
    }
    for kept in [
        "young.log",
        "young-dir",
        "young-dir/new",
        "link-to-dir",
        "app.sock",
        ".X11-unix/old",
    ] {
        assert!(exists(kept), "{kept} should be kept");
    }
    assert!(outside.join("precious").exists());
    // 1000 + 200 + 300 bytes of regular files; the symlink frees nothing countable.
    assert!(
        report
            .summary
            .starts_with("removed 4 files and 1 directories, freeing 1.5 KiB (1500 bytes)"),
        "{}",
        report.summary
    );
}

#[test]
fn a_dry_run_counts_without_deleting() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("old"), 10, 8);
    let stats = clean_temp(&[tmp.path().to_owned()], 7 * DAY, SystemTime::now(), true);
    assert_eq!(stats.old_files_left, 1);
    assert_eq!(stats.files_removed, 0);
    assert!(tmp.path().join("old").exists());
    // A missing root is nothing to clean, not an error.
    let none = clean_temp(
        &[tmp.path().join("missing")],
        7 * DAY,
        SystemTime::now(),
        false,
    );
    assert!(none.errors.is_empty());
}

#[test]
fn a_symlinked_root_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real");
    std::fs::create_dir(&real).unwrap();
    write(&real.join("old"), 10, 30);
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let stats = clean_temp(&[link], 7 * DAY, SystemTime::now(), false);
    assert_eq!(stats.files_removed, 0);
    assert_eq!(stats.errors.len(), 1, "{stats:?}");
    assert!(real.join("old").exists());
}

#[test]
fn another_file_system_inside_a_temp_directory_is_left_alone() {
    const TEST: &str = "another_file_system_inside_a_temp_directory_is_left_alone";
    if let Some(why) = requires(true, &["mount", "umount"]) {
        return skip(TEST, &why);
    }
    let tmp = tempfile::tempdir().unwrap();
    let mnt: PathBuf = tmp.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let out = sh(
        "mount",
        &[
            "-t",
            "tmpfs",
            "-o",
            "size=1m",
            "deskside-test",
            mnt.to_str().unwrap(),
        ],
    );
    if !out.status.success() {
        return skip(
            TEST,
            &format!(
                "cannot mount a tmpfs here: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        );
    }
    let _unmount = Cleanup(|| {
        let _ = sh("umount", &[mnt.to_str().unwrap()]);
    });
    write(&mnt.join("old-on-other-fs"), 10, 30);
    write(&tmp.path().join("old-here"), 10, 30);
    let stats = clean_temp(&[tmp.path().to_owned()], 7 * DAY, SystemTime::now(), false);
    assert!(mnt.join("old-on-other-fs").exists());
    assert!(!tmp.path().join("old-here").exists());
    assert_eq!(stats.other_fs_skipped, 1, "{stats:?}");
}
