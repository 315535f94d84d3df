//! Who may write the policy file. The policy is the endpoint's last word over what a signed
//! order may do, so a file another local user can change is no policy at all: that user
//! could append `[actions."process.kill"]` and wait for an approved order. The file and every
//! directory above it must be owned by root or by the account the agent runs as, and
//! writable by nobody else.
//!
//! A world-writable directory with the sticky bit (`/tmp`) is accepted when root or the
//! agent's account owns it: there, the kernel lets only an entry's owner rename or delete
//! it, and the entry below it is checked in turn, so nobody else can put another file or
//! directory in the policy's place.
//!
//! Windows: not written yet. The equivalent is a check of the file's and its folders' ACLs
//! (only SYSTEM and Administrators may write); until then the file is read as it is.

use std::fs::File;
use std::path::Path;

/// Opens the policy file for reading once it and its directories pass the check; the
/// checks on the file itself are made on the opened file, so it cannot be swapped between
/// the check and the read. The error is a sentence for the administrator.
#[cfg(unix)]
pub(super) fn open_trusted(path: &Path) -> Result<File, String> {
    let file = File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err("is not a regular file".into());
    }
    let trusted = trusted_uids();
    check_owner_and_mode(&meta, &trusted, false)
        .map_err(|why| format!("refused: the file {why}"))?;

    // Both the directories as named (a symlink's own directory decides who can re-point it)
    // and the ones the name resolves to.
    let absolute = std::path::absolute(path).map_err(|e| format!("cannot resolve: {e}"))?;
    let resolved = std::fs::canonicalize(path).map_err(|e| format!("cannot resolve: {e}"))?;
    let mut dirs: Vec<&Path> = absolute.ancestors().skip(1).collect();
    dirs.extend(resolved.ancestors().skip(1));
    dirs.sort_unstable();
    dirs.dedup();
    for dir in dirs {
        let meta = std::fs::metadata(dir)
            .map_err(|e| format!("cannot check its directory {}: {e}", dir.display()))?;
        check_owner_and_mode(&meta, &trusted, true)
            .map_err(|why| format!("refused: its directory {} {why}", dir.display()))?;
    }
    Ok(file)
}

/// Not written yet on Windows (see the module's note): the file is read as it is.
#[cfg(not(unix))]
pub(super) fn open_trusted(path: &Path) -> Result<File, String> {
    File::open(path).map_err(|e| format!("cannot read: {e}"))
}

/// Root and the account this process runs as.
#[cfg(unix)]
fn trusted_uids() -> [u32; 2] {
    [0, rustix::process::geteuid().as_raw()]
}

/// `Err(why)` when someone outside `trusted` owns it or group or others may write it
/// (a sticky directory owned by a trusted account excepted, see the module's note).
#[cfg(unix)]
fn check_owner_and_mode(
    meta: &std::fs::Metadata,
    trusted: &[u32],
    is_dir: bool,
) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;

    const GROUP_OR_OTHER_WRITE: u32 = 0o022;
    const STICKY: u32 = 0o1000;
    let mode = meta.mode() & 0o7777;
    if !trusted.contains(&meta.uid()) {
        return Err(format!(
            "is owned by uid {}, not by root or the agent's account (uid {}): anyone who can \
             change it could widen what this endpoint accepts",
            meta.uid(),
            trusted[trusted.len() - 1]
        ));
    }
    if mode & GROUP_OR_OTHER_WRITE != 0 && !(is_dir && mode & STICKY != 0) {
        return Err(format!(
            "is writable by {} (mode {mode:04o}): anyone who can change it could widen what \
             this endpoint accepts; make it writable by its owner only (chmod go-w)",
            if mode & 0o002 != 0 {
                "every local user"
            } else {
                "its group"
            }
        ));
    }
    Ok(())
}
