use std::time::Duration;

use deskside_remediation::catalog::PrinterName;
use deskside_remediation::execute::LinuxExecutor;
use deskside_remediation::{ActionParams, Executor, Verification};

use crate::support::{Cleanup, cups_lock, requires, sh, sh_ok, skip, verified, wait_for};

const CUPS_TOOLS: &[&str] = &[
    "cupsd",
    "lpadmin",
    "lpstat",
    "lp",
    "cancel",
    "cupsenable",
    "cupsdisable",
];

/// `None` when root, CUPS installed and cupsd running; otherwise why the test skips.
fn cups_ready() -> Option<String> {
    if let Some(why) = requires(true, CUPS_TOOLS) {
        return Some(format!(
            "{why} (CI: apt-get install cups cups-client cups-bsd && service cups start)"
        ));
    }
    let status = sh("lpstat", &["-r"]);
    let text = String::from_utf8_lossy(&status.stdout);
    (!text.contains("scheduler is running"))
        .then(|| "cupsd is not running (CI: service cups start)".to_owned())
}

fn queued(printer: &str) -> usize {
    String::from_utf8_lossy(&sh("lpstat", &["-o", printer]).stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

#[test]
fn clear_queue_empties_a_real_cups_queue() {
    const TEST: &str = "clear_queue_empties_a_real_cups_queue";
    if let Some(why) = cups_ready() {
        return skip(TEST, &why);
    }
    let _turn = cups_lock();
    let printer = format!("deskside-test-{}", std::process::id());
    let _cleanup = Cleanup(|| {
        let _ = sh("lpadmin", &["-x", &printer]);
    });
    sh_ok("lpadmin", &["-p", &printer, "-E", "-v", "file:/dev/null"]);
    // Paused, so the jobs stay queued.
    sh_ok("cupsdisable", &[&printer]);
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("doc.txt");
    std::fs::write(&doc, "Deskside test page\n").unwrap();
    for _ in 0..3 {
        sh_ok("lp", &["-d", &printer, doc.to_str().unwrap()]);
    }
    wait_for(Duration::from_secs(10), "three queued jobs", || {
        (queued(&printer) == 3).then_some(())
    });

    let order = verified(ActionParams::PrintClearQueue {
        printer: PrinterName::parse(&printer).unwrap(),
    });
    let report = LinuxExecutor::default()
        .run(&order, Duration::from_secs(60))
        .report;
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(
        report.verification,
        Verification::Verified {
            detail: format!("no job left on {printer}")
        }
    );
    assert_eq!(queued(&printer), 0);
    // Re-enabled: the queue accepts and prints again.
    let status = sh_ok("lpstat", &["-p", &printer]);
    assert!(!status.contains("disabled"), "{status}");
}

#[test]
fn clearing_a_printer_that_does_not_exist_fails() {
    const TEST: &str = "clearing_a_printer_that_does_not_exist_fails";
    if let Some(why) = cups_ready() {
        return skip(TEST, &why);
    }
    let order = verified(ActionParams::PrintClearQueue {
        printer: PrinterName::parse("deskside-no-such-printer").unwrap(),
    });
    let report = LinuxExecutor::default()
        .run(&order, Duration::from_secs(30))
        .report;
    assert!(!report.succeeded(), "{report:#?}");
}

#[test]
fn restart_spooler_gives_cupsd_a_new_pid() {
    const TEST: &str = "restart_spooler_gives_cupsd_a_new_pid";
    if let Some(why) = cups_ready() {
        return skip(TEST, &why);
    }
    let _turn = cups_lock();
    let report = LinuxExecutor::default()
        .run(
            &verified(ActionParams::PrintRestartSpooler),
            Duration::from_secs(60),
        )
        .report;
    assert!(report.succeeded(), "{report:#?}");
    let Verification::Verified { detail } = &report.verification else {
        panic!("{report:#?}")
    };
    assert!(detail.contains("new PID"), "{detail}");
    // Leave it serving for whoever comes next.
    wait_for(Duration::from_secs(10), "cupsd to answer", || {
        String::from_utf8_lossy(&sh("lpstat", &["-r"]).stdout)
            .contains("scheduler is running")
            .then_some(())
    });
}
