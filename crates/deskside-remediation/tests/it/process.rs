use std::process::{Child, Command, Stdio};
use std::time::Duration;

use deskside_remediation::catalog::Pid;
use deskside_remediation::execute::{ExitStatus, LinuxExecutor};
use deskside_remediation::{ActionParams, Executor, Verification};

use crate::support::{alive, tool, verified};

/// A child process killed and reaped on drop, in case the test fails first.
struct Victim(Child);

impl Drop for Victim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(program: &str, args: &[&str]) -> Victim {
    Victim(
        Command::new(tool(program).unwrap())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn kill_order(pid: u32) -> deskside_remediation::VerifiedOrder {
    verified(ActionParams::ProcessKill {
        pid: Pid::new(u64::from(pid)).unwrap(),
    })
}

#[test]
fn a_process_ends_on_sigterm() {
    let victim = spawn("sleep", &["1000"]);
    let pid = victim.0.id();
    let report = LinuxExecutor::default()
        .run(&kill_order(pid), Duration::from_secs(30))
        .report;
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(report.summary, format!("process {pid} ended after SIGTERM"));
    assert!(!alive(pid));
    assert!(
        report
            .output_excerpt
            .contains(&format!("$ kill -s TERM {pid}")),
        "{}",
        report.output_excerpt
    );
}

#[test]
fn a_process_ignoring_sigterm_gets_sigkill_after_the_grace_period() {
    // The ignored disposition survives exec: this `sleep` ignores SIGTERM.
    let victim = spawn("sh", &["-c", "trap '' TERM; exec sleep 1000"]);
    let pid = victim.0.id();
    let executor = LinuxExecutor {
        kill_grace: Duration::from_millis(300),
        ..LinuxExecutor::default()
    };
    let report = executor
        .run(&kill_order(pid), Duration::from_secs(30))
        .report;
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(report.summary, format!("process {pid} ended after SIGKILL"));
    assert!(matches!(report.verification, Verification::Verified { .. }));
    assert!(!alive(pid));
}

#[test]
fn a_missing_process_or_the_agent_itself_is_refused() {
    let mut gone = spawn("true", &[]);
    let pid = gone.0.id();
    gone.0.wait().unwrap();
    let report = LinuxExecutor::default()
        .run(&kill_order(pid), Duration::from_secs(10))
        .report;
    assert_eq!(
        report.exit_status,
        ExitStatus::Failed {
            code: None,
            message: format!("no process with id {pid}")
        }
    );

    let me = std::process::id();
    let report = LinuxExecutor::default()
        .run(&kill_order(me), Duration::from_secs(10))
        .report;
    assert_eq!(
        report.exit_status,
        ExitStatus::Failed {
            code: None,
            message: "refusing to end the agent itself".into()
        }
    );
}
