use std::sync::Arc;
use std::time::Duration;

use deskside_remediation::catalog::Username;
use deskside_remediation::execute::{LinuxExecutor, TEMPORARY_PASSWORD_LEN};
use deskside_remediation::policy::{PolicyDecision, SystemUserDirectory};
use deskside_remediation::{ActionParams, Executor, Policy, Verification};

use crate::support::{Cleanup, requires, sh, sh_ok, sh_stdin, skip, verified};

fn shadow_fields(user: &str) -> Vec<String> {
    std::fs::read_to_string("/etc/shadow")
        .unwrap()
        .lines()
        .map(|l| l.split(':').map(str::to_owned).collect::<Vec<_>>())
        .find(|f| f[0] == user)
        .unwrap_or_else(|| panic!("{user} not in /etc/shadow"))
}

/// Creates a local account removed (with its home) when the guard drops.
fn local_account(user: &str, extra: &[&str]) -> Cleanup<impl FnMut() + use<>> {
    let mut args = vec!["-m"];
    args.extend_from_slice(extra);
    args.push(user);
    sh_ok("useradd", &args);
    let user = user.to_owned();
    Cleanup(move || {
        let _ = sh("userdel", &["-r", &user]);
    })
}

#[test]
fn password_reset_sets_a_temporary_password_that_must_be_changed() {
    const TEST: &str = "password_reset_sets_a_temporary_password_that_must_be_changed";
    if let Some(why) = requires(true, &["useradd", "userdel", "chpasswd", "chage"]) {
        return skip(TEST, &why);
    }
    let user = format!("dsk-test-{}", std::process::id());
    let _account = local_account(&user, &[]);
    sh_stdin(
        "chpasswd",
        &[],
        format!("{user}:Initial-Passw0rd-For-Test\n").as_bytes(),
    );
    let before = shadow_fields(&user);
    assert_ne!(before[2], "0");

    let order = verified(ActionParams::AccountResetPassword {
        username: Username::parse(&user).unwrap(),
    });
    let execution = LinuxExecutor::default().run(&order, Duration::from_secs(60));
    let report = &execution.report;
    assert!(report.succeeded(), "{report:#?}");
    assert!(
        matches!(report.verification, Verification::Verified { .. }),
        "{report:#?}"
    );

    let after = shadow_fields(&user);
    assert_ne!(after[1], before[1], "the password hash changed");
    assert_eq!(after[2], "0", "last change 0: must change at next logon");
    let chage = sh_ok("chage", &["-l", &user]);
    assert!(chage.contains("password must be changed"), "{chage}");

    // The password exists only in the LocalSecret.
    let secret = execution
        .local_secret
        .as_ref()
        .expect("a secret for the user");
    assert_eq!(secret.username(), user);
    let password = secret.expose_password();
    assert_eq!(password.len(), TEMPORARY_PASSWORD_LEN);
    let report_json = serde_json::to_string(report).unwrap();
    assert!(!report_json.contains(password));
    assert!(!format!("{execution:?}").contains(password));
    assert!(
        report.output_excerpt.contains("not shown"),
        "{}",
        report.output_excerpt
    );
}

#[test]
fn the_policy_refuses_to_reset_a_real_administrator() {
    const TEST: &str = "the_policy_refuses_to_reset_a_real_administrator";
    if let Some(why) = requires(true, &["useradd", "userdel"]) {
        return skip(TEST, &why);
    }
    let group = std::fs::read_to_string("/etc/group").unwrap();
    let Some(admin_group) = ["sudo", "wheel", "admin"]
        .into_iter()
        .find(|g| group.lines().any(|l| l.starts_with(&format!("{g}:"))))
    else {
        return skip(TEST, "no sudo, wheel or admin group on this machine");
    };
    let admin = format!("dsk-adm-{}", std::process::id());
    let plain = format!("dsk-usr-{}", std::process::id());
    let _a = local_account(&admin, &["-G", admin_group]);
    let _p = local_account(&plain, &[]);
    let policy = Policy::default();
    let users = Arc::new(SystemUserDirectory::default());
    let reset = |u: &str| ActionParams::AccountResetPassword {
        username: Username::parse(u).unwrap(),
    };
    assert!(matches!(
        policy.evaluate(&reset(&admin), users.as_ref()),
        PolicyDecision::Denied { .. }
    ));
    assert_eq!(
        policy.evaluate(&reset(&plain), users.as_ref()),
        PolicyDecision::Allowed {
            consent_required: true
        }
    );
}

#[test]
fn resetting_an_account_that_does_not_exist_fails_without_a_secret() {
    let order = verified(ActionParams::AccountResetPassword {
        username: Username::parse("dsk-nobody-here").unwrap(),
    });
    let execution = LinuxExecutor::default().run(&order, Duration::from_secs(30));
    assert!(!execution.report.succeeded());
    assert!(execution.local_secret.is_none());
    assert!(
        execution.report.summary.contains("no local account"),
        "{:#?}",
        execution.report
    );
}
