use std::time::Duration;

use deskside_remediation::catalog::ServiceName;
use deskside_remediation::execute::LinuxExecutor;
use deskside_remediation::{ActionParams, Executor, Verification};

use crate::support::{Cleanup, alive, requires, sh, skip, verified, wait_for};

/// An init.d script running `sleep 1000` under start-stop-daemon with a pidfile in /run,
/// the way Debian packages their daemons.
fn init_script(name: &str) -> String {
    format!(
        r#"#!/bin/sh
### BEGIN INIT INFO
# Provides:          {name}
# Required-Start:
# Required-Stop:
# Default-Start:
# Default-Stop:
# Short-Description: Deskside remediation test service
### END INIT INFO
PIDFILE=/run/{name}.pid
case "$1" in
  start)
    start-stop-daemon --start --quiet --background --make-pidfile --pidfile "$PIDFILE" --exec /usr/bin/sleep -- 1000
    ;;
  stop)
    # No --retry: it polls for seconds, and the tests want speed. Removing the pidfile is
    # enough for the next start not to mistake the dying process for a running one.
    start-stop-daemon --stop --quiet --oknodo --pidfile "$PIDFILE" --remove-pidfile
    ;;
  restart)
    "$0" stop
    "$0" start
    ;;
  status)
    start-stop-daemon --status --pidfile "$PIDFILE"
    ;;
  *)
    echo "Usage: $0 {{start|stop|restart|status}}" >&2
    exit 3
    ;;
esac
"#
    )
}

fn pidfile_pid(name: &str) -> Option<u32> {
    std::fs::read_to_string(format!("/run/{name}.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|p| alive(*p))
}

#[test]
fn service_restart_gives_a_real_init_d_service_a_new_pid() {
    const TEST: &str = "service_restart_gives_a_real_init_d_service_a_new_pid";
    if std::path::Path::new("/run/systemd/system").is_dir() {
        return skip(
            TEST,
            "systemd is PID 1 here: init.d scripts are not how services run",
        );
    }
    if let Some(why) = requires(true, &["service", "start-stop-daemon"]) {
        return skip(TEST, &why);
    }
    // Unique per run, so parallel or crashed runs cannot collide.
    let name = format!("deskside-test-svc-{}", std::process::id());
    let script = format!("/etc/init.d/{name}");
    let _cleanup = Cleanup(|| {
        if std::path::Path::new(&script).exists() {
            let _ = sh("service", &[&name, "stop"]);
            let _ = std::fs::remove_file(&script);
        }
        let _ = std::fs::remove_file(format!("/run/{name}.pid"));
    });
    std::fs::write(&script, init_script(&name)).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = sh("service", &[&name, "start"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let old = wait_for(Duration::from_secs(10), "the test service to start", || {
        pidfile_pid(&name)
    });

    let order = verified(ActionParams::ServiceRestart {
        name: ServiceName::parse(&name).unwrap(),
    });
    let execution = LinuxExecutor::default().run(&order, Duration::from_secs(60));
    let report = execution.report;
    assert!(report.succeeded(), "{report:#?}");
    let new = pidfile_pid(&name).expect("running after the restart");
    assert_ne!(new, old);
    wait_for(Duration::from_secs(10), "the old process to exit", || {
        (!alive(old)).then_some(())
    });
    assert_eq!(
        report.verification,
        Verification::Verified {
            detail: format!("{name} is running with new PID {new} (was {old})")
        }
    );
    assert!(
        report
            .output_excerpt
            .contains(&format!("$ service {name} restart")),
        "{}",
        report.output_excerpt
    );
}

#[test]
fn restarting_a_service_that_does_not_exist_fails_cleanly() {
    const TEST: &str = "restarting_a_service_that_does_not_exist_fails_cleanly";
    if let Some(why) = requires(true, &["service"]) {
        return skip(TEST, &why);
    }
    let order = verified(ActionParams::ServiceRestart {
        name: ServiceName::parse("deskside-no-such-service").unwrap(),
    });
    let report = LinuxExecutor::default()
        .run(&order, Duration::from_secs(30))
        .report;
    assert!(!report.succeeded());
    assert!(
        matches!(
            report.exit_status,
            deskside_remediation::execute::ExitStatus::Failed { .. }
        ),
        "{report:#?}"
    );
}
