//! Writing the agent's files so that a crash or a power cut leaves the old version or the
//! new one, never a torn file, and never a moment where a private file is readable by others.

use std::io::Write;
use std::path::Path;

/// Mode of files only the agent (root) reads: credential, state, replay store, secrets.
#[cfg(unix)]
pub const PRIVATE_FILE_MODE: u32 = 0o600;
/// Mode of the state directory and of `pending-secrets/`.
#[cfg(unix)]
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// Mode of the policy file: the administrator's, readable by anyone who may read the dir.
#[cfg(unix)]
pub const POLICY_FILE_MODE: u32 = 0o644;

/// Who may read a file written by [`write_atomic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Owner only (0600 on Unix).
    Private,
    /// Owner writes, everyone reads (0644 on Unix).
    Public,
}

/// Writes `bytes` to `path` atomically and durably: a temporary file in the same directory
/// (created 0600, so a secret is never readable by others even for a moment), fsynced,
/// renamed over `path`, then the directory fsynced so the rename itself survives a crash.
pub fn write_atomic(path: &Path, bytes: &[u8], visibility: Visibility) -> std::io::Result<()> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match visibility {
            Visibility::Private => PRIVATE_FILE_MODE,
            Visibility::Public => POLICY_FILE_MODE,
        };
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = visibility;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(unix)]
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
pub fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    // Windows cannot open a directory as a file; NTFS journals the rename's metadata.
    Ok(())
}

/// Creates `dir` (and missing parents) if needed; the directory itself is created 0700 on
/// Unix. An existing directory is left as it is: see [`secure_private_dir`].
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    #[cfg(unix)]
    let builder = {
        use std::os::unix::fs::DirBuilderExt;
        let mut builder = std::fs::DirBuilder::new();
        builder.mode(PRIVATE_DIR_MODE);
        builder
    };
    #[cfg(not(unix))]
    let builder = std::fs::DirBuilder::new();
    match builder.create(dir) {
        Ok(()) => Ok(()),
        // Created meanwhile by somebody else: checked by the caller like any existing dir.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Makes sure nobody but the agent can get into `dir`: it must belong to the agent's user
/// and not be writable by anyone else (someone who could write there could swap the
/// agent's files); if others can merely read or enter it, it is made private (0700) and the
/// old mode returned. A shared directory such as `/tmp` is refused, never changed.
#[cfg(unix)]
pub fn secure_private_dir(dir: &Path) -> Result<Option<u32>, String> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(format!(
            "{} belongs to uid {}, not to the agent's user (uid {me}); it would hold the \
             device's secrets: choose a directory of your own with --state-dir",
            dir.display(),
            meta.uid()
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(format!(
            "{} is writable by other users (mode {mode:03o}); it would hold the device's \
             secrets: make it private (chmod 700 {}) or choose another --state-dir",
            dir.display(),
            dir.display()
        ));
    }
    if mode & 0o077 == 0 {
        return Ok(None);
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(PRIVATE_DIR_MODE))
        .map_err(|e| format!("making {} private: {e}", dir.display()))?;
    Ok(Some(mode))
}

/// On Windows the directory's ACL decides; the installer creates `%ProgramData%\Deskside`
/// for SYSTEM and Administrators only (changing ACLs needs Win32 calls we do not make here).
#[cfg(not(unix))]
pub fn secure_private_dir(dir: &Path) -> Result<Option<u32>, String> {
    if dir.is_dir() {
        Ok(None)
    } else {
        Err(format!("{} is not a directory", dir.display()))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn atomic_writes_replace_the_file_with_the_requested_mode_and_leave_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.json");
        write_atomic(&path, b"one", Visibility::Public).unwrap();
        assert_eq!(mode(&path), 0o644);
        write_atomic(&path, b"two", Visibility::Private).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(mode(&path), 0o600);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["agent.json"]);
    }

    #[test]
    fn a_new_state_dir_is_private_a_readable_one_is_tightened_a_writable_one_refused() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("var/lib/deskside-agent");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(secure_private_dir(&dir), Ok(None));
        // An existing directory keeps its mode when created again…
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o755);
        // …is made private when others can only look in…
        assert_eq!(secure_private_dir(&dir), Ok(Some(0o755)));
        assert_eq!(mode(&dir), 0o700);
        // …and refused, untouched, when others can write (a shared directory like /tmp).
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let error = secure_private_dir(&dir).unwrap_err();
        assert!(
            error.contains("writable by other users") && error.contains("chmod 700"),
            "{error}"
        );
        assert_eq!(mode(&dir), 0o777);
        let file = root.path().join("file");
        std::fs::write(&file, "").unwrap();
        assert!(
            secure_private_dir(&file)
                .unwrap_err()
                .contains("not a directory")
        );
    }
}
