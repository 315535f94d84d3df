//! Who a uid is: the account name and the person's name, as the operating system knows
//! them. The bridge asks the kernel for a connecting process's uid and looks the uid up
//! here; nothing a client sends is trusted for this.
//!
//! Lookup order: `/etc/passwd` (local accounts, read and parsed here); then, on Linux,
//! `getent passwd UID` (the system's name service: LDAP, SSSD, Active Directory accounts
//! that are not in the file), run by absolute path with a timeout; then, on macOS,
//! sysinfo's user list (Directory Services accounts; name only).

use std::path::Path;

/// The password database file.
pub const PASSWD_FILE: &str = "/etc/passwd";
/// Largest passwd file read: far beyond any real machine's.
const MAX_PASSWD_BYTES: u64 = 16 * 1024 * 1024;
/// How long `getent` may take (a directory server may be slow or gone).
#[cfg(target_os = "linux")]
const GETENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// One account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub uid: u32,
    pub name: String,
    /// The person's full name: the GECOS field's first comma-separated part, if not empty.
    pub full_name: Option<String>,
}

/// Parses one `passwd(5)` line: `name:password:uid:gid:gecos:home:shell`. Comments, blank
/// lines, NIS compat entries (`+`/`-`) and malformed lines give `None`.
pub fn parse_line(line: &str) -> Option<Account> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() || line.starts_with('#') {
        return None;
    }
    let fields: Vec<&str> = line.split(':').collect();
    if fields.len() < 7 {
        return None;
    }
    let name = fields[0];
    if name.is_empty()
        || name.starts_with(['+', '-'])
        || name.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return None;
    }
    let uid: u32 = fields[2].parse().ok()?;
    let full_name = fields[4]
        .split(',')
        .next()
        .map(str::trim)
        .filter(|n| !n.is_empty() && !n.chars().any(char::is_control))
        .map(|n| {
            // `&` in the GECOS name stands for the capitalised login name (BSD heritage).
            if n.contains('&') {
                n.replace('&', &capitalised(name))
            } else {
                n.to_owned()
            }
        });
    Some(Account {
        uid,
        name: name.to_owned(),
        full_name,
    })
}

fn capitalised(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The first account with `uid` in a passwd file's text (the first one wins, as for the
/// C library: later duplicates are ignored).
pub fn find_uid(passwd: &str, uid: u32) -> Option<Account> {
    passwd
        .lines()
        .filter_map(parse_line)
        .find(|account| account.uid == uid)
}

/// The account behind `uid`, or `None` when the system does not know it. Blocking: call it
/// from a blocking thread.
pub fn lookup(uid: u32) -> Option<Account> {
    if let Some(account) = read_passwd(Path::new(PASSWD_FILE)).and_then(|t| find_uid(&t, uid)) {
        return Some(account);
    }
    #[cfg(target_os = "linux")]
    if let Some(account) = getent(uid) {
        return Some(account);
    }
    #[cfg(target_os = "macos")]
    if let Some(account) = sysinfo_user(uid) {
        return Some(account);
    }
    None
}

fn read_passwd(path: &Path) -> Option<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    let mut text = String::new();
    file.take(MAX_PASSWD_BYTES).read_to_string(&mut text).ok()?;
    Some(text)
}

/// `getent passwd UID`: the name service's answer, in passwd format.
#[cfg(target_os = "linux")]
fn getent(uid: u32) -> Option<Account> {
    use std::io::Read;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let program = ["/usr/bin/getent", "/bin/getent"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.is_file())?;
    let mut child = Command::new(program)
        .args(["passwd", &uid.to_string()])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + GETENT_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                tracing::warn!(uid, "getent passwd did not answer in time");
                return None;
            }
        }
    };
    if !status.success() {
        return None;
    }
    let mut out = String::new();
    child
        .stdout
        .take()?
        .take(64 * 1024)
        .read_to_string(&mut out)
        .ok()?;
    find_uid(&out, uid)
}

#[cfg(target_os = "macos")]
fn sysinfo_user(uid: u32) -> Option<Account> {
    let users = sysinfo::Users::new_with_refreshed_list();
    users
        .list()
        .iter()
        .find(|user| **user.id() == uid)
        .map(|user| Account {
            uid,
            name: user.name().to_owned(),
            full_name: None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "\
# local accounts
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin

alice:x:1000:1000:Alice Example,Room 2.17,+49 30 1234,,alice@example.org:/home/alice:/bin/bash
bob:x:1001:1001::/home/bob:/bin/sh
carol:x:1002:1002: , ,:/home/carol:/bin/zsh
dave:x:1003:1003:& the Builder:/home/dave:/bin/bash
+nisuser:x:1004:1004:NIS:/home/nis:/bin/sh
broken:x:notanumber:1005:Broken:/home/broken:/bin/sh
short:x:1006
root2:x:0:0:second root:/root:/bin/bash
crlf:x:1007:1007:Windows Edited\r
émile:x:1008:1008:Émile Zola:/home/emile:/bin/bash
";

    #[test]
    fn a_full_line_gives_name_uid_and_the_gecos_full_name() {
        assert_eq!(
            find_uid(PASSWD, 1000),
            Some(Account {
                uid: 1000,
                name: "alice".into(),
                full_name: Some("Alice Example".into()),
            })
        );
        assert_eq!(find_uid(PASSWD, 0).unwrap().name, "root");
        assert_eq!(
            find_uid(PASSWD, 0).unwrap().full_name.as_deref(),
            Some("root")
        );
        assert_eq!(
            find_uid(PASSWD, 1008).unwrap().full_name.as_deref(),
            Some("Émile Zola")
        );
    }

    #[test]
    fn an_empty_gecos_field_gives_no_full_name() {
        assert_eq!(find_uid(PASSWD, 1001).unwrap().full_name, None);
        assert_eq!(find_uid(PASSWD, 1002).unwrap().full_name, None);
    }

    #[test]
    fn an_ampersand_stands_for_the_capitalised_login() {
        assert_eq!(
            find_uid(PASSWD, 1003).unwrap().full_name.as_deref(),
            Some("Dave the Builder")
        );
    }

    #[test]
    fn comments_compat_entries_and_malformed_lines_are_skipped() {
        assert_eq!(find_uid(PASSWD, 1004), None, "NIS compat entry");
        assert_eq!(find_uid(PASSWD, 1005), None);
        assert_eq!(find_uid(PASSWD, 1006), None, "too few fields");
        assert_eq!(find_uid(PASSWD, 1007), None, "too few fields");
        assert_eq!(find_uid(PASSWD, 4242), None);
        assert_eq!(parse_line("# root:x:0:0:root:/root:/bin/bash"), None);
        assert_eq!(parse_line(""), None);
        assert_eq!(parse_line(":x:5:5::/:/bin/sh"), None, "no name");
        assert_eq!(parse_line("a b:x:5:5::/:/bin/sh"), None, "space in name");
        assert_eq!(parse_line("neg:x:-1:5::/:/bin/sh"), None);
        assert_eq!(parse_line("big:x:4294967296:5::/:/bin/sh"), None);
    }

    #[test]
    fn the_first_entry_for_a_uid_wins() {
        assert_eq!(find_uid(PASSWD, 0).unwrap().name, "root");
    }

    #[test]
    fn a_line_ending_in_crlf_still_parses() {
        let account = parse_line("eve:x:1010:1010:Eve Adams:/home/eve:/bin/bash\r\n").unwrap();
        assert_eq!(account.name, "eve");
        assert_eq!(account.full_name.as_deref(), Some("Eve Adams"));
    }

    #[cfg(unix)]
    #[test]
    fn this_process_s_own_uid_is_found() {
        let uid = rustix::process::getuid().as_raw();
        let account = lookup(uid).expect("the test's own account is known");
        assert_eq!(account.uid, uid);
        assert!(!account.name.is_empty());
    }
}
