use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use super::*;
use crate::catalog::Pid;

/// A directory where `alice` is a plain user, `admin` is in `sudo` (supplementary),
/// `wheely` has `wheel` as primary group and `toor` has uid 0.
struct Users {
    dir: tempfile::TempDir,
}

impl Users {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("passwd"),
            "root:x:0:0::/root:/bin/sh\n\
             alice:x:1000:1000::/home/alice:/bin/sh\n\
             admin:x:1001:1001::/home/admin:/bin/sh\n\
             wheely:x:1002:10::/home/w:/bin/sh\n\
             toor:x:0:0::/root:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("group"),
            "root:x:0:\nwheel:x:10:\nsudo:x:27:bob,admin\nalice:x:1000:\nadmin:x:1001:\n",
        )
        .unwrap();
        Self { dir }
    }

    fn directory(&self) -> SystemUserDirectory {
        SystemUserDirectory::with_files(
            self.dir.path().join("passwd"),
            self.dir.path().join("group"),
        )
    }
}

fn reset(user: &str) -> ActionParams {
    ActionParams::AccountResetPassword {
        username: Username::parse(user).unwrap(),
    }
}

#[test]
fn the_default_policy_is_conservative() {
    let p = Policy::default();
    let allowed: Vec<ActionId> = p.actions.keys().copied().collect();
    assert_eq!(
        allowed,
        [
            ActionId::ServiceRestart,
            ActionId::AccountResetPassword,
            ActionId::PrintClearQueue,
            ActionId::PrintRestartSpooler,
            ActionId::NetworkFlushDns,
            ActionId::DiskCleanTemp,
            ActionId::DiagnosticsCollect,
        ]
    );
    // Every low-risk action, and nothing above low without consent except service.restart,
    // which only restarts the short list of help-desk services.
    for entry in crate::catalog::catalog() {
        let rule = p.actions.get(&entry.id);
        if entry.risk == crate::catalog::RiskLevel::Low {
            assert!(rule.is_some_and(|r| !r.require_consent), "{}", entry.id);
        } else if entry.id == ActionId::ServiceRestart {
            assert!(rule.is_some_and(|r| r.services.is_some()), "{}", entry.id);
        } else {
            assert!(rule.is_none_or(|r| r.require_consent), "{}", entry.id);
        }
    }
    let reset = &p.actions[&ActionId::AccountResetPassword];
    assert!(reset.require_consent && reset.allow_non_admin && reset.users.is_none());
    assert_eq!(p.admin_groups, ["root", "sudo", "wheel", "admin"]);
    assert!(Policy::deny_all().actions.is_empty());
}

/// The default policy restarts its allowlisted help-desk services (by either spelling) and
/// nothing else: not another service, not a target, not a templated unit.
#[test]
fn the_default_policy_restarts_only_its_allowlisted_services() {
    let users = Users::new();
    let p = Policy::default();
    let decide = |name: &str| {
        p.evaluate(
            &ActionParams::ServiceRestart {
                name: ServiceName::parse(name).unwrap(),
            },
            &users.directory(),
        )
    };
    for listed in [
        "cups",
        "cups.service",
        "cups-browsed",
        "NetworkManager",
        "bluetooth",
        "Spooler",
        "org.cups.cupsd",
    ] {
        assert_eq!(
            decide(listed),
            PolicyDecision::Allowed {
                consent_required: false
            },
            "{listed}"
        );
    }
    for refused in [
        "sshd",
        "ssh.service",
        "systemd-logind",
        "modprobe@dummy.service",
    ] {
        assert!(
            matches!(decide(refused), PolicyDecision::Denied { .. }),
            "{refused}"
        );
    }
    // Targets cannot even be written into a policy.
    let error = Policy::parse(
        "version = 1\n[actions.\"service.restart\"]\nservices = [\"poweroff.target\"]\n",
    )
    .unwrap_err();
    assert_eq!(
        error.field.as_deref(),
        Some("actions.\"service.restart\".services[0]")
    );
}

/// A templated unit runs only when the policy names that very instance; "any service" and
/// the template's other instances do not cover it.
#[test]
fn templated_units_need_their_exact_name_in_the_policy() {
    let users = Users::new();
    let svc = |n: &str| ActionParams::ServiceRestart {
        name: ServiceName::parse(n).unwrap(),
    };
    let any = Policy::parse("version = 1\n[actions.\"service.restart\"]\n").unwrap();
    let named = Policy::parse(
        "version = 1\n[actions.\"service.restart\"]\nservices = [\"getty@tty1\", \"cups\"]\n",
    )
    .unwrap();
    let allowed = PolicyDecision::Allowed {
        consent_required: false,
    };
    let dir = users.directory();
    assert_eq!(any.evaluate(&svc("cups"), &dir), allowed);
    assert!(matches!(
        any.evaluate(&svc("modprobe@dummy.service"), &dir),
        PolicyDecision::Denied { .. }
    ));
    assert_eq!(named.evaluate(&svc("getty@tty1"), &dir), allowed);
    for other in ["getty@tty2", "getty@tty1.service"] {
        assert!(
            matches!(
                named.evaluate(&svc(other), &dir),
                PolicyDecision::Denied { .. }
            ),
            "{other}"
        );
    }
}

#[test]
fn decisions() {
    let users = Users::new();
    let dir = users.directory();
    let policy = Policy::parse(
        r#"
        version = 1
        [actions."service.restart"]
        services = ["cups", "nginx"]
        [actions."print.clear_queue"]
        printers = ["office"]
        [actions."account.reset_password"]
        require_consent = true
        [actions."process.kill"]
        "#,
    )
    .unwrap();
    let listed = Policy::parse(
        r#"
        version = 1
        [actions."account.reset_password"]
        users = ["admin"]
        "#,
    )
    .unwrap();
    let allowed = |consent_required| PolicyDecision::Allowed { consent_required };
    let svc = |n: &str| ActionParams::ServiceRestart {
        name: ServiceName::parse(n).unwrap(),
    };
    let printer = |n: &str| ActionParams::PrintClearQueue {
        printer: PrinterName::parse(n).unwrap(),
    };
    let cases: Vec<(&Policy, ActionParams, Option<PolicyDecision>)> = vec![
        (&policy, svc("cups"), Some(allowed(false))),
        (&policy, svc("nginx"), Some(allowed(false))),
        (&policy, svc("sshd"), None),
        (&policy, printer("office"), Some(allowed(false))),
        (&policy, printer("lab"), None),
        (&policy, reset("alice"), Some(allowed(true))),
        (&policy, reset("admin"), None),
        (&policy, reset("wheely"), None),
        (&policy, reset("toor"), None),
        (&policy, reset("nobody-here"), None),
        (
            &policy,
            ActionParams::ProcessKill {
                pid: Pid::new(99).unwrap(),
            },
            Some(allowed(false)),
        ),
        (&policy, ActionParams::NetworkFlushDns, None),
        // An explicit list: listed admins yes, others (even plain users) no.
        (&listed, reset("admin"), Some(allowed(false))),
        (&listed, reset("alice"), None),
    ];
    for (policy, action, expected) in cases {
        let got = policy.evaluate(&action, &dir);
        match expected {
            Some(e) => assert_eq!(got, e, "{action:?}"),
            None => assert!(
                matches!(got, PolicyDecision::Denied { .. }),
                "{action:?}: {got:?}"
            ),
        }
    }
    let PolicyDecision::Denied { reason } = policy.evaluate(&reset("admin"), &dir) else {
        panic!()
    };
    assert!(reason.contains("administrator"), "{reason}");
}

#[test]
fn errors_name_the_line_and_field() {
    let cases: &[(&str, usize, Option<&str>, &str)] = &[
        ("version = 1\n[actions.\"service.restart\"\n", 2, None, ""),
        (
            "version = 1\nbogus = true\n",
            2,
            None,
            "unknown field `bogus`",
        ),
        ("version = 2\n", 1, Some("version"), "unsupported version 2"),
        (
            "[actions.\"network.flush_dns\"]\n",
            1,
            None,
            "missing field `version`",
        ),
        (
            "version = 1\n\n[actions.\"shell.exec\"]\n",
            3,
            Some("actions.\"shell.exec\""),
            "unknown action",
        ),
        (
            "version = 1\n[actions.\"service.restart\"]\nservices = [\"cups\",\n  \"foo; rm -rf /\"]\n",
            4,
            Some("actions.\"service.restart\".services[1]"),
            "\"foo; rm -rf /\": contains ';'",
        ),
        (
            "version = 1\n[actions.\"network.flush_dns\"]\nservices = [\"cups\"]\n",
            3,
            Some("actions.\"network.flush_dns\".services"),
            "`services` only applies to service.restart",
        ),
        (
            "version = 1\n[actions.\"account.reset_password\"]\nusers = [\"root\"]\n",
            3,
            Some("actions.\"account.reset_password\".users[0]"),
            "refused",
        ),
        (
            "version = 1\n[actions.\"print.clear_queue\"]\nrequire_consent = \"yes\"\n",
            3,
            None,
            "invalid type",
        ),
        (
            "version = 1\n[actions.\"print.clear_queue\"]\nallow_non_admin = true\n",
            3,
            Some("actions.\"print.clear_queue\".allow_non_admin"),
            "only applies to account.reset_password",
        ),
        (
            "version = 1\nadmin_groups = [\"wheel\", \"a b\"]\n",
            2,
            Some("admin_groups[1]"),
            "not a group name",
        ),
    ];
    for (text, line, field, message) in cases {
        let err = Policy::parse(text).expect_err(text);
        assert_eq!(err.line, Some(*line), "{text:?}: {err}");
        assert_eq!(err.field.as_deref(), *field, "{text:?}: {err}");
        assert!(err.message.contains(message), "{text:?}: {err}");
        assert!(err.column.is_some());
    }
    let err = Policy::parse("version = 2\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "policy:1:11: version: unsupported version 2; this agent reads version 1"
    );
}

#[test]
fn load_puts_the_path_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    let err = Policy::load(&path).unwrap_err();
    assert!(err.to_string().starts_with(&path.display().to_string()));
    assert!(err.message.contains("cannot read"));
    std::fs::write(&path, "version = 3\n").unwrap();
    let err = Policy::load(&path).unwrap_err();
    assert_eq!(err.path.as_deref(), Some(path.as_path()));
    std::fs::write(&path, DEFAULT_POLICY_TOML).unwrap();
    assert_eq!(Policy::load(&path).unwrap(), Policy::default());
}

#[cfg(unix)]
fn chmod(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// What the probe did: a 0666 policy file another user appended to. The file, and every
/// directory above it, must be writable by its owner only, owned by root or the agent's
/// account.
#[cfg(unix)]
#[test]
fn load_refuses_a_policy_that_others_can_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, ONLY_DNS).unwrap();
    chmod(&path, 0o644);
    chmod(dir.path(), 0o755);
    let dns_only = Policy::parse(ONLY_DNS).unwrap();
    assert_eq!(Policy::load(&path).unwrap(), dns_only);

    // (file mode, directory mode, refused, what the error names)
    let dir_text = dir.path().display().to_string();
    let table = [
        (
            0o666,
            0o755,
            true,
            "the file is writable by every local user (mode 0666)",
        ),
        (
            0o664,
            0o755,
            true,
            "the file is writable by its group (mode 0664)",
        ),
        (
            0o646,
            0o755,
            true,
            "the file is writable by every local user",
        ),
        (0o600, 0o755, false, ""),
        (0o444, 0o755, false, ""),
        (
            0o644,
            0o777,
            true,
            &format!("its directory {dir_text} is writable by every local user"),
        ),
        (
            0o644,
            0o775,
            true,
            &format!("its directory {dir_text} is writable by its group"),
        ),
        (0o644, 0o700, false, ""),
        // Sticky, like /tmp: only an entry's owner may replace it, and the entry is checked.
        (0o644, 0o1777, false, ""),
    ];
    for (file_mode, dir_mode, refused, names) in table {
        chmod(&path, file_mode);
        chmod(dir.path(), dir_mode);
        let loaded = Policy::load(&path);
        chmod(dir.path(), 0o755);
        match loaded {
            Ok(policy) => {
                assert!(!refused, "{file_mode:o} in {dir_mode:o} was accepted");
                assert_eq!(policy, dns_only);
            }
            Err(error) => {
                assert!(refused, "{file_mode:o} in {dir_mode:o}: {error}");
                assert_eq!(error.path.as_deref(), Some(path.as_path()));
                assert!(error.message.starts_with("refused: "), "{error}");
                assert!(error.message.contains(names), "{error} lacks {names:?}");
            }
        }
    }
    chmod(&path, 0o644);

    // Reached through a symlink in a directory anyone can write: anyone could re-point it.
    let open = tempfile::tempdir().unwrap();
    chmod(open.path(), 0o777);
    let link = open.path().join("policy.toml");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    let error = Policy::load(&link).unwrap_err();
    assert!(
        error.message.contains(&open.path().display().to_string()),
        "{error}"
    );
    // A symlink from a safe directory to a safe file is fine.
    chmod(open.path(), 0o755);
    assert_eq!(Policy::load(&link).unwrap(), dns_only);

    // Owned by another account (root can hand it over to test this).
    if rustix::process::geteuid().is_root() {
        std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
        let error = Policy::load(&path).unwrap_err();
        assert!(error.message.contains("owned by uid 65534"), "{error}");
    }
}

/// A reload to a file that became world-writable keeps the previous policy: what another
/// user appends never takes effect.
#[cfg(unix)]
#[test]
fn the_watcher_keeps_the_last_good_policy_when_others_can_write_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, ONLY_DNS).unwrap();
    chmod(&path, 0o644);
    let (tx, rx) = channel();
    let watcher = PolicyWatcher::start(&path, Policy::deny_all(), move |e| {
        let _ = tx.send(e.clone());
    })
    .unwrap();
    let within = Duration::from_secs(10);
    let dns_only = Policy::parse(ONLY_DNS).unwrap();
    assert!(matches!(next_event(&rx, within), PolicyEvent::Reloaded(_)));
    assert_eq!(*watcher.current(), dns_only);

    chmod(&path, 0o666);
    match next_event(&rx, within) {
        PolicyEvent::Rejected(e) => assert!(e.message.contains("every local user"), "{e}"),
        other => panic!("{other:?}"),
    }
    let widened = format!("{ONLY_DNS}[actions.\"process.kill\"]\n");
    std::fs::write(&path, &widened).unwrap();
    assert!(matches!(next_event(&rx, within), PolicyEvent::Rejected(_)));
    assert_eq!(*watcher.current(), dns_only, "the last good policy stays");

    // The administrator rewrites it and makes it theirs again: the new file takes over.
    std::fs::write(&path, ONLY_SPOOLER).unwrap();
    chmod(&path, 0o644);
    let spooler = Policy::parse(ONLY_SPOOLER).unwrap();
    loop {
        match next_event(&rx, within) {
            PolicyEvent::Reloaded(p) => {
                assert_eq!(*p, spooler);
                break;
            }
            PolicyEvent::Rejected(_) => assert_eq!(*watcher.current(), dns_only),
        }
    }
    assert_eq!(*watcher.current(), spooler);
}

/// Waits for the next watcher event, failing the test after `within`.
fn next_event(rx: &Receiver<PolicyEvent>, within: Duration) -> PolicyEvent {
    rx.recv_timeout(within)
        .expect("the policy watcher reported nothing in time")
}

const ONLY_DNS: &str = "version = 1\n[actions.\"network.flush_dns\"]\n";
const ONLY_SPOOLER: &str = "version = 1\n[actions.\"print.restart_spooler\"]\n";

#[test]
fn the_watcher_reloads_live_and_keeps_the_last_good_policy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, ONLY_DNS).unwrap();
    let (tx, rx) = channel();
    let watcher = PolicyWatcher::start(&path, Policy::deny_all(), move |e| {
        let _ = tx.send(e.clone());
    })
    .unwrap();
    let within = Duration::from_secs(10);
    assert!(matches!(next_event(&rx, within), PolicyEvent::Reloaded(_)));
    let handle = watcher.handle();
    let dns_only = Policy::parse(ONLY_DNS).unwrap();
    assert_eq!(*handle.current(), dns_only);

    // A plain rewrite.
    std::fs::write(&path, ONLY_SPOOLER).unwrap();
    match next_event(&rx, within) {
        PolicyEvent::Reloaded(p) => assert_eq!(*p, Policy::parse(ONLY_SPOOLER).unwrap()),
        other => panic!("{other:?}"),
    }
    assert_eq!(*watcher.current(), Policy::parse(ONLY_SPOOLER).unwrap());

    // An invalid file: reported, and the previous policy stays.
    std::fs::write(&path, "version = 1\n[actions.\"shell.exec\"]\n").unwrap();
    match next_event(&rx, within) {
        PolicyEvent::Rejected(e) => {
            assert_eq!(e.path.as_deref(), Some(path.as_path()));
            assert_eq!(e.line, Some(2));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(*handle.current(), Policy::parse(ONLY_SPOOLER).unwrap());

    // Deleted: reported, previous policy stays.
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(next_event(&rx, within), PolicyEvent::Rejected(_)));
    assert_eq!(*handle.current(), Policy::parse(ONLY_SPOOLER).unwrap());

    // Replaced atomically by rename, as editors and config management do.
    let staged = dir.path().join("policy.toml.new");
    std::fs::write(&staged, ONLY_DNS).unwrap();
    std::fs::rename(&staged, &path).unwrap();
    match next_event(&rx, within) {
        PolicyEvent::Reloaded(p) => assert_eq!(*p, dns_only),
        other => panic!("{other:?}"),
    }
    assert_eq!(*handle.current(), dns_only);

    // Other files in the directory are none of its business.
    std::fs::write(dir.path().join("unrelated.toml"), "garbage").unwrap();
    std::fs::write(&path, ONLY_SPOOLER).unwrap();
    match next_event(&rx, within) {
        PolicyEvent::Reloaded(p) => assert_eq!(*p, Policy::parse(ONLY_SPOOLER).unwrap()),
        other => panic!("{other:?}"),
    }
    drop(watcher);
}

#[test]
fn a_missing_or_invalid_file_at_start_leaves_the_fallback_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    let (tx, rx) = channel();
    let watcher = PolicyWatcher::start(&path, Policy::deny_all(), move |e| {
        let _ = tx.send(e.clone());
    })
    .unwrap();
    assert!(matches!(
        next_event(&rx, Duration::from_secs(10)),
        PolicyEvent::Rejected(_)
    ));
    assert_eq!(*watcher.current(), Policy::deny_all());
    // Once a valid file appears, it takes over.
    std::fs::write(&path, ONLY_DNS).unwrap();
    assert!(matches!(
        next_event(&rx, Duration::from_secs(10)),
        PolicyEvent::Reloaded(_)
    ));
    assert_eq!(*watcher.current(), Policy::parse(ONLY_DNS).unwrap());
}

#[test]
fn watching_a_missing_directory_fails_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope").join("policy.toml");
    assert!(PolicyWatcher::start(path, Policy::deny_all(), |_| {}).is_err());
}

#[test]
fn background_diagnostics_leave_out_processes_and_logs_unless_the_policy_narrows_them() {
    use deskside_diagnostics::SectionName as S;
    let sections = |p: &Policy| {
        p.diagnostics
            .background_sections
            .iter()
            .copied()
            .collect::<Vec<_>>()
    };
    let default = Policy::default();
    assert_eq!(
        sections(&default),
        [
            S::System,
            S::Hardware,
            S::Network,
            S::Services,
            S::Printers,
            S::Software
        ]
    );
    assert_eq!(
        default.diagnostics.withheld().collect::<Vec<_>>(),
        [S::Processes, S::Logs]
    );
    // A file without the table gets the same safe default; deny-all sends nothing.
    assert_eq!(
        Policy::parse("version = 1\n").unwrap().diagnostics,
        default.diagnostics
    );
    assert!(
        Policy::deny_all()
            .diagnostics
            .background_sections
            .is_empty()
    );

    let narrowed = Policy::parse(
        "version = 1\n[diagnostics]\nbackground_sections = [\"system\", \"network\"]\n",
    )
    .unwrap();
    assert_eq!(sections(&narrowed), [S::System, S::Network]);
    let none = Policy::parse("version = 1\n[diagnostics]\nbackground_sections = []\n").unwrap();
    assert_eq!(none.diagnostics.withheld().count(), 8);

    let typo = Policy::parse("version = 1\n[diagnostics]\nbackground_sections = [\"sytem\"]\n")
        .unwrap_err();
    assert_eq!(
        typo.field.as_deref(),
        Some("diagnostics.background_sections[0]")
    );
    assert_eq!(typo.line, Some(3));
    assert!(typo.message.contains("not a section"), "{typo}");
    let unknown =
        Policy::parse("version = 1\n[diagnostics]\nsections = [\"system\"]\n").unwrap_err();
    assert!(unknown.message.contains("unknown field"), "{unknown}");
}
