//! The data folder holds the database, its write-ahead log and the server's keys: whoever
//! reads it reads every ticket and password hash, whoever writes it can sign orders. It is
//! kept readable by the server's user only: the folder 0700, every file in it 0600, set
//! explicitly after creation (whatever the umask) and tightened on every start for folders
//! an older version or an operator left looser, with a log line saying so.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

#[cfg(unix)]
const FOLDER_MODE: u32 = 0o700;
#[cfg(unix)]
const FILE_MODE: u32 = 0o600;

/// Creates `data_dir` if needed and makes it and every file in it private.
pub fn prepare_data_dir(data_dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(FOLDER_MODE);
    }
    builder
        .create(data_dir)
        .with_context(|| format!("creating data folder {}", data_dir.display()))?;
    #[cfg(unix)]
    {
        restrict(data_dir, FOLDER_MODE)?;
        let entries = std::fs::read_dir(data_dir)
            .with_context(|| format!("reading data folder {}", data_dir.display()))?;
        for entry in entries {
            let entry = entry?;
            if !entry.file_type()?.is_file() {
                continue;
            }
            match restrict(&entry.path(), FILE_MODE) {
                // SQLite deletes its -wal and -shm when the last connection closes, maybe in
                // another process right now: a file gone since the listing needs nothing.
                Err(error)
                    if error
                        .downcast_ref::<std::io::Error>()
                        .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound) => {}
                other => other?,
            }
        }
    }
    Ok(())
}

/// Makes an existing file readable by the server's user only (see the module docs).
pub fn make_private(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    restrict(path, FILE_MODE)?;
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Creates `path` (it must not exist) readable by the server's user only, with `text`,
/// flushed to disk.
pub fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    let write = || -> std::io::Result<()> {
        let mut file = options.open(path)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()
    };
    write().with_context(|| format!("writing {}", path.display()))?;
    make_private(path)
}

/// Replaces `path` with `text` atomically (a private temporary file renamed over it), so a
/// reader sees the old content or the new, never half of either.
pub fn replace(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = std::path::PathBuf::from(temporary);
    match std::fs::remove_file(&temporary) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(error).with_context(|| format!("removing {}", temporary.display()));
        }
    }
    write_new(&temporary, text)?;
    std::fs::rename(&temporary, path).with_context(|| format!("replacing {}", path.display()))
}

/// Sets exactly `mode` when the current mode differs, and logs a loosening found.
#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current = std::fs::metadata(path)
        .with_context(|| format!("reading the mode of {}", path.display()))?
        .permissions()
        .mode()
        & 0o7777;
    if current == mode {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("making {} private", path.display()))?;
    if current & !mode != 0 {
        tracing::warn!(
            path = %path.display(),
            from = format!("{current:04o}"),
            to = format!("{mode:04o}"),
            "tightened permissions: the data folder must be readable by the server's user only"
        );
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_file_gone_since_the_listing_is_no_error() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("deskside.db-wal");
        std::fs::write(&gone, "").unwrap();
        std::fs::remove_file(&gone).unwrap();
        let error = restrict(&gone, FILE_MODE).unwrap_err();
        assert!(
            error
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound),
            "{error:#}"
        );
        prepare_data_dir(dir.path()).unwrap();
    }
}
