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
            ActionId::AccountResetPassword,
            ActionId::PrintClearQueue,
            ActionId::PrintRestartSpooler,
            ActionId::NetworkFlushDns,
            ActionId::DiskCleanTemp,
            ActionId::DiagnosticsCollect,
        ]
    );
    // Every low-risk action, and nothing above low without consent.
    for entry in crate::catalog::catalog() {
        let rule = p.actions.get(&entry.id);
        if entry.risk == crate::catalog::RiskLevel::Low {
            assert!(rule.is_some_and(|r| !r.require_consent), "{}", entry.id);
        } else {
            assert!(rule.is_none_or(|r| r.require_consent), "{}", entry.id);
        }
    }
    let reset = &p.actions[&ActionId::AccountResetPassword];
    assert!(reset.require_consent && reset.allow_non_admin && reset.users.is_none());
    assert_eq!(p.admin_groups, ["root", "sudo", "wheel", "admin"]);
    assert!(Policy::deny_all().actions.is_empty());
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
