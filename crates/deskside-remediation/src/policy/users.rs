//! Who is an administrator, for the password-reset rule. Reads the account databases
//! directly instead of running `id`: policy checks happen on every order and must not spawn.

use std::path::PathBuf;

/// Answers "is this account an administrator?". `Err` means "cannot tell"; the policy then
/// refuses, as it would for an administrator.
pub trait UserDirectory: Send + Sync {
    fn is_admin(&self, username: &str, admin_groups: &[String]) -> Result<bool, String>;
}

/// `/etc/passwd` and `/etc/group`: an account is an administrator when its uid is 0, or its
/// primary group or any supplementary membership is one of the admin groups.
///
/// On macOS local accounts live in Directory Services, not these files, and on Windows the
/// files do not exist: there every account is "cannot tell", so only accounts listed by
/// name in the policy can be reset. (Fail closed until a native lookup is written.)
#[derive(Debug, Clone)]
pub struct SystemUserDirectory {
    passwd: PathBuf,
    group: PathBuf,
}

impl Default for SystemUserDirectory {
    fn default() -> Self {
        Self::with_files("/etc/passwd", "/etc/group")
    }
}

impl SystemUserDirectory {
    /// Reads other files (tests, chroots).
    pub fn with_files(passwd: impl Into<PathBuf>, group: impl Into<PathBuf>) -> Self {
        Self {
            passwd: passwd.into(),
            group: group.into(),
        }
    }
}

impl UserDirectory for SystemUserDirectory {
    fn is_admin(&self, username: &str, admin_groups: &[String]) -> Result<bool, String> {
        let passwd = std::fs::read_to_string(&self.passwd)
            .map_err(|e| format!("cannot read {}: {e}", self.passwd.display()))?;
        let entry = passwd
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.len() >= 4 && f[0] == username)
            .ok_or_else(|| format!("no local account named `{username}`"))?;
        if entry[2] == "0" {
            return Ok(true);
        }
        let primary_gid = entry[3];
        let group = std::fs::read_to_string(&self.group)
            .map_err(|e| format!("cannot read {}: {e}", self.group.display()))?;
        for line in group.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 4 || !admin_groups.iter().any(|g| g == f[0]) {
                continue;
            }
            if f[2] == primary_gid || f[3].split(',').any(|m| m.trim() == username) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
