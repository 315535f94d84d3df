//! `disk.clean_temp` on Unix: delete what nobody touched for a week from the temporary
//! directories, as root, in directories every user can write to. That is the classic
//! tmp-cleaner attack surface (swap a directory for a symlink to /etc mid-walk), so the walk
//! is done on directory file descriptors with `rustix`'s `*at` calls:
//! - every directory is opened with `O_NOFOLLOW | O_DIRECTORY` relative to its already-open
//!   parent, and checked (device, inode) against what was just `lstat`ed: a swapped entry
//!   is skipped, a symlink is never entered;
//! - entries are unlinked relative to their parent's descriptor, so a rename of a parent
//!   cannot redirect the deletion elsewhere;
//! - anything on another device (a mount point) is left alone, as are sockets, FIFOs and
//!   device nodes (a live X11 socket is old by mtime yet in use);
//! - a symbolic link is removed as itself (by its own age), never through its target.
//!
//! "Untouched" is the newer of access and modification time; change time is ignored because
//! no tool can set it, which makes the behaviour testable and matches `tmpreaper`.

use std::ffi::{CStr, CString, OsStr};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, Stat};
use serde::Serialize;

/// Files untouched for this long are deleted.
pub const DEFAULT_TEMP_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Entries at the top of a temp directory that belong to running sessions.
const PROTECTED_TOP: &[&str] = &[
    ".X11-unix",
    ".ICE-unix",
    ".XIM-unix",
    ".font-unix",
    ".Test-unix",
    "lost+found",
];

/// Deep enough for any real temp tree; bounds the descriptors one walk holds open.
const MAX_DEPTH: usize = 64;

const MAX_ERRORS: usize = 10;

/// What a clean (or a dry run) found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CleanStats {
    pub files_removed: u64,
    pub dirs_removed: u64,
    /// Sizes of removed regular files that had no other hard link.
    pub bytes_freed: u64,
    /// Old files a dry run would remove, or that a real run could not.
    pub old_files_left: u64,
    pub special_skipped: u64,
    pub other_fs_skipped: u64,
    pub errors: Vec<String>,
}

impl CleanStats {
    fn error(&mut self, path: &Path, what: &str, e: impl std::fmt::Display) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(format!("{}: {what}: {e}", path.display()));
        }
    }
}

struct Walk {
    cutoff: i64,
    dry_run: bool,
    stats: CleanStats,
}

/// Cleans (or, with `dry_run`, counts) files under each root older than `max_age` at `now`.
pub fn clean_temp(
    roots: &[PathBuf],
    max_age: Duration,
    now: SystemTime,
    dry_run: bool,
) -> CleanStats {
    let cutoff = now
        .checked_sub(max_age)
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let mut walk = Walk {
        cutoff,
        dry_run,
        stats: CleanStats::default(),
    };
    for root in roots {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match rustix::fs::open(root, flags, Mode::empty()) {
            Ok(fd) => match rustix::fs::fstat(&fd) {
                Ok(st) => walk.dir(&fd, Meta::of(&st).dev, root, 0),
                Err(e) => walk.stats.error(root, "stat", e),
            },
            // A system without /var/tmp has nothing to clean there.
            Err(rustix::io::Errno::NOENT) => {}
            Err(e) => walk.stats.error(root, "open", e),
        }
    }
    walk.stats
}

/// The fields we use, as one type on every platform (`Stat`'s field types vary).
struct Meta {
    dev: u64,
    ino: u64,
    nlink: u64,
    size: u64,
    touched: i64,
    kind: FileType,
}

impl Meta {
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    fn of(st: &Stat) -> Self {
        Self {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            nlink: st.st_nlink as u64,
            size: u64::try_from(st.st_size).unwrap_or(0),
            touched: (st.st_atime as i64).max(st.st_mtime as i64),
            kind: FileType::from_raw_mode(st.st_mode.into()),
        }
    }
}

impl Walk {
    fn dir(&mut self, fd: &OwnedFd, dev: u64, path: &Path, depth: usize) {
        let names = match list(fd) {
            Ok(n) => n,
            Err(e) => return self.stats.error(path, "read directory", e),
        };
        for name in names {
            let child = path.join(OsStr::from_bytes(name.as_bytes()));
            let st = match rustix::fs::statat(fd, &name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => Meta::of(&st),
                // Gone meanwhile: someone else cleaned it.
                Err(rustix::io::Errno::NOENT) => continue,
                Err(e) => {
                    self.stats.error(&child, "stat", e);
                    continue;
                }
            };
            if st.dev != dev {
                self.stats.other_fs_skipped += 1;
                continue;
            }
            let old = st.touched < self.cutoff;
            match st.kind {
                FileType::RegularFile | FileType::Symlink => {
                    if old {
                        self.remove_file(fd, &name, &child, &st);
                    }
                }
                FileType::Directory => {
                    if depth == 0
                        && PROTECTED_TOP
                            .iter()
                            .any(|p| p.as_bytes() == name.as_bytes())
                    {
                        continue;
                    }
                    if depth + 1 >= MAX_DEPTH {
                        self.stats.error(&child, "walk", "too deep, not entered");
                        continue;
                    }
                    self.subdir(fd, &name, &child, &st, depth);
                }
                _ => self.stats.special_skipped += 1,
            }
        }
    }

    fn remove_file(&mut self, parent: &OwnedFd, name: &CStr, path: &Path, st: &Meta) {
        if self.dry_run {
            self.stats.old_files_left += 1;
            return;
        }
        match rustix::fs::unlinkat(parent, name, AtFlags::empty()) {
            Ok(()) => {
                self.stats.files_removed += 1;
                if st.kind == FileType::RegularFile && st.nlink == 1 {
                    self.stats.bytes_freed += st.size;
                }
            }
            Err(rustix::io::Errno::NOENT) => {}
            Err(e) => {
                self.stats.old_files_left += 1;
                self.stats.error(path, "delete", e);
            }
        }
    }

    fn subdir(&mut self, parent: &OwnedFd, name: &CStr, path: &Path, st: &Meta, depth: usize) {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let sub = match rustix::fs::openat(parent, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            // Replaced by a symlink or a file since the lstat: not ours to follow.
            Err(rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR | rustix::io::Errno::NOENT) => {
                return;
            }
            Err(e) => return self.stats.error(path, "open", e),
        };
        match rustix::fs::fstat(&sub) {
            Ok(now) => {
                let now = Meta::of(&now);
                if now.dev != st.dev || now.ino != st.ino {
                    return; // swapped between lstat and open
                }
            }
            Err(e) => return self.stats.error(path, "stat", e),
        }
        self.dir(&sub, st.dev, path, depth + 1);
        drop(sub);
        // Judged by its age before we walked it (reading it just refreshed its atime).
        if !self.dry_run && st.touched < self.cutoff {
            match rustix::fs::unlinkat(parent, name, AtFlags::REMOVEDIR) {
                Ok(()) => self.stats.dirs_removed += 1,
                // Still holds something young, or went away: both fine.
                Err(
                    rustix::io::Errno::NOTEMPTY
                    | rustix::io::Errno::EXIST
                    | rustix::io::Errno::NOENT,
                ) => {}
                Err(e) => self.stats.error(path, "remove directory", e),
            }
        }
    }
}

/// The entry names of a directory, read fully before anything in it is deleted.
fn list(fd: &OwnedFd) -> rustix::io::Result<Vec<CString>> {
    let mut names = Vec::new();
    for entry in Dir::read_from(fd)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_bytes() != b"." && name.to_bytes() != b".." {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

/// The `disk.clean_temp` action: clean, then verify with a dry run that nothing old is left.
pub(crate) fn clean_temp_action(
    ctx: &mut crate::execute::Ctx,
    roots: &[PathBuf],
    max_age: Duration,
) -> crate::execute::Outcome {
    use crate::execute::{Done, Verification};

    let stats = clean_temp(roots, max_age, SystemTime::now(), false);
    let days = max_age.as_secs() / 86_400;
    let where_ = roots
        .iter()
        .map(|r| r.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    ctx.log.note(&format!(
        "cleaned {where_}: {} files and {} directories removed, {} bytes freed, {} special files \
         and {} other-filesystem entries skipped",
        stats.files_removed,
        stats.dirs_removed,
        stats.bytes_freed,
        stats.special_skipped,
        stats.other_fs_skipped
    ));
    for e in &stats.errors {
        ctx.log.note(e);
    }
    let check = clean_temp(roots, max_age, SystemTime::now(), true);
    let verification = if check.old_files_left == 0 {
        Verification::Verified {
            detail: format!("no file untouched for {days} days is left in {where_}"),
        }
    } else {
        Verification::Failed {
            reason: format!(
                "{} file(s) untouched for {days} days are still there{}",
                check.old_files_left,
                stats
                    .errors
                    .first()
                    .map(|e| format!(" (first error: {e})"))
                    .unwrap_or_default()
            ),
        }
    };
    Ok(Done::new(
        format!(
            "removed {} files and {} directories, freeing {}",
            stats.files_removed,
            stats.dirs_removed,
            human_bytes(stats.bytes_freed)
        ),
        verification,
    ))
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {} ({n} bytes)", UNITS[unit])
}
